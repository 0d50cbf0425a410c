"""Run actions at mock times, on one asyncio loop: the timer behind callback deliveries.

``ClockScheduler.call_at(when, action)`` runs ``action()`` once the mock clock reads
``when`` or later. Entries wait in one heap, ordered by time:

- with a real clock (``SystemClock``, any speed), one asyncio timer is aimed at the
  earliest entry, its delay converted to wall-clock seconds; asyncio timers fire within
  a millisecond or two of their time when the loop is not starved;
- with a virtual clock there is no timer at all: an ``advance()`` (the clock tells its
  listeners) releases every entry that has fallen due, in time order;
- either way an ``advance()`` looks again at once, so pushing a real clock ahead also
  releases what it jumps over.

The scheduler binds lazily to the running loop of its first ``call_at`` (ASGI test
transports send no lifespan events, so nothing starts it earlier). ``call_at`` runs in
that loop; the clock's listener may be called from any thread and hands over with
``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable

from .clock import Clock

log = logging.getLogger("mock_server.callbacks")
# Float sums of mock times (finished_at + 1 + 2 ...) may land a hair off the clock's reading.
EPSILON = 1e-6


class Timer:
    """A scheduled action; ``cancel()`` it before it runs to drop it."""

    __slots__ = ("when", "action", "cancelled")

    def __init__(self, when: float, action: Callable[[], None]) -> None:
        self.when = when
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ClockScheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._aimed_at: float | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False

    def call_at(self, when: float, action: Callable[[], None]) -> Timer:
        """Run ``action()`` at mock time ``when`` (at once, on the next loop turn, if it is past)."""
        timer = Timer(when, action)
        heapq.heappush(self._heap, (when, next(self._order), timer))
        self._bind()
        if self._loop is not None and (self._aimed_at is None or when < self._aimed_at):
            self._arm()
        return timer

    def __len__(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def close(self) -> None:
        """Drop every entry and stop listening to the clock."""
        self._closed = True
        self._heap.clear()
        self._disarm()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def clear(self) -> None:
        """Drop every entry; keep listening."""
        self._heap.clear()
        self._disarm()

    def _bind(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if loop is self._loop:
            return
        if self._loop is not None and self._loop.is_running() and not self._loop.is_closed():
            return  # the loop it runs on is alive elsewhere; keep it
        self._disarm()
        self._loop = loop
        if self._unsubscribe is None and not self._closed:
            self._unsubscribe = self.clock.subscribe(self._advanced)

    def _advanced(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._fire)
        except RuntimeError:  # the loop closed between the check and the call
            pass

    def _disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._aimed_at = None

    def _arm(self) -> None:
        """Aim the one timer at the earliest live entry (real clocks only)."""
        self._disarm()
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        if not self._heap or self._loop is None:
            return
        when = self._heap[0][0]
        delay = self.clock.real_seconds(when - self.clock.now())
        if delay is None:
            # Virtual time: only an advance releases entries, except those already due.
            if when <= self.clock.now() + EPSILON:
                self._aimed_at = when
                self._handle = self._loop.call_later(0, self._fire)
            return
        self._aimed_at = when
        self._handle = self._loop.call_later(max(0.0, delay), self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._aimed_at = None
        now = self.clock.now() + EPSILON
        heap = self._heap
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if timer.cancelled:
                continue
            timer.cancelled = True
            try:
                timer.action()
            except Exception:  # one broken action must not stop the others
                log.exception("scheduled action failed")
        self._arm()
