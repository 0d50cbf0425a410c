"""``create_app()``: wiring only. Builds the mock's state eagerly (ASGI test transports
send no lifespan events) and renders every error in the provider's envelope."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evolink_spec import CREATE_PATH, TASK_PATH_PREFIX as QUERY_PREFIX

from . import admin, routes
from .api import BrokenConnectionError, create_operation, query_operation
from .clock import Clock
from .config import MockConfig
from .context import MockContext
from .errors import ApiError, InternalError, InvalidRequest, MethodNotAllowed, NotFound
from .middleware import TRANSPORT_KEY, MockMiddleware, transport_of
from .settings import Settings
from .store import TaskStore

log = logging.getLogger("mock_server")
_QUERY_AT = len(QUERY_PREFIX)
_SLASHES = re.compile("/{2,}")
_METHOD_ORDER = {"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5, "OPTIONS": 6}


def render_error(error: ApiError) -> Response:
    return Response(error.render(), status_code=error.status, headers=error.headers, media_type="application/json")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return render_error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, wrong method), in the provider's envelope."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return render_error(NotFound(f"Unknown path: {request.method} {request.url.path}", headers=headers))
    if exc.status_code == 405:
        methods = {method.strip() for method in headers.get("Allow", "").split(",") if method.strip()}
        allowed = ", ".join(sorted(methods, key=lambda method: (_METHOD_ORDER.get(method, 99), method)))
        headers["Allow"] = allowed
        message = f"Method {request.method} not allowed on {request.url.path}; allowed: {allowed}"
        return render_error(MethodNotAllowed(message, headers=headers))
    return render_error(InvalidRequest(str(exc.detail), headers=headers))


async def _broken(request: Request, exc: Exception) -> Response:
    """Never sent: the middleware breaks the connection when it sees this answer start."""
    return Response(b"", status_code=599)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug in the mock still answers JSON (the provider's own client parses every body)."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return render_error(InternalError())


class ErrorBoundary:
    """A bug in a route answers the envelope's 500 once, and the request ends there.

    Starlette's outermost ``ServerErrorMiddleware`` re-raises after it answers, so uvicorn
    then closed the keep-alive connection and the client's next request on it was reset.
    Here the error ends with its answer; only an error after an answer has started (which
    nothing can finish cleanly) still goes up, and the server closes that connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except ClientDisconnect:
            return  # the client left before its request arrived whole: nobody to answer
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await render_error(InternalError())(scope, receive, send)


class MockApp(Starlette):
    """Starlette, with the two hot operations sent straight to their ASGI apps (``api.py``),
    and the connection's transport noted in the scope before any middleware wraps ``send``
    (the fault layer needs it to break connections on demand)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            path: str = scope["path"]
            if "//" in path:
                # Clients that join a base ending in "/" with "/v1/..." send "//v1/...";
                # front proxies (nginx's merge_slashes) merge them, and so does the mock.
                path = scope["path"] = _SLASHES.sub("/", path)
            if method == "POST" and path == CREATE_PATH:
                scope["app"] = self
                await create_operation(scope, receive, send)
                return
            if (
                method == "GET"
                and path.startswith(QUERY_PREFIX)
                and len(path) > _QUERY_AT
                and "/" not in path[_QUERY_AT:]
            ):
                scope["app"] = self
                scope["path_params"] = {"task_id": path[_QUERY_AT:]}
                await query_operation(scope, receive, send)
                return
            scope[TRANSPORT_KEY] = transport_of(send)
        await super().__call__(scope, receive, send)


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
    settings = settings or Settings()
    mock = MockContext.build(settings, config=config, clock=clock, store=store)
    app = MockApp(
        routes=[*routes.routes, *admin.routes],
        middleware=[Middleware(MockMiddleware, mock=mock), Middleware(ErrorBoundary)],
        lifespan=_lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            BrokenConnectionError: _broken,
            Exception: _unexpected,
        },
    )
    app.router.redirect_slashes = False
    app.state.mock = mock
    return app


def mock_of(app: Starlette | Router) -> MockContext:
    """The state behind an app made by ``create_app()`` (for tests and the pytest plugin)."""
    state = app.state if isinstance(app, Starlette) else None
    assert state is not None
    mock: MockContext = state.mock
    return mock
