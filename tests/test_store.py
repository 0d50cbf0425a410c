"""The task store: ownership, retention and the size cap."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette

from mock_server.clock import VirtualClock
from mock_server.errors import TaskNotFound
from mock_server.randomness import SeededRandom
from mock_server.store import InMemoryTaskStore
from mock_server.tasks import Task, TaskFactory, cancel


def make(factory: TaskFactory, now: float, *, key: str = "k", stuck: bool = False) -> Task:
    return factory.new_task(key=key, model="nano-banana-beta", now=now, stuck=stuck)


@pytest.fixture
def factory() -> TaskFactory:
    return TaskFactory(SeededRandom(1), duration=10.0, estimated_time=45, credits=1.6)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(0)


def test_get_task__only_for_its_owner(factory: TaskFactory, clock: VirtualClock) -> None:
    store = InMemoryTaskStore(clock=clock)
    task = make(factory, 0.0, key="owner")
    store.create_task(task, 0.0)
    assert store.get_task(task.id, "owner") is task
    assert store.get_task(task.id) is task
    with pytest.raises(TaskNotFound):
        store.get_task(task.id, "intruder")
    with pytest.raises(TaskNotFound):
        store.get_task("task-unified-0-missing0", "owner")


def test_purge__drops_finished_tasks_after_retention(factory: TaskFactory) -> None:
    store = InMemoryTaskStore(retention=100.0)
    task = make(factory, 0.0)
    stuck = make(factory, 0.0, stuck=True)
    store.create_task(task, 0.0)
    store.create_task(stuck, 0.0)
    assert store.purge(109.9) == 0
    assert store.purge(110.0) == 1
    assert [t.id for t in store.tasks()] == [stuck.id]


def test_create_task__purges_as_it_goes(factory: TaskFactory) -> None:
    store = InMemoryTaskStore(retention=0.0, clock=VirtualClock(980))
    for second in range(0, 1000, 20):
        store.create_task(make(factory, float(second)), float(second))
    assert len(store) == 1


def test_max_tasks__evicts_the_oldest_first(factory: TaskFactory, clock: VirtualClock) -> None:
    store = InMemoryTaskStore(max_tasks=3, clock=clock)
    tasks = [make(factory, float(i)) for i in range(5)]
    for task in tasks:
        store.create_task(task, task.plan.created_at)
    assert [t.id for t in store.tasks()] == [t.id for t in tasks[2:]]
    assert store.purge(1e9) == 3
    assert len(store) == 0


def test_reset__empties_the_store(factory: TaskFactory) -> None:
    store = InMemoryTaskStore()
    store.create_task(make(factory, 0.0), 0.0)
    store.reset()
    assert len(store) == 0
    assert store.purge(1e12) == 0


def test_retention__holds_on_every_read_without_a_purge(factory: TaskFactory, clock: VirtualClock) -> None:
    store = InMemoryTaskStore(retention=100.0, clock=clock)
    task = make(factory, 0.0)
    stuck = make(factory, 0.0, stuck=True)
    store.create_task(task, 0.0)
    store.create_task(stuck, 0.0)
    clock.advance(109.9)
    assert store.get_task(task.id) is task
    assert len(store) == 2
    clock.advance(0.1)  # 100 s after it finished at 10
    with pytest.raises(TaskNotFound):
        store.get_task(task.id, "k")
    assert [t.id for t in store.tasks()] == [stuck.id]
    assert len(store) == 1


def test_retention__of_a_task_ended_early_counts_from_its_new_end(factory: TaskFactory, clock: VirtualClock) -> None:
    store = InMemoryTaskStore(retention=100.0, clock=clock)
    stuck = make(factory, 0.0, stuck=True)
    store.create_task(stuck, 0.0)
    clock.advance(5)
    cancel(stuck, clock.now())
    clock.advance(99.9)
    assert store.get_task(stuck.id) is stuck
    clock.advance(0.1)
    assert list(store.tasks()) == []
    with pytest.raises(TaskNotFound):
        store.get_task(stuck.id)


@pytest.mark.anyio
async def test_retention__through_the_api_poll_listing_link_and_idempotency_key_all_expire(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    """No create after the deadline: the reads alone see the task gone."""
    from mock_server.app import mock_of
    from tests.conftest import AUTH, CREATE, body

    app = app_factory(retention=100.0)
    clock = mock_of(app).clock
    async with client_factory(app) as http:
        created = await http.post(CREATE, json=body(), headers={**AUTH, "Idempotency-Key": "once"})
        task_id = created.json()["id"]
        clock.advance(10)
        link = (await http.get(f"/v1/tasks/{task_id}", headers=AUTH)).json()["results"][0]
        clock.advance(99.9)
        assert (await http.get(f"/v1/tasks/{task_id}", headers=AUTH)).status_code == 200
        clock.advance(0.1)
        gone = await http.get(f"/v1/tasks/{task_id}", headers=AUTH)
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "task_not_found")
        assert (await http.get("/__mock/tasks")).json() == {"tasks": [], "count": 0, "next_cursor": None}
        assert (await http.get(f"/__mock/tasks/{task_id}")).status_code == 404
        assert (await http.get(link)).status_code == 404
        assert (await http.get("/__mock/health")).json()["tasks"] == 0
        again = await http.post(CREATE, json=body(), headers={**AUTH, "Idempotency-Key": "once"})
        assert again.json()["id"] != task_id
        assert "idempotency_replayed" not in again.json()


def test_max_tasks__eviction_keeps_its_indexes_bounded_however_long_the_store_stays_full(
    factory: TaskFactory, clock: VirtualClock
) -> None:
    """Eviction pops the front of a creation-order index: ids that left by retention or by
    the cap are dropped from every index within a bounded lag, so each create does the same
    work after a million evictions as after one."""
    store = InMemoryTaskStore(max_tasks=50, retention=5.0, clock=clock)
    made: list[Task] = []
    for step in range(20_000):
        now = clock.advance(0.01)  # tasks finish after 10 s, so some leave by retention, most by the cap
        task = make(factory, now, stuck=step % 7 == 0)
        store.create_task(task, now)
        made.append(task)
        assert len(store) <= 50
        assert len(store._order) <= 2 * 50 + 1024
        assert len(store._expiry) <= 3 * 50 + 1024
    kept = [t.id for t in store.tasks()]
    assert kept == [t.id for t in made[-50:]]  # the newest 50, oldest first


def test_max_tasks__skips_ids_that_already_left_by_retention(factory: TaskFactory, clock: VirtualClock) -> None:
    store = InMemoryTaskStore(max_tasks=3, retention=0.0, clock=clock)
    early = make(factory, 0.0)
    stuck = [make(factory, 0.0, stuck=True) for _ in range(2)]
    for task in (early, *stuck):
        store.create_task(task, 0.0)
    clock.advance(10.0)
    assert store.purge(10.0) == 1  # ``early`` left; its id is still at the front of the order
    newer = [make(factory, 10.0, stuck=True) for _ in range(2)]
    for task in newer:
        store.create_task(task, 10.0)
    # One slot was free: the first newer task evicts nothing, the second evicts the oldest left.
    assert [t.id for t in store.tasks()] == [stuck[1].id, *(t.id for t in newer)]


def test_max_tasks__evicted_tasks_leave_the_expiry_heap_at_once(factory: TaskFactory, clock: VirtualClock) -> None:
    """Tasks of one duration expire in creation order, the order of eviction: an evicted
    task's expiry entry is on top and goes with the next create, so the heap never needs
    the rebuild that would pause a create at 200,000 tasks (ties at one frozen instant too)."""
    store = InMemoryTaskStore(max_tasks=50, clock=clock)
    for _ in range(5_000):
        store.create_task(make(factory, 0.0), 0.0)
        assert len(store._expiry) <= 51
