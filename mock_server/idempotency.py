"""``Idempotency-Key`` on creates: a retried create with the same key (from the same API key)
answers the task it made the first time, with ``"idempotency_replayed": true``, and makes
no second task and no second charge. Published EvoLink clients send the header and read
that member; the provider does not document how long keys last, so the mock keeps them
as long as the task itself (and at most ``capacity`` keys, the oldest forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict

MAX_KEY_LENGTH = 255


class IdempotencyKeys:
    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._tasks: OrderedDict[tuple[str, str], str] = OrderedDict()

    def task_for(self, api_key: str, idempotency_key: str | None) -> str | None:
        if not idempotency_key:
            return None
        return self._tasks.get((api_key, idempotency_key))

    def remember(self, api_key: str, idempotency_key: str | None, task_id: str) -> None:
        if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
            return
        self._tasks[(api_key, idempotency_key)] = task_id
        while len(self._tasks) > self.capacity:
            self._tasks.popitem(last=False)

    def reset(self) -> None:
        self._tasks.clear()
