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
from collections import deque
from typing import Any


class CallbackJournal:
    """Every attempt and event, oldest first; the newest ``capacity`` are kept."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {"id": next(self._ids), **entry}
        self._entries.append(entry)
        return entry

    def entries(self, task_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        found = [e for e in self._entries if task_id is None or e["task_id"] == task_id]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._entries.clear()
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)
