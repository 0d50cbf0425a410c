"""Mock time: the one place that reads the wall clock.

Every time-based behaviour (task progress, image expiry, retention, and later rate
windows and callback retries) asks a ``Clock`` for ``now()`` in unix seconds.

- ``SystemClock`` follows the wall clock, optionally ``speed`` times faster from the
  moment it is made, and can be pushed ahead with ``advance()``.
- ``VirtualClock`` stands still until ``advance()`` moves it; tests and
  ``--clock virtual`` use it. ``reset()`` takes it back to where it started.

Both tell their listeners (``subscribe()``) after every ``advance()``, so whatever waits
for a mock time (callback deliveries) can look again at once. ``real_seconds()`` says how
long a stretch of mock time lasts on the wall clock: ``None`` for a virtual clock, whose
time moves only when told.

``wall()`` is the time a client compares with its own clock (a task's ``created`` and the
second in its id): the wall clock plus what ``advance()`` added, without the speed-up. A
sped-up clock's ``now()`` runs ahead of the wall clock by design (durations shrink, so
mock time passes faster); timestamps a client reads stay plausible. A virtual clock has
only one time: its ``wall()`` is its ``now()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

Listener = Callable[[], None]


class Clock(Protocol):
    kind: str

    def now(self) -> float:
        """Mock time, in unix seconds."""
        ...

    def advance(self, seconds: float) -> float:
        """Move mock time forward by ``seconds``; return the new time."""
        ...

    def real_seconds(self, mock_seconds: float) -> float | None:
        """Wall-clock seconds ``mock_seconds`` take; None if time moves only on ``advance()``."""
        ...

    def wall(self) -> float:
        """Unix seconds for the timestamps a client compares with its own clock (``created``)."""
        ...

    def reset(self) -> None:
        """Back to the start, where time can go back (``POST /__mock/reset``)."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener()`` after each ``advance()`` (from the advancing thread); returns
        the function that unsubscribes it."""
        ...


class _Listeners:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()


class SystemClock(_Listeners):
    """Wall-clock time, running ``speed`` times faster than real time from its creation."""

    kind = "real"

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        super().__init__()
        self.speed = speed
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        self.notify()
        return self.now()

    def real_seconds(self, mock_seconds: float) -> float | None:
        """How long ``mock_seconds`` of mock time take in real time."""
        return mock_seconds / self.speed

    def wall(self) -> float:
        """The wall clock plus what ``advance()`` added: ``now()`` without the speed-up."""
        return self._origin_wall + (time.monotonic() - self._origin_mono) + self._offset

    def reset(self) -> None:
        """Nothing: the wall clock does not go back, so neither does a real clock."""


class VirtualClock(_Listeners):
    """Time that moves only when told to. Starts at ``start`` (default: the wall clock now)."""

    kind = "virtual"

    def __init__(self, start: float | None = None) -> None:
        super().__init__()
        self._now = float(int(time.time())) if start is None else float(start)
        self.start = self._now
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += seconds
            now = self._now
        self.notify()
        return now

    def real_seconds(self, mock_seconds: float) -> float | None:
        return None

    def wall(self) -> float:
        return self._now

    def reset(self) -> None:
        """Back to the time it started at, so a reset mock replays a run exactly (task ids
        carry the second they were made)."""
        with self._lock:
            self._now = self.start
