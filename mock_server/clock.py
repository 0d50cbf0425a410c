"""Mock time: the one place that reads the wall clock.

Every time-based behaviour (task progress, image expiry, retention, and later rate
windows and callback retries) asks a ``Clock`` for ``now()`` in unix seconds.

- ``SystemClock`` follows the wall clock, optionally ``speed`` times faster from the
  moment it is made, and can be pushed ahead with ``advance()``.
- ``VirtualClock`` stands still until ``advance()`` moves it; tests and
  ``--clock virtual`` use it.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    kind: str

    def now(self) -> float:
        """Mock time, in unix seconds."""
        ...

    def advance(self, seconds: float) -> float:
        """Move mock time forward by ``seconds``; return the new time."""
        ...


class SystemClock:
    """Wall-clock time, running ``speed`` times faster than real time from its creation."""

    kind = "real"

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
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
        return self.now()

    def real_seconds(self, mock_seconds: float) -> float:
        """How long ``mock_seconds`` of mock time take in real time."""
        return mock_seconds / self.speed


class VirtualClock:
    """Time that moves only when told to. Starts at ``start`` (default: the wall clock now)."""

    kind = "virtual"

    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(time.time())) if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += seconds
            return self._now
