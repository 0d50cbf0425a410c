"""The lifecycle as a pure function: view(plan, now)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from mock_server.lifecycle import ORDER, Failure, Plan, Status, View, end_early, make_plan, view

FAILURE = Failure("service_error", "The service failed")


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    created = draw(st.floats(0, 2e9, allow_nan=False))
    pending = draw(st.floats(0, 1e4, allow_nan=False))
    running = draw(st.floats(0, 1e4, allow_nan=False))
    stuck = draw(st.booleans())
    failure = draw(st.none() | st.just(FAILURE))
    return Plan(created, created + pending, math.inf if stuck else created + pending + running, failure)


@given(plans(), st.lists(st.floats(0, 3e4, allow_nan=False), min_size=1, max_size=30))
def test_view__status_moves_forward_and_progress_never_decreases(plan: Plan, offsets: list[float]) -> None:
    previous = None
    for now in sorted(plan.created_at + offset for offset in offsets):
        seen = view(plan, now)
        assert 0 <= seen.progress <= 100
        assert isinstance(seen.progress, int)
        if previous is not None:
            assert ORDER[seen.status] >= ORDER[previous.status]
            assert seen.progress >= previous.progress
            if previous.finished:
                assert seen == previous
        previous = seen


@given(plans(), st.floats(0, 3e4, allow_nan=False))
def test_view__completed_iff_finished_without_failure(plan: Plan, offset: float) -> None:
    seen = view(plan, plan.created_at + offset)
    assert (seen.status is Status.COMPLETED) == (plan.created_at + offset >= plan.finished_at and plan.failure is None)
    if seen.status is Status.COMPLETED:
        assert seen.progress == 100
    if seen.status is Status.PROCESSING:
        assert 1 <= seen.progress <= 99


def test_story__pending_processing_completed() -> None:
    plan = make_plan(1000.0, 10.0)
    assert view(plan, 1000.0) == view(plan, 1000.9)
    assert view(plan, 1000.5).status is Status.PENDING
    assert view(plan, 1001.0).status is Status.PROCESSING
    assert view(plan, 1005.0).progress == 1 + int(98 * (1 - (1 - 4 / 9) ** 2))
    assert view(plan, 1009.99).status is Status.PROCESSING
    assert (view(plan, 1010.0).status, view(plan, 1010.0).progress) == (Status.COMPLETED, 100)


def test_failure__freezes_progress_where_it_failed() -> None:
    plan = make_plan(0.0, 10.0, failure=FAILURE)
    before = view(plan, 9.99).progress
    assert view(plan, 10.0).status is Status.FAILED
    assert view(plan, 10.0).progress == view(plan, 1e6).progress
    assert view(plan, 10.0).progress >= before


def test_failure_while_pending__shows_progress_zero() -> None:
    plan = Plan(0.0, 5.0, 5.0, FAILURE)
    assert view(plan, 5.0).status is Status.FAILED
    assert view(plan, 5.0).progress == 0


def test_zero_duration__completes_at_once() -> None:
    plan = make_plan(0.0, 0.0)
    assert view(plan, 0.0).status is Status.COMPLETED


def test_stuck__processes_for_ever_below_100() -> None:
    plan = make_plan(0.0, 10.0, stuck=True)
    late = view(plan, 1e9)
    assert late.status is Status.PROCESSING
    assert late.progress == 99
    assert view(plan, 120.0).progress < 99


def test_plan__refuses_times_out_of_order() -> None:
    with pytest.raises(ValueError):
        Plan(10.0, 5.0, 20.0)
    with pytest.raises(ValueError):
        make_plan(0.0, -1.0)


CANCELLED = Failure("request_cancelled", "The task was cancelled before it finished.")


@given(plans(), st.floats(0, 2e4, allow_nan=False), st.lists(st.floats(0, 3e4, allow_nan=False), max_size=20))
def test_end_early__keeps_the_past_and_never_moves_progress_back(
    plan: Plan, after: float, offsets: list[float]
) -> None:
    at = plan.created_at + after
    if at >= plan.finished_at:
        with pytest.raises(ValueError):
            end_early(plan, at, CANCELLED)
        return
    ended = end_early(plan, at, CANCELLED)
    assert view(ended, at) == view(ended, at + 1e6)
    assert view(ended, at).status is Status.FAILED
    before = [plan.created_at + offset for offset in sorted(offsets) if plan.created_at + offset < at]
    assert [view(ended, now) for now in before] == [view(plan, now) for now in before]
    shown = [view(plan, now).progress for now in before] + [view(ended, at).progress]
    assert shown == sorted(shown)


def test_end_early__a_stuck_task_keeps_the_progress_it_had_reached() -> None:
    stuck = make_plan(0.0, 10.0, stuck=True)
    ended = end_early(stuck, 121.0, CANCELLED)
    assert view(ended, 120.0) == view(stuck, 120.0)
    assert view(ended, 121.0) == view(ended, 5000.0) == View(Status.FAILED, view(stuck, 121.0 - 1e-9).progress)
    assert view(ended, 121.0).progress == 74  # 99 * (1 - 0.5 ** (120 / 60)), rounded down
    assert ended.finished_at == 121.0 and ended.failure == CANCELLED
