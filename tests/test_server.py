"""How ``serve`` stops (mock_server/server.py): a real process, signalled by its pid, with
requests in flight on raw sockets. Every wait is bounded well below what the old behaviour
took (61 s with a delayed answer, for ever with a half-sent body), never measured."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.support.raw_http import connect, create, read_answer
from tests.support.servers import BANNER, ROOT

EXIT_WAIT = 20.0

pytestmark = pytest.mark.slow  # real processes, real sockets, real timeouts


class Served:
    """A ``serve --port 0 ARGS`` process, its base URL, and its stderr as it comes."""

    def __init__(self, *args: str, open_files: tuple[int, int] | None = None) -> None:
        def limit_open_files() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            preexec_fn=limit_open_files,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(self.process.stderr,), daemon=True)
        self._reader.start()
        line = self.process.stdout.readline()
        assert line.startswith(BANNER), line
        self.url: str = json.loads(line.split("  ", 1)[1])["url"]

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()

    def wait_for_log(self, text: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: any(text in line for line in self._lines), EXIT_WAIT):
                pytest.fail(f"serve never logged {text!r}: {''.join(self._lines)}")

    def finish(self) -> tuple[int, str]:
        """Wait (bounded) for the process to end by itself; its exit status and stderr."""
        try:
            status = self.process.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {EXIT_WAIT:g} s after the signal")
        self._reader.join(EXIT_WAIT)
        return status, "".join(self._lines)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(EXIT_WAIT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def serving(*args: str, open_files: tuple[int, int] | None = None) -> Iterator[Served]:
    served = Served(*args, open_files=open_files)
    try:
        yield served
    finally:
        served.close()


def in_flight(url: str) -> None:
    """Returns once the server has answered a later request, so it has read earlier ones."""
    with connect(url) as probe:
        probe.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        read_answer(probe)


def test_sigterm_with_a_delayed_answer_in_flight__answers_it_now_and_exits_0() -> None:
    with serving() as served, connect(served.url) as sock:
        sock.sendall(create("Prefer: delay-ms=60000"))
        in_flight(served.url)
        served.process.send_signal(signal.SIGTERM)
        answer = read_answer(sock)
        status, stderr = served.finish()
    assert answer.status == 200 and answer.json()["status"] == "pending"
    assert answer.headers["connection"] == "close"
    assert status == 0
    assert "Traceback" not in stderr


def test_sigterm_with_a_half_sent_body__answers_503_after_the_grace_and_exits_0() -> None:
    with serving("--shutdown-grace", "1") as served, connect(served.url) as sock:
        sock.sendall(create(length=1000))  # declares 1000 bytes, sends 45, holds the rest
        in_flight(served.url)
        served.process.send_signal(signal.SIGTERM)
        answer = read_answer(sock)
        status, stderr = served.finish()
    assert answer.status == 503 and answer.json()["error"]["code"] == "service_unavailable"
    assert answer.headers["connection"] == "close"
    assert status == 0
    assert "Closing 1 connection(s) still open" in stderr
    assert "Traceback" not in stderr


def test_a_second_signal__exits_at_once_whatever_the_grace() -> None:
    with serving("--shutdown-grace", "600") as served, connect(served.url) as sock:
        sock.sendall(create(length=1000))
        in_flight(served.url)
        served.process.send_signal(signal.SIGTERM)
        served.wait_for_log("Waiting up to 600 s")  # the first signal is being handled
        served.process.send_signal(signal.SIGTERM)
        status, stderr = served.finish()
    assert status == 128 + signal.SIGTERM
    assert "Stopped at once by a second signal" in stderr
    assert "Traceback" not in stderr


def test_ctrl_c__stops_cleanly_without_a_traceback() -> None:
    with serving() as served:
        in_flight(served.url)  # serving, past start-up
        served.process.send_signal(signal.SIGINT)
        status, stderr = served.finish()
    assert status == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "Finished server process" in stderr


def _soft_open_files(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/limits").read_text().splitlines() if "open files" in line)
    return int(line.split()[3])


def test_the_open_file_limit_is_raised_to_fit_the_connection_limit() -> None:
    with serving("--max-connections", "1000", open_files=(200, 4096)) as served:
        in_flight(served.url)
        assert _soft_open_files(served.process.pid) >= 1000
        served.process.send_signal(signal.SIGTERM)
        _, stderr = served.finish()
    assert "open files" not in stderr


def test_a_connection_limit_the_open_file_limit_cannot_hold__is_warned_about() -> None:
    with serving("--max-connections", "1000", open_files=(200, 200)) as served:
        in_flight(served.url)
        served.process.send_signal(signal.SIGTERM)
        _, stderr = served.finish()
    assert "--max-connections 1000 needs about 1064 open files, but the limit is 200 (ulimit -n)" in stderr
