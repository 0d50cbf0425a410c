"""Progress lines for a live run: which phase it is in, and how its tasks are doing.

A live run waits for real tasks for tens of seconds with nothing else to print; these lines
say what it is doing (``contract: live: lifecycle: 2 task(s) created, 1 finished, 57 polls,
12 s``). The pytest plugin points the sink at its terminal reporter; without a sink (the
in-process mock, whose steps take milliseconds, or the Python API) nothing is printed.
Ticks come at most every ``TICK`` seconds of the injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TICK = 5.0
"""Seconds between two progress lines of the same phase."""


class Progress:
    """Where progress lines go. ``say`` always writes; ``tick`` writes when ``every`` seconds passed."""

    def __init__(
        self,
        sink: Callable[[str], None] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        every: float = TICK,
    ) -> None:
        self.sink = sink
        self._clock = clock
        self.every = every
        self._last = clock()

    def say(self, text: str) -> None:
        if self.sink is not None:
            self.sink(f"contract: {text}")
        self._last = self._clock()

    def tick(self, text: Callable[[], str]) -> None:
        """Say ``text()`` if the last line is ``every`` seconds old (``text`` is built only then)."""
        if self.sink is not None and self._clock() - self._last >= self.every:
            self.say(text())
