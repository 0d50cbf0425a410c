"""Shared fixtures: an in-process mock on a virtual clock, and a client whose every answer
to a spec operation is validated against the bundle with openapi-core."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings
from starlette.applications import Starlette

from evolink_spec import CREATE_PATH, facts
from mock_server import Settings, VirtualClock, create_app
from mock_server.config import MockConfig, parse_config
from tests.support.spec_check import ResponseChecker

hypothesis_settings.register_profile("dev", max_examples=60, deadline=None)
hypothesis_settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

START = 1_790_000_000.0
KEY = "sk-test-owner"
AUTH = {"Authorization": f"Bearer {KEY}"}
CREATE = CREATE_PATH


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def checker() -> ResponseChecker:
    return ResponseChecker()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def app_factory(clock: VirtualClock) -> Callable[..., Starlette]:
    def build(config: dict[str, Any] | MockConfig | None = None, **changes: Any) -> Starlette:
        settings = Settings(clock="virtual", seed=7).with_changes(**changes)
        parsed = parse_config(config) if isinstance(config, dict) else config
        return create_app(settings, config=parsed, clock=clock)

    return build


@pytest.fixture
def app(app_factory: Callable[..., Starlette]) -> Starlette:
    return app_factory()


@pytest.fixture
def client_factory(checker: ResponseChecker) -> Callable[[Starlette], httpx.AsyncClient]:
    def build(app: Starlette) -> httpx.AsyncClient:
        async def validate(response: httpx.Response) -> None:
            await response.aread()
            checker.check(response)

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://localhost",
            event_hooks={"response": [validate]},
        )

    return build


@pytest.fixture
async def client(
    app: Starlette, client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory(app) as http:
        yield http


def body(**overrides: Any) -> dict[str, Any]:
    """A valid create body, with overrides (None removes a member)."""
    payload: dict[str, Any] = {"model": facts().default_model, "prompt": "a cat playing in the grass"}
    for key, value in overrides.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload
