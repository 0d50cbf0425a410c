"""The ``Prefer`` request header (RFC 7240), as Prism reads it, plus our extensions.

    Prefer: code=429                        answer that status with the spec's example
    Prefer: task-error=service_error        the created task fails with that business code
    Prefer: task-duration=2                 the created task takes 2 mock seconds
    Prefer: task-stuck                      the created task stays processing for ever
    Prefer: delay-ms=1500                   the answer is delayed 1.5 s (real time)

Several combine, comma-separated or in several headers:
``Prefer: task-error=service_error, task-duration=2``. Unknown preferences are ignored,
as RFC 7240 asks; a known one with a bad value is refused with 400. Every answer that
applied one says which in ``Preference-Applied`` (``applied_header``): a query or a forced
``code=`` answer makes no task, so only ``code`` and ``delay-ms`` apply there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .argtypes import finite_float, whole_number
from .errors import InvalidRequest
from .outcomes import FAILURE_CODES, TaskOutcome

MAX_DELAY_MS = 60_000
KNOWN = ("code", "task-error", "task-duration", "task-stuck", "delay-ms")
WITHOUT_TASK = ("code", "delay-ms")
"""The preferences an answer that makes no task applies (a query, a forced ``code=``)."""
FORCED_RETRY_AFTER = 1
"""``Retry-After`` (seconds) of a ``code=429`` answer: a real 429 always carries one."""


@dataclass(frozen=True)
class Preferences:
    code: int | None = None
    delay_ms: int = 0
    outcome: TaskOutcome = TaskOutcome()
    applied: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.applied

    def applied_header(self, names: tuple[str, ...] = KNOWN) -> dict[str, str] | None:
        """``Preference-Applied`` naming the applied preferences among ``names``, or None."""
        shown = [item for item in self.applied if item.partition("=")[0] in names]
        return {"Preference-Applied": ", ".join(shown)} if shown else None

    def forced_headers(self) -> dict[str, str]:
        """The headers of a forced ``code=`` answer: what was applied, and the ``Retry-After``
        the real answer of that status carries."""
        headers = self.applied_header(WITHOUT_TASK) or {}
        if self.code == 429:
            headers["Retry-After"] = str(FORCED_RETRY_AFTER)
        return headers


NO_PREFERENCES = Preferences()


def _split(values: Iterable[str]) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = []
    for header in values:
        for part in header.split(","):
            token = part.split(";", 1)[0].strip()
            if not token:
                continue
            name, sep, value = token.partition("=")
            cleaned = value.strip().strip('"') if sep else None
            items.append((name.strip().lower(), cleaned))
    return items


def _bad(preference: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid Prefer header: {preference}: {why}", param="Prefer")


def parse_prefer(values: Iterable[str]) -> Preferences:
    """Read every ``Prefer`` header value; refuse a known preference with a bad value."""
    code: int | None = None
    delay_ms = 0
    error: str | None = None
    duration: float | None = None
    stuck: bool | None = None
    applied: list[str] = []
    for name, value in _split(values):
        if name not in KNOWN:
            continue
        shown = name if value is None else f"{name}={value}"
        if name == "code":
            try:
                code = whole_number(value, minimum=100, maximum=599)
            except ValueError:
                raise _bad(shown, "code must be an HTTP status, e.g. code=429") from None
        elif name == "task-error":
            if value not in FAILURE_CODES:
                raise _bad(shown, "task-error must be one of " + ", ".join(FAILURE_CODES))
            error = value
        elif name == "task-duration":
            try:
                duration = finite_float(value, minimum=0)
            except ValueError as why:
                raise _bad(shown, f"task-duration {why}: a number of seconds, 0 or more") from None
        elif name == "task-stuck":
            if value not in (None, "true", "false"):
                raise _bad(shown, "task-stuck takes no value (or true/false)")
            stuck = value != "false"
        elif name == "delay-ms":
            try:
                delay_ms = whole_number(value, minimum=0, maximum=MAX_DELAY_MS)
            except ValueError:
                raise _bad(shown, f"delay-ms must be a whole number of milliseconds up to {MAX_DELAY_MS}") from None
        applied.append(shown)
    return Preferences(code, delay_ms, TaskOutcome(error, duration, stuck), tuple(applied))
