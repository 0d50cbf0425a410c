"""The provider's API as Starlette routes: result images and the spec itself, plus the
routes of the two hot operations (which live in ``api.py``), and the helpers the admin
routes share. Errors are raised as ``ApiError`` and rendered by one handler in ``app.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from evolink_spec import CREATE_PATH, TASK_PATH_PREFIX as QUERY_PREFIX, bundle_bytes

from .api import (
    Incoming,
    create_operation,
    files_base as api_files_base,
    intercept,
    query_operation,
)
from .bodies import check_content_type, check_declared_length, parse_json
from .context import MockContext
from .errors import FileNotFound, TaskNotFound
from .images import parse_image_name, render_png, token_matches
from .lifecycle import Status
from .rules import Call
from .tasks import render_json


def context(request: Request) -> MockContext:
    mock: MockContext = request.app.state.mock
    return mock


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON, as the provider answers (clients grep ``"status":"completed"``)."""
    content = render_json(body)
    return Response(content, status_code=status, headers=headers, media_type="application/json")


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, refusing wrong content types, oversize and bad JSON."""
    incoming = Incoming(request.scope, request.receive)
    check_content_type(incoming.content_type)
    check_declared_length(incoming.content_length, limit)
    return parse_json(await incoming.body(limit))


def files_base(request: Request, mock: MockContext) -> str:
    return api_files_base(mock, lambda: str(request.base_url))


async def get_result_image(request: Request) -> Response:
    """A result link: the PNG while the link lives (24 h of mock time), then 404. A link
    whose token is not its task's is unknown, whatever the task's state: nothing about a
    task is told to whoever did not receive its link."""
    mock = context(request)
    call = Call("image", request.method, None, None, request.headers)
    await intercept(mock, call, None, request.scope.setdefault("state", {}))
    parsed = parse_image_name(request.path_params["name"])
    if parsed is None:
        raise FileNotFound.unknown()
    task_id, index, token = parsed
    try:
        task = mock.store.get_task(task_id)
    except TaskNotFound:
        raise FileNotFound.unknown() from None
    if not token_matches(token, task.link_token) or index >= task.plan.image_count:
        raise FileNotFound.unknown()
    now = mock.clock.now()
    status = task.view(now).status
    if status is Status.FAILED:
        raise FileNotFound.task_failed()
    if status is not Status.COMPLETED:
        raise FileNotFound.not_ready()
    if now >= task.plan.finished_at + mock.settings.result_ttl:
        raise FileNotFound.expired()
    # A few microseconds (images.py keeps the pixels per size): no thread pool needed.
    png = render_png(f"{mock.random.seed}:{task_id}_{index}", task.size)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


async def openapi_document(request: Request) -> Response:
    return Response(bundle_bytes(), media_type="application/json")


routes = [
    # MockApp sends POST creates and GET queries to these Operations directly; Starlette
    # routes the rest here too, so HEAD works and other methods answer 405 with Allow.
    Route(CREATE_PATH, create_operation, methods=["POST"]),
    Route(QUERY_PREFIX + "{task_id}", query_operation, methods=["GET"]),
    Route("/files/images/{name}", get_result_image, methods=["GET"]),
    Route("/openapi.json", openapi_document, methods=["GET"]),
]
