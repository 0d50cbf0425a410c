"""Task records, how they are made, and the JSON a client sees of them.

A ``Task`` holds only what its answers need (not the prompt), so a hundred thousand
live tasks stay small. ``TaskFactory`` mints ids and fixes the plan at creation;
``creation_body`` and ``detail_body`` render the create and query answers.

Field order and shape follow a real answer observed from the provider (members in
alphabetical order; a finished task has ``duration``, ``result_data`` beside ``results``,
``task_info`` without ``estimated_time``, and ``usage`` with ``credits_used``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from evolink_spec import TASK_ID_PREFIX, facts

from .images import image_name, new_link_token
from .lifecycle import Failure, Plan, Status, View, end_early, make_plan, view
from .outcomes import CALLER_FIXABLE, CANCELLED, failure_for
from .randomness import SeededRandom

OBJECT = "image.generation.task"
TYPE = "image"
BILLING_RULE = "per_call"
USER_GROUP = "default"
CANONICAL_MODEL = facts().default_model
MODEL_ALIASES = {name: canonical for name, canonical in facts().model_names.items() if name != canonical}
"""Other names of the spec's models, each to the canonical name answers carry."""
DEFAULT_SIZE = str(facts().model(CANONICAL_MODEL).default_size)


@dataclass(slots=True)
class Task:
    id: str
    key: str
    model: str
    created: int
    size: str
    plan: Plan
    callback_url: str | None = None
    estimated_time: int = 45
    credits: float = 1.6
    # The secret part of the task's result links (never from the seeded source): see images.py.
    link_token: bytes = field(default_factory=new_link_token, repr=False)

    def view(self, now: float) -> View:
        return view(self.plan, now)

    def image_names(self) -> list[str]:
        return [image_name(self.id, index, self.link_token) for index in range(self.plan.image_count)]


class TaskFactory:
    """Mints task ids and plans from the seeded source."""

    def __init__(self, random: SeededRandom, *, duration: float, estimated_time: int, credits: float) -> None:
        """``duration``, ``estimated_time`` and ``credits``: what a task gets when its create
        does not say (the backend passes each model's own)."""
        self.random = random
        self.duration = duration
        self.estimated_time = estimated_time
        self.credits = credits

    def new_id(self, now: float) -> str:
        return f"{TASK_ID_PREFIX}{int(now)}-{self.random.token(8)}"

    def new_task(
        self,
        *,
        key: str,
        model: str,
        now: float,
        size: str | None = None,
        callback_url: str | None = None,
        duration: float | None = None,
        failure: Failure | None = None,
        stuck: bool = False,
        wall: float | None = None,
        image_count: int = 1,
        estimated_time: int | None = None,
        credits: float | None = None,
    ) -> Task:
        """A new task, its plan starting at mock time ``now``. Its id carries the second it was
        received and ``created`` is one second later, as in the answers observed from the
        provider (never assume they are equal), both in ``wall`` time (``Clock.wall()``;
        default ``now``), which a sped-up clock's ``now`` runs ahead of. ``size`` is the
        ``WIDTHxHEIGHT`` of each of its ``image_count`` results; ``duration``,
        ``estimated_time`` and ``credits`` default to the factory's."""
        stamp = now if wall is None else wall
        task_id = self.new_id(stamp)
        plan = make_plan(
            now,
            self.duration if duration is None else duration,
            failure=failure,
            stuck=stuck,
            fail_at_start=failure is not None and failure.code in CALLER_FIXABLE,
            image_count=image_count,
        )
        # Keys, models and sizes repeat across tasks: interned, each is stored once.
        return Task(
            id=task_id,
            key=sys.intern(key),
            model=sys.intern(MODEL_ALIASES.get(model, model)),
            created=int(stamp) + 1,
            size=sys.intern(size or DEFAULT_SIZE),
            plan=plan,
            callback_url=callback_url,
            estimated_time=self.estimated_time if estimated_time is None else estimated_time,
            credits=self.credits if credits is None else credits,
        )


def cancel(task: Task, now: float) -> None:
    """End an unfinished ``task`` at ``now``: failed with ``request_cancelled`` (the admin cancel)."""
    task.plan = end_early(task.plan, now, failure_for(CANCELLED))


def render_json(body: Any) -> bytes:
    """Compact JSON, as the provider answers (clients grep ``"status":"completed"``): the bytes
    of every API answer and of every callback body."""
    data: bytes = orjson.dumps(body)
    return data


def creation_body(task: Task) -> dict[str, Any]:
    """The 200 answer to a create: the task in its first state."""
    return {
        "created": task.created,
        "id": task.id,
        "model": task.model,
        "object": OBJECT,
        "progress": 0,
        "status": Status.PENDING.value,
        "task_info": {"can_cancel": True, "estimated_time": task.estimated_time},
        "type": TYPE,
        "usage": {"billing_rule": BILLING_RULE, "credits_reserved": task.credits, "user_group": USER_GROUP},
    }


def detail_body(task: Task, now: float, files_base: str | Callable[[], str]) -> dict[str, Any]:
    """The 200 answer to a query at mock time ``now``; result links start with ``files_base``
    (or what it returns: only a completed task needs it)."""
    state = task.view(now)
    body: dict[str, Any] = {"created": task.created}
    if state.finished:
        body["duration"] = max(0, math.ceil(task.plan.finished_at - task.plan.created_at))
    failure = task.plan.failure
    if state.status is Status.FAILED and failure is not None:
        body["error"] = {"code": failure.code, "message": failure.message}
    body["id"] = task.id
    body["model"] = task.model
    body["object"] = OBJECT
    body["progress"] = state.progress
    if state.status is Status.COMPLETED:
        base = files_base if isinstance(files_base, str) else files_base()
        links = [f"{base}/files/images/{name}" for name in task.image_names()]
        body["result_data"] = [{"url": link} for link in links]
        body["results"] = links
    body["status"] = state.status.value
    if state.finished:
        body["task_info"] = {"can_cancel": False}
        body["type"] = TYPE
        used = task.credits if state.status is Status.COMPLETED else 0
        body["usage"] = {"billing_rule": BILLING_RULE, "credits_used": used, "user_group": USER_GROUP}
    else:
        body["task_info"] = {"can_cancel": True, "estimated_time": task.estimated_time}
        body["type"] = TYPE
        body["usage"] = {"billing_rule": BILLING_RULE, "credits_reserved": task.credits, "user_group": USER_GROUP}
    return body
