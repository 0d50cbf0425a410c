"""The callback journal: bounded, paged newest first, every entry rendered."""

from __future__ import annotations

import httpx
import pytest

from mock_server.app import mock_of
from mock_server.callbacks import CallbackJournal


def _fill(journal: CallbackJournal, count: int, task_id: str = "t") -> None:
    for index in range(count):
        journal.record({"task_id": task_id if index % 2 == 0 else "other", "attempt": index})


def test_page__walks_back_from_the_newest_with_a_cursor() -> None:
    journal = CallbackJournal(capacity=5)
    _fill(journal, 8)
    assert [e["id"] for e in journal.entries()] == [4, 5, 6, 7, 8]
    page, cursor = journal.page(limit=2)
    assert [e["id"] for e in page] == [7, 8]
    page, cursor = journal.page(limit=2, before=cursor)
    assert [e["id"] for e in page] == [5, 6]
    page, cursor = journal.page(limit=2, before=cursor)
    assert [e["id"] for e in page] == [4] and cursor is None


def test_page__a_filtered_page_looks_at_a_bounded_number_of_entries() -> None:
    journal = CallbackJournal()
    _fill(journal, 9)
    page, cursor = journal.page("t", limit=10, scan=4)
    assert [e["id"] for e in page] == [7, 9] and cursor == 6
    page, cursor = journal.page("t", limit=10, before=cursor)
    assert [e["id"] for e in page] == [1, 3, 5] and cursor is None


@pytest.mark.anyio
async def test_callbacks__an_entry_json_cannot_carry_still_renders(app, client: httpx.AsyncClient) -> None:
    journal = mock_of(app).callbacks.journal
    journal.record({"task_id": "t", "url": "https://h.example/\ud800", "attempt": 2**70})
    answer = await client.get("/__mock/callbacks")
    assert answer.status_code == 200
    [entry] = answer.json()["callbacks"]
    assert entry["url"] == "https://h.example/\ufffd" and entry["attempt"] == str(2**70)
    assert answer.json()["next_cursor"] is None
