"""The whole image family in the mock, with no flag: each model's limits from both sides, its
answer (name, estimate, credits), its results (count and pixel size), its default duration,
and model access and credits per key across the family."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from contract_tests._family import Case, cases, minimal
from evolink_spec import facts
from mock_server import VirtualClock
from mock_server.catalogue import default_duration
from mock_server.images import png_dimensions
from tests.conftest import AUTH, CREATE

pytestmark = pytest.mark.anyio

FAMILY = facts().family
CASES = [case for contract in FAMILY.models.values() for case in cases(contract)]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_each_models_limits__hold_from_both_sides(client: httpx.AsyncClient, case: Case) -> None:
    answer = await client.post(CREATE, json=case.body, headers=AUTH)
    if case.refused_param is not None:
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["code"], error["type"]) == ("invalid_request", "invalid_request_error")
        # The field itself, or one item of it (``image_urls[0]``).
        assert error["param"] == case.refused_param or error["param"].startswith(f"{case.refused_param}[")
        return
    assert answer.status_code == 200, answer.text
    contract = FAMILY.model(case.body["model"])
    plan = contract.plan(case.body)
    task = answer.json()
    assert task["model"] == plan.model
    assert task["task_info"]["estimated_time"] == plan.estimated_time
    assert task["usage"] == {
        "billing_rule": contract.answer.billing_rule,
        "credits_reserved": plan.credits,
        "user_group": "default",
    }


async def _finished(client: httpx.AsyncClient, clock: VirtualClock, task_id: str, seconds: float) -> dict[str, Any]:
    clock.advance(seconds)
    answer = await client.get(f"/v1/tasks/{task_id}", headers=AUTH)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize(
    ("body", "count", "pixels"),
    [
        ({"model": "gpt-image-2", "size": "1:1", "resolution": "4K", "n": 2}, 2, (2880, 2880)),
        ({"model": "gpt-image-2", "size": "1536x1024"}, 1, (1536, 1024)),
        ({"model": "gpt-image-2", "size": "21:9"}, 1, (2384, 1024)),
        ({"model": "z-image-turbo", "size": "1024x768"}, 1, (1024, 768)),
        ({"model": "z-image-turbo"}, 1, (1024, 1024)),
        ({"model": "gemini-3-pro-image-preview", "size": "16:9", "quality": "1K"}, 1, (1360, 768)),
        ({"model": "gemini-3.1-flash-lite-image", "size": "9:16"}, 1, (768, 1360)),
        ({"model": "gemini-2.5-flash-image", "size": "16:9"}, 1, (1344, 768)),
        ({"model": "wan2.5-text-to-image", "size": "768x1024", "n": 3}, 3, (768, 1024)),
        ({"model": "gpt-4o-image", "size": "2:3", "n": 2}, 2, (1024, 1536)),
    ],
)
async def test_results__come_in_the_models_number_and_pixel_size(
    client: httpx.AsyncClient, clock: VirtualClock, body: dict[str, Any], count: int, pixels: tuple[int, int]
) -> None:
    created = await client.post(CREATE, json={"prompt": "a cat", **body}, headers=AUTH)
    assert created.status_code == 200, created.text
    done = await _finished(client, clock, created.json()["id"], 3600)
    assert done["status"] == "completed"
    assert len(done["results"]) == count
    for link in done["results"]:
        image = await client.get(link.removeprefix("http://localhost"))
        assert image.status_code == 200
        assert png_dimensions(image.content) == pixels


@pytest.mark.parametrize("model", ["gpt-image-2", "z-image-turbo", "nano-banana-beta", "qwen-image-edit"])
async def test_each_model__takes_its_own_default_duration(
    client: httpx.AsyncClient, clock: VirtualClock, model: str
) -> None:
    body = minimal(FAMILY.model(model)).body
    task_id = (await client.post(CREATE, json=body, headers=AUTH)).json()["id"]
    duration = default_duration(FAMILY.model(model).answer.estimated_time)
    assert (await _finished(client, clock, task_id, duration - 0.5))["status"] == "processing"
    assert (await _finished(client, clock, task_id, 0.5))["status"] == "completed"


async def test_a_set_task_duration_estimate_and_credits__apply_to_every_model(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient], clock: VirtualClock
) -> None:
    app = app_factory(task_duration=3, estimated_time=7, credits_per_task=0.5)
    async with client_factory(app) as http:
        for model in ("gpt-image-2", "z-image-turbo"):
            task = (await http.post(CREATE, json=minimal(FAMILY.model(model)).body, headers=AUTH)).json()
            assert (task["task_info"]["estimated_time"], task["usage"]["credits_reserved"]) == (7, 0.5)
            assert (await _finished(http, clock, task["id"], 3))["status"] == "completed"


async def test_model_access__is_per_key_across_the_family(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    config = {"accounts": {"sk-gpt-only": {"models": ["gpt-image-2", "nano-banana-beta"]}}}
    headers = {"Authorization": "Bearer sk-gpt-only"}
    async with client_factory(app_factory(config)) as http:
        assert (
            await http.post(CREATE, json={"model": "gpt-image-2", "prompt": "x"}, headers=headers)
        ).status_code == 200
        # The legacy name counts as the model it answers with.
        legacy = await http.post(CREATE, json={"model": "gemini-2.5-flash-image", "prompt": "x"}, headers=headers)
        assert legacy.status_code == 200
        refused = await http.post(CREATE, json={"model": "z-image-turbo", "prompt": "x"}, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "model_access_denied"
        assert "z-image-turbo" in refused.json()["error"]["message"]


async def test_credits__are_each_models_own_through_the_402(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    # 5.0 credits: two gpt-image-2 images (2.5 each) use them all; then even z-image-turbo's 0.026 is refused.
    config = {"accounts": {"sk-five": {"credits": 5.0}}}
    headers = {"Authorization": "Bearer sk-five"}
    async with client_factory(app_factory(config)) as http:
        two = await http.post(CREATE, json={"model": "gpt-image-2", "prompt": "x", "n": 2}, headers=headers)
        assert two.json()["usage"]["credits_reserved"] == 5.0
        refused = await http.post(CREATE, json={"model": "z-image-turbo", "prompt": "x"}, headers=headers)
        assert refused.status_code == 402
    config = {"accounts": {"sk-cheap": {"credits": 0.1}}}
    headers = {"Authorization": "Bearer sk-cheap"}
    async with client_factory(app_factory(config)) as http:
        assert (
            await http.post(CREATE, json={"model": "nano-banana-beta", "prompt": "x"}, headers=headers)
        ).status_code == 402
        cheap = await http.post(CREATE, json={"model": "z-image-turbo", "prompt": "x"}, headers=headers)
        assert cheap.status_code == 200 and cheap.json()["usage"]["credits_reserved"] == 0.026


async def test_an_unknown_model__is_refused_naming_model_and_listing_the_family(client: httpx.AsyncClient) -> None:
    refused = await client.post(CREATE, json={"model": "dall-e-3", "prompt": "x"}, headers=AUTH)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "model"
    listed = error["message"].split("Supported values are: ")[1].split(", ")
    assert listed == list(FAMILY.names)
