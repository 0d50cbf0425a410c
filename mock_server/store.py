"""The task store: one interface, an in-memory default.

Finished tasks are kept for ``retention`` mock seconds after they finish (default 24 h,
as long as their result links live), then dropped; and the store never holds more than
``max_tasks`` tasks (the oldest go first). Both keep memory bounded under sustained use.

Retention holds on every read: ``get_task``, ``tasks`` and ``len`` look at the store's
clock, so a task whose retention has passed is gone (``TaskNotFound``, not listed) from
that moment, whether or not anything has purged it yet.
"""

from __future__ import annotations

import heapq
import math
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
        self._expiry: list[tuple[float, str]] = []

    def create_task(self, task: Task, now: float) -> None:
        self.purge(now)
        while len(self._tasks) >= self.max_tasks:
            del self._tasks[next(iter(self._tasks))]
        self._tasks[task.id] = task
        if math.isfinite(task.plan.finished_at):
            heapq.heappush(self._expiry, (task.plan.finished_at + self.retention, task.id))

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
        while expiry and expiry[0][0] <= now:
            _, task_id = heapq.heappop(expiry)
            if self._tasks.pop(task_id, None) is not None:
                dropped += 1
        if len(expiry) > 2 * len(self._tasks) + 1024:
            # Entries of tasks evicted by the size cap linger in the heap; rebuild it now and then.
            self._expiry = [entry for entry in expiry if entry[1] in self._tasks]
            heapq.heapify(self._expiry)
        return dropped

    def reset(self) -> None:
        self._tasks.clear()
        self._expiry.clear()

    def __len__(self) -> int:
        self.purge(self.clock.now())
        return len(self._tasks)
