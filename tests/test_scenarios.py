"""Each scenario file in fixtures/scenarios/ does what its first line says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import VirtualClock
from mock_server.config import load_config
from tests.conftest import AUTH, CREATE, body

pytestmark = pytest.mark.anyio
SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"
AppFactory = Callable[..., Starlette]
ClientFactory = Callable[[Starlette], httpx.AsyncClient]


def scenario(name: str, app_factory: AppFactory, **changes: object) -> Starlette:
    config = load_config(SCENARIOS / name)
    return app_factory(config=config, **(config.settings | changes))


def test_every_scenario__is_documented_in_one_line_and_loads() -> None:
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 7
    for file in files:
        assert file.read_text(encoding="utf-8").startswith("# "), file.name
        load_config(file)


async def test_rate_limit_storm__recovers(app_factory: AppFactory, client_factory: ClientFactory) -> None:
    async with client_factory(scenario("rate_limit_storm.yaml", app_factory)) as http:
        answers = [await http.post(CREATE, json=body(), headers=AUTH) for _ in range(7)]
        assert [a.status_code for a in answers] == [429] * 5 + [200] * 2
        assert answers[0].headers["retry-after"] == "1"
        assert answers[0].json()["error"]["type"] == "rate_limit_error"


async def test_flaky_500s__fail_some_calls_the_same_way_each_run(
    app_factory: AppFactory, client_factory: ClientFactory
) -> None:
    async def run() -> list[int]:
        async with client_factory(scenario("flaky_500s.yaml", app_factory)) as http:
            return [(await http.post(CREATE, json=body(), headers=AUTH)).status_code for _ in range(30)]

    first = await run()
    assert 3 <= first.count(500) <= 20
    assert first == await run()


async def test_balance_runs_out__on_the_fourth_task(app_factory: AppFactory, client_factory: ClientFactory) -> None:
    budget = {"Authorization": "Bearer sk-budget"}
    async with client_factory(scenario("balance_runs_out.yaml", app_factory)) as http:
        statuses = [(await http.post(CREATE, json=body(), headers=budget)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 402]


async def test_content_policy__fails_matching_prompts(
    app_factory: AppFactory, client_factory: ClientFactory, clock: VirtualClock
) -> None:
    async with client_factory(scenario("content_policy.yaml", app_factory)) as http:
        bad = (await http.post(CREATE, json=body(prompt="a scene of violence"), headers=AUTH)).json()
        good = (await http.post(CREATE, json=body(prompt="a bowl of fruit"), headers=AUTH)).json()
        clock.advance(10)
        failed = (await http.get(f"/v1/tasks/{bad['id']}", headers=AUTH)).json()
        assert (failed["status"], failed["error"]["code"]) == ("failed", "content_policy_violation")
        assert (await http.get(f"/v1/tasks/{good['id']}", headers=AUTH)).json()["status"] == "completed"


async def test_stuck_task__never_finishes(
    app_factory: AppFactory, client_factory: ClientFactory, clock: VirtualClock
) -> None:
    async with client_factory(scenario("stuck_task.yaml", app_factory)) as http:
        stuck = (await http.post(CREATE, json=body(prompt="get stuck"), headers=AUTH)).json()
        clock.advance(7 * 86_400)
        polled = (await http.get(f"/v1/tasks/{stuck['id']}", headers=AUTH)).json()
        assert (polled["status"], polled["task_info"]["can_cancel"]) == ("processing", True)


async def test_slow_answers__take_longer_and_tasks_take_60s(
    app_factory: AppFactory, client_factory: ClientFactory, clock: VirtualClock
) -> None:
    import time

    async with client_factory(scenario("slow_answers.yaml", app_factory)) as http:
        started = time.perf_counter()
        task = (await http.post(CREATE, json=body(), headers=AUTH)).json()
        assert time.perf_counter() - started >= 0.3
        clock.advance(59)
        assert (await http.get(f"/v1/tasks/{task['id']}", headers=AUTH)).json()["status"] == "processing"


async def test_example__shows_every_mechanism(app_factory: AppFactory, client_factory: ClientFactory) -> None:
    async with client_factory(scenario("example.yaml", app_factory)) as http:
        await http.delete("/__mock/rules/rule-2")  # the random 429s would make this story flaky to read
        assert (await http.post(CREATE, json=body(prompt="explode"), headers=AUTH)).status_code == 500
        denied = await http.post(CREATE, json=body(), headers={"Authorization": "Bearer sk-no-banana"})
        assert denied.status_code == 403
