"""The request journal: what clients sent and what they got, for verification (as WireMock's).

Bounded twice: the newest ``capacity`` entries are kept (default 10,000) as long as they
fit in ``max_bytes`` (default 32 MiB); the oldest go first. One entry keeps at most 64 KiB
of its body and 1 KiB of each header value (the rest is cut, and the cut says so), so a
client sending huge headers cannot fill memory through the journal.

Secrets are never kept whole: ``Authorization`` (and ``Proxy-Authorization``, ``Cookie``,
``X-Api-Key``, ``X-Mock-Admin-Token``) values are masked when recorded, keeping the first and
last few characters (``Bearer sk-t...9f2a``). The entry's ``key`` is the key the API decided
on, masked the same way; filtering by the full key still works, through a salted hash kept
only in memory.

Every entry renders, whatever arrived: a body that the JSON renderer cannot carry (an
integer beyond 64 bits, a lone surrogate, nesting past 255 levels, ``NaN``) is shown as
text, with ``body_note`` saying why. Admin calls under /__mock/ are not journalled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson

from .errors import Unauthorized
from .records import Record, RecordLog
from .validation import authorization_of, bearer_key

MAX_BODY = 64 * 1024
MAX_HEADER_VALUE = 1024
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
PAGE_BYTES = 4 * 1024 * 1024
"""About how many bytes of entries one page of ``GET /__mock/requests`` holds, at most."""
ENTRY_OVERHEAD = 512
"""Bytes an entry costs besides its headers and body (objects, strings, the dict slot)."""
SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"x-api-key", b"x-mock-admin-token"})
RawHeaders = list[tuple[bytes, bytes]]


def mask(secret: str) -> str:
    """``secret`` with its middle hidden: at most 4 characters kept at each end, and never
    more than a quarter of it (``sk-test-owner`` → ``sk-...ner``; ``k`` → ``...``)."""
    keep = len(secret) >> 2
    if keep > 4:
        keep = 4
    return secret[:keep] + "..." + secret[-keep:] if keep else "..."


def _mask_bytes(secret: bytes) -> bytes:
    keep = len(secret) >> 2
    if keep > 4:
        keep = 4
    return secret[:keep] + b"..." + secret[-keep:] if keep else b"..."


def _mask_value(name: bytes, value: bytes) -> bytes:
    """A secret header's value, masked; for ``Authorization`` the scheme stays readable."""
    if name == b"authorization" or name == b"proxy-authorization":
        value = value.strip()
        space = value.find(b" ")
        if space > 0:
            return value[: space + 1] + _mask_bytes(value[space + 1 :].strip())
    return _mask_bytes(value)


def _clip(value: bytes) -> bytes:
    if len(value) <= MAX_HEADER_VALUE:
        return value
    return value[:MAX_HEADER_VALUE] + f"...[cut: {len(value)} bytes]".encode()


def _kept(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """A header as the journal keeps it: a secret masked, a long value cut."""
    name, value = header
    return (name, _mask_value(name, value)) if name in SECRET_HEADERS else (name, _clip(value))


def key_of(headers: RawHeaders) -> str | None:
    """The API key the request carries, decided as the API decides it (``authorization_of``
    and ``bearer_key``); None when there is none, or when it is malformed or ambiguous."""
    try:
        return bearer_key(authorization_of(headers))
    except Unauthorized:
        return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite)


def decode_body(raw: bytes, content_type: str, size: int | None = None) -> tuple[Any, str | None, str | None]:
    """``(body, format, note)``: the JSON value (``json``), else the text (``text``, undecodable
    bytes replaced), else ``(None, None, None)`` when empty. ``note`` says why a body sent as
    JSON is shown as text. ``size``: how many bytes arrived (``raw`` may be their first 64 KiB)."""
    if not raw:
        return None, None, None
    size = len(raw) if size is None else size
    text = raw.decode("utf-8", errors="replace")
    if "json" not in content_type:
        return text, "text", _cut_note(raw, size)
    if size > len(raw):
        return text, "text", _cut_note(raw, size)
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return text, "text", "not UTF-8"
    except (ValueError, RecursionError) as error:
        return text, "text", f"not valid JSON: {error}"[:200]
    try:
        orjson.dumps({"body": value})  # as deep as it sits in its entry
    except TypeError as error:  # orjson.JSONEncodeError: beyond 64 bits, a lone surrogate, too deep
        return text, "text", f"valid JSON that JSON renderers cannot carry: {error}"
    return value, "json", None


def _cut_note(raw: bytes, size: int) -> str | None:
    return f"cut: the first {len(raw)} of {size} bytes" if size > len(raw) else None


@dataclass(slots=True)
class JournalEntry(Record):
    """One request the mock answered (its shared parts: ``records.Record``)."""

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
    key: str | None = None
    """The key, masked (set by ``RequestJournal.record``)."""
    key_hash: int | None = None
    body_size: int = 0
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        headers: dict[str, str] = {}
        for name, value in self.headers:
            text = value.decode("latin-1")
            key = name.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        body, body_format, body_note = decode_body(self.body, headers.get("content-type", ""), self.body_size)
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "key": self.key,
            "headers": headers,
            "body": body,
            "body_format": body_format,
            "body_note": body_note,
            "body_bytes": self.body_size,
            "status": self.status,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 3),
            **(self.note or {}),
        }

    def render(self) -> bytes:
        """The entry as JSON bytes; always succeeds (see ``render_safely``)."""
        return render_safely(self.as_dict())


def render_safely(value: Any) -> bytes:
    """``value`` as compact JSON; what orjson cannot carry (an integer beyond 64 bits, a lone
    surrogate, nesting past 255 levels) is rendered as text instead, so one odd value never
    makes a whole listing fail."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return orjson.dumps(_carryable(value, 0))


def _carryable(value: Any, depth: int) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if depth >= 200:
        return "...(nested deeper than 200 levels: not shown)"
    if isinstance(value, dict):
        return {str(_carryable(str(k), depth + 1)): _carryable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_carryable(item, depth + 1) for item in value]
    return str(value)


class RequestJournal(RecordLog[JournalEntry]):
    """The newest entries, oldest first, within ``capacity`` entries and ``max_bytes`` bytes."""

    def __init__(self, capacity: int = 10_000, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(capacity, max_bytes)

    def record(self, entry: JournalEntry, key: str | None = None) -> None:
        """Keep ``entry``, masked and clipped. ``key``: the API key the API decided on, if it
        got that far (else it is read from the headers, the same way)."""
        entry.body_size = len(entry.body)
        if len(entry.body) > MAX_BODY:
            entry.body = entry.body[:MAX_BODY]
        headers = entry.headers
        kept = [
            header if header[0] not in SECRET_HEADERS and len(header[1]) <= MAX_HEADER_VALUE else _kept(header)
            for header in headers
        ]
        entry.headers = kept
        size = ENTRY_OVERHEAD + len(entry.body) + len(entry.path) + len(entry.query) + 64 * len(kept)
        size += sum(map(len, chain.from_iterable(kept)))
        if key is None:
            key = key_of(headers)
        if key is not None:
            entry.key = mask(key)
            entry.key_hash = hash(key)
        entry.size = size
        self._keep(entry)

    def _matcher(
        self, method: str | None, path: str | None, key: str | None, status: int | None
    ) -> Callable[[JournalEntry], bool] | None:
        if method is None and path is None and key is None and status is None:
            return None
        upper = method.upper() if method is not None else None
        prefix = path[:-1] if path is not None and path.endswith("*") else None
        masked, hashed = (mask(key), hash(key)) if key is not None else (None, None)

        def matches(entry: JournalEntry) -> bool:
            if upper is not None and entry.method != upper:
                return False
            if path is not None and entry.path != path and (prefix is None or not entry.path.startswith(prefix)):
                return False
            if key is not None and not (
                (entry.key_hash == hashed and entry.key == masked) or (entry.key is not None and entry.key == key)
            ):
                return False
            return status is None or entry.status == status

        return matches

    def page(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        key: str | None = None,
        status: int | None = None,
        limit: int = 100,
        before: int | None = None,
        scan: int = 10_000,
        max_bytes: int = PAGE_BYTES,
    ) -> tuple[list[JournalEntry], int | None]:
        """The newest ``limit`` matching entries older than id ``before``, oldest first, and the
        cursor to the next (older) page, or None at the end. At most ``scan`` entries are
        looked at, and entries of about ``max_bytes`` kept (at least one), so a page costs the
        same however full the journal is. ``key`` is a full key or its masked form; a
        ``path`` ending in ``*`` matches as a prefix."""
        matches = self._matcher(method, path, key, status)
        return self._page(matches, limit=limit, before=before, scan=scan, max_bytes=max_bytes)

    def entries(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        key: str | None = None,
        status: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every kept entry (or the newest ``limit``), oldest first, as dicts; for in-process use."""
        found, _ = self.page(
            method=method,
            path=path,
            key=key,
            status=status,
            limit=limit or len(self._entries) or 1,
            scan=10**9,
            max_bytes=2**62,
        )
        return [entry.as_dict() for entry in found]
