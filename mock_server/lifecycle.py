"""A task's life as data: a plan fixed at creation, and ``view(plan, now)``.

No loop advances tasks. What a poll sees is a pure function of the plan and the time:

    pending ──(started_at)──▶ processing ──(finished_at)──▶ completed | failed

- ``pending`` before ``started_at``: progress 0.
- ``processing`` until ``finished_at``: progress climbs from 1 to 99 on an ease-out
  curve (fast at first, slower near the end), as progress bars of real services do.
- ``completed`` from ``finished_at``: progress 100.
- ``failed`` from ``finished_at``: progress freezes at what it had reached, so it never
  goes backwards (0 for a task that fails while pending, as the provider's example shows).

A plan whose ``finished_at`` is infinite stays processing for ever (a stuck task).
``end_early(plan, at, failure)`` gives the plan of a task stopped at ``at`` (an admin
cancel): it fails then, its progress frozen where the original curve had reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from evolink_spec import STATUS_RANK, TaskStatus

Status = TaskStatus
"""A task's status, as the spec lists them (``evolink_spec.TaskStatus``)."""
ORDER = STATUS_RANK


@dataclass(frozen=True, slots=True)
class Failure:
    """A business failure: ``code`` is one of the documented codes (a string, not HTTP)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    """When a task starts and ends, and how. Times are mock unix seconds."""

    created_at: float
    started_at: float
    finished_at: float
    failure: Failure | None = None
    image_count: int = 1
    curve_end: float | None = None
    """Where the progress curve was aimed, when the task ended early; None: ``finished_at``."""

    def __post_init__(self) -> None:
        if not self.created_at <= self.started_at <= self.finished_at:
            raise ValueError("a plan needs created_at <= started_at <= finished_at")

    @property
    def finishes(self) -> bool:
        return math.isfinite(self.finished_at)


@dataclass(frozen=True, slots=True)
class View:
    status: Status
    progress: int

    @property
    def finished(self) -> bool:
        return self.status in (Status.COMPLETED, Status.FAILED)


def processing_progress(plan: Plan, now: float) -> int:
    """Progress while processing: 1 at the start, 99 just before the end, never decreasing."""
    if now <= plan.started_at:
        return 0 if now < plan.started_at else 1
    end = plan.finished_at if plan.curve_end is None else plan.curve_end
    if not math.isfinite(end):
        # A stuck task creeps towards 99 and never reaches it: half the way left per minute.
        remaining = 0.5 ** ((now - plan.started_at) / 60.0)
        return max(1, min(99, int(99 * (1.0 - remaining))))
    span = end - plan.started_at
    fraction = min(1.0, (now - plan.started_at) / span) if span > 0 else 1.0
    eased = 1.0 - (1.0 - fraction) ** 2
    return max(1, min(99, int(1 + 98 * eased)))


def view(plan: Plan, now: float) -> View:
    """What a poll at mock time ``now`` sees of a task with this plan."""
    if now < plan.started_at:
        return View(Status.PENDING, 0)
    if now < plan.finished_at:
        return View(Status.PROCESSING, processing_progress(plan, now))
    if plan.failure is None:
        return View(Status.COMPLETED, 100)
    if plan.finished_at <= plan.started_at:
        return View(Status.FAILED, 0)
    return View(Status.FAILED, processing_progress(plan, max(plan.started_at, plan.finished_at - 1e-9)))


def make_plan(
    created_at: float,
    duration: float,
    *,
    pending_fraction: float = 0.1,
    failure: Failure | None = None,
    stuck: bool = False,
    fail_at_start: bool = False,
    image_count: int = 1,
) -> Plan:
    """A plan for a task of ``duration`` mock seconds; the first ``pending_fraction`` of it is
    pending. ``fail_at_start``: the failure happens when processing would start."""
    if duration < 0:
        raise ValueError("duration must not be negative")
    started_at = created_at + duration * pending_fraction
    finished_at = math.inf if stuck else created_at + duration
    if failure is not None and fail_at_start and not stuck:
        finished_at = started_at
    return Plan(created_at, started_at, finished_at, failure, image_count)


def end_early(plan: Plan, at: float, failure: Failure) -> Plan:
    """``plan`` stopped at mock time ``at`` with ``failure``: what a poll saw before ``at`` is
    unchanged, and from ``at`` the task has failed with the progress it had reached."""
    if at >= plan.finished_at:
        raise ValueError("the task has already finished")
    return replace(
        plan,
        started_at=min(plan.started_at, at),
        finished_at=max(at, plan.created_at),
        failure=failure,
        curve_end=plan.finished_at if plan.curve_end is None else plan.curve_end,
    )
