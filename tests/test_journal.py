"""The request journal: what the client sent and what it got, for verification."""

from __future__ import annotations

import httpx
import pytest

from mock_server.journal import JournalEntry, RequestJournal, decode_body
from tests.conftest import AUTH, CREATE, KEY, START, body

pytestmark = pytest.mark.anyio


async def test_journal__records_method_path_key_body_status_and_time(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "abc"}
    created = (await client.post(CREATE, json=body(size="1:1"), headers=headers)).json()
    await client.get(f"/v1/tasks/{created['id']}", headers=AUTH)
    await client.post(CREATE, content=b"{oops", headers={**AUTH, "Content-Type": "application/json"})
    entries = (await client.get("/__mock/requests")).json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", CREATE, 200),
        ("GET", f"/v1/tasks/{created['id']}", 200),
        ("POST", CREATE, 400),
    ]
    first = entries[0]
    assert first["key"] == KEY
    assert first["body"] == body(size="1:1")
    assert first["headers"]["idempotency-key"] == "abc"
    assert first["time"] == START
    assert first["task_id"] == created["id"]
    assert entries[2]["body"] == "{oops"


async def test_journal__filters_and_limits(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.post(CREATE, json=body(), headers=AUTH)
    await client.get("/v1/tasks/nope", headers={"Authorization": "Bearer sk-other"})
    only_gets = (await client.get("/__mock/requests", params={"method": "get"})).json()
    assert only_gets["count"] == 1 and only_gets["requests"][0]["key"] == "sk-other"
    assert (await client.get("/__mock/requests", params={"status": 400})).json()["count"] == 1
    assert (await client.get("/__mock/requests", params={"path": "/v1/tasks/*"})).json()["count"] == 1
    assert (await client.get("/__mock/requests", params={"key": KEY, "limit": 2})).json()["count"] == 2
    assert (await client.get("/__mock/requests", params={"limit": "x"})).status_code == 400


async def test_journal__skips_admin_calls_and_clears(client: httpx.AsyncClient) -> None:
    await client.post(CREATE, json=body(), headers=AUTH)
    await client.get("/__mock/tasks")
    assert (await client.get("/__mock/requests")).json()["count"] == 1
    await client.delete("/__mock/requests")
    assert (await client.get("/__mock/requests")).json()["count"] == 0


async def test_reset__clears_the_journal(client: httpx.AsyncClient) -> None:
    await client.post(CREATE, json=body(), headers=AUTH)
    await client.post("/__mock/reset")
    assert (await client.get("/__mock/requests")).json()["count"] == 0


def test_journal__keeps_only_the_newest_entries() -> None:
    journal = RequestJournal(capacity=3)
    for index in range(5):
        journal.record(JournalEntry(0.0, "GET", f"/{index}", b"", [], b"", 200, None, 0.1))
    assert [entry["path"] for entry in journal.entries()] == ["/2", "/3", "/4"]


def test_decode_body__json_text_or_none() -> None:
    assert decode_body(b'{"a":1}', "application/json") == {"a": 1}
    assert decode_body(b"plain", "text/plain") == "plain"
    assert decode_body(b"", "application/json") is None
    assert len(decode_body(b"x" * 100_000, "application/json")) == 64 * 1024
