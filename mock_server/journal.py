"""The request journal: what clients sent and what they got, for verification (as WireMock's).

Bounded: the newest ``capacity`` entries are kept (default 10,000), and each recorded body
is cut at 64 KiB. Admin calls under /__mock/ are not journalled.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from typing import Any

MAX_BODY = 64 * 1024


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


class RequestJournal:
    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        entry["id"] = next(self._ids)
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
        """Oldest first; filters combine; ``limit`` keeps the newest N."""
        selected: Iterable[dict[str, Any]] = self._entries
        if method is not None:
            selected = (e for e in selected if e["method"] == method.upper())
        if path is not None:
            prefix = path[:-1] if path.endswith("*") else None
            selected = (
                e for e in selected if e["path"] == path or (prefix is not None and e["path"].startswith(prefix))
            )
        if key is not None:
            selected = (e for e in selected if e["key"] == key)
        if status is not None:
            selected = (e for e in selected if e["status"] == status)
        found = list(selected)
        return found[-limit:] if limit else found

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
