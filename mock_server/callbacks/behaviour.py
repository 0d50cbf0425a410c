"""How a task's callback is delivered, beyond the provider's own behaviour: late,
duplicated, dropped, or held until the client has polled the finished task.

A rule's ``callback`` act (parsed in ``rules.py`` with the rest of a rule):

    callback: {delay: 5}          deliver 5 mock seconds after the task finishes
    callback: {duplicates: 1}     deliver the same body once more after success
    callback: {drop: true}        never deliver (the journal records the drop)
    callback: {after_poll: true}  deliver only after the owner has polled the finished task
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLBACK_DELAY = 86_400.0
MAX_DUPLICATES = 10


@dataclass(frozen=True)
class CallbackBehaviour:
    delay: float = 0.0
    duplicates: int = 0
    drop: bool = False
    after_poll: bool = False


NO_BEHAVIOUR = CallbackBehaviour()
"""The provider's own behaviour: on time, once."""
