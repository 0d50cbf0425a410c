"""``Idempotency-Key`` on creates: a retried create with the same key (from the same API key)
and the same body answers the task it made the first time, with ``"idempotency_replayed":
true``, and makes no second task and no second charge. Published EvoLink clients send the
header and read that member.

The provider does not document the rest; the mock does what idempotent APIs (Stripe, the
IETF ``Idempotency-Key`` draft) do rather than guess silently:

- the same key with a different body answers 422 ``idempotency_key_reused`` (it would
  otherwise replay a task made for another request);
- the same key while its first request is still being handled answers 409
  ``idempotency_key_in_use``;
- a key longer than 255 characters answers 400 (it cannot be remembered).

"The same body" means the same JSON value: member order and white space do not count.
Keys live as long as their task (a key whose task is gone starts afresh), and at most
``capacity`` keys are kept, the oldest forgotten first.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidRequest

MAX_KEY_LENGTH = 255


def fingerprint(payload: Any, raw: bytes) -> bytes:
    """A digest of a create's body as a JSON value (member order and white space aside)."""
    try:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    except (RecursionError, ValueError):  # nested too deep to re-encode: the bytes decide
        canonical = raw
    return hashlib.blake2b(canonical, digest_size=16).digest()


@dataclass(slots=True)
class _Entry:
    fingerprint: bytes
    task_id: str | None  # None while the first request with the key is being handled


class IdempotencyKeys:
    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def claim(self, api_key: str, key: str | None, digest: bytes, alive: Callable[[str], bool]) -> str | None:
        """The task to answer again for this key, or None: then the key is held for the task
        this request makes, until ``remember`` or ``release``. ``alive(task_id)`` says
        whether a remembered task still exists. Raises the refusals listed above."""
        if not key:
            return None
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidRequest(
                f"Idempotency-Key is too long: {len(key)} characters, at most {MAX_KEY_LENGTH} allowed",
                param="Idempotency-Key",
            )
        entry = self._entries.get((api_key, key))
        if entry is not None and (entry.task_id is None or alive(entry.task_id)):
            if entry.fingerprint != digest:
                raise IdempotencyKeyReused.for_key(key)
            if entry.task_id is None:
                raise IdempotencyKeyInUse.for_key(key)
            return entry.task_id
        self._store(api_key, key, _Entry(digest, None))
        return None

    def remember(self, api_key: str, key: str | None, digest: bytes, task_id: str) -> None:
        """The task made for a claimed key: later requests with it answer this task."""
        if key and len(key) <= MAX_KEY_LENGTH:
            self._store(api_key, key, _Entry(digest, task_id))

    def release(self, api_key: str, key: str | None) -> None:
        """A claimed key whose request made no task (it was refused): free for a new try."""
        if not key:
            return
        entry = self._entries.get((api_key, key))
        if entry is not None and entry.task_id is None:
            del self._entries[(api_key, key)]

    def _store(self, api_key: str, key: str, entry: _Entry) -> None:
        self._entries[(api_key, key)] = entry
        self._entries.move_to_end((api_key, key))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def reset(self) -> None:
        self._entries.clear()
