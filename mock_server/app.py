"""``create_app()``: wiring only. Builds the mock's backend eagerly (ASGI test transports
send no lifespan events) and puts the two HTTP siblings over it: the provider's API
(``http/provider.py``, every path outside ``/__mock/``) and the admin API (``http/admin.py``,
served by Starlette's router behind the admin guard)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from .admin_guard import AdminGuard
from .backend import MockBackend
from .clock import Clock
from .config import MockConfig
from .http.admin import admin_app_options, guard_refused, is_admin_path
from .http.provider import ProviderApi
from .settings import Settings
from .store import TaskStore

_SLASHES = re.compile("/{2,}")


class MockApp(Starlette):
    """Starlette for the admin routes; every other path goes straight to the provider's API
    (plain ASGI, no Starlette request objects, routing or middleware on the hot path)."""

    def __init__(self, backend: MockBackend, **options: Any) -> None:
        super().__init__(**options)
        self.state.mock = backend
        self.provider = ProviderApi(backend)
        self.guard = AdminGuard(backend.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        path: str = scope["path"]
        if "//" in path:
            # Clients that join a base ending in "/" with "/v1/..." send "//v1/...";
            # front proxies (nginx's merge_slashes) merge them, and so does the mock.
            path = scope["path"] = _SLASHES.sub("/", path)
        if is_admin_path(path):
            if not await guard_refused(self.guard, scope, receive, send):
                await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await self.provider(scope, receive, send)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Nothing to start (callbacks start on first use); at shutdown, end callback deliveries."""
    yield
    await mock_of(app).callbacks.aclose()


def create_app(
    settings: Settings | None = None,
    *,
    config: MockConfig | None = None,
    clock: Clock | None = None,
    store: TaskStore | None = None,
) -> Starlette:
    """The mock as an ASGI app.

    Args:
        settings: behaviour where the provider is silent; defaults to ``Settings()``.
        config: accounts and failure rules (the ``--config`` file); default none.
        clock: the clock every time-based behaviour reads; default from ``settings.clock``.
        store: where tasks live; default an in-memory store.
    """
    backend = MockBackend.build(settings or Settings(), config=config, clock=clock, store=store)
    app = MockApp(backend, lifespan=_lifespan, **admin_app_options())
    app.router.redirect_slashes = False
    return app


def mock_of(app: Starlette | Router) -> MockBackend:
    """The backend behind an app made by ``create_app()`` (for tests and the pytest plugin)."""
    state = app.state if isinstance(app, Starlette) else None
    assert state is not None
    backend: MockBackend = state.mock
    return backend
