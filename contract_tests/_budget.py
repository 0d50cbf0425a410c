"""The budget of a run: paid tasks, request rate, total time, and patience with 429s.

On a target that is not loopback every create costs credits, so a run may create at most
``max_paid_tasks`` tasks. A create is reserved before it is sent (so concurrent or retried
sends can never overshoot) and settled when its answer arrives: a 2xx answer counts as a
paid task, whatever the request held, and so does a create whose answer never arrived
(the task may exist). ``Budget`` never reads the wall clock directly; it takes a monotonic
clock and a sleep function, so tests drive it without waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ._failures import BudgetExhausted

DEFAULT_PAID_TASKS = 2
DEFAULT_RATE = 2.0
"""Requests per second on a target that is not loopback."""
DEFAULT_MINUTES = 15.0
MAX_429_RETRIES = 5
MAX_BACKOFF = 60.0


@dataclass(frozen=True)
class Limits:
    """What a run may spend. ``None`` means no limit.

    Usage: ``Limits(max_paid_tasks=2, max_rate=2.0, max_seconds=900)``.
    """

    max_paid_tasks: int | None = None
    max_rate: float | None = None
    """Requests per second, counted over every request the suite sends (429 retries included)."""
    max_seconds: float | None = None
    max_429_retries: int = MAX_429_RETRIES

    @property
    def guarded(self) -> bool:
        return self.max_paid_tasks is not None or self.max_rate is not None


class Budget:
    """Counts what a run spent, and refuses or paces requests that would break its ``Limits``."""

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,  # what it returns is ignored
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.started = clock()
        self._next_send = self.started
        self._reserved = 0
        self.paid_tasks = 0
        self.requests = 0
        self.throttled = 0
        self.refused: list[str] = []

    # -- time -----------------------------------------------------------------------------

    def now(self) -> float:
        """The run's clock (monotonic seconds): what every real-time wait of the suite is measured on."""
        return self._clock()

    def elapsed(self) -> float:
        return self._clock() - self.started

    def seconds_left(self) -> float:
        if self.limits.max_seconds is None:
            return math.inf
        return self.limits.max_seconds - self.elapsed()

    def check_time(self) -> None:
        if self.seconds_left() <= 0:
            self._refuse(f"time budget of {self.limits.max_seconds:g} s used up")

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` of real time, or refuse if that would pass the time budget."""
        if seconds > self.seconds_left():
            self._refuse(f"waiting {seconds:g} s more would pass the time budget of {self.limits.max_seconds:g} s")
        self._sleep(seconds)

    # -- paid tasks -----------------------------------------------------------------------

    def paid_left(self) -> int | None:
        if self.limits.max_paid_tasks is None:
            return None
        with self._lock:
            return self.limits.max_paid_tasks - self.paid_tasks - self._reserved

    def reserve_task(self) -> None:
        """Claim one paid task before sending a create; ``BudgetExhausted`` when none is left."""
        with self._lock:
            limit = self.limits.max_paid_tasks
            if limit is not None and self.paid_tasks + self._reserved >= limit:
                used = self.paid_tasks
            else:
                self._reserved += 1
                return
        self._refuse(f"paid-task budget used up ({used} of {limit} tasks created)")

    def settle_task(self, created: bool) -> None:
        """Release a reservation; ``created`` counts it as a paid task."""
        with self._lock:
            self._reserved -= 1
            if created:
                self.paid_tasks += 1

    # -- pace -----------------------------------------------------------------------------

    def pace(self) -> None:
        """Wait until the next request may leave under ``max_rate``, then count it."""
        self.check_time()
        with self._lock:
            now = self._clock()
            send_at = max(now, self._next_send)
            if self.limits.max_rate is not None:
                self._next_send = send_at + 1.0 / self.limits.max_rate
            self.requests += 1
        if send_at > now:
            self._sleep(send_at - now)

    def retry_delay(self, attempt: int, retry_after: str | None) -> float | None:
        """Seconds to wait before retrying a 429, or None to give up and hand the 429 back."""
        with self._lock:
            self.throttled += 1
        if attempt >= self.limits.max_429_retries:
            return None
        delay = _parse_retry_after(retry_after)
        if delay is None:
            delay = float(2**attempt)
        delay = min(max(delay, 0.0), MAX_BACKOFF)
        if delay > self.seconds_left():
            return None
        return delay

    def _refuse(self, reason: str) -> None:
        with self._lock:
            self.refused.append(reason)
        raise BudgetExhausted(reason)

    def summary(self) -> dict[str, object]:
        return {
            "paid_tasks": self.paid_tasks,
            "max_paid_tasks": self.limits.max_paid_tasks,
            "requests": self.requests,
            "max_rate": self.limits.max_rate,
            "throttled": self.throttled,
            "seconds": round(self.elapsed(), 1),
            "max_seconds": self.limits.max_seconds,
            "refused": len(self.refused),
        }


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()
