"""The gauntlet's analysis: pure functions over journal entries, fed hand-made journals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from mock_server.gauntlet.analysis import (
    Call,
    Expectations,
    Observation,
    Recreates,
    TaskPlan,
    analyse,
    non_retryable_retries,
    poll_gaps,
    polls_after_terminal,
    polls_after_terminal_answered,
    reactions_to_429,
    recreates,
    to_call,
    to_plan,
)
from tests.support.gauntlet_journal import OTHER, SPAN, T0, TASK, create, entry, image, poll, view


def calls(*entries: dict[str, Any]) -> list[Call]:
    return [to_call(e) for e in entries]


def plans(*views: dict[str, Any]) -> list[TaskPlan]:
    return [to_plan(v) for v in views]


def observe(*entries: dict[str, Any], tasks: list[dict[str, Any]] | None = None, **changes: Any) -> Observation:
    values: dict[str, Any] = {
        "exit_code": 0,
        "timed_out": False,
        "started_at": T0,
        "ended_at": T0 + 3,
        "requests": list(entries),
        "tasks": tasks or [],
        "timeout": 20.0,
    }
    return Observation(**(values | changes))


def test_to_call__classifies_routes_and_starts_before_the_journalled_time() -> None:
    made = to_call(create(1.0, callback_url="http://127.0.0.1:9/hook"))
    assert made == Call("create", made.start, T0 + 1.0 + SPAN, 200, TASK, "http://127.0.0.1:9/hook")
    assert made.start == pytest.approx(T0 + 1.0)
    assert to_call(poll(2.0)).kind == "poll" and to_call(poll(2.0)).task_id == TASK
    assert to_call(image(3.0)).task_id == TASK
    assert to_call(entry("GET", "/openapi.json", 4.0)).kind == "other"


def test_to_plan__reads_the_admin_view() -> None:
    assert to_plan(view(TASK, 2.0, "failed", "service_error")) == TaskPlan(TASK, T0 + 2.0, "failed", "service_error")
    assert to_plan(view(TASK, None, "stuck")).finished_at is None


def test_poll_gaps__start_to_start_per_task_leaving_out_backoff_after_429_and_5xx() -> None:
    journal = calls(poll(1.0), poll(2.0, 429), poll(4.0), poll(5.0, 500), poll(7.0), poll(8.0), poll(1.5, task=OTHER))
    assert poll_gaps(sorted(journal, key=lambda call: call.start)) == pytest.approx([1.0, 1.0, 1.0])


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@pytest.mark.parametrize(
    ("journal", "retry_after", "expected"),
    [
        pytest.param([create(0.0), poll(1.0, 429), poll(3.1)], 2.0, [(0.99, 2.09, True)], id="waited-retry-after"),
        pytest.param([create(0.0), poll(1.0, 429), poll(1.02)], 2.0, [(0.99, 0.01, False)], id="came-back-at-once"),
        pytest.param(
            [create(0.0), poll(0.5, 429), poll(2.5, 429), poll(4.5)],
            2.0,
            [(0.49, 1.99, True), (None, 1.99, True)],
            id="storm-before-only-for-the-first",
        ),
        pytest.param([create(0.0, 429)], None, [(None, None, True)], id="stopped-after-429"),
        pytest.param([create(0.0, 429), create(0.5)], None, [(None, 0.49, False)], id="no-retry-after-wants-a-second"),
    ],
)
def test_reactions_to_429(
    journal: list[dict[str, Any]], retry_after: float | None, expected: list[tuple[float | None, float | None, bool]]
) -> None:
    reactions = reactions_to_429(calls(*journal), retry_after)
    assert [(_rounded(r.gap_before), _rounded(r.gap_after), r.honoured) for r in reactions] == expected


@pytest.mark.parametrize(
    ("journal", "expected"),
    [
        pytest.param([create(0.0, 402), create(0.1, 402), create(0.2, 402)], {402: 2}, id="402-twice-again"),
        pytest.param([create(0.0, 401)], {}, id="401-given-up"),
        pytest.param([create(0.0, 500), create(1.0)], {}, id="500-is-retryable"),
        pytest.param([create(0.0, 429), create(2.0)], {}, id="429-is-retryable"),
        pytest.param([create(0.0), poll(1.0, 401), poll(2.0, 401), poll(3.0)], {401: 2}, id="poll-401-repeated"),
        pytest.param([create(0.0), poll(1.0, 403), poll(2.0, 200, OTHER)], {}, id="other-task-is-not-a-retry"),
    ],
)
def test_non_retryable_retries(journal: list[dict[str, Any]], expected: dict[int, int]) -> None:
    assert dict(non_retryable_retries(calls(*journal))) == expected


def test_polls_after_terminal__counts_from_the_first_poll_answered_final() -> None:
    journal = calls(create(0.0), poll(1.0), poll(1.995), poll(2.5), poll(3.0), poll(3.5, 429))
    found = polls_after_terminal(journal, plans(view(TASK, 2.0)))
    assert (found.polls_after, found.first) == (2, "completed")
    assert found.first_at == pytest.approx(T0 + 2.5 + SPAN)


def test_polls_after_terminal__a_refused_poll_saw_nothing() -> None:
    journal = calls(create(0.0), poll(2.5, 500), poll(3.0))
    found = polls_after_terminal(journal, plans(view(TASK, 2.0, "failed", "service_error")))
    assert (found.polls_after, found.first) == (0, "failed")


def test_polls_after_terminal__a_stuck_task_never_ends() -> None:
    journal = calls(create(0.0), poll(1.0), poll(2.0))
    assert polls_after_terminal(journal, plans(view(TASK, None, "stuck"))).polls_after == 0


def answer(at: float, task_status: str | None = "processing", status: int = 200, task: str = TASK) -> dict[str, Any]:
    return {"task_id": task, "status": status, "task_status": task_status if status == 200 else None, "time": T0 + at}


def test_polls_after_terminal_answered__counts_from_the_first_answer_that_said_the_end() -> None:
    answers = [answer(1.0), answer(2.0, status=500), answer(2.5, "failed"), answer(2.6), answer(3.0, status=429)]
    found = polls_after_terminal_answered(answers + [answer(2.0, "completed", task=OTHER)])
    assert (found.polls_after, found.first, found.first_at) == (2, "completed", T0 + 2.0)


def test_analyse__answers_decide_over_the_plans() -> None:
    # The poll began before the planned end but was answered after it: only the answers know.
    run = observe(
        create(0.0),
        poll(1.995),
        poll(3.0),
        tasks=[view(TASK, 2.0)],
        answers=[answer(2.0, "completed"), answer(3.0, "completed")],
    )
    assert analyse(run, Expectations()).polls_after_terminal == 1
    assert analyse(replace(run, answers=None), Expectations()).polls_after_terminal == 0


@pytest.mark.parametrize(
    ("previous", "second_at", "expected"),
    [
        pytest.param(view(TASK, 2.0), 1.0, Recreates(needless=1), id="while-running"),
        pytest.param(view(TASK, 2.0), 3.0, Recreates(needless=1), id="after-completed"),
        pytest.param(view(TASK, None, "stuck"), 9.0, Recreates(needless=1), id="while-stuck"),
        pytest.param(
            view(TASK, 0.2, "failed", "content_policy_violation"),
            1.0,
            Recreates(after_caller_fixable=1),
            id="after-caller-fixable",
        ),
        pytest.param(
            view(TASK, 1.0, "failed", "service_error"), 2.0, Recreates(after_retryable=1), id="after-retry-later"
        ),
    ],
)
def test_recreates(previous: dict[str, Any], second_at: float, expected: Recreates) -> None:
    journal = calls(create(0.0), create(second_at, task=OTHER))
    assert recreates(journal, plans(previous, view(OTHER, second_at + 2))) == expected


def test_analyse__a_well_behaved_run_raises_no_flag() -> None:
    behaviour = analyse(
        observe(create(0.0), poll(1.0), poll(2.02), image(2.1), tasks=[view(TASK, 2.0)]),
        Expectations(expect="success"),
    )
    assert behaviour.flags == []
    assert (behaviour.creates, behaviour.tasks_created, behaviour.polls, behaviour.image_downloads) == (1, 1, 2, 1)
    assert behaviour.poll_interval_s == pytest.approx(1.02)
    assert behaviour.terminal_seen == "completed"
    assert behaviour.exit_as_expected is True
    assert behaviour.statuses == {"200": 4}


def test_analyse__storm_reports_backoff_against_the_pace_before() -> None:
    journal = [create(0.0), poll(1.0, 429), poll(3.02, 429), poll(5.04), poll(6.06)]
    behaviour = analyse(observe(*journal, tasks=[view(TASK, 2.0)]), Expectations(retry_after=2))
    assert (behaviour.rate_limited, behaviour.honoured_retry_after) == (2, True)
    assert behaviour.gap_before_429_s == pytest.approx(0.99)
    assert behaviour.gap_after_429_s == pytest.approx(2.01)
    assert behaviour.backoff_factor == pytest.approx(2.03)
    assert behaviour.retry_after_s == 2
    assert [flag.code for flag in behaviour.flags] == ["polled_after_terminal"]


@pytest.mark.parametrize(
    ("journal", "tasks", "expectations", "code", "kind"),
    [
        pytest.param(
            [create(0.0), poll(0.01), poll(0.02), poll(0.03)],
            [view(TASK, 5.0)],
            Expectations(),
            "polled_too_fast",
            "throttle",
            id="too-fast",
        ),
        pytest.param(
            [create(0.0), poll(1.0, 429), poll(1.02)],
            [view(TASK, 5.0)],
            Expectations(retry_after=2),
            "hammered_after_429",
            "throttle",
            id="hammered",
        ),
        pytest.param(
            [create(0.0), poll(2.5), poll(3.5)],
            [view(TASK, 2.0)],
            Expectations(),
            "polled_after_terminal",
            "throttle",
            id="after-terminal",
        ),
        pytest.param(
            [create(0.0, 402), create(0.01, 402)], [], Expectations(), "retried_402", "cost", id="retried-402"
        ),
        pytest.param(
            [create(0.0, 401), create(0.01, 401)], [], Expectations(), "retried_4xx", "throttle", id="retried-401"
        ),
        pytest.param(
            [create(0.0), poll(1.0, 500), create(1.1, task=OTHER)],
            [view(TASK, 2.0), view(OTHER, 3.1)],
            Expectations(),
            "recreated_task",
            "cost",
            id="recreated",
        ),
        pytest.param(
            [create(0.0), poll(1.0), create(1.1, task=OTHER)],
            [view(TASK, 0.2, "failed", "invalid_parameters"), view(OTHER, 1.3, "failed", "invalid_parameters")],
            Expectations(),
            "retried_caller_fixable",
            "cost",
            id="caller-fixable",
        ),
    ],
)
def test_analyse__flags(
    journal: list[dict[str, Any]], tasks: list[dict[str, Any]], expectations: Expectations, code: str, kind: str
) -> None:
    flags = analyse(observe(*journal, tasks=tasks), expectations).flags
    assert [(flag.code, flag.kind) for flag in flags] == [(code, kind)]


def test_analyse__stuck_client_that_never_gives_up_is_killed_and_flagged() -> None:
    run = observe(create(0.0), poll(1.0), poll(2.0), exit_code=-15, timed_out=True, ended_at=T0 + 20)
    behaviour = analyse(run, Expectations(expect="failure", stuck=True))
    assert (behaviour.gave_up, behaviour.exit_as_expected) == (False, False)
    assert [(flag.code, flag.detail) for flag in behaviour.flags] == [
        ("timed_out", "never gave up on the stuck task: killed after 20 s")
    ]


def test_analyse__stuck_client_that_gives_up() -> None:
    behaviour = analyse(observe(create(0.0), poll(1.0), exit_code=4), Expectations(expect="failure", stuck=True))
    assert (behaviour.gave_up, behaviour.exit_as_expected, behaviour.flags) == (True, True, [])


def test_analyse__exit_as_expected_is_none_when_either_exit_is_fine() -> None:
    assert analyse(observe(exit_code=1), Expectations(expect=None)).exit_as_expected is None
    assert analyse(observe(exit_code=1), Expectations(expect="success")).exit_as_expected is False


def callback(at: float, kind: str = "attempt", result: str = "delivered") -> dict[str, Any]:
    return {"task_id": TASK, "kind": kind, "time": T0 + at, "result": result, "status": 200}


def test_analyse__callbacks_counted_and_reliance_on_them_seen() -> None:
    hook = "http://127.0.0.1:9/hook"
    polled = observe(
        create(0.0, callback_url=hook),
        poll(2.5),
        tasks=[view(TASK, 2.0)],
        callbacks=[callback(2.1), callback(2.2, "duplicate"), callback(2.3, "duplicate", "failed")],
    )
    behaviour = analyse(polled, Expectations())
    assert behaviour.callback_url_sent is True
    assert (behaviour.callbacks_delivered, behaviour.callback_duplicates_delivered, behaviour.callbacks_failed) == (
        1,
        1,
        1,
    )
    assert behaviour.relied_on_callback is True  # the callback came before the poll that saw the end
    waited = observe(create(0.0, callback_url=hook), tasks=[view(TASK, 2.0)], callbacks=[callback(2.1)])
    assert analyse(waited, Expectations()).relied_on_callback is True
    early = observe(create(0.0, callback_url=hook), poll(2.05), tasks=[view(TASK, 2.0)], callbacks=[callback(2.5)])
    assert analyse(early, Expectations()).relied_on_callback is False
    assert analyse(observe(create(0.0)), Expectations()).relied_on_callback is None
