"""Connection faults and the admin token, observed by a real HTTP client over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import AUTH, CREATE, body
from tests.support.servers import running

FAULTS = {
    "rules": [
        {"match": {"prompt_regex": "hang up"}, "fault": "reset"},
        {"match": {"prompt_regex": "say nothing"}, "fault": "empty"},
        {"match": {"prompt_regex": "cut short"}, "fault": "truncate"},
        {"match": {"route": "query", "headers": {"x-test": "truncate"}}, "fault": "truncate"},
    ]
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("faults") / "faults.yaml"
    config.write_text(yaml.safe_dump(FAULTS), encoding="utf-8")
    with running("--clock", "virtual", "--config", str(config)) as url:
        yield url


def fresh(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def test_reset__the_client_sees_a_broken_connection_and_nothing_is_created(served: str) -> None:
    with fresh(served) as http:
        before = http.get("/__mock/tasks").json()["count"]
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            http.post(CREATE, json=body(prompt="please hang up"), headers=AUTH)
        assert http.get("/__mock/tasks").json()["count"] == before
        journal = http.get("/__mock/requests", params={"limit": 1}).json()["requests"][0]
        assert (journal["fault"], journal["status"]) == ("reset", None)
        assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200


def test_empty__the_client_gets_no_answer_at_all(served: str) -> None:
    with fresh(served) as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
            http.post(CREATE, json=body(prompt="say nothing"), headers=AUTH)
        assert http.get("/__mock/health").json()["status"] == "ok"


def test_truncate__the_task_is_made_but_the_answer_is_cut(served: str) -> None:
    with fresh(served) as http:
        before = http.get("/__mock/tasks").json()["count"]
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(CREATE, json=body(prompt="cut short"), headers=AUTH)
        assert http.get("/__mock/tasks").json()["count"] == before + 1
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/v1/tasks/task-unified-1-abcdefgh", headers={**AUTH, "X-Test": "truncate"})
        assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200


def test_admin_token__required_when_set(tmp_path: Path) -> None:
    with running("--clock", "virtual", "--admin-token", "s3cret") as url, fresh(url) as http:
        refused = http.get("/__mock/tasks")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert http.get("/__mock/tasks", headers={"X-Mock-Admin-Token": "wrong"}).status_code == 401
        assert http.get("/__mock/tasks", headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200
        assert http.get("/__mock/tasks", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200


def test_admin_token__made_up_and_printed_off_loopback() -> None:
    import json
    import subprocess
    import sys

    from tests.support.servers import ROOT, stop

    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve", "--host", "0.0.0.0", "--port", "0", "--clock", "virtual"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        summary = json.loads(process.stdout.readline().split("  ", 1)[1])  # the start line comes first
        token, port = summary["admin_token"], summary["port"]
        with fresh(f"http://127.0.0.1:{port}") as http:
            assert http.get("/__mock/health").status_code == 401
            assert http.get("/__mock/health", headers={"X-Mock-Admin-Token": token}).status_code == 200
    finally:
        stop(process)
