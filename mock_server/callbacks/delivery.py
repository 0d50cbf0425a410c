"""One task's callback delivery: where it goes, how, and how far it got; its states as data.

A delivery starts ``waiting`` and moves only along ``TRANSITIONS``, through
``CallbackDelivery.move``, which refuses any other step (``IllegalTransition``)::

    waiting   -> scheduled                  the task finishes (or is planned again)
    scheduled -> in_flight | held | dropped  due: sent, held for a poll, or dropped by a rule
    held      -> scheduled                  the owner polled the finished task
    in_flight -> scheduled                  a retry or a duplicate is booked
    in_flight -> delivered | failed
    any active state -> abandoned           shutdown or reset

Active states wait for something (the task to finish, a time, a poll, an answer); final
states end the delivery.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..scheduler import Timer
from ..tasks import Task
from .behaviour import NO_BEHAVIOUR, CallbackBehaviour
from .safety import CallbackTarget


class DeliveryState(enum.StrEnum):
    WAITING = "waiting"
    """The task has not finished (or never will: stuck)."""
    SCHEDULED = "scheduled"
    """An attempt, retry or duplicate is booked at ``due``."""
    HELD = "held"
    """Due, but held until the owner polls the finished task (``after_poll``)."""
    IN_FLIGHT = "in_flight"
    """An attempt is on the wire."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every attempt failed: the retries are used up."""
    DROPPED = "dropped"
    """A rule dropped it (``drop``)."""
    ABANDONED = "abandoned"
    """Given up at shutdown or reset."""

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


WAITING = DeliveryState.WAITING
SCHEDULED = DeliveryState.SCHEDULED
HELD = DeliveryState.HELD
IN_FLIGHT = DeliveryState.IN_FLIGHT
DELIVERED = DeliveryState.DELIVERED
FAILED = DeliveryState.FAILED
DROPPED = DeliveryState.DROPPED
ABANDONED = DeliveryState.ABANDONED
ACTIVE_STATES = frozenset({WAITING, SCHEDULED, HELD, IN_FLIGHT})
FINAL_STATES = frozenset({DELIVERED, FAILED, DROPPED, ABANDONED})

TRANSITIONS: frozenset[tuple[DeliveryState, DeliveryState]] = frozenset(
    {
        (WAITING, WAITING),  # planned again (an admin cancel) and still not finishing
        (WAITING, SCHEDULED),  # the task finishes: the first attempt is booked
        (SCHEDULED, WAITING),  # planned again, and the new plan does not finish
        (SCHEDULED, SCHEDULED),  # planned again at the task's new end (an admin cancel)
        (SCHEDULED, IN_FLIGHT),  # due: the attempt starts
        (SCHEDULED, HELD),  # due, but waits for the owner's poll
        (SCHEDULED, DROPPED),  # due, and a rule drops it
        (HELD, SCHEDULED),  # the owner polled: the attempt is booked now
        (IN_FLIGHT, SCHEDULED),  # answered: a retry or a duplicate is booked
        (IN_FLIGHT, DELIVERED),
        (IN_FLIGHT, FAILED),
    }
    | {(state, ABANDONED) for state in ACTIVE_STATES}  # shutdown or reset
)
"""Every ``(from, to)`` step a delivery may take; ``CallbackDelivery.move`` refuses the rest."""


class IllegalTransition(RuntimeError):
    """A delivery was asked to take a step ``TRANSITIONS`` does not have (a bug in the queue)."""


@dataclass(eq=False)
class CallbackDelivery:
    """One task's callback: where it goes, how, and how far it got."""

    task: Task
    target: CallbackTarget
    base: str
    """Base of the result links in the body (as the owner's poll renders them)."""
    behaviour: CallbackBehaviour = NO_BEHAVIOUR
    attempts: int = 0
    duplicates: int = 0
    polled: bool = False
    due: float | None = None
    kind: str = "attempt"
    timer: Timer | None = field(default=None, repr=False)
    _state: DeliveryState = field(default=WAITING, init=False)

    @property
    def state(self) -> DeliveryState:
        """Where the delivery is; changed only by ``move``."""
        return self._state

    def move(self, to: DeliveryState) -> None:
        """Take the step to ``to``, or raise ``IllegalTransition`` if ``TRANSITIONS`` lacks it."""
        if (self._state, to) not in TRANSITIONS:
            raise IllegalTransition(f"callback of {self.task.id}: no transition from {self._state} to {to}")
        self._state = to

    def summary(self) -> dict[str, Any]:
        return {
            "task_id": self.task.id,
            "url": self.target.url,
            "state": self._state.value,
            "attempts": self.attempts,
            "duplicates": self.duplicates,
            "next_at": self.due if self._state is SCHEDULED else None,
            "behaviour": {
                "delay": self.behaviour.delay,
                "duplicates": self.behaviour.duplicates,
                "drop": self.behaviour.drop,
                "after_poll": self.behaviour.after_poll,
            },
        }
