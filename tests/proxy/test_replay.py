"""Recording with ``proxy --record DIR`` and replaying with ``serve --replay DIR``: the round
trip over real processes, and the recording's format, masking and matching rules."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.proxy.exchange import Exchange
from mock_server.proxy.recording import RecordingWriter, mask_body, mask_header
from mock_server.proxy.replay import RecordingError, Recordings
from tests.support.servers import launch, stop

KEY = "sk-live-0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {KEY}"}
CREATE = "/v1/images/generations"
BODY = {"model": "nano-banana-beta", "prompt": "a cat", "size": "16:9"}
WAIT = 10.0

pytest_plugins = ["pytester"]


def client_session(base: str, advance: Any) -> list[tuple[int, Any]]:
    """A client's session: two tasks with the same body, polls while time passes, two errors."""
    seen: list[tuple[int, Any]] = []
    with httpx.Client(base_url=base, timeout=WAIT, headers=HEADERS) as http:

        def call(method: str, path: str, **kwargs: Any) -> Any:
            answer = http.request(method, path, **kwargs)
            seen.append((answer.status_code, answer.json()))
            return answer.json()

        first = call("POST", CREATE, json=BODY)
        call("GET", f"/v1/tasks/{first['id']}")
        advance(3)
        call("GET", f"/v1/tasks/{first['id']}")
        advance(30)
        call("GET", f"/v1/tasks/{first['id']}")
        call("POST", CREATE, json={"model": "nano-banana-beta"})
        call("POST", CREATE, json=BODY, headers={"Authorization": "Bearer"})
        second = call("POST", CREATE, json=BODY)
        call("GET", f"/v1/tasks/{second['id']}")
        call("GET", f"/v1/tasks/{first['id']}")  # after the last recorded poll: the last repeats
    return seen


def test_round_trip__replay_answers_what_the_client_got_through_the_proxy(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    mock, mock_url = launch("serve", "--clock", "virtual", "--seed", "7")
    try:
        proxy, proxy_url = launch("proxy", "--target", mock_url, "--record", str(folder))
        try:

            def advance(seconds: float) -> None:
                httpx.post(f"{mock_url}/__mock/clock/advance", json={"seconds": seconds}, timeout=WAIT)

            recorded = client_session(proxy_url, advance)
        finally:
            stop(proxy)
    finally:
        stop(mock)
    assert [status for status, _ in recorded] == [200, 200, 200, 200, 400, 401, 200, 200, 200]
    replay, replay_url = launch("serve", "--clock", "virtual", "--seed", "99", "--replay", str(folder))
    try:
        replayed = client_session(replay_url, lambda seconds: None)
        # Not recorded: the mock answers as serve does (another seed, so another id).
        fresh = httpx.post(f"{replay_url}{CREATE}", json={**BODY, "prompt": "a dog"}, headers=HEADERS, timeout=WAIT)
    finally:
        stop(replay)
    assert replayed == recorded
    assert fresh.status_code == 200
    assert fresh.json()["id"] not in {body.get("id") for _, body in recorded}
    text = "".join(path.read_text() for path in folder.rglob("*.json"))
    assert KEY not in text
    assert "Bearer sk-l...cdef" in text


def exchange(seq: int, method: str, path: str, status: int | None, answer: Any, body: Any = None) -> Exchange:
    return Exchange(
        request_id=f"p{seq:06d}",
        method=method,
        path=path,
        query="",
        request_headers=(("authorization", f"Bearer {KEY}"), ("x-api-key", KEY), ("content-type", "application/json")),
        request_body=json.dumps(body).encode() if body is not None else b"",
        status=status,
        answer_headers=(("content-type", "application/json"), ("content-length", "10"), ("date", "x")),
        answer_body=json.dumps(answer).encode(),
        at=1_700_000_000.0 + seq,
    )


TASK = "task-unified-1700000000-abcdefgh"


def test_recording__one_file_per_task_and_per_error_sorted_and_masked(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path)
    writer.record(exchange(1, "POST", CREATE, 429, {"error": {"code": "rate_limit_exceeded"}}, BODY))
    writer.record(exchange(2, "POST", CREATE, 200, {"id": TASK, "status": "pending"}, {**BODY, "api_key": KEY}))
    writer.record(exchange(3, "GET", f"/v1/tasks/{TASK}", 200, {"id": TASK, "status": "completed"}))
    writer.record(exchange(4, "GET", "/files/images/a.png", 200, {}))  # not an operation: not recorded
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json")) == [
        "errors/000001-p000001.json",
        f"tasks/{TASK}.json",
    ]
    record = json.loads((tmp_path / "tasks" / f"{TASK}.json").read_text())
    assert [record["create"]["seq"]] + [p["seq"] for p in record["polls"]] == [2, 3]
    assert record["create"]["request"]["headers"] == {
        "authorization": "Bearer sk-l...cdef",
        "content-type": "application/json",
        "x-api-key": "sk-l...cdef",
    }
    assert record["create"]["request"]["body"]["api_key"] == "sk-l...cdef"
    assert record["create"]["answer"]["headers"] == {"content-type": "application/json"}
    assert (tmp_path / "tasks" / f"{TASK}.json").read_text().startswith('{\n  "callbacks": [],')
    # A new session continues the sequence instead of overwriting it.
    assert RecordingWriter(tmp_path).seq == 3


def test_masking__keys_in_headers_and_bodies() -> None:
    assert mask_header("authorization", "Bearer sk-live-0123456789abcdef") == "Bearer sk-l...cdef"
    assert mask_header("x-request-id", "abc") == "abc"
    assert mask_body({"prompt": "use sk-live-0123456789abcdef", "n": 1}) == {"prompt": "use sk-l...cdef", "n": 1}


def test_replay__answers_in_recorded_order_and_the_last_repeats(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path)
    writer.record(exchange(1, "POST", CREATE, 429, {"error": {"code": "rate_limit_exceeded"}}, BODY))
    writer.record(exchange(2, "POST", CREATE, 200, {"id": TASK, "status": "pending"}, BODY))
    writer.record(exchange(3, "GET", f"/v1/tasks/{TASK}", 200, {"id": TASK, "status": "processing"}))
    writer.record(exchange(4, "GET", f"/v1/tasks/{TASK}", 200, {"id": TASK, "status": "completed"}))
    recordings = Recordings.load(tmp_path)
    same_body = json.dumps({"size": "16:9", "prompt": "a cat", "model": "nano-banana-beta"}, indent=1).encode()
    creates = [recordings.next_create(same_body) for _ in range(3)]
    assert [a.status if a else None for a in creates] == [429, 200, 200]
    assert recordings.next_create(json.dumps({**BODY, "size": "1:1"}).encode()) is None
    polls = [recordings.next_poll(TASK) for _ in range(3)]
    assert [json.loads(a.body)["status"] if a else None for a in polls] == ["processing", "completed", "completed"]
    assert recordings.next_poll("task-unified-1700000000-unknown0") is None
    recordings.rewind()
    assert recordings.next_create(same_body).status == 429  # type: ignore[union-attr]


def test_replay__an_unreadable_recording_is_named(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "broken.json").write_text("{not json")
    with pytest.raises(RecordingError, match=r"broken\.json: cannot be read as JSON"):
        Recordings.load(tmp_path)
    with pytest.raises(RecordingError, match="not a folder of recordings"):
        Recordings.load(tmp_path / "missing")


def test_serve_replay__a_missing_folder_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mock_server.cli import main

    assert main(["serve", "--port", "0", "--replay", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"nanobanana-mock: --replay {tmp_path / 'missing'}: not a folder of recordings\n"


def test_pytest_plugin__the_marker_loads_recordings(tmp_path: Path, pytester: pytest.Pytester) -> None:
    writer = RecordingWriter(tmp_path / "recordings")
    writer.record(exchange(1, "POST", CREATE, 200, {"id": TASK, "status": "pending"}, BODY))
    pytester.makepyfile(
        f"""
        import httpx, pytest

        @pytest.mark.nanobanana_mock(replay={str(tmp_path / "recordings")!r})
        def test_it(nanobanana_mock):
            answer = httpx.post(nanobanana_mock.base_url + "{CREATE}", json={BODY!r}, headers=nanobanana_mock.headers)
            assert answer.json() == {{"id": "{TASK}", "status": "pending"}}
            other_body = {{"model": "nano-banana-beta", "prompt": "x"}}
            other = httpx.post(nanobanana_mock.base_url + "{CREATE}", json=other_body, headers=nanobanana_mock.headers)
            assert other.json()["id"] != "{TASK}"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_replay_app__unmatched_requests_reach_the_mock_whole_and_reset_rewinds(tmp_path: Path) -> None:
    import asyncio

    from mock_server.proxy.replay import ReplayApp

    writer = RecordingWriter(tmp_path)
    writer.record(exchange(1, "POST", CREATE, 200, {"id": TASK, "status": "pending"}, BODY))
    seen: list[tuple[str, bytes]] = []

    async def mock(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append((scope["path"], message.get("body", b"")))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = ReplayApp(mock, Recordings.load(tmp_path))

    def call(method: str, path: str, body: bytes) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        scope = {"type": "http", "method": method, "path": path, "headers": []}
        asyncio.run(app(scope, receive, send))
        return sent

    recorded = json.dumps(BODY).encode()
    assert json.loads(call("POST", CREATE, recorded)[1]["body"]) == {"id": TASK, "status": "pending"}
    call("POST", CREATE, b'{"model":"nano-banana-beta","prompt":"other"}')
    assert seen == [(CREATE, b'{"model":"nano-banana-beta","prompt":"other"}')]
    assert app.recordings.creates[next(iter(app.recordings.creates))].given == 1
    call("POST", "/__mock/reset", b"")
    assert app.recordings.creates[next(iter(app.recordings.creates))].given == 0
