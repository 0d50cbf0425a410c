"""What one connection may hold and send (mock_server/connections.py), through raw sockets
against real ``serve`` processes, with each HTTP parser uvicorn can use."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.raw_http import Answer, closed_by_peer, connect, create, exchange, read_answer, request
from tests.support.servers import start, stop

PARSERS = ["httptools", "h11"]
HEAD_LIMIT = 4096

pytestmark = pytest.mark.slow  # real processes, real sockets, real timeouts


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[tuple[str, ...], str]]:
    """Servers started on first use, one per set of options, stopped at the end of the module."""
    started: dict[tuple[str, ...], tuple[subprocess.Popen[str], str]] = {}

    class Servers(dict[tuple[str, ...], str]):
        def __missing__(self, options: tuple[str, ...]) -> str:
            started[options] = start(*options)
            self[options] = url = started[options][1]
            return url

    yield Servers()
    for process, _ in started.values():
        stop(process)


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def plain(servers: dict[tuple[str, ...], str], parser: str) -> str:
    return servers[("--http-parser", parser, "--max-header-bytes", str(HEAD_LIMIT))]


@pytest.fixture
def impatient(servers: dict[tuple[str, ...], str], parser: str) -> str:
    return servers[("--http-parser", parser, "--read-timeout", "1", "--keep-alive-timeout", "1")]


def assert_refused(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    error = answer.json()["error"]
    assert (error["code"], set(error)) == (code, {"code", "message", "type"}), error
    assert error["type"] == ("api_error" if status == 503 else "invalid_request_error")


def journal_of(url: str, count: int) -> list[dict[str, Any]]:
    """The request journal once it holds ``count`` entries (the server journals a request
    when its handling ends, which may come just after the client saw the connection end)."""
    for _ in range(200):
        journal: list[dict[str, Any]] = httpx.get(url + "/__mock/requests", timeout=10).json()["requests"]
        if len(journal) >= count:
            return journal
        time.sleep(0.02)
    pytest.fail(f"the journal never held {count} entries: {journal}")


def still_serving(url: str) -> None:
    assert httpx.get(url + "/__mock/health", timeout=10).status_code == 200


MALFORMED = {
    "bad Content-Length": request("POST", "/v1/images/generations", "Content-Length: abc"),
    "negative Content-Length": request("POST", "/v1/images/generations", "Content-Length: -5"),
    "Content-Length with Transfer-Encoding": request(
        "POST", "/v1/images/generations", "Content-Length: 5", "Transfer-Encoding: chunked"
    )
    + b"0\r\n\r\n",
    "two Content-Lengths": request("POST", "/v1/images/generations", "Content-Length: 2", "Content-Length: 3") + b"{}",
    "NUL in a header": request("GET", "/v1/tasks/task-unified-1-a", "X-Note: a\x00b"),
    "not a method token": request("G@T", "/v1/tasks/task-unified-1-a"),
    "a header line without a colon": b"GET /__mock/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_http__answers_400_in_the_envelope_and_closes(plain: str, case: str) -> None:
    with connect(plain) as sock:
        sock.sendall(MALFORMED[case])
        answer = read_answer(sock)
        assert closed_by_peer(sock)
    assert_refused(answer, 400, "invalid_request")
    assert answer.json()["error"]["message"].startswith("Malformed HTTP request: ")
    still_serving(plain)


def test_unknown_method__answers_in_the_envelope(plain: str, parser: str) -> None:
    answer = exchange(plain, request("FOO", "/v1/tasks/task-unified-1-a"))
    # llhttp knows only registered methods; h11 takes any token and the app answers 405.
    assert answer.status == (400 if parser == "httptools" else 405)
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()["error"]) >= {"code", "message", "type"}


def test_request_line_over_the_limit__answers_414(plain: str) -> None:
    answer = exchange(plain, request("GET", "/v1/tasks/task-unified-" + "a" * 70_000))
    assert_refused(answer, 414, "uri_too_long")
    still_serving(plain)


def _head_of(size: int) -> bytes:
    """A GET whose head (request line and headers, without the blank line) is ``size`` bytes."""
    line = b"GET /__mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    filler = size - len(line) - len(b"X-Fill: \r\n")
    return line + b"X-Fill: " + b"f" * filler + b"\r\n\r\n"


def test_headers_at_the_limit_pass_and_one_byte_more_answers_431(plain: str) -> None:
    assert exchange(plain, _head_of(HEAD_LIMIT)).status == 200
    assert_refused(exchange(plain, _head_of(HEAD_LIMIT + 1)), 431, "request_header_fields_too_large")


def test_headers_over_the_limit_in_small_pieces__answer_431_before_they_end(plain: str) -> None:
    with connect(plain) as sock:
        sock.sendall(request("GET", "/__mock/health")[:-2])  # the head, never ended
        for _ in range(2 * HEAD_LIMIT // 100):
            sock.sendall(b"X-More: " + b"m" * 90 + b"\r\n")
        answer = read_answer(sock)
    assert_refused(answer, 431, "request_header_fields_too_large")


def test_a_huge_header_still_gets_its_431_while_the_client_keeps_sending(plain: str) -> None:
    # The mock reads and drops the rest (lingering close), so the answer is not lost to a reset.
    with connect(plain) as sock:
        sock.sendall(b"GET /__mock/health HTTP/1.1\r\nX-Huge: " + b"h" * 4_000_000 + b"\r\n\r\n")
        assert_refused(read_answer(sock), 431, "request_header_fields_too_large")
    still_serving(plain)


def test_slow_headers__answer_408_after_the_read_timeout(impatient: str) -> None:
    with connect(impatient) as sock:
        sock.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n")  # ... and never the blank line
        answer = read_answer(sock)
        assert closed_by_peer(sock)
    assert_refused(answer, 408, "request_timeout")


def test_a_connection_that_sends_nothing__is_closed_after_the_read_timeout(impatient: str) -> None:
    with connect(impatient) as sock:
        assert sock.recv(100) == b""


def test_an_idle_kept_alive_connection__is_closed_after_the_keep_alive_timeout(impatient: str) -> None:
    with connect(impatient) as sock:
        sock.sendall(request("GET", "/__mock/health"))
        assert read_answer(sock).status == 200
        assert sock.recv(100) == b""


def test_a_stalled_body__answers_408_and_creates_nothing(impatient: str) -> None:
    httpx.delete(impatient + "/__mock/requests", timeout=10)
    with connect(impatient) as sock:
        sock.sendall(create(length=1000))  # declares 1000 bytes, sends 45
        answer = read_answer(sock)
    assert_refused(answer, 408, "request_timeout")
    journal = journal_of(impatient, count=1)
    assert [(entry["status"], entry.get("incomplete_body")) for entry in journal] == [(None, True)]
    assert "task_id" not in journal[0]


def test_over_the_connection_limit__answers_503_and_a_freed_slot_serves_again(
    servers: dict[tuple[str, ...], str], parser: str
) -> None:
    url = servers[("--http-parser", parser, "--max-connections", "2", "--keep-alive-timeout", "60")]
    first, second = connect(url), connect(url)
    try:
        for held in (first, second):
            held.sendall(request("GET", "/__mock/health"))
            assert read_answer(held).status == 200  # both open and kept alive
        with connect(url) as third:
            third.sendall(request("GET", "/__mock/health"))
            refused = read_answer(third)
            assert closed_by_peer(third)
        assert_refused(refused, 503, "service_unavailable")
        assert refused.headers["retry-after"] == "1"
        first.close()
        for _ in range(100):  # until the server has seen the close
            with connect(url) as fourth:
                fourth.sendall(request("GET", "/__mock/health"))
                if read_answer(fourth).status == 200:
                    break
        else:
            pytest.fail("a freed connection slot was never reused")
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("hello", [b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"])
def test_tls_handshake_that_never_finishes__is_closed_after_the_read_timeout(
    servers: dict[tuple[str, ...], str], tmp_path_factory: pytest.TempPathFactory, hello: bytes
) -> None:
    ca = tmp_path_factory.getbasetemp() / "connections-ca.pem"
    url = servers[("--tls", "--tls-ca-out", str(ca), "--read-timeout", "1")]
    with connect(url) as sock:
        sock.sendall(hello)  # nothing, or the start of a ClientHello
        assert closed_by_peer(sock)
    context = ssl.create_default_context(cafile=str(Path(ca)))
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(request("GET", "/__mock/health"))
            assert read_answer(tls).status == 200  # a finished handshake is served as ever
