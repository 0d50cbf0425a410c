"""The callback journal: every delivery attempt and event, for tests and people to inspect.

Served at ``GET /__mock/callbacks`` (filters ``task_id``, ``limit``) and per task at
``GET /__mock/tasks/{id}/callbacks``. Oldest first; the newest ``capacity`` entries are
kept (default 10,000, the ``journal_capacity`` setting). One entry:

    {"id": 3, "task_id": "task-unified-...", "url": "https://hooks.example.com/done",
     "kind": "attempt",            # attempt | duplicate | dropped | held
     "attempt": 2,                 # 1-4 for attempts, 1-n for duplicates, else null
     "scheduled_at": 1790000011.0, # mock time it was due
     "time": 1790000011.0,         # mock time it started
     "late_ms": 0.0,               # time - scheduled_at
     "duration_ms": 3.1,           # mock milliseconds until the answer (or the timeout)
     "status": 500,                # the receiver's status, or null
     "error": null,                # why there is no 2xx: timeout, refused, tls, dns, redirect, shutdown...
     "result": "failed",           # delivered | failed | dropped | held | abandoned
     "next": {"action": "retry", "at": 1790000015.0, "in": 2.0}}
                                   # retry | duplicate | poll | gave_up | none
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..records import Record, RecordLog


@dataclass(slots=True, kw_only=True)
class CallbackEntry(Record):
    """One callback attempt or event (its shared parts: ``records.Record``)."""

    task_id: str | None = None
    url: str | None = None
    kind: str | None = None
    attempt: int | None = None
    scheduled_at: float | None = None
    time: float = 0.0
    late_ms: float | None = None
    duration_ms: float | None = None
    status: int | None = None
    error: str | None = None
    result: str | None = None
    next: dict[str, Any] = field(default_factory=lambda: {"action": "none"})
    id: int = 0
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_id": self.task_id,
            "url": self.url,
            "kind": self.kind,
            "attempt": self.attempt,
            "scheduled_at": self.scheduled_at,
            "time": self.time,
            "late_ms": self.late_ms,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "error": self.error,
            "result": self.result,
            "next": self.next,
        }


class CallbackJournal(RecordLog[CallbackEntry]):
    """Every attempt and event, oldest first; the newest ``capacity`` are kept."""

    def __init__(self, capacity: int = 10_000) -> None:
        super().__init__(capacity)

    def record(self, entry: CallbackEntry | Mapping[str, Any]) -> dict[str, Any]:
        """Journal one attempt or event (a ``CallbackEntry`` or its members by name); returns it as listed."""
        if not isinstance(entry, CallbackEntry):
            entry = CallbackEntry(**entry)
        self._keep(entry)
        return entry.as_dict()

    def page(
        self, task_id: str | None = None, *, limit: int = 100, before: int | None = None, scan: int = 10_000
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The newest ``limit`` entries (of ``task_id``) older than id ``before``, oldest first,
        and the cursor to the next (older) page, or None at the end. At most ``scan`` entries
        are looked at, so a page costs the same however full the journal is."""
        matches = None if task_id is None else (lambda entry: entry.task_id == task_id)
        found, cursor = self._page(matches, limit=limit, before=before, scan=scan)
        return [entry.as_dict() for entry in found], cursor

    def entries(self, task_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Every kept entry (of ``task_id``; or the newest ``limit``), oldest first."""
        found, _ = self.page(task_id, limit=limit or len(self._entries) or 1, scan=len(self._entries) or 1)
        return found

    def clear(self) -> None:
        """Forget every entry; ids start again from 1."""
        super().clear()
        self._ids = itertools.count(1)
