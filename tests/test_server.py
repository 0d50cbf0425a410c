"""How ``serve`` stops (mock_server/server.py): a real process, signalled by its pid, with
requests in flight on raw sockets. Every wait is bounded well below what the old behaviour
took (61 s with a delayed answer, for ever with a half-sent body), never measured."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.raw_http import connect, create, read_answer
from tests.servers import BANNER, ROOT

EXIT_WAIT = 20.0


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``serve --port 0 ARGS`` with its stderr kept, and its base URL; killed if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert line.startswith(BANNER), line
        yield process, json.loads(line.split("  ", 1)[1])["url"]
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=EXIT_WAIT)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait (bounded) for the process to end by itself; its exit status and stderr."""
    try:
        _, stderr = process.communicate(timeout=EXIT_WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve still running {EXIT_WAIT:g} s after the signal")
    return process.returncode, stderr


def test_sigterm_with_a_delayed_answer_in_flight__answers_it_now_and_exits_0() -> None:
    with serving() as (process, url), connect(url) as sock:
        sock.sendall(create("Prefer: delay-ms=60000"))
        with connect(url) as probe:  # the create is being handled once this answers
            probe.sendall(b"GET /__mock/tasks HTTP/1.1\r\nHost: x\r\n\r\n")
            read_answer(probe)
        process.send_signal(signal.SIGTERM)
        answer = read_answer(sock)
        status, stderr = finish(process)
    assert answer.status == 200 and answer.json()["status"] == "pending"
    assert answer.headers["connection"] == "close"
    assert status == 0
    assert "Traceback" not in stderr


def test_sigterm_with_a_half_sent_body__closes_it_after_the_grace_and_exits() -> None:
    with serving("--shutdown-grace", "1") as (process, url), connect(url) as sock:
        sock.sendall(create(length=1000))  # declares 1000 bytes, sends 45, holds the rest
        with connect(url) as probe:
            probe.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            read_answer(probe)
        process.send_signal(signal.SIGTERM)
        answer = read_answer(sock)
        status, stderr = finish(process)
    assert answer.status == 503 and answer.json()["error"]["code"] == "service_unavailable"
    assert answer.headers["connection"] == "close"
    assert status == 0
    assert "Closing 1 connection(s) still open" in stderr
    assert "Traceback" not in stderr


def test_a_second_signal__exits_at_once_whatever_the_grace() -> None:
    with serving("--shutdown-grace", "600") as (process, url), connect(url) as sock:
        sock.sendall(create(length=1000))
        with connect(url) as probe:
            probe.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            read_answer(probe)
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        for line in process.stderr:  # the first signal is being handled
            if "Waiting up to 600 s" in line:
                break
        process.send_signal(signal.SIGTERM)
        status, stderr = finish(process)
    assert status == 128 + signal.SIGTERM
    assert "Stopped at once by a second signal" in stderr
    assert "Traceback" not in stderr


def test_ctrl_c__stops_cleanly_without_a_traceback() -> None:
    with serving() as (process, url):
        with connect(url) as probe:  # serving, past start-up
            probe.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
            read_answer(probe)
        process.send_signal(signal.SIGINT)
        status, stderr = finish(process)
    assert status == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert "Finished server process" in stderr
