"""The garbage collector of a serving mock: pauses bounded however many tasks are stored.

CPython starts a young collection when allocations minus deallocations of tracked objects
pass a threshold. A full store frees as many old objects (an evicted task, the journal entry
that falls out) as each create makes, and every such free counts against the allocations:
the count stalls while the young generation grows by each new task, until one collection
walks all of them. Measured in process at ``--max-tasks 200000``: young collections of up to
26 ms, middle ones of up to 97 ms; served, a create p99 7 to 45 times the bare app's
(bench/README.md). Every bounded queue of tracked objects does this, not only the store.

So ``serve`` turns the automatic trigger off and collects on a timer instead: the young
generation every ``period`` seconds, the middle one every ``middle_every`` passes, and all
generations every ``full_every`` passes (cycles that lived long enough to reach the old
generation are rare; this keeps them bounded). Each young pass walks what was made since
the last one, which the request rate bounds, not what is stored. Objects made during
start-up are frozen first, so no pass walks them.
"""

from __future__ import annotations

import gc
import threading

PERIOD = 0.05
MIDDLE_EVERY = 10
FULL_EVERY = 1200  # one minute at the default period


class Collector:
    """Collects on a timer, from a daemon thread (each pass holds the GIL, as the automatic
    collector would have, but for a bounded time)."""

    def __init__(self, *, period: float = PERIOD, middle_every: int = MIDDLE_EVERY, full_every: int = FULL_EVERY):
        if period <= 0 or middle_every < 1 or full_every < 1:
            raise ValueError("the collector needs a positive period and pass counts")
        self.period = period
        self.middle_every = middle_every
        self.full_every = full_every
        self.passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_enabled = True

    def step(self) -> int:
        """One pass; returns the generation collected (0 young, 1 middle, 2 all)."""
        self.passes += 1
        if self.passes % self.full_every == 0:
            generation = 2
        elif self.passes % self.middle_every == 0:
            generation = 1
        else:
            generation = 0
        gc.collect(generation)
        return generation

    def start(self) -> None:
        """Freeze what exists now, turn the automatic trigger off, and collect every ``period``."""
        if self._thread is not None:
            raise RuntimeError("the collector is already running")
        gc.collect()
        gc.freeze()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="nanobanana-mock-gc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer and give the automatic trigger back (frozen objects stay frozen)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join()
        if self._was_enabled:
            gc.enable()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.step()
