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

``await scheduler.advance(seconds)`` is the stepped advance (what ``POST
/__mock/clock/advance`` uses): it moves the clock from one due entry to the next, so each
runs at its own time, as if time had passed continuously, and after each step it waits
for the work that step started or woke (``track()``, ``call_at(..., wakes=task)``) to
finish before time moves on. A callback attempt at +10 that fails at once books its retry
at +11, which the same advance then runs at +11. Work that is still running after
``settle`` real seconds is taken to be waiting for time (a receiver that never answers):
the advance goes on to the next entry, which may be that work's own timeout. A plain
``clock.advance()`` jumps; the entries it jumps over run at the new time.

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
from typing import Any

from .clock import Clock

log = logging.getLogger("mock_server.callbacks")
# Float sums of mock times (finished_at + 1 + 2 ...) may land a hair off the clock's reading.
EPSILON = 1e-6


SETTLE = 3.0
"""Real seconds a stepped advance waits for the work one step started (longer than the
callbacks' 2 s DNS limit, so an attempt that fails on its own is never cut short)."""


class Timer:
    """A scheduled action; ``cancel()`` it before it runs to drop it."""

    __slots__ = ("when", "action", "cancelled", "wakes")

    def __init__(self, when: float, action: Callable[[], None], wakes: asyncio.Task[Any] | None = None) -> None:
        self.when = when
        self.action = action
        self.cancelled = False
        self.wakes = wakes

    def cancel(self) -> None:
        self.cancelled = True


class ClockScheduler:
    def __init__(self, clock: Clock, *, settle: float = SETTLE) -> None:
        self.clock = clock
        self.settle = settle
        self._heap: list[tuple[float, int, Timer]] = []
        self._busy: set[asyncio.Task[Any]] = set()
        self._stalled: set[asyncio.Task[Any]] = set()
        self._started: list[asyncio.Task[Any]] | None = None
        self._stepping: asyncio.Lock | None = None
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._aimed_at: float | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False

    def call_at(self, when: float, action: Callable[[], None], *, wakes: asyncio.Task[Any] | None = None) -> Timer:
        """Run ``action()`` at mock time ``when`` (at once, on the next loop turn, if it is past).
        ``wakes``: the task this action lets go on (a timeout), which a stepped advance waits for."""
        timer = Timer(when, action, wakes)
        heapq.heappush(self._heap, (when, next(self._order), timer))
        self._bind()
        if self._loop is not None and (self._aimed_at is None or when < self._aimed_at):
            self._arm()
        return timer

    def track(self, task: asyncio.Task[Any]) -> None:
        """Work an action started (a callback attempt): a stepped advance waits for it before
        moving time on."""
        self._busy.add(task)
        task.add_done_callback(self._untrack)
        if self._started is not None:
            self._started.append(task)

    def _untrack(self, task: asyncio.Task[Any]) -> None:
        self._busy.discard(task)
        self._stalled.discard(task)

    def __len__(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def next_due(self) -> float | None:
        """Mock time of the earliest live entry, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    async def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward, stopping at each entry that falls due on the way
        so it runs at its own time; returns the new time. Concurrent advances run one after
        the other."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._bind()
        if self._stepping is None:
            self._stepping = asyncio.Lock()
        async with self._stepping:
            # Work still running from before (an attempt whose answer is on its way) ends
            # before time moves, or it would see time it did not live through.
            await self._settle([])
            remaining = float(seconds)
            while True:
                due = self.next_due()
                now = self.clock.now()
                if due is None or due > now + remaining + EPSILON:
                    break
                step = min(remaining, max(0.0, due - now))
                if step > 0:
                    self.clock.advance(step)
                    remaining -= step
                await self._settle(self._run_due())
            if remaining > 0:
                self.clock.advance(remaining)
            return self.clock.now()

    def _run_due(self) -> list[asyncio.Task[Any]]:
        """Run what is due now; the tasks it started or woke."""
        started: list[asyncio.Task[Any]] = []
        self._started = started
        try:
            woken = self._fire()
        finally:
            self._started = None
        return started + woken

    async def _settle(self, tasks: list[asyncio.Task[Any]]) -> None:
        """Wait for ``tasks`` and any other tracked work not known to be stalled, and run what
        they book for now (a duplicate sent right after a success), until nothing is left.
        Work still running after ``settle`` real seconds is stalled (waiting for mock time):
        not waited for again until a timer wakes it (it is then among ``tasks``)."""
        waiting = {task for task in tasks if not task.done()}
        self._stalled -= waiting
        while True:
            # Work the loop started on its own (an entry it fired) counts too.
            waiting |= {task for task in self._busy if task not in self._stalled and not task.done()}
            if not waiting:
                waiting = {task for task in self._run_due() if not task.done()}
                if not waiting:
                    await asyncio.sleep(0)  # a firing already queued on the loop runs now
                    if (
                        not any(not task.done() and task not in self._stalled for task in self._busy)
                        and not self._due_now()
                    ):
                        return
                continue
            _, waiting = await asyncio.wait(waiting, timeout=self.settle)
            if waiting:
                self._stalled |= waiting
                waiting = set()

    def _due_now(self) -> bool:
        due = self.next_due()
        return due is not None and due <= self.clock.now() + EPSILON

    def close(self) -> None:
        """Drop every entry and stop listening to the clock."""
        self._closed = True
        self._heap.clear()
        self._busy.clear()
        self._stalled.clear()
        self._disarm()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def clear(self) -> None:
        """Drop every entry; keep listening."""
        self._heap.clear()
        self._busy.clear()
        self._stalled.clear()
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

    def _fire(self) -> list[asyncio.Task[Any]]:
        """Run every entry due now, in time order; the tasks their actions woke."""
        self._handle = None
        self._aimed_at = None
        now = self.clock.now() + EPSILON
        heap = self._heap
        woken: list[asyncio.Task[Any]] = []
        while heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)[2]
            if timer.cancelled:
                continue
            timer.cancelled = True
            if timer.wakes is not None:
                woken.append(timer.wakes)
            try:
                timer.action()
            except Exception:  # one broken action must not stop the others
                log.exception("scheduled action failed")
        self._arm()
        return woken
