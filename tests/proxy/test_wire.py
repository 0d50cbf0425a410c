"""The proxy's parts without a socket: what crosses (``wire``), the violations' shape, and the
checker on single exchanges."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import Any

import httpx
import pytest

from mock_server.errors import PayloadTooLarge
from mock_server.proxy import checker as checker_module
from mock_server.proxy.checker import ExchangeChecker
from mock_server.proxy.exchange import Exchange
from mock_server.proxy.violations import Violation, ViolationLog
from mock_server.proxy.wire import (
    ContractBroken,
    ProxyError,
    decoded,
    forwarded_request_headers,
    read_body,
    returned_answer_headers,
    target_url,
)


@pytest.mark.parametrize(
    ("base", "raw_path", "query", "expected"),
    [
        ("http://t:1", b"/v1/tasks/x", b"", "http://t:1/v1/tasks/x"),
        ("https://t/api/", b"/v1/tasks/x", b"a=1&b=%2F", "https://t/api/v1/tasks/x?a=1&b=%2F"),
        ("http://t:1", b"//evil.example/x", b"", "http://t:1//evil.example/x"),
        ("http://t:1", b"/a%20b", b"", "http://t:1/a%20b"),
    ],
)
def test_target_url__always_the_target_path_and_query_as_they_came(
    base: str, raw_path: bytes, query: bytes, expected: str
) -> None:
    url = target_url(httpx.URL(base), raw_path, query)
    assert str(url) == expected
    assert url.host == "t"


def test_request_headers__hop_by_hop_and_the_ones_connection_names_are_dropped() -> None:
    headers = [
        ("host", "proxy:8080"),
        ("authorization", "Bearer k"),
        ("connection", "keep-alive, X-Private"),
        ("x-private", "1"),
        ("keep-alive", "5"),
        ("te", "trailers"),
        ("transfer-encoding", "chunked"),
        ("proxy-authorization", "Basic x"),
        ("content-length", "3"),
        ("x-forwarded-host", "evil.example"),
    ]
    assert forwarded_request_headers(headers) == [("authorization", "Bearer k"), ("x-forwarded-host", "evil.example")]


def test_answer_headers__content_length_and_the_rest_stay() -> None:
    headers = [("content-length", "3"), ("connection", "close"), ("upgrade", "h2c"), ("retry-after", "1")]
    assert returned_answer_headers(headers) == [("content-length", "3"), ("retry-after", "1")]


def test_errors__the_proxys_own_answers_say_so_in_the_envelope() -> None:
    assert json.loads(ProxyError("down").render()) == {
        "error": {"code": "proxy_error", "message": "down", "type": "proxy_error"}
    }
    assert (ContractBroken.status, ContractBroken.code, ContractBroken.type) == (
        502,
        "contract_violation",
        "proxy_error",
    )


def test_read_body__stops_at_the_limit_declared_or_streamed() -> None:
    async def read(messages: list[dict[str, Any]], declared: str | None) -> bytes:
        queue = list(messages)

        async def receive() -> dict[str, Any]:
            return queue.pop(0)

        return await read_body(receive, declared, 10)

    chunk = {"type": "http.request", "body": b"123456", "more_body": True}
    last = {"type": "http.request", "body": b"1234", "more_body": False}
    assert asyncio.run(read([chunk, last], None)) == b"1234561234"
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read([chunk, chunk], None))
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read([last], "11"))


def test_decoded__undoes_content_encoding_for_the_checks_only() -> None:
    raw = gzip.compress(b'{"a":1}')
    assert decoded(200, [("content-encoding", "gzip")], raw) == b'{"a":1}'
    assert decoded(200, [], raw) == raw
    assert decoded(200, [("content-encoding", "gzip")], b"not gzip") == b"not gzip"


def test_violation__one_line_whatever_the_actual_holds() -> None:
    lines: list[str] = []
    log = ViolationLog(limit=2, warn=lines.append)
    for number in range(3):
        log.add(
            Violation("lifecycle", "GET /v1/tasks/{task_id}", "T", "E", f"a\nb {number}", "high", "answer", "p1", None)
        )
    assert lines[0] == (
        "nanobanana-mock proxy: violation [lifecycle] GET /v1/tasks/{task_id}: T. "
        "Expected: E. Actual: a b 0 (request p1)"
    )
    assert [v.actual for v in log.all()] == ["a\nb 1", "a\nb 2"]
    assert log.as_json()["total"] == 3


@pytest.fixture(scope="module")
def checker() -> ExchangeChecker:
    return ExchangeChecker()


def task(task_id: str, status: str = "pending", progress: int = 0) -> dict[str, Any]:
    return {
        "created": int(task_id.split("-")[2]),
        "id": task_id,
        "model": "nano-banana-beta",
        "object": "image.generation.task",
        "progress": progress,
        "status": status,
        "task_info": {"can_cancel": True},
        "type": "image",
    }


def exchange(method: str, path: str, status: int, answer: Any, body: bytes = b"") -> Exchange:
    return Exchange(
        request_id="p1",
        method=method,
        path=path,
        query="",
        request_headers=(("authorization", "Bearer k"), ("content-type", "application/json")),
        request_body=body,
        status=status,
        answer_headers=(("content-type", "application/json"),),
        answer_body=json.dumps(answer).encode(),
        at=0.0,
    )


def test_checker__a_path_of_no_operation_is_not_judged(checker: ExchangeChecker) -> None:
    judged = checker.judge(exchange("GET", "/files/images/a.png", 500, "anything"))
    assert (judged.answer, judged.request) == ([], [])


def test_checker__a_body_that_is_not_json_is_the_clients_violation(checker: ExchangeChecker) -> None:
    error = {"error": {"code": "invalid_request", "message": "bad", "type": "invalid_request_error"}}
    judged = checker.judge(exchange("POST", "/v1/images/generations", 400, error, b"{nope"))
    assert judged.answer == []
    assert [(v.check, v.actual) for v in judged.request] == [("request_schema", "body is not JSON: {nope")]


def test_checker__remembers_a_bounded_number_of_tasks(
    checker: ExchangeChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checker_module, "MAX_TASKS", 2)
    now = int(time.time())
    ids = [f"task-unified-{now}-abcdefg{n}" for n in range(3)]
    for task_id in ids:
        checker.judge(exchange("GET", f"/v1/tasks/{task_id}", 200, task(task_id, "processing", 50)))
    # The first task was forgotten: a step back on it goes unseen; on the last it is reported.
    assert checker.judge(exchange("GET", f"/v1/tasks/{ids[0]}", 200, task(ids[0], "processing", 10))).answer == []
    stepped_back = checker.judge(exchange("GET", f"/v1/tasks/{ids[2]}", 200, task(ids[2], "processing", 10)))
    assert [v.title for v in stepped_back.answer] == ["Progress decreased"]
