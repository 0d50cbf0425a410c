"""The in-test server (mock_server/testing.py) speaks HTTP as ``serve`` does: malformed
requests from a client under test are answered in the envelope there too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.app import create_app
from mock_server.testing import ThreadedServer
from tests.support.raw_http import closed_by_peer, connect, read_answer, request


@pytest.fixture
def threaded() -> Iterator[str]:
    server = ThreadedServer().start()
    server.mount(create_app())
    try:
        yield server.url
    finally:
        server.stop()


def test_threaded_server__answers_malformed_http_in_the_envelope(threaded: str) -> None:
    with connect(threaded) as sock:
        sock.sendall(request("POST", "/v1/images/generations", "Content-Length: -1"))
        answer = read_answer(sock)
        assert closed_by_peer(sock)
    assert (answer.status, answer.headers["content-type"]) == (400, "application/json")
    assert answer.json()["error"]["code"] == "invalid_request"
