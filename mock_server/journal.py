"""The request journal: what clients sent and what they got, for verification (as WireMock's).

Bounded: the newest ``capacity`` entries are kept (default 10,000), each with at most
64 KiB of its body. Entries keep the raw bytes and are decoded only when read, so
journalling costs the hot path one append. Admin calls under /__mock/ are not journalled.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_BODY = 64 * 1024
RawHeaders = list[tuple[bytes, bytes]]


def decode_body(raw: bytes, content_type: str) -> Any:
    """The body as JSON when it parses, else as text (cut at 64 KiB), else None when empty."""
    if not raw:
        return None
    clipped = raw[:MAX_BODY]
    if "json" in content_type and len(raw) <= MAX_BODY:
        try:
            return json.loads(clipped)
        except ValueError:
            pass
    return clipped.decode("utf-8", errors="replace")


def bearer_of(headers: RawHeaders) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:].strip() if text[:7].lower() == "bearer " else None
    return None


@dataclass(slots=True)
class JournalEntry:
    time: float
    method: str
    path: str
    query: bytes
    headers: RawHeaders
    body: bytes
    status: int | None
    fault: str | None
    duration_ms: float
    note: dict[str, Any] | None = None
    id: int = 0

    @property
    def key(self) -> str | None:
        return bearer_of(self.headers)

    def as_dict(self) -> dict[str, Any]:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in self.headers}
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "key": self.key,
            "headers": headers,
            "body": decode_body(self.body, headers.get("content-type", "")),
            "status": self.status,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 3),
            **(self.note or {}),
        }


class RequestJournal:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._ids = itertools.count(1)

    def record(self, entry: JournalEntry) -> None:
        entry.id = next(self._ids)
        if len(entry.body) > MAX_BODY:
            entry.body = entry.body[:MAX_BODY]
        self._entries.append(entry)

    def entries(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        key: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Oldest first, as dicts; filters combine; ``limit`` keeps the newest N.
        A ``path`` ending in ``*`` matches as a prefix."""
        selected: Iterable[JournalEntry] = self._entries
        if method is not None:
            selected = (e for e in selected if e.method == method.upper())
        if path is not None:
            prefix = path[:-1] if path.endswith("*") else None
            selected = (e for e in selected if e.path == path or (prefix is not None and e.path.startswith(prefix)))
        if key is not None:
            selected = (e for e in selected if e.key == key)
        if status is not None:
            selected = (e for e in selected if e.status == status)
        found = list(selected)
        return [entry.as_dict() for entry in (found[-limit:] if limit else found)]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
