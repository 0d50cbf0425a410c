"""What a client did in one scenario, read from the mock's journals: pure functions over
journal entries (``GET /__mock/requests``), task plans (``GET /__mock/tasks``), callback
entries (``GET /__mock/callbacks``) and, when the gauntlet recorded them, what each poll was
answered (``recorder.py``), and the flags they raise.

Times are mock seconds (the gauntlet's mock runs a real clock at speed 1). A journal entry's
``time`` is when its answer was sent, so a call started ``duration_ms`` before it.

The flags these metrics raise are in ``flags.py``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evolink_spec import CREATE, CREATE_PATH, TASK_PATH_PREFIX as QUERY_PREFIX, TERMINAL_STATUSES as FINAL

from ..outcomes import CALLER_FIXABLE
from .flags import DEFAULT_WAIT_AFTER_429, SLACK, Flag, raise_flags

IMAGE_PREFIX = "/files/images/"
NON_RETRYABLE = frozenset(status for status in CREATE.errors if status < 500 and status != 429)
"""The create's documented refusals a client must fix before asking again (400, 401, 402, 403)."""


@dataclass(frozen=True)
class Call:
    """One journalled request, reduced to what the analysis reads."""

    kind: str
    """``create``, ``poll``, ``image`` or ``other``."""
    start: float
    end: float
    status: int | None
    task_id: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class TaskPlan:
    id: str
    finished_at: float | None
    """None for a stuck task."""
    outcome: str
    """``completed``, ``failed`` or ``stuck``."""
    error_code: str | None = None


@dataclass(frozen=True)
class Expectations:
    """What the analysis knows of the scenario (from ``scenarios.Scenario``)."""

    expect: str | None = None
    retry_after: float | None = None
    stuck: bool = False
    min_poll_interval: float = 1.0


@dataclass(frozen=True)
class Observation:
    """What the runner saw of one run of the client."""

    exit_code: int | None
    timed_out: bool
    started_at: float
    ended_at: float
    requests: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    timeout: float | None = None
    answers: list[dict[str, Any]] | None = None
    """What each poll was answered (``recorder.AnswerRecorder``); None: inferred from the plans."""


@dataclass
class Behaviour:
    """The metrics of one scenario (every field is in the JSON report; docs/gauntlet.md)."""

    exit_code: int | None
    timed_out: bool
    total_time_s: float
    exit_as_expected: bool | None
    creates: int
    tasks_created: int
    polls: int
    image_downloads: int
    statuses: dict[str, int]
    poll_interval_s: float | None
    min_poll_gap_s: float | None
    rate_limited: int
    retry_after_s: float | None
    gap_before_429_s: float | None
    gap_after_429_s: float | None
    backoff_factor: float | None
    honoured_retry_after: bool | None
    non_retryable_retries: dict[str, int]
    recreated_needlessly: int
    recreated_after_caller_fixable: int
    recreated_after_retryable: int
    terminal_seen: str | None
    polls_after_terminal: int
    gave_up: bool | None
    callback_url_sent: bool
    callbacks_delivered: int
    callback_duplicates_delivered: int
    callbacks_failed: int
    relied_on_callback: bool | None
    flags: list[Flag] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _task_of_image(path: str) -> str | None:
    name = path[len(IMAGE_PREFIX) :]
    return name.rsplit("_", 1)[0] if "_" in name else None


def to_call(entry: dict[str, Any]) -> Call:
    """A journal entry (``GET /__mock/requests``) as a ``Call``."""
    path: str = entry["path"]
    method: str = entry["method"]
    end = float(entry["time"])
    start = end - float(entry.get("duration_ms") or 0.0) / 1000
    status = entry.get("status")
    if method == "POST" and path == CREATE_PATH:
        body = entry.get("body")
        callback = body.get("callback_url") if isinstance(body, dict) else None
        return Call("create", start, end, status, entry.get("task_id"), callback if isinstance(callback, str) else None)
    if method == "GET" and path.startswith(QUERY_PREFIX):
        return Call("poll", start, end, status, path[len(QUERY_PREFIX) :])
    if method == "GET" and path.startswith(IMAGE_PREFIX):
        return Call("image", start, end, status, _task_of_image(path))
    return Call("other", start, end, status)


def to_plan(view: dict[str, Any]) -> TaskPlan:
    """A task's admin view (``GET /__mock/tasks``) as a ``TaskPlan``."""
    plan = view["plan"]
    return TaskPlan(view["task"]["id"], plan.get("finished_at"), plan["outcome"], plan.get("error_code"))


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def poll_gaps(calls: Sequence[Call]) -> list[float]:
    """Seconds from one poll of a task to the next (start to start), leaving out the gaps
    that follow a 429, a 5xx or a broken connection: those are backoff, measured apart."""
    gaps: list[float] = []
    last: dict[str | None, Call] = {}
    for call in calls:
        if call.kind != "poll":
            continue
        previous = last.get(call.task_id)
        if previous is not None and previous.status is not None and previous.status != 429 and previous.status < 500:
            gaps.append(call.start - previous.start)
        last[call.task_id] = call
    return gaps


@dataclass(frozen=True)
class Reaction:
    """What the client did after one 429: its idle seconds before the first 429 of a run
    of them (its pace before the storm; None inside a run), after it (until its next
    call), and whether it waited long enough."""

    gap_before: float | None
    gap_after: float | None
    honoured: bool


def reactions_to_429(calls: Sequence[Call], retry_after: float | None) -> list[Reaction]:
    """One ``Reaction`` per 429 answer. The wait asked is ``retry_after`` (the scenario's
    ``Retry-After``), or ``DEFAULT_WAIT_AFTER_429`` without one. Any next call counts: a
    ``Retry-After`` holds for the key, not for one route."""
    wanted = retry_after if retry_after is not None else DEFAULT_WAIT_AFTER_429
    reactions = []
    for index, call in enumerate(calls):
        if call.status != 429:
            continue
        previous = calls[index - 1] if index > 0 else None
        before = call.start - previous.end if previous is not None and previous.status != 429 else None
        after = calls[index + 1].start - call.end if index + 1 < len(calls) else None
        reactions.append(Reaction(before, after, after is None or after >= wanted - SLACK))
    return reactions


def non_retryable_retries(calls: Sequence[Call]) -> Counter[int]:
    """Calls that repeated one answered 400, 401, 402 or 403, by that status: a create after
    a refused create, or a poll of a task after a refused poll of it."""
    retries: Counter[int] = Counter()
    refused: dict[tuple[str, str | None], int] = {}
    for call in calls:
        if call.kind not in ("create", "poll"):
            continue
        scope = (call.kind, call.task_id if call.kind == "poll" else None)
        if scope in refused:
            retries[refused.pop(scope)] += 1
        if call.status in NON_RETRYABLE:
            refused[scope] = call.status
    return retries


@dataclass(frozen=True)
class Terminal:
    """Polls of a task after the first poll answered with its final state, summed over
    tasks; the first final state a poll saw (``completed``/``failed``), and when."""

    polls_after: int = 0
    first: str | None = None
    first_at: float | None = None


def polls_after_terminal_answered(answers: Iterable[dict[str, Any]]) -> Terminal:
    """From what each poll was answered (``recorder.AnswerRecorder``): exact."""
    seen: set[str] = set()
    after = 0
    first: str | None = None
    first_at: float | None = None
    for answer in sorted(answers, key=lambda answer: float(answer["time"])):
        task_id = answer["task_id"]
        if task_id in seen:
            after += 1
        elif answer["status"] == 200 and answer["task_status"] in FINAL:
            seen.add(task_id)
            if first is None:
                first, first_at = answer["task_status"], float(answer["time"])
    return Terminal(after, first, first_at)


def polls_after_terminal(calls: Sequence[Call], plans: Iterable[TaskPlan]) -> Terminal:
    """From the journal and the plans alone: a poll saw the final state when it was answered
    200 and started at or after the task's planned end. A poll that began just before the
    end and was answered just after it is missed (use the recorded answers when you can)."""
    finished = {plan.id: plan for plan in plans if plan.finished_at is not None}
    seen: set[str] = set()
    after = 0
    first: str | None = None
    first_at: float | None = None
    for call in calls:
        if call.kind != "poll" or call.task_id not in finished:
            continue
        if call.task_id in seen:
            after += 1
            continue
        plan = finished[call.task_id]
        assert plan.finished_at is not None
        if call.status == 200 and call.start >= plan.finished_at:
            seen.add(call.task_id)
            if first is None:
                first, first_at = plan.outcome, call.end
    return Terminal(after, first, first_at)


@dataclass(frozen=True)
class Recreates:
    needless: int = 0
    after_caller_fixable: int = 0
    after_retryable: int = 0


def recreates(calls: Sequence[Call], plans: Iterable[TaskPlan]) -> Recreates:
    """Tasks created after the first, by what had become of the task before each: a new
    task is justified only once the previous one failed with a retry-later code. After a
    caller-fixable failure the same request fails again; while the previous task runs, or
    once it completed, a new one pays twice."""
    by_id = {plan.id: plan for plan in plans}
    created = [call for call in calls if call.kind == "create" and call.status == 200 and call.task_id]
    needless = fixable = retryable = 0
    for previous, call in zip(created, created[1:], strict=False):
        plan = by_id.get(previous.task_id or "")
        ended = plan is not None and plan.finished_at is not None and plan.finished_at <= call.start
        if plan is not None and ended and plan.outcome == "failed":
            if plan.error_code in CALLER_FIXABLE:
                fixable += 1
            else:
                retryable += 1
        else:
            needless += 1
    return Recreates(needless, fixable, retryable)


def _relied_on_callback(
    calls: Sequence[Call], delivered: Sequence[dict[str, Any]], terminal: Terminal, ended_at: float
) -> bool | None:
    """With a callback URL sent: whether the client learnt the result only from a callback
    (one arrived before it exited, and no poll of its had seen the final state before that)."""
    if not any(call.callback_url for call in calls):
        return None
    first = min((float(entry["time"]) for entry in delivered), default=None)
    if first is None or first > ended_at:
        return False
    return terminal.first_at is None or terminal.first_at > first


def _exit_as_expected(exit_code: int | None, timed_out: bool, expect: str | None) -> bool | None:
    if expect is None or exit_code is None or timed_out:
        return None if expect is None else False
    return (exit_code == 0) == (expect == "success")


def analyse(observation: Observation, expectations: Expectations) -> Behaviour:
    """The metrics and flags of one run of the client in one scenario."""
    calls = sorted((to_call(entry) for entry in observation.requests), key=lambda call: call.start)
    plans = [to_plan(view) for view in observation.tasks]
    gaps = poll_gaps(calls)
    reactions = reactions_to_429(calls, expectations.retry_after)
    befores = [r.gap_before for r in reactions if r.gap_before is not None]
    afters = [r.gap_after for r in reactions if r.gap_after is not None]
    before, after = median(befores), median(afters)
    if observation.answers is not None:
        terminal = polls_after_terminal_answered(observation.answers)
    else:
        terminal = polls_after_terminal(calls, plans)
    again = recreates(calls, plans)
    delivered = [entry for entry in observation.callbacks if entry.get("result") == "delivered"]
    behaviour = Behaviour(
        exit_code=observation.exit_code,
        timed_out=observation.timed_out,
        total_time_s=round(observation.ended_at - observation.started_at, 3),
        exit_as_expected=_exit_as_expected(observation.exit_code, observation.timed_out, expectations.expect),
        creates=sum(call.kind == "create" for call in calls),
        tasks_created=sum(call.kind == "create" and call.status == 200 for call in calls),
        polls=sum(call.kind == "poll" for call in calls),
        image_downloads=sum(call.kind == "image" for call in calls),
        statuses={str(status): count for status, count in sorted(Counter(c.status or 0 for c in calls).items())},
        poll_interval_s=_rounded(median(gaps)),
        min_poll_gap_s=_rounded(min(gaps)) if gaps else None,
        rate_limited=len(reactions),
        retry_after_s=expectations.retry_after if reactions else None,
        gap_before_429_s=_rounded(before),
        gap_after_429_s=_rounded(after),
        backoff_factor=_rounded(after / before, 2) if before and after is not None else None,
        honoured_retry_after=all(r.honoured for r in reactions) if reactions else None,
        non_retryable_retries={str(status): count for status, count in sorted(non_retryable_retries(calls).items())},
        recreated_needlessly=again.needless,
        recreated_after_caller_fixable=again.after_caller_fixable,
        recreated_after_retryable=again.after_retryable,
        terminal_seen=terminal.first,
        polls_after_terminal=terminal.polls_after,
        gave_up=not observation.timed_out if expectations.stuck else None,
        callback_url_sent=any(call.callback_url for call in calls),
        callbacks_delivered=sum(entry.get("kind") == "attempt" for entry in delivered),
        callback_duplicates_delivered=sum(entry.get("kind") == "duplicate" for entry in delivered),
        callbacks_failed=sum(entry.get("result") == "failed" for entry in observation.callbacks),
        relied_on_callback=_relied_on_callback(calls, delivered, terminal, observation.ended_at),
    )
    behaviour.flags = raise_flags(behaviour, expectations, observation)
    return behaviour
