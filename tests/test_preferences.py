"""Failures per request: the Prefer header (Prism-compatible, plus our extensions)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from evolink_spec import load_bundle
from mock_server import VirtualClock
from mock_server.errors import InvalidRequest
from mock_server.outcomes import CALLER_FIXABLE, FAILURE_CODES
from mock_server.preferences import parse_prefer
from tests.conftest import AUTH, CREATE, body

pytestmark = pytest.mark.anyio
QUERY = "/v1/tasks/task-unified-1790000000-abcdefgh"


def example(path: str, method: str, status: int) -> dict[str, Any]:
    documented: dict[str, Any] = load_bundle()["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"
    ]["example"]
    return documented


@pytest.mark.parametrize("status", [400, 401, 402, 403, 429, 500])
async def test_code__create_answers_the_seeds_example(client: httpx.AsyncClient, status: int) -> None:
    response = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": f"code={status}"})
    assert response.status_code == status
    assert response.json() == example("/v1/images/generations", "post", status)


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500])
async def test_code__query_answers_its_documented_example(client: httpx.AsyncClient, status: int) -> None:
    response = await client.get(QUERY, headers={**AUTH, "Prefer": f"code={status}"})
    assert response.status_code == status
    assert response.json() == example("/v1/tasks/{task_id}", "get", status)


@pytest.mark.parametrize(("path", "status"), [(CREATE, s) for s in (400, 401, 402, 403, 429, 500)] + [(QUERY, 404)])
async def test_code__says_it_was_applied(client: httpx.AsyncClient, path: str, status: int) -> None:
    method = client.post if path == CREATE else client.get
    kwargs: dict[str, Any] = {"json": body()} if path == CREATE else {}
    response = await method(path, headers={**AUTH, "Prefer": f"code={status}, task-stuck"}, **kwargs)
    assert response.status_code == status
    assert response.headers["preference-applied"] == f"code={status}"  # no task: task-stuck was not applied


@pytest.mark.parametrize("path", [CREATE, QUERY])
async def test_code_429__carries_retry_after_as_a_real_429_does(client: httpx.AsyncClient, path: str) -> None:
    method = client.post if path == CREATE else client.get
    kwargs: dict[str, Any] = {"json": body()} if path == CREATE else {}
    response = await method(path, headers={**AUTH, "Prefer": "code=429"}, **kwargs)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


async def test_code__other_forced_statuses_carry_no_retry_after(client: httpx.AsyncClient) -> None:
    for status in (400, 401, 402, 403, 500):
        response = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": f"code={status}"})
        assert "retry-after" not in response.headers


async def test_code__waits_delay_ms_first_and_says_so(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    sleep = asyncio.sleep

    async def recorded(seconds: float, *args: object) -> None:
        slept.append(seconds)
        await sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    response = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "code=500, delay-ms=100"})
    assert 0.1 in slept
    assert response.status_code == 500
    assert response.headers["preference-applied"] == "code=500, delay-ms=100"


async def test_query__says_what_it_applied(client: httpx.AsyncClient) -> None:
    task = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    polled = await client.get(f"/v1/tasks/{task['id']}", headers={**AUTH, "Prefer": "code=200, task-stuck"})
    assert polled.status_code == 200
    assert polled.headers["preference-applied"] == "code=200"
    plain = await client.get(f"/v1/tasks/{task['id']}", headers=AUTH)
    assert "preference-applied" not in plain.headers


async def test_code__works_without_auth_as_prism_does(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers={"Prefer": "code=429"})
    assert response.status_code == 429


async def test_code_200__is_the_normal_answer(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "code=200"})
    assert response.status_code == 200
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize(("path", "status"), [(CREATE, 404), (CREATE, 418), (QUERY, 402), (QUERY, 403)])
async def test_code__undocumented_answers_400_listing_the_codes(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    method = client.post if path == CREATE else client.get
    kwargs: dict[str, Any] = {"json": body()} if path == CREATE else {}
    response = await method(path, headers={**AUTH, "Prefer": f"code={status}"}, **kwargs)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "Prefer"
    assert f"code={status} is not documented" in error["message"]
    assert "documented: 200, 400, 401" in error["message"]


@pytest.mark.parametrize("code", FAILURE_CODES)
async def test_task_error__fails_the_task_with_that_code(
    client: httpx.AsyncClient, clock: VirtualClock, code: str
) -> None:
    created = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": f"task-error={code}"})
    assert created.status_code == 200
    assert created.headers["preference-applied"] == f"task-error={code}"
    task_id = created.json()["id"]
    clock.advance(10)
    task = (await client.get(f"/v1/tasks/{task_id}", headers=AUTH)).json()
    assert task["status"] == "failed"
    assert task["error"]["code"] == code
    assert len(task["error"]["message"]) > 20
    assert "results" not in task and "result_data" not in task
    assert task["task_info"] == {"can_cancel": False}
    assert task["usage"]["credits_used"] == 0
    if code in CALLER_FIXABLE:
        assert task["progress"] == 0


async def test_task_error__caller_fixable_codes_fail_early(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    created = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-error=content_policy_violation"})
    clock.advance(1)
    task = (await client.get(f"/v1/tasks/{created.json()['id']}", headers=AUTH)).json()
    assert (task["status"], task["progress"]) == ("failed", 0)


async def test_task_error__retryable_codes_fail_at_the_end_keeping_progress(
    client: httpx.AsyncClient, clock: VirtualClock
) -> None:
    created = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-error=service_error"})
    task_id = created.json()["id"]
    clock.advance(9.9)
    running = (await client.get(f"/v1/tasks/{task_id}", headers=AUTH)).json()
    assert running["status"] == "processing"
    clock.advance(0.1)
    failed = (await client.get(f"/v1/tasks/{task_id}", headers=AUTH)).json()
    assert failed["status"] == "failed"
    assert failed["progress"] >= running["progress"]


async def test_task_error__unknown_code_is_refused_naming_the_valid_ones(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-error=oops"})
    assert response.status_code == 400
    assert "content_policy_violation" in response.json()["error"]["message"]
    assert "unknown_error" in response.json()["error"]["message"]
    assert (await client.get("/__mock/tasks")).json()["count"] == 0


async def test_task_duration__sets_that_tasks_duration(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    slow = (await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-duration=100"})).json()
    fast = (await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-duration=2"})).json()
    clock.advance(2)
    assert (await client.get(f"/v1/tasks/{fast['id']}", headers=AUTH)).json()["status"] == "completed"
    assert (await client.get(f"/v1/tasks/{slow['id']}", headers=AUTH)).json()["status"] == "pending"
    clock.advance(97.9)
    assert (await client.get(f"/v1/tasks/{slow['id']}", headers=AUTH)).json()["status"] == "processing"
    clock.advance(0.1)
    assert (await client.get(f"/v1/tasks/{slow['id']}", headers=AUTH)).json()["status"] == "completed"


async def test_preferences__combine_in_one_header(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    headers = {**AUTH, "Prefer": "task-error=service_error, task-duration=2"}
    created = await client.post(CREATE, json=body(), headers=headers)
    assert created.headers["preference-applied"] == "task-error=service_error, task-duration=2"
    clock.advance(2)
    task = (await client.get(f"/v1/tasks/{created.json()['id']}", headers=AUTH)).json()
    assert (task["status"], task["error"]["code"]) == ("failed", "service_error")


async def test_task_stuck__never_finishes(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    created = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-stuck"})
    clock.advance(86_400)
    task = (await client.get(f"/v1/tasks/{created.json()['id']}", headers=AUTH)).json()
    assert task["status"] == "processing"
    assert task["progress"] == 99


async def test_delay_ms__delays_the_answer(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    response = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "delay-ms=150"})
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_parse__reads_rfc7240_forms() -> None:
    preferences = parse_prefer(["code=429; foo=bar, respond-async", 'task-duration="2.5"', "wait=10"])
    assert preferences.code == 429
    assert preferences.outcome.duration == 2.5
    assert preferences.applied == ("code=429", "task-duration=2.5")


@pytest.mark.parametrize(
    "header",
    [
        "code=abc",
        "code=99",
        "code",
        "task-duration=-1",
        "task-duration=soon",
        "delay-ms=1.5",
        "delay-ms=999999",
        "task-stuck=maybe",
        "task-duration=nan",
    ],
)
def test_parse__refuses_bad_values_of_known_preferences(header: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_prefer([header])
    assert raised.value.param == "Prefer"


def test_parse__ignores_unknown_preferences() -> None:
    assert parse_prefer(["return=minimal, handling=lenient"]).is_empty
