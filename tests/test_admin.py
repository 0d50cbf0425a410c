"""The admin API under /__mock/."""

from __future__ import annotations

import httpx
import pytest

from mock_server import VirtualClock
from tests.conftest import AUTH, CREATE, START, body

pytestmark = pytest.mark.anyio


async def test_clock__reports_and_advances_virtual_time(client: httpx.AsyncClient) -> None:
    assert (await client.get("/__mock/clock")).json() == {"now": START, "kind": "virtual", "speed": 1.0}
    response = await client.post("/__mock/clock/advance", json={"seconds": 12.5})
    assert response.status_code == 200
    assert response.json()["now"] == START + 12.5
    assert (await client.get("/__mock/clock")).json()["now"] == START + 12.5


async def test_clock_advance__finishes_tasks(client: httpx.AsyncClient) -> None:
    task = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    await client.post("/__mock/clock/advance", json={"seconds": 10})
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=AUTH)).json()["status"] == "completed"


@pytest.mark.parametrize(
    "payload",
    [{}, {"seconds": "5"}, {"seconds": -1}, {"seconds": True}, {"seconds": None}, [5], {"seconds": 1e20}],
)
async def test_clock_advance__refuses_bad_bodies(client: httpx.AsyncClient, payload: object) -> None:
    response = await client.post("/__mock/clock/advance", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "seconds"
    assert (await client.get("/__mock/clock")).json()["now"] == START


async def test_clock_advance__refuses_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/__mock/clock/advance", content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_tasks__lists_every_task_with_owner_and_plan(client: httpx.AsyncClient) -> None:
    mine = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    theirs = (await client.post(CREATE, json=body(), headers={"Authorization": "Bearer sk-other"})).json()
    listing = (await client.get("/__mock/tasks")).json()
    assert listing["count"] == 2
    assert [entry["task"]["id"] for entry in listing["tasks"]] == [mine["id"], theirs["id"]]
    first = listing["tasks"][0]
    assert first["key"] == "sk-test-owner"
    assert first["plan"] == {
        "created_at": START,
        "started_at": START + 1.0,
        "finished_at": START + 10.0,
        "outcome": "completed",
        "error_code": None,
    }
    only_theirs = (await client.get("/__mock/tasks", params={"key": "sk-other"})).json()
    assert [entry["task"]["id"] for entry in only_theirs["tasks"]] == [theirs["id"]]


async def test_task__is_visible_to_the_admin_whoever_owns_it(client: httpx.AsyncClient) -> None:
    task = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    response = await client.get(f"/__mock/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json()["task"]["id"] == task["id"]
    assert (await client.get("/__mock/tasks/task-unified-1-nothere0")).status_code == 404


async def test_reset__forgets_tasks_and_replays_ids(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    first = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    assert (await client.post("/__mock/reset")).json() == {"reset": True}
    assert (await client.get("/__mock/tasks")).json()["count"] == 0
    assert (await client.get(f"/v1/tasks/{first['id']}", headers=AUTH)).status_code == 404
    again = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    assert again["id"] == first["id"]


async def test_health__says_what_the_mock_runs_with(client: httpx.AsyncClient) -> None:
    health = (await client.get("/__mock/health")).json()
    assert health == {
        "status": "ok",
        "service": "nanobanana-mock",
        "unknown_keys": "allow",
        "seed": 7,
        "clock": "virtual",
        "speed": 1.0,
        "task_duration": 10.0,
        "tasks": 0,
    }


async def test_admin__wrong_method_answers_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/__mock/reset")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
