"""What both journals share: the entry fields common to both, and the bounded, paged store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_server.callbacks import CallbackEntry, CallbackJournal
from mock_server.journal import JournalEntry, RequestJournal
from mock_server.records import Record, RecordLog

SHARED = ("id", "time", "status", "duration_ms")


@dataclass(slots=True)
class Note(Record):
    text: str
    time: float = 0.0
    status: int | None = None
    duration_ms: float | None = None
    id: int = 0
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text}


class Notes(RecordLog[Note]):
    def add(self, text: str, size: int = 0) -> None:
        self._keep(Note(text, size=size))

    def ids(self) -> list[int]:
        found, _ = self._page(None, limit=100, before=None, scan=100)
        return [note.id for note in found]


def test_record_log__keeps_the_newest_capacity_entries() -> None:
    notes = Notes(capacity=3)
    for text in "abcde":
        notes.add(text)
    assert notes.ids() == [3, 4, 5] and len(notes) == 3


def test_record_log__a_byte_bound_lets_the_oldest_go_but_keeps_the_newest() -> None:
    notes = Notes(capacity=100, max_bytes=250)
    for _ in range(4):
        notes.add("x", size=100)
    assert notes.ids() == [3, 4] and notes.bytes == 200
    notes.add("huge", size=1000)
    assert notes.ids() == [5] and notes.bytes == 1000


def test_record_log__pages_walk_back_with_a_cursor_and_a_filter() -> None:
    notes = Notes(capacity=100)
    for text in "ababab":
        notes.add(text)
    page, cursor = notes._page(lambda note: note.text == "a", limit=2, before=None, scan=100)
    assert [note.id for note in page] == [3, 5] and cursor == 3
    page, cursor = notes._page(lambda note: note.text == "a", limit=2, before=cursor, scan=100)
    assert [note.id for note in page] == [1] and cursor is None


def test_record_log__clear_keeps_numbering_on() -> None:
    notes = Notes(capacity=10)
    notes.add("a")
    notes.clear()
    notes.add("b")
    assert notes.ids() == [2] and notes.bytes == 0


def test_callback_journal__clear_numbers_from_one_again() -> None:
    journal = CallbackJournal()
    journal.record({"task_id": "t"})
    journal.clear()
    assert journal.record({"task_id": "t"})["id"] == 1


def test_journals__both_keep_records_in_a_record_log() -> None:
    assert isinstance(RequestJournal(), RecordLog) and isinstance(CallbackJournal(), RecordLog)


def test_journals__their_entries_name_the_shared_fields_alike() -> None:
    request = JournalEntry(5.0, "POST", "/v1/x", b"", [], b"", 200, None, 1.5)
    callback = CallbackEntry(task_id="t", url="https://h.example/", time=5.0, status=200, duration_ms=1.5)
    RequestJournal().record(request)
    CallbackJournal().record(callback)
    for entry in (request, callback):
        assert isinstance(entry, Record)
        listed = entry.as_dict()
        assert {name: listed[name] for name in SHARED} == {"id": 1, "time": 5.0, "status": 200, "duration_ms": 1.5}
