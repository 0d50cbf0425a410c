"""The lifecycle machine against a live-like target: the mock in-process, whose virtual clock is
also the budget's clock, so every real-time wait of the machine moves mock time instead of
sleeping. Nothing here waits for real.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from hypothesis import strategies as st

from contract_tests._budget import Budget, Limits
from contract_tests._lifecycle import LIVE_TASK_LIMIT, POLL_FLOOR, LifecycleMachine, lifecycle_machine, poll_interval
from contract_tests._options import MOCK_BASE_URL
from contract_tests._progress import Progress
from contract_tests._report import Recorder
from contract_tests._target import Client, Target
from mock_server import Settings, create_app
from mock_server.clock import VirtualClock

BODY = {"model": "nano-banana-beta", "prompt": "a cat on the grass"}
ASGIApp = Callable[..., Any]


def live_like(clock: VirtualClock, app: ASGIApp | None = None, limits: Limits | None = None) -> Client:
    """A client of the mock that takes the live path (no clock control): its waits advance ``clock``."""
    app = app or create_app(Settings(clock="virtual", task_duration=10), clock=clock)
    target = Target(name="live", base_url=MOCK_BASE_URL, api_key="sk-live", app=app, limits=limits or Limits())
    return Client(target, Budget(target.limits, clock=clock.now, sleep=clock.advance))


def machine_for(client: Client, progress: Progress | None = None) -> tuple[type[LifecycleMachine], LifecycleMachine]:
    machine = lifecycle_machine(client, Recorder(), st.just(BODY), progress=progress)
    return machine, machine()


def test_teardown__waits_for_every_task_not_just_the_first() -> None:
    clock = VirtualClock()
    machine, run = machine_for(live_like(clock))
    run._create(BODY)
    clock.advance(8)
    run._create(BODY)  # finishes 8 s after the first one
    run.teardown()
    assert machine.found == []
    assert [task.last["status"] for task in run.tracked.values()] == ["completed", "completed"]


def test_teardown__says_how_long_a_task_really_ran() -> None:
    clock = VirtualClock()
    client = live_like(clock, limits=Limits(max_rate=1.0))
    machine, run = machine_for(client)
    client.session.headers["Prefer"] = "task-stuck"
    run._create(BODY)
    del client.session.headers["Prefer"]
    created = clock.now()
    clock.advance(30)
    run._create(BODY)
    run.teardown()
    assert [violation.title for violation in machine.found] == ["Task never finished"]
    waited = clock.now() - created
    assert waited >= LIVE_TASK_LIMIT
    assert f"still processing {waited:.0f} s after it was created" in machine.found[0].actual


class DipsForAMoment:
    """ASGI: the mock, except that a running task's progress drops for 0.6 s, 4 s after its create."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.inner = create_app(Settings(clock="virtual", task_duration=10), clock=clock)
        self.created: dict[str, float] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.inner(scope, receive, send)
            return
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                parts.append(message.get("body", b""))

        await self.inner(scope, receive, capture)
        body = b"".join(parts)
        if start["status"] == 200:
            task = json.loads(body)
            first = self.created.setdefault(task["id"], self.clock.now())
            if task["status"] == "processing" and 4.0 <= self.clock.now() - first < 4.6:
                task["progress"] = 1
                body = json.dumps(task).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def test_live_polling__sees_a_regression_that_lasts_under_a_second() -> None:
    clock = VirtualClock()
    machine, run = machine_for(live_like(clock, app=DipsForAMoment(clock)))
    run._create(BODY)
    run.teardown()
    assert "Progress decreased" in [violation.title for violation in machine.found]


def test_live_polling__as_dense_as_the_rate_allows() -> None:
    assert poll_interval(Limits()) == POLL_FLOOR
    assert poll_interval(Limits(max_rate=2.0)) == 0.5
    assert poll_interval(Limits(max_rate=50.0)) == POLL_FLOOR


def test_live_polling__stays_within_the_rate_budget() -> None:
    clock = VirtualClock()
    client = live_like(clock, limits=Limits(max_rate=2.0))
    machine, run = machine_for(client)
    started = clock.now()
    run._create(BODY)
    run.teardown()
    assert machine.found == []
    assert client.budget.requests <= 2.0 * (clock.now() - started) + 1


def test_live_polling__reports_progress_every_few_seconds() -> None:
    clock = VirtualClock()
    lines: list[str] = []
    machine, run = machine_for(live_like(clock), Progress(lines.append, clock=clock.now, every=5.0))
    run._create(BODY)
    run.teardown()
    assert len(lines) == pytest.approx(2, abs=1)  # a 10 s task: about one line per 5 s
    assert lines[-1].startswith("contract: live: lifecycle: 1 task(s) created, ")
    assert "each task polled every 0.2 s or more" in lines[-1]
    assert machine.sampling.polls >= 40
