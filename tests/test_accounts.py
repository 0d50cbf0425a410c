"""Failures from state, per key: credits (402), models (403), rate limits (429), unknown keys (401)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import VirtualClock
from mock_server.accounts import Accounts, AccountSpec
from mock_server.errors import InsufficientQuota, RateLimited
from tests.conftest import CREATE, body

pytestmark = pytest.mark.anyio

CONFIG = {
    "accounts": {
        "sk-two-tasks": {"credits": 3.2},
        "sk-no-banana": {"models": []},
        "sk-throttled": {"rate_limit_per_minute": 3},
    }
}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def http(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory(app_factory(config=CONFIG)) as client:
        yield client


async def test_credits__the_third_create_answers_402(http: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 200
    refused = await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))
    assert refused.status_code == 402
    assert refused.json() == {
        "error": {
            "code": "insufficient_quota",
            "message": "Insufficient quota. Please top up your account.",
            "type": "insufficient_quota",
        }
    }
    accounts = (await http.get("/__mock/accounts")).json()["accounts"]
    assert accounts["sk-two-tasks"]["balance"] == 0


async def test_credits__a_failed_task_gives_them_back_when_it_fails(
    http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    headers = {**auth("sk-two-tasks"), "Prefer": "task-error=service_error"}
    assert (await http.post(CREATE, json=body(), headers=headers)).status_code == 200
    assert (await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 200
    assert (await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 402
    clock.advance(10)
    assert (await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 200


async def test_credits__refused_create_makes_no_task(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))
    assert (await http.get("/__mock/tasks", params={"key": "sk-two-tasks"})).json()["count"] == 2


async def test_models__403_names_the_model(http: httpx.AsyncClient) -> None:
    for model in ("nano-banana-beta", "gemini-2.5-flash-image"):
        response = await http.post(CREATE, json=body(model=model), headers=auth("sk-no-banana"))
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "model_access_denied",
            "message": "Token does not have access to model: nano-banana-beta",
            "type": "invalid_request_error",
        }


async def test_rate_limit__the_fourth_call_in_a_minute_answers_429(
    http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    task = (await http.post(CREATE, json=body(), headers=auth("sk-throttled"))).json()
    clock.advance(10)
    assert (await http.get(f"/v1/tasks/{task['id']}", headers=auth("sk-throttled"))).status_code == 200
    clock.advance(10)
    assert (await http.get(f"/v1/tasks/{task['id']}", headers=auth("sk-throttled"))).status_code == 200
    refused = await http.post(CREATE, json=body(), headers=auth("sk-throttled"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["retry-after"] == "40"
    clock.advance(40)
    assert (await http.post(CREATE, json=body(), headers=auth("sk-throttled"))).status_code == 200


async def test_rate_limit__other_keys_are_not_throttled(http: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await http.post(CREATE, json=body(), headers=auth("sk-anyone"))).status_code == 200


async def test_unknown_keys_reject__answers_401(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    async with client_factory(app_factory(config={**CONFIG, "unknown_keys": "reject"})) as client:
        refused = await client.post(CREATE, json=body(), headers=auth("sk-stranger"))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert (await client.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 200


async def test_reset__restores_balances(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))
    await http.post("/__mock/reset")
    assert (await http.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 200


def test_accounts__reserve_and_refund_in_mock_time() -> None:
    accounts = Accounts({"k": AccountSpec(credits=1.6)})
    accounts.reserve("k", 1.6, 0.0)
    accounts.refund_at("k", 1.6, 5.0)
    with pytest.raises(InsufficientQuota):
        accounts.reserve("k", 1.6, 4.9)
    accounts.reserve("k", 1.6, 5.0)
    assert accounts.balance("k", 5.0) == 0


def test_accounts__rate_window_slides() -> None:
    accounts = Accounts({"k": AccountSpec(rate_limit_per_minute=2)})
    accounts.check_rate("k", 0.0)
    accounts.check_rate("k", 30.0)
    with pytest.raises(RateLimited) as raised:
        accounts.check_rate("k", 59.0)
    assert raised.value.headers == {"Retry-After": "1"}
    accounts.check_rate("k", 60.0)


async def test_api_keys__only_the_listed_keys_are_valid(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    async with client_factory(app_factory(api_keys=("sk-mine",), config=CONFIG)) as client:
        assert (await client.post(CREATE, json=body(), headers=auth("sk-mine"))).status_code == 200
        assert (await client.post(CREATE, json=body(), headers=auth("sk-two-tasks"))).status_code == 200
        refused = await client.get("/v1/tasks/task-unified-1-abcdefgh", headers=auth("SCHEMATHESIS-INVALID-VALUE"))
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "authentication_error"
