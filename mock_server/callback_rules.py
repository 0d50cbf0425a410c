"""How a task's callback is delivered, beyond the provider's own behaviour: late,
duplicated, dropped, or held until the client has polled the finished task.

    callback: {delay: 5}          deliver 5 mock seconds after the task finishes
    callback: {duplicates: 1}     deliver the same body once more after success
    callback: {drop: true}        never deliver (the journal records the drop)
    callback: {after_poll: true}  deliver only after the owner has polled the finished task
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_CALLBACK_DELAY = 86_400.0
MAX_DUPLICATES = 10


@dataclass(frozen=True)
class CallbackBehaviour:
    delay: float = 0.0
    duplicates: int = 0
    drop: bool = False
    after_poll: bool = False


def parse_callback_behaviour(data: Any, where: str) -> CallbackBehaviour:
    from .rules import RuleError

    if not isinstance(data, dict):
        raise RuleError(f"{where}: must be a mapping")
    unknown = sorted(set(data) - {"delay", "duplicates", "drop", "after_poll"})
    if unknown:
        raise RuleError(f"{where}: unknown member {unknown[0]!r} (known: delay, duplicates, drop, after_poll)")
    delay = data.get("delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_CALLBACK_DELAY:
        raise RuleError(f"{where}.delay: must be a number of seconds from 0 to {int(MAX_CALLBACK_DELAY)}")
    duplicates = data.get("duplicates", 0)
    if isinstance(duplicates, bool) or not isinstance(duplicates, int) or not 0 <= duplicates <= MAX_DUPLICATES:
        raise RuleError(f"{where}.duplicates: must be a whole number from 0 to {MAX_DUPLICATES}")
    for flag in ("drop", "after_poll"):
        if not isinstance(data.get(flag, False), bool):
            raise RuleError(f"{where}.{flag}: must be true or false")
    return CallbackBehaviour(float(delay), duplicates, data.get("drop", False), data.get("after_poll", False))
