"""A callback delivery's states: the (from, to) table is the only way a state changes."""

from __future__ import annotations

import itertools

import pytest

from mock_server.callbacks import TRANSITIONS, CallbackDelivery, CallbackPolicy, DeliveryState, IllegalTransition
from mock_server.randomness import SeededRandom
from mock_server.tasks import TaskFactory

S = DeliveryState
EXPECTED = {
    (S.WAITING, S.WAITING),
    (S.WAITING, S.SCHEDULED),
    (S.WAITING, S.ABANDONED),
    (S.SCHEDULED, S.WAITING),
    (S.SCHEDULED, S.SCHEDULED),
    (S.SCHEDULED, S.IN_FLIGHT),
    (S.SCHEDULED, S.HELD),
    (S.SCHEDULED, S.DROPPED),
    (S.SCHEDULED, S.ABANDONED),
    (S.HELD, S.SCHEDULED),
    (S.HELD, S.ABANDONED),
    (S.IN_FLIGHT, S.SCHEDULED),
    (S.IN_FLIGHT, S.DELIVERED),
    (S.IN_FLIGHT, S.FAILED),
    (S.IN_FLIGHT, S.ABANDONED),
}
# A shortest path from waiting to each state, through the table.
PATHS = {
    S.WAITING: [],
    S.SCHEDULED: [S.SCHEDULED],
    S.HELD: [S.SCHEDULED, S.HELD],
    S.IN_FLIGHT: [S.SCHEDULED, S.IN_FLIGHT],
    S.DELIVERED: [S.SCHEDULED, S.IN_FLIGHT, S.DELIVERED],
    S.FAILED: [S.SCHEDULED, S.IN_FLIGHT, S.FAILED],
    S.DROPPED: [S.SCHEDULED, S.DROPPED],
    S.ABANDONED: [S.ABANDONED],
}


def _delivery() -> CallbackDelivery:
    factory = TaskFactory(SeededRandom(1), duration=5, estimated_time=45, credits=1.6)
    url = "https://hooks.example.com/done"
    task = factory.new_task(key="k", model="nano-banana-beta", now=0.0, callback_url=url)
    return CallbackDelivery(task, CallbackPolicy().parse(url), "http://mock.test")


def _in(state: DeliveryState) -> CallbackDelivery:
    delivery = _delivery()
    for step in PATHS[state]:
        delivery.move(step)
    assert delivery.state is state
    return delivery


def test_transitions__the_table_is_the_documented_one() -> None:
    assert TRANSITIONS == EXPECTED


def test_transitions__final_states_have_no_way_out_and_active_ones_can_be_abandoned() -> None:
    assert {start for start, _ in TRANSITIONS} == {S.WAITING, S.SCHEDULED, S.HELD, S.IN_FLIGHT}
    assert all(state.final for _, state in TRANSITIONS if state not in {start for start, _ in TRANSITIONS})
    assert all((state, S.ABANDONED) in TRANSITIONS for state in S if not state.final)


def test_delivery__starts_waiting() -> None:
    assert _delivery().state is S.WAITING


@pytest.mark.parametrize(("start", "to"), sorted(EXPECTED))
def test_move__a_step_in_the_table_changes_the_state(start: DeliveryState, to: DeliveryState) -> None:
    delivery = _in(start)
    delivery.move(to)
    assert delivery.state is to


@pytest.mark.parametrize(("start", "to"), sorted(pair for pair in itertools.product(S, S) if pair not in EXPECTED))
def test_move__a_step_not_in_the_table_raises_and_keeps_the_state(start: DeliveryState, to: DeliveryState) -> None:
    delivery = _in(start)
    with pytest.raises(IllegalTransition, match=f"no transition from {start.value} to {to.value}"):
        delivery.move(to)
    assert delivery.state is start


def test_summary__shows_the_state_as_its_name() -> None:
    summary = _in(S.HELD).summary()
    assert summary["state"] == "held" and type(summary["state"]) is str and summary["next_at"] is None
