"""The backend without HTTP: each operation's business steps, and the order they run in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mock_server.accounts import AccountSpec
from mock_server.backend import BrokenConnectionError, CallRecord, Created, CreateRequest, MockBackend
from mock_server.config import MockConfig
from mock_server.errors import (
    IdempotencyKeyReused,
    InsufficientQuota,
    InvalidRequest,
    ModelAccessDenied,
    RateLimited,
    SpecifiedError,
    TaskNotFound,
    Unauthorized,
)
from mock_server.lifecycle import Status
from mock_server.outcomes import TaskOutcome
from mock_server.settings import Settings

pytestmark = pytest.mark.anyio

CAT = {"model": "nano-banana-beta", "prompt": "a cat"}


@pytest.fixture
async def backend() -> AsyncIterator[MockBackend]:
    config = MockConfig(
        accounts={
            "sk-two": AccountSpec(credits=3.2),
            "sk-no-model": AccountSpec(models=()),
            "sk-once": AccountSpec(rate_limit_per_minute=1),
        },
        unknown_keys="reject",
    )
    built = MockBackend.build(Settings(clock="virtual", seed=1, task_duration=10), config=config)
    yield built
    await built.callbacks.aclose(grace=0)


class Body:
    """A request body the backend reads through ``read_body``; notes whether it was read."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.read = False

    async def __call__(self, limit: int) -> tuple[bytes, Any]:
        self.read = True
        if isinstance(self.payload, Exception):
            raise self.payload
        return json.dumps(self.payload).encode(), self.payload


def request(key: str, payload: Any = CAT, **options: Any) -> CreateRequest:
    return CreateRequest(key=key, read_body=Body(payload), **options)


async def create(backend: MockBackend, key: str, payload: Any = CAT, **options: Any) -> Created:
    return await backend.create_image_generation(request(key, payload, **options), CallRecord())


async def test_create__makes_stores_and_charges_a_task(backend: MockBackend) -> None:
    record = CallRecord()
    created = await backend.create_image_generation(request("sk-two"), record)
    assert not created.replayed
    assert backend.task(created.task.id) is created.task
    assert backend.accounts.balance("sk-two", backend.clock.now()) == pytest.approx(1.6)
    assert (record.key, record.note) == ("sk-two", {"task_id": created.task.id})


async def test_create__checks_the_key_before_reading_the_body(backend: MockBackend) -> None:
    body_of_a_stranger = Body(InvalidRequest("not read"))
    record = CallRecord()
    with pytest.raises(Unauthorized):
        await backend.create_image_generation(CreateRequest(key="sk-stranger", read_body=body_of_a_stranger), record)
    assert not body_of_a_stranger.read
    assert record.key == "sk-stranger"  # the journal still learns which key was refused


async def test_create__counts_the_rate_window_before_reading_the_body(backend: MockBackend) -> None:
    await create(backend, "sk-once")
    second = Body(CAT)
    with pytest.raises(RateLimited):
        await backend.create_image_generation(CreateRequest(key="sk-once", read_body=second), CallRecord())
    assert not second.read


async def test_create__rules_answer_before_the_schema_is_checked(backend: MockBackend) -> None:
    backend.add_rules([{"match": {"route": "create"}, "respond": {"status": 500}}])
    record = CallRecord()
    with pytest.raises(SpecifiedError) as raised:
        await backend.create_image_generation(request("sk-two", {"prompt": 7}), record)
    assert raised.value.status == 500
    assert record.note == {"rules": ["rule-1"]}
    assert len(backend.store) == 0


async def test_create__the_schema_is_checked_before_the_idempotency_key_is_claimed(backend: MockBackend) -> None:
    with pytest.raises(InvalidRequest):
        await create(backend, "sk-two", {"prompt": "no model"}, idempotency_key="k1")
    created = await create(backend, "sk-two", idempotency_key="k1")  # the key was not held by the refusal
    assert not created.replayed


async def test_create__a_retry_with_the_same_idempotency_key_replays_without_a_second_charge(
    backend: MockBackend,
) -> None:
    first = await create(backend, "sk-two", idempotency_key="k1")
    record = CallRecord()
    again = await backend.create_image_generation(request("sk-two", idempotency_key="k1"), record)
    assert (again.task, again.replayed) == (first.task, True)
    assert record.note == {"task_id": first.task.id, "replayed": True}
    assert backend.accounts.balance("sk-two", backend.clock.now()) == pytest.approx(1.6)
    with pytest.raises(IdempotencyKeyReused):
        await create(backend, "sk-two", {**CAT, "prompt": "a dog"}, idempotency_key="k1")


async def test_create__model_access_is_checked_before_credits_are_reserved(backend: MockBackend) -> None:
    with pytest.raises(ModelAccessDenied):
        await create(backend, "sk-no-model", idempotency_key="k1")
    assert len(backend.store) == 0
    assert backend.idempotency.claim("sk-no-model", "k1", b"", lambda task_id: True) is None  # released


async def test_create__refuses_without_credits_and_makes_nothing(backend: MockBackend) -> None:
    await create(backend, "sk-two")
    await create(backend, "sk-two")
    with pytest.raises(InsufficientQuota):
        await create(backend, "sk-two")
    assert len(backend.store) == 2


async def test_create__a_planned_failure_gives_its_credits_back_when_it_fails(backend: MockBackend) -> None:
    created = await create(backend, "sk-two", outcome=TaskOutcome(error="content_policy_violation", duration=5))
    clock = backend.clock
    assert backend.accounts.balance("sk-two", clock.now()) == pytest.approx(1.6)
    clock.advance(created.task.plan.finished_at - clock.now())
    assert backend.accounts.balance("sk-two", clock.now()) == pytest.approx(3.2)


async def test_create__rules_set_the_task_outcome(backend: MockBackend) -> None:
    backend.add_rules([{"match": {"prompt_regex": "stuck"}, "task": {"stuck": True}}])
    created = await create(backend, "sk-two", {**CAT, "prompt": "stuck cat"})
    assert created.task.view(backend.clock.now() + 10_000).status is Status.PROCESSING


async def test_cancel__refunds_once(backend: MockBackend) -> None:
    created = await create(backend, "sk-two")
    task = backend.cancel_task(created.task.id)
    now = backend.clock.now()
    assert task.view(now).status is Status.FAILED
    assert backend.accounts.balance("sk-two", now) == pytest.approx(3.2)
    with pytest.raises(InvalidRequest):
        backend.cancel_task(created.task.id)
    planned = await create(backend, "sk-two", outcome=TaskOutcome(error="content_policy_violation", duration=5))
    backend.cancel_task(planned.task.id)  # its refund was booked at creation: not a second time
    backend.clock.advance(10)
    assert backend.accounts.balance("sk-two", backend.clock.now()) == pytest.approx(3.2)


async def test_get_task_detail__answers_only_the_owner(backend: MockBackend) -> None:
    backend.accounts.specs["sk-other"] = AccountSpec()
    created = await create(backend, "sk-two")
    task, now = await backend.get_task_detail("sk-two", created.task.id, CallRecord())
    assert (task, now) == (created.task, backend.clock.now())
    with pytest.raises(TaskNotFound):
        await backend.get_task_detail("sk-other", created.task.id, CallRecord())


async def test_rules__break_or_cut_the_connection_through_the_record(backend: MockBackend) -> None:
    created = await create(backend, "sk-two")
    backend.add_rules([{"match": {"route": "query"}, "fault": "reset", "times": 1}])
    record = CallRecord()
    with pytest.raises(BrokenConnectionError):
        await backend.get_task_detail("sk-two", created.task.id, record)
    assert record.fault == "reset"
    backend.add_rules([{"match": {"route": "query"}, "fault": "truncate", "times": 1}])
    record = CallRecord()
    await backend.get_task_detail("sk-two", created.task.id, record)  # served: the HTTP layer cuts the answer
    assert record.fault == "truncate"


async def test_create__schedules_the_callback_of_an_allowed_host() -> None:
    settings = Settings(clock="virtual", seed=1, allow_callback_hosts=("127.0.0.1",))
    backend = MockBackend.build(settings)
    try:
        created = await create(backend, "sk-any", {**CAT, "callback_url": "http://127.0.0.1:9/hook"})
        delivery = backend.callbacks.delivery(created.task.id)
        assert delivery is not None
    finally:
        await backend.callbacks.aclose(grace=0)


async def test_reset__forgets_tasks_balances_and_rules(backend: MockBackend) -> None:
    await create(backend, "sk-two")
    backend.add_rules([{"respond": {"status": 500}}])
    backend.reset()
    assert (len(backend.store), backend.rules.rules) == (0, [])
    assert backend.accounts.balance("sk-two", backend.clock.now()) == pytest.approx(3.2)


async def test_record_request__keeps_the_key_and_note_and_no_status_for_a_broken_connection(
    backend: MockBackend,
) -> None:
    record = CallRecord(key="sk-two", note={"rules": ["rule-1"]}, fault="reset")
    backend.record_request(("GET", "/v1/tasks/t", b"", [], b""), 200, 1.0, record)
    (entry,) = backend.journal.entries()
    assert (entry["status"], entry["fault"], entry["rules"], entry["key"]) == (None, "reset", ["rule-1"], "s...o")
