"""Callbacks from the real CLI process: the opt-in flags, delivery on an admin advance, and a
clean exit with deliveries still pending."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, CREATE, body
from tests.support.servers import BANNER, ROOT, running, stop


class _Hook(BaseHTTPRequestHandler):
    calls: list[bytes] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self.calls.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hook(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[bytes]]]:
    """A receiver on loopback answering ``status`` (indirect parameter; default 200)."""
    calls: list[bytes] = []
    handler = type("Hook", (_Hook,), {"calls": calls, "status": getattr(request, "param", 200)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_serve__delivers_on_advance_and_exits_cleanly_with_deliveries_pending(
    hook: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, calls = hook
    log = tmp_path / "mock.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--clock", "virtual"]
            + ["--task-duration", "4", "--allow-callback-host", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(BANNER), line
    base = json.loads(line.split("  ", 1)[1])["url"]
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            refused = http.post(CREATE, json=body(callback_url="https://127.0.0.2/hook"), headers=AUTH)
            assert refused.json()["error"]["param"] == "callback_url"
            task_id = http.post(CREATE, json=body(callback_url=url), headers=AUTH).json()["id"]
            http.post("/__mock/clock/advance", json={"seconds": 4})
            deadline = time.monotonic() + 5
            while not calls and time.monotonic() < deadline:
                time.sleep(0.01)
            assert calls == [http.get(f"/v1/tasks/{task_id}", headers=AUTH).content]
            assert http.get(f"/__mock/tasks/{task_id}/callbacks").json()["delivery"]["state"] == "delivered"
            http.post(CREATE, json=body(callback_url=url), headers=AUTH)  # due in 4 s of mock time: never
    finally:
        began = time.monotonic()
        stop(process)
    assert time.monotonic() - began < 5  # uvicorn re-raises the SIGTERM it handled: the exit code is -15
    assert len(calls) == 1
    logged = log.read_text()
    assert "1 callback deliveries abandoned at shutdown" in logged
    assert "Application shutdown complete" in logged


def test_serve__refuses_a_ca_file_that_holds_no_ca(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0", "--callback-ca-file", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "--callback-ca-file" in result.stderr


@pytest.mark.parametrize("hook", [503], indirect=True)
def test_serve__one_advance_runs_the_attempt_and_every_retry_at_its_own_time(hook: tuple[str, list[bytes]]) -> None:
    url, calls = hook
    with running("--clock", "virtual", "--task-duration", "10", "--allow-callback-host", "127.0.0.1") as base:
        with httpx.Client(base_url=base, timeout=30) as http:
            created = http.post(CREATE, json=body(callback_url=url), headers=AUTH).json()
            start = http.get("/__mock/clock").json()["now"]
            http.post("/__mock/clock/advance", json={"seconds": 60}).raise_for_status()
            entries = http.get("/__mock/callbacks", params={"task_id": created["id"]}).json()["callbacks"]
    assert [(e["time"] - start, e["late_ms"], e["status"]) for e in entries] == [
        (10, 0.0, 503),
        (11, 0.0, 503),
        (13, 0.0, 503),
        (17, 0.0, 503),
    ]
    assert entries[-1]["next"] == {"action": "gave_up"}
    assert len(calls) == 4
