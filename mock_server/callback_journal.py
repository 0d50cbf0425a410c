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
from typing import Any


class CallbackJournal:
    """Every attempt and event, oldest first; the newest ``capacity`` are kept."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: dict[int, dict[str, Any]] = {}
        self._first = 1
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {"id": next(self._ids), **entry}
        if not self._entries:
            self._first = entry["id"]
        self._entries[entry["id"]] = entry
        while len(self._entries) > self.capacity:
            del self._entries[self._first]
            self._first += 1
        return entry

    def page(
        self, task_id: str | None = None, *, limit: int = 100, before: int | None = None, scan: int = 10_000
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The newest ``limit`` entries (of ``task_id``) older than id ``before``, oldest first,
        and the cursor to the next (older) page, or None at the end. At most ``scan`` entries
        are looked at, so a page costs the same however full the journal is."""
        entries = self._entries
        last = self._first + len(entries) - 1
        start = last if before is None else min(before - 1, last)
        found: list[dict[str, Any]] = []
        cursor: int | None = None
        for looked, entry_id in enumerate(range(start, self._first - 1, -1), 1):
            entry = entries[entry_id]
            if task_id is None or entry["task_id"] == task_id:
                found.append(entry)
            if len(found) >= limit or looked >= scan:
                cursor = entry_id if entry_id > self._first else None
                break
        found.reverse()
        return found, cursor

    def entries(self, task_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Every kept entry (of ``task_id``; or the newest ``limit``), oldest first."""
        found, _ = self.page(task_id, limit=limit or len(self._entries) or 1, scan=len(self._entries) or 1)
        return found

    def clear(self) -> None:
        self._entries.clear()
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)
