"""The provider's API: its paths, and one handler per operation. Each handler reads the
request, calls one ``MockBackend`` method, and renders what it returns; ``exchange.serve``
does the rest (``Prefer``, errors, faults, the journal).

``ProviderApi`` routes by hand, without Starlette's request objects, routing or middleware:
every provider call pays for one string comparison or two, which is why a create runs at
about half the speed of a bare Starlette app and a poll near its full speed. An unknown
path answers 404 and a known path with another method 405 with ``Allow``; GET routes take
HEAD too.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from starlette.types import Receive, Scope, Send

from evolink_spec import CREATE_OPERATION, CREATE_PATH, TASK_OPERATION, TASK_PATH_PREFIX

from ..backend import CreateRequest, MockBackend
from ..errors import NotFound
from ..preferences import WITHOUT_TASK
from ..tasks import creation_body, detail_body, render_json
from ..validation import authorization_of, bearer_key
from .exchange import Endpoint, Exchange, Reply, method_not_allowed, serve, shown_path

IMAGES_PREFIX = "/files/images/"
OPENAPI_PATH = "/openapi.json"
_TASK_AT = len(TASK_PATH_PREFIX)
_IMAGES_AT = len(IMAGES_PREFIX)
PNG = b"image/png"


def _api_key(exchange: Exchange) -> str:
    """The request's API key: one Authorization header (two are refused as ambiguous) with
    a Bearer key, or 401."""
    return bearer_key(authorization_of(exchange.scope["headers"]))


async def create_image_generation(backend: MockBackend, exchange: Exchange) -> Reply:
    request = CreateRequest(
        key=_api_key(exchange),
        read_body=exchange.read_json,
        idempotency_key=exchange.idempotency_key,
        outcome=exchange.preferences.outcome,
        headers=exchange.headers,
        base_url=exchange.base_url,
    )
    created = await backend.create_image_generation(request, exchange.record)
    if created.replayed:
        body = render_json({**creation_body(created.task), "idempotency_replayed": True})
        return Reply(200, body, exchange.preferences.applied_header(WITHOUT_TASK))
    return Reply(200, render_json(creation_body(created.task)), exchange.preferences.applied_header())


async def get_task_detail(backend: MockBackend, exchange: Exchange) -> Reply:
    task_id = exchange.scope["path"][_TASK_AT:]
    task, now = await backend.get_task_detail(
        _api_key(exchange), task_id, exchange.record, method=exchange.method, headers=exchange.headers
    )
    body = render_json(detail_body(task, now, lambda: backend.files_base(exchange.base_url)))
    return Reply(200, body, exchange.preferences.applied_header(WITHOUT_TASK))


async def get_result_image(backend: MockBackend, exchange: Exchange) -> Reply:
    name = exchange.scope["path"][_IMAGES_AT:]
    png = await backend.get_result_image(name, exchange.record, method=exchange.method, headers=exchange.headers)
    return Reply(200, png, {"Cache-Control": "private, max-age=86400"}, PNG)


async def openapi_document(backend: MockBackend, exchange: Exchange) -> Reply:
    return Reply(200, backend.openapi_document())


async def unknown_path(backend: MockBackend, exchange: Exchange) -> Reply:
    raise NotFound(f"Unknown path: {exchange.method} {shown_path(exchange.scope)}")


def _not_allowed(*allowed: str) -> Endpoint:
    methods = frozenset(allowed)

    async def handler(backend: MockBackend, exchange: Exchange) -> Reply:
        raise method_not_allowed(exchange.method, shown_path(exchange.scope), methods)

    return Endpoint(handler)


CREATE = Endpoint(create_image_generation, CREATE_OPERATION)
QUERY = Endpoint(get_task_detail, TASK_OPERATION)
IMAGE = Endpoint(get_result_image)
OPENAPI = Endpoint(openapi_document)
UNKNOWN = Endpoint(unknown_path)
ONLY_POST = _not_allowed("POST")
ONLY_GET = _not_allowed("GET", "HEAD")


def endpoint_for(method: str, path: str) -> Endpoint:
    """The endpoint serving ``method`` on ``path`` (the hot two are checked first)."""
    if path == CREATE_PATH:
        return CREATE if method == "POST" else ONLY_POST
    if path.startswith(TASK_PATH_PREFIX):
        if len(path) == _TASK_AT or "/" in path[_TASK_AT:]:
            return UNKNOWN
        return QUERY if method == "GET" or method == "HEAD" else ONLY_GET
    if path.startswith(IMAGES_PREFIX):
        if len(path) == _IMAGES_AT or "/" in path[_IMAGES_AT:]:
            return UNKNOWN
        return IMAGE if method == "GET" or method == "HEAD" else ONLY_GET
    if path == OPENAPI_PATH:
        return OPENAPI if method == "GET" or method == "HEAD" else ONLY_GET
    return UNKNOWN


class ProviderApi:
    """Every path outside ``/__mock/``, as one ASGI app over a backend."""

    def __init__(self, backend: MockBackend) -> None:
        self.backend = backend

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        # Returns serve's coroutine rather than awaiting it: one coroutine frame less per call.
        return serve(self.backend, endpoint_for(scope["method"], scope["path"]), scope, receive, send)
