"""What both journals are made of: the entry shape they share, and the bounded, paged store.

The request journal (``journal.py``, ``GET /__mock/requests``) and the callback journal
(``callbacks/journal.py``, ``GET /__mock/callbacks``) each record one HTTP exchange per
entry: a request the mock answered, or a callback POST the mock sent. Where they overlap
the fields mean the same thing and carry the same name (``Record``): ``id``, ``time``,
``status`` and ``duration_ms``. Each journal keeps its entries in a ``RecordLog``: ids
from 1, the newest ``capacity`` kept (and, when given, about ``max_bytes``), read newest
first in pages whose cost does not grow with the journal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar


class Record:
    """One journalled exchange, as both journals name its common parts.

    Attributes:
        id: its number in its journal, from 1 (the page cursor counts down these).
        time: mock time the exchange started.
        status: the HTTP status answered, or None when there was no answer.
        duration_ms: mock milliseconds from the start until the answer (or until giving up);
            None for an entry that sent nothing.
        size: about how many bytes of memory the entry holds (0 when not counted).
    """

    __slots__ = ()
    id: int
    time: float
    status: int | None
    duration_ms: float | None
    size: int

    def as_dict(self) -> dict[str, Any]:
        """The entry as its journal's listing shows it."""
        raise NotImplementedError


R = TypeVar("R", bound=Record)


class RecordLog(Generic[R]):
    """The newest entries, oldest first, within ``capacity`` entries and (when set) ``max_bytes`` bytes."""

    def __init__(self, capacity: int, max_bytes: int | None = None) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: dict[int, R] = {}
        self._first = 1
        self._ids = itertools.count(1)

    def _keep(self, entry: R) -> None:
        """Number ``entry``, keep it, and let the oldest go past the bounds (never the last one)."""
        entry.id = next(self._ids)
        entries = self._entries
        if not entries:
            self._first = entry.id
        entries[entry.id] = entry
        self.bytes += entry.size
        max_bytes = self.max_bytes
        while len(entries) > self.capacity or (max_bytes is not None and self.bytes > max_bytes and len(entries) > 1):
            self.bytes -= entries.pop(self._first).size
            self._first += 1

    def _newest_first(self, before: int | None) -> Iterator[R]:
        last = next(iter(reversed(self._entries)), 0) if self._entries else 0
        start = last if before is None else min(before - 1, last)
        entries = self._entries
        for entry_id in range(start, self._first - 1, -1):
            entry = entries.get(entry_id)
            if entry is not None:
                yield entry

    def _page(
        self,
        matches: Callable[[R], bool] | None,
        *,
        limit: int,
        before: int | None,
        scan: int,
        max_bytes: int | None = None,
    ) -> tuple[list[R], int | None]:
        """The newest ``limit`` entries that ``matches`` (all when None) older than id ``before``,
        oldest first, and the cursor to the next (older) page, or None at the end. At most
        ``scan`` entries are looked at, and entries of about ``max_bytes`` kept (at least one)."""
        found: list[R] = []
        cursor: int | None = None
        size = 0
        for looked, entry in enumerate(self._newest_first(before), 1):
            if matches is None or matches(entry):
                found.append(entry)
                size += entry.size
            if len(found) >= limit or looked >= scan or (max_bytes is not None and size >= max_bytes):
                cursor = entry.id if entry.id > self._first else None
                break
        found.reverse()
        return found, cursor

    def clear(self) -> None:
        """Forget every entry; ids go on from where they were (older cursors stay meaningful)."""
        self._entries.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
