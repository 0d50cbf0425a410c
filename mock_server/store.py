"""The task store: one interface, an in-memory default.

Finished tasks are kept for ``retention`` mock seconds after they finish (default 24 h,
as long as their result links live), then dropped; and the store never holds more than
``max_tasks`` tasks (the oldest go first). Both keep memory bounded under sustained use.

Each operation costs the same however long the store has been full: the creation order is a
deque of ids (evicting pops its left end), and the expiry heap; ids of tasks that left by
another way (retention, eviction) stay in the other structure until they reach its front or
until it holds twice as many ids as there are tasks, when it is rebuilt (amortized O(1)).
A plain dict's "first key" is not O(1): deleting from its front leaves holes that every
``next(iter(d))`` walks over until the dict is resized.

Retention holds on every read: ``get_task``, ``tasks`` and ``len`` look at the store's
clock, so a task whose retention has passed is gone (``TaskNotFound``, not listed) from
that moment, whether or not anything has purged it yet.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterator
from typing import Protocol

from .clock import Clock, SystemClock
from .errors import TaskNotFound
from .tasks import Task


class TaskStore(Protocol):
    def create_task(self, task: Task, now: float) -> None: ...

    def get_task(self, task_id: str, key: str | None = None) -> Task:
        """The task, if ``key`` (when given) created it; else ``TaskNotFound``."""
        ...

    def tasks(self) -> Iterator[Task]: ...

    def purge(self, now: float) -> int: ...

    def reset(self) -> None: ...

    def __len__(self) -> int: ...


class InMemoryTaskStore:
    """Args:
    retention: mock seconds a finished task stays queryable.
    max_tasks: most tasks kept at once.
    clock: the time reads are judged at (default: the wall clock).
    """

    def __init__(self, *, retention: float = 86_400.0, max_tasks: int = 200_000, clock: Clock | None = None) -> None:
        self.retention = retention
        self.max_tasks = max_tasks
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._tasks: dict[str, Task] = {}
        self._order: deque[str] = deque()  # ids in creation order; some may have left already
        self._expiry: list[tuple[float, int, str]] = []  # (expires at, creation serial, id)
        self._serial = 0

    def create_task(self, task: Task, now: float) -> None:
        self.purge(now)
        tasks, order = self._tasks, self._order
        while len(tasks) >= self.max_tasks:
            tasks.pop(order.popleft(), None)  # an id that already left pops nothing
        tasks[task.id] = task
        order.append(task.id)
        if len(order) > 2 * len(tasks) + 1024:
            self._order = deque(task_id for task_id in order if task_id in tasks)
        if math.isfinite(task.plan.finished_at):
            # The serial breaks ties in creation order (the order of eviction), not by id.
            self._serial += 1
            heapq.heappush(self._expiry, (task.plan.finished_at + self.retention, self._serial, task.id))

    def get_task(self, task_id: str, key: str | None = None) -> Task:
        task = self._tasks.get(task_id)
        if task is None or (key is not None and task.key != key):
            raise TaskNotFound(task_id)
        now = self.clock.now()
        if self._expired(task, now):
            self.purge(now)
            self._tasks.pop(task_id, None)  # ended early (a cancel): its heap entry is later
            raise TaskNotFound(task_id)
        return task

    def _expired(self, task: Task, now: float) -> bool:
        return task.plan.finished_at + self.retention <= now

    def tasks(self) -> Iterator[Task]:
        now = self.clock.now()
        self.purge(now)
        return iter([task for task in self._tasks.values() if not self._expired(task, now)])

    def purge(self, now: float) -> int:
        """Drop the tasks whose retention has passed; return how many went."""
        dropped = 0
        expiry = self._expiry
        tasks = self._tasks
        while expiry and expiry[0][0] <= now:
            task_id = heapq.heappop(expiry)[2]
            if tasks.pop(task_id, None) is not None:
                dropped += 1
        while expiry and expiry[0][2] not in tasks:
            # Evicted by the cap: the oldest task is usually the first to expire too, so its
            # entry is on top. Popping it now spares the rebuild below (a pause at 200,000 tasks).
            heapq.heappop(expiry)
        if len(expiry) > 2 * len(tasks) + 1024:
            # Entries of tasks evicted by the size cap linger in the heap; rebuild it now and then.
            self._expiry = [entry for entry in expiry if entry[2] in tasks]
            heapq.heapify(self._expiry)
        return dropped

    def reset(self) -> None:
        self._tasks.clear()
        self._order.clear()
        self._expiry.clear()

    def __len__(self) -> int:
        self.purge(self.clock.now())
        return len(self._tasks)
