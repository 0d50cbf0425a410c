"""``nanobanana-mock proxy`` as a real process on loopback, in front of stand-in targets
(``tests/support/stand_in.py``): faithful, drifting in one fact each, hanging, or absent."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.testing import free_port
from tests.support import raw_http
from tests.support.servers import ROOT, launch, stop
from tests.support.stand_in import DRIFTS, StandIn, serving

KEY = {"Authorization": "Bearer sk-proxy-test-0123456789"}
CREATE = "/v1/images/generations"
BODY = {"model": "nano-banana-beta", "prompt": "a cat"}
WAIT = 10.0


@dataclass
class Proxy:
    process: subprocess.Popen[str]
    url: str
    stderr: Path

    def violations(self, side: str | None = "answer") -> list[dict[str, Any]]:
        found = httpx.get(f"{self.url}/__mock/violations", timeout=WAIT).json()["violations"]
        return [v for v in found if side is None or v["side"] == side]

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.read_text().splitlines() if "violation [" in line]


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[StandIn, str]]:
    app = StandIn()
    with serving(app) as url:
        yield app, url


def start_proxy(folder: Path, target: str, *args: str) -> Proxy:
    folder.mkdir(parents=True, exist_ok=True)
    stderr = folder / "stderr.txt"
    with stderr.open("w") as sink:
        process, url = launch("proxy", "--target", target, *args, stderr=sink)
    return Proxy(process, url, stderr)


@pytest.fixture(scope="module")
def proxy(stand_in: tuple[StandIn, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    folder = tmp_path_factory.mktemp("proxy")
    running = start_proxy(
        folder,
        stand_in[1],
        "--max-body-bytes",
        "4096",
        "--record",
        str(folder / "recordings"),
        "--callback-forward",
        f"{stand_in[1]}/hook",
    )
    try:
        yield running
    finally:
        stop(running.process)


@pytest.fixture(scope="module")
def strict_proxy(stand_in: tuple[StandIn, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    running = start_proxy(tmp_path_factory.mktemp("strict"), stand_in[1], "--strict")
    try:
        yield running
    finally:
        stop(running.process)


@pytest.fixture(autouse=True)
def faithful(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with a faithful stand-in and no violations kept."""
    yield
    if "stand_in" in request.fixturenames:
        app: StandIn = request.getfixturevalue("stand_in")[0]
        app.drift = None
        app.hang = False
        app.compress = False
    for name in ("proxy", "strict_proxy"):
        if name in request.fixturenames:
            httpx.delete(f"{request.getfixturevalue(name).url}/__mock/violations", timeout=WAIT)


def session(base: str) -> list[httpx.Response]:
    """What a client does: create, poll three times, send a request without its key."""
    with httpx.Client(base_url=base, timeout=WAIT) as http:
        answers = [http.post(CREATE, json=BODY, headers=KEY)]
        task_id = answers[0].json().get("id") if answers[0].status_code in (200, 202) else "task-x"
        answers += [http.get(f"/v1/tasks/{task_id}", headers=KEY) for _ in range(3)]
        answers.append(http.post(CREATE, json={"model": "nano-banana-beta"}, headers=KEY))
        answers.append(http.post(CREATE, json=BODY))
    return answers


def test_faithful_target__nothing_reported(proxy: Proxy, stand_in: tuple[StandIn, str]) -> None:
    answers = session(proxy.url)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 401]
    assert proxy.violations() == []
    # The client's own invalid body is reported as the client's, not the target's.
    assert [(v["fact"], v["side"]) for v in proxy.violations(side=None)] == [("request_schema", "request")]


def test_the_mock_as_target__nothing_reported(tmp_path: Path) -> None:
    process, mock_url = launch("serve", "--clock", "virtual")
    running = start_proxy(tmp_path, mock_url)
    try:
        with httpx.Client(base_url=running.url, timeout=WAIT) as http:
            task = http.post(CREATE, json=BODY, headers=KEY).json()
            polls = [http.get(f"/v1/tasks/{task['id']}", headers=KEY).json()["status"]]
            httpx.post(f"{mock_url}/__mock/clock/advance", json={"seconds": 3}, timeout=WAIT)
            polls.append(http.get(f"/v1/tasks/{task['id']}", headers=KEY).json()["status"])
            httpx.post(f"{mock_url}/__mock/clock/advance", json={"seconds": 30}, timeout=WAIT)
            polls.append(http.get(f"/v1/tasks/{task['id']}", headers=KEY).json()["status"])
            assert http.get("/v1/tasks/task-unified-1700000000-abcdefgh", headers=KEY).status_code == 404
            assert http.post(CREATE, json=BODY).status_code == 401
            failing = {**KEY, "Prefer": "task-error=content_policy_violation"}
            failed = http.post(CREATE, json=BODY, headers=failing).json()
            httpx.post(f"{mock_url}/__mock/clock/advance", json={"seconds": 30}, timeout=WAIT)
            assert http.get(f"/v1/tasks/{failed['id']}", headers=KEY).json()["status"] == "failed"
        assert polls == ["pending", "processing", "completed"]
        assert running.violations(side=None) == []
    finally:
        stop(running.process)
        stop(process)


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drifting_target__the_broken_fact_is_reported_and_answers_pass_unchanged(
    drift: str, proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    app, _ = stand_in
    app.drift = drift
    before = len(app.sent)
    answers = session(proxy.url)
    sent = app.sent[before:]
    assert len(sent) == len(answers)
    for answer, original in zip(answers, sent, strict=True):
        assert (answer.status_code, answer.content) == (original.status, original.body)
        for name, value in original.headers:
            assert answer.headers.get(name.decode()) == value.decode()
    facts = {v["fact"] for v in proxy.violations()}
    assert DRIFTS[drift] in facts
    lines = proxy.warnings()
    assert any(f"violation [{DRIFTS[drift]}]" in line for line in lines)


def test_violations__carry_fact_operation_expected_actual_request_and_task(
    proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    stand_in[0].drift = "progress_backwards"
    session(proxy.url)
    (found,) = [v for v in proxy.violations() if v["title"] == "Progress decreased"][:1]
    assert found["fact"] == "lifecycle"
    assert found["operation"] == "GET /v1/tasks/{task_id}"
    assert found["expected"] == "progress never decreases"
    assert found["actual"] == "50 -> 40"
    assert found["request_id"].startswith("p")
    assert found["task_id"].startswith("task-unified-")


def test_strict__a_broken_answer_becomes_502_in_the_envelope(
    strict_proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    stand_in[0].drift = "task_id_form"
    answer = httpx.post(f"{strict_proxy.url}{CREATE}", json=BODY, headers=KEY, timeout=WAIT)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == ("contract_violation", "proxy_error")
    assert "task_id_form" in error["message"]


def test_strict__a_faithful_answer_passes_unchanged(strict_proxy: Proxy, stand_in: tuple[StandIn, str]) -> None:
    answers = session(strict_proxy.url)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 401]
    assert answers[-1].json()["error"]["code"] == "unauthorized"


def test_forwarding__method_path_query_headers_and_body_unchanged_hop_by_hop_dropped(
    proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    app, url = stand_in
    headers = {
        **KEY,
        "X-Custom": "kept",
        "Connection": "keep-alive, X-Drop-Me",
        "X-Drop-Me": "1",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Content-Type": "application/json",
    }
    body = b'{"model":"nano-banana-beta",  "prompt":"spaces kept"}'
    httpx.post(f"{proxy.url}{CREATE}?a=1&b=%2F", content=body, headers=headers, timeout=WAIT)
    seen = app.received[-1]
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", CREATE, "a=1&b=%2F", body)
    names = dict(seen.headers)
    assert names["authorization"] == KEY["Authorization"]
    assert names["x-custom"] == "kept"
    assert names["host"] == url.removeprefix("http://")
    assert not {"x-drop-me", "keep-alive", "te"} & set(names)


def test_redirects__are_answered_not_followed(proxy: Proxy) -> None:
    answer = httpx.get(f"{proxy.url}/redirect", headers=KEY, timeout=WAIT)
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://127.0.0.1:9/elsewhere"


def test_open_proxy__absolute_form_host_and_forwarded_headers_do_not_choose_the_host(
    proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    app, url = stand_in
    with raw_http.connect(proxy.url) as sock:
        sock.sendall(
            b"GET http://evil.example:1/v1/tasks/task-unified-1700000000-aaaaaaaa HTTP/1.1\r\n"
            b"Host: evil.example:1\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n"
            b"Authorization: Bearer sk-raw-0123456789\r\n\r\n"
        )
        answer = raw_http.read_answer(sock)
    assert answer.status == 404  # the stand-in's answer: it was the one asked
    seen = app.received[-1]
    assert seen.path == "/v1/tasks/task-unified-1700000000-aaaaaaaa"
    assert dict(seen.headers)["host"] == url.removeprefix("http://")


def test_body_limit__a_larger_body_answers_413_without_reaching_the_target(
    proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    app, _ = stand_in
    before = len(app.received)
    big = json.dumps({"model": "nano-banana-beta", "prompt": "x" * 5000})
    answer = httpx.post(f"{proxy.url}{CREATE}", content=big, headers=KEY, timeout=WAIT)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request_too_large"
    assert len(app.received) == before


def test_admin_routes__are_guarded_as_the_mocks_are(proxy: Proxy) -> None:
    answer = httpx.get(f"{proxy.url}/__mock/violations", headers={"Host": "evil.example"}, timeout=WAIT)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "admin_forbidden"
    health = httpx.get(f"{proxy.url}/__mock/health", timeout=WAIT).json()
    assert health["service"] == "nanobanana-mock proxy"


def test_unreachable_target__502_proxy_error(tmp_path: Path) -> None:
    running = start_proxy(tmp_path, f"http://127.0.0.1:{free_port()}")
    try:
        answer = httpx.post(f"{running.url}{CREATE}", json=BODY, headers=KEY, timeout=WAIT)
    finally:
        stop(running.process)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == ("proxy_error", "proxy_error")
    assert "could not be reached" in error["message"]


def test_target_timeout__502_proxy_error(stand_in: tuple[StandIn, str], tmp_path: Path) -> None:
    app, url = stand_in
    running = start_proxy(tmp_path, url, "--timeout", "0.3")
    app.release.clear()
    app.hang = True
    try:
        answer = httpx.get(f"{running.url}/v1/tasks/task-unified-1700000000-aaaaaaaa", headers=KEY, timeout=WAIT)
    finally:
        app.hang = False
        app.release.set()
        stop(running.process)
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "proxy_error"
    assert "did not answer within 0.3 s" in answer.json()["error"]["message"]


def test_report__written_at_exit_in_the_suites_formats(stand_in: tuple[StandIn, str], tmp_path: Path) -> None:
    running = start_proxy(tmp_path / "run", stand_in[1], "--report", str(tmp_path / "report"))
    stand_in[0].drift = "task_id_form"
    try:
        session(running.url)
    finally:
        stop(running.process)
    markdown = (tmp_path / "report" / "contract-report.md").read_text()
    assert markdown.startswith("# Contract report: FAILED")
    assert "Task id of the wrong form" in markdown
    junit = (tmp_path / "report" / "junit.xml").read_text()
    assert '<failure type="task_id_form"' in junit


def test_reference_client__runs_through_the_proxy(proxy: Proxy) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        reference = importlib.import_module("evolink_client")
    finally:
        sys.path.remove(str(ROOT / "examples"))
    client = reference.EvoLinkClient("sk-proxy-test-0123456789", proxy.url, sleep=lambda seconds: None)
    try:
        assert client.generate("a cat") == ["http://127.0.0.1:9/files/a.png"]
    finally:
        client.http.close()
    assert proxy.violations(side=None) == []


def test_callbacks__judged_recorded_with_their_task_and_passed_on(proxy: Proxy, stand_in: tuple[StandIn, str]) -> None:
    app, _ = stand_in
    with httpx.Client(base_url=proxy.url, timeout=WAIT) as http:
        task = http.post(CREATE, json=BODY, headers=KEY).json()
        done = app.task(task["id"], "completed", 100)
        raw = json.dumps(done).encode()
        delivered = http.post("/__callback", content=raw, headers={"Content-Type": "application/json"})
        assert (delivered.status_code, delivered.json()) == (200, {"hook": "answered"})
        assert (app.received[-1].path, app.received[-1].body) == ("/hook", raw)
        assert proxy.violations() == []
        early = app.task(task["id"], "processing", 50)
        http.post("/__callback", json=early, headers={"Content-Type": "application/json"})
    titles = {v["title"] for v in proxy.violations()}
    assert {"Callback for an unfinished task", "Finished task changed status"} <= titles
    recording = proxy.stderr.parent / "recordings" / "tasks" / f"{task['id']}.json"
    callbacks = json.loads(recording.read_text())["callbacks"]
    assert [c["request"]["body"]["status"] for c in callbacks] == ["completed", "processing"]
    assert callbacks[0]["answer"] == {
        "body": {"hook": "answered"},
        "headers": {"content-type": "application/json"},
        "status": 200,
    }


def test_https_target__trusted_with_ca_file_refused_without(tmp_path: Path) -> None:
    mock, mock_url = launch("serve", "--tls", "--tls-ca-out", str(tmp_path / "ca.pem"))
    trusting = start_proxy(tmp_path / "trusting", mock_url, "--ca-file", str(tmp_path / "ca.pem"))
    untrusting = start_proxy(tmp_path / "untrusting", mock_url)
    try:
        good = httpx.post(f"{trusting.url}{CREATE}", json=BODY, headers=KEY, timeout=WAIT)
        bad = httpx.post(f"{untrusting.url}{CREATE}", json=BODY, headers=KEY, timeout=WAIT)
    finally:
        stop(untrusting.process)
        stop(trusting.process)
        stop(mock)
    assert good.status_code == 200
    assert good.json()["status"] == "pending"
    assert bad.status_code == 502
    assert "CERTIFICATE_VERIFY_FAILED" in bad.json()["error"]["message"]


def test_cli__a_bad_target_or_ca_file_exits_2_naming_it(tmp_path: Path) -> None:
    for args, said in (
        (["--target", "ftp://x"], "--target"),
        (["--target", "http://127.0.0.1:1", "--ca-file", str(tmp_path / "none.pem")], "--ca-file"),
        (["--target", "http://127.0.0.1:1", "--record-images"], "--record-images only applies with --record"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mock_server", "proxy", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, args
        assert said in done.stderr
        assert done.stdout == ""


def test_compressed_answers__pass_compressed_and_are_checked_decoded(
    proxy: Proxy, stand_in: tuple[StandIn, str]
) -> None:
    app, _ = stand_in
    app.compress = True
    with httpx.Client(base_url=proxy.url, timeout=WAIT) as http:
        task = http.post(CREATE, json=BODY, headers={**KEY, "Accept-Encoding": "gzip"})
        raw = app.sent[-1].body
        poll = http.get(f"/v1/tasks/{task.json()['id']}", headers={**KEY, "Accept-Encoding": "gzip"})
    assert task.headers["content-encoding"] == "gzip"
    assert raw.startswith(b"\x1f\x8b")
    assert task.json()["status"] == "pending"
    assert poll.json()["status"] == "processing"
    assert proxy.violations(side=None) == []
