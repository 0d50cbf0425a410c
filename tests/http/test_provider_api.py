"""The hot operations (mock_server/http/provider.py) where the connection matters: a body that did not
arrive whole, through raw sockets against a real ``serve`` process."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.raw_http import CREATE_BODY, connect, create, read_answer, request
from tests.support.servers import running


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running() as base:
        yield base


@pytest.fixture(autouse=True)
def fresh(url: str) -> None:
    httpx.post(url + "/__mock/reset", timeout=10).raise_for_status()


def journal_of(url: str, count: int) -> list[dict[str, Any]]:
    """The journal once it holds ``count`` entries: a request is journalled when its handling
    ends, which may be just after the client has gone."""
    for _ in range(200):
        journal: list[dict[str, Any]] = httpx.get(url + "/__mock/requests", timeout=10).json()["requests"]
        if len(journal) >= count:
            return journal
        time.sleep(0.02)
    pytest.fail(f"the journal never held {count} entries: {journal}")


def send_and_leave(url: str, raw: bytes, *, half_close: bool) -> None:
    with connect(url) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)  # "that is all", still reading
            assert sock.recv(100) == b""


@pytest.mark.parametrize("half_close", [False, True], ids=["closed", "half-closed"])
def test_a_create_whose_body_did_not_arrive_whole__creates_nothing(url: str, half_close: bool) -> None:
    # A complete JSON object, but 1000 bytes declared: the client left before the rest.
    send_and_leave(url, create(body=CREATE_BODY, length=1000), half_close=half_close)
    [entry] = journal_of(url, 1)
    assert (entry["status"], entry["incomplete_body"], entry["body"]) == (None, True, json.loads(CREATE_BODY))
    assert "task_id" not in entry
    assert httpx.get(url + "/__mock/tasks", timeout=10).json()["tasks"] == []


def test_the_same_create_sent_whole__creates_its_task(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(create(body=CREATE_BODY))
        assert read_answer(sock).json()["status"] == "pending"
    assert len(httpx.get(url + "/__mock/tasks", timeout=10).json()["tasks"]) == 1


def test_an_admin_rule_whose_body_did_not_arrive_whole__is_not_added(url: str) -> None:
    rule = b'{"match":{"route":"create"},"respond":{"status":500}}'
    raw = request("POST", "/__mock/rules", "Content-Type: application/json", body=rule, length=500)
    send_and_leave(url, raw, half_close=True)
    assert httpx.get(url + "/__mock/rules", timeout=10).json()["rules"] == []
