"""The task store: ownership, retention and the size cap."""

from __future__ import annotations

import pytest

from mock_server.errors import TaskNotFound
from mock_server.randomness import SeededRandom
from mock_server.store import InMemoryTaskStore
from mock_server.tasks import Task, TaskFactory


def make(factory: TaskFactory, now: float, *, key: str = "k", stuck: bool = False) -> Task:
    return factory.create_task(key=key, model="nano-banana-beta", now=now, stuck=stuck)


@pytest.fixture
def factory() -> TaskFactory:
    return TaskFactory(SeededRandom(1), duration=10.0, estimated_time=45, credits=1.6)


def test_get_task__only_for_its_owner(factory: TaskFactory) -> None:
    store = InMemoryTaskStore()
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
    store = InMemoryTaskStore(retention=0.0)
    for second in range(0, 1000, 20):
        store.create_task(make(factory, float(second)), float(second))
    assert len(store) == 1


def test_max_tasks__evicts_the_oldest_first(factory: TaskFactory) -> None:
    store = InMemoryTaskStore(max_tasks=3)
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
