"""The mock's own controls, under ``/__mock/``, outside the provider's namespace.

- ``GET  /__mock/health``         liveness, and what this mock is running with (the contract
  suite reads ``service`` and ``unknown_keys`` to know which keys the target accepts)
- ``GET  /__mock/clock``          mock time
- ``POST /__mock/clock/advance``  ``{"seconds": N}`` moves mock time forward
- ``GET  /__mock/tasks``          live tasks, with their owner and plan (paged)
- ``GET  /__mock/tasks/{id}``     one task, whoever owns it
- ``POST /__mock/tasks/{id}/cancel``  end an unfinished task now: failed, ``request_cancelled``
- ``GET  /__mock/callbacks``      the callback journal: every attempt (filter: task_id; paged)
- ``GET  /__mock/tasks/{id}/callbacks``  one task's delivery state and attempts
- ``POST /__mock/reset``          back to the start: tasks, journal, rules, balances, seed
- ``GET|POST|DELETE /__mock/rules``, ``DELETE /__mock/rules/{id}``   failure rules at run time
- ``GET|DELETE /__mock/requests``  the request journal (filters: method, path, key, status; paged)
- ``GET  /__mock/accounts``       configured keys with their balances

The three listings are paged, newest first: one answer holds the newest ``limit`` items
(default 100, at most 1,000) older than ``cursor``, oldest first, and ``next_cursor``, the
``cursor`` of the next (older) page, or null at the end. A page costs the same however much
is stored: each looks at no more than 10,000 items (and a page of requests holds about
4 MiB of entries at most), so a page may hold fewer than ``limit`` and still name a next
page. Every item is rendered on its own (``journal.render_safely``), so no stored value can
make a listing fail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..admin_guard import AdminGuard
from ..argtypes import finite_float
from ..backend import MockBackend
from ..errors import ApiError, InvalidRequest, NotFound
from ..journal import render_safely
from ..tasks import Task, detail_body, render_json
from .exchange import Exchange, error_reply, internal_error_reply, method_not_allowed, reply_response, shown_path

PREFIX = "/__mock"
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_ADVANCE = 10 * 365 * 86_400.0
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
SCAN = 10_000
"""Most items one page looks at, whatever its filters (so its cost is bounded)."""


def backend_of(request: Request) -> MockBackend:
    backend: MockBackend = request.app.state.mock
    return backend


def json_response(body: Any, status: int = 200) -> Response:
    """Compact JSON, as the provider answers."""
    return Response(render_json(body), status_code=status, media_type="application/json")


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, refusing wrong content types, oversize and bad JSON
    (the provider's own checks: ``Exchange.read_json``)."""
    return (await Exchange(request.scope, request.receive, _no_send).read_json(limit))[1]


async def _no_send(message: Message) -> None:
    raise AssertionError("admin answers are sent by Starlette")


def _files_base(request: Request, backend: MockBackend) -> str:
    return backend.files_base(lambda: str(request.base_url))


async def health(request: Request) -> Response:
    return json_response(backend_of(request).health())


async def get_clock(request: Request) -> Response:
    return json_response(backend_of(request).clock_state())


async def advance_clock(request: Request) -> Response:
    backend = backend_of(request)
    payload = await read_json(request, 4096)
    seconds = payload.get("seconds") if isinstance(payload, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidRequest('Body must be {"seconds": N} with N a number of seconds', param="seconds")
    try:
        seconds = finite_float(seconds, minimum=0, maximum=MAX_ADVANCE, text=False)
    except ValueError as why:
        raise InvalidRequest(f"'seconds' {why}", param="seconds") from None
    return json_response(await backend.advance_clock(seconds))


def _admin_view(task: Task, request: Request) -> dict[str, Any]:
    backend = backend_of(request)
    plan = task.plan
    return {
        "key": task.key,
        "task": detail_body(task, backend.clock.now(), _files_base(request, backend)),
        "plan": {
            "created_at": plan.created_at,
            "started_at": plan.started_at,
            "finished_at": plan.finished_at if plan.finishes else None,
            "outcome": "failed" if plan.failure else ("completed" if plan.finishes else "stuck"),
            "error_code": plan.failure.code if plan.failure else None,
        },
    }


def _listing(name: str, items: list[bytes], cursor: str | None) -> Response:
    """``{name: [...], "count": N, "next_cursor": C}`` from items rendered one by one."""
    tail = orjson.dumps({"count": len(items), "next_cursor": cursor})
    return Response(b'{"' + name.encode() + b'":[' + b",".join(items) + b"]," + tail[1:], media_type="application/json")


def _page_params(request: Request) -> tuple[int, str | None]:
    limit = _int_param(request, "limit", 1, MAX_LIMIT)
    return DEFAULT_LIMIT if limit is None else limit, request.query_params.get("cursor")


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "Query parameter 'cursor' is not one this listing gave: pass the next_cursor of the previous page",
        param="cursor",
    )


def _id_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise _bad_cursor()
    return int(cursor)


def _task_cursor(cursor: str | None, tasks: list[Task]) -> int:
    """Where the page before ``cursor`` ends in ``tasks`` (oldest first). A task cursor is
    ``POSITION.TASK_ID``: the task is looked for at that position, then at the positions
    below it (older tasks may have gone since, shifting it down)."""
    if cursor is None:
        return len(tasks)
    position_text, _, task_id = cursor.partition(".")
    if not position_text.isdigit() or len(position_text) > 9 or not task_id:
        raise _bad_cursor()
    position = min(int(position_text), len(tasks) - 1)
    for index in range(position, max(position - SCAN, -1), -1):
        if tasks[index].id == task_id:
            return index
    return max(position, 0)  # the cursor's task has gone: continue from about where it was


async def list_tasks(request: Request) -> Response:
    key = request.query_params.get("key")
    limit, cursor = _page_params(request)
    tasks = list(backend_of(request).tasks())  # references only: about 1 ms at 200,000 tasks
    end = _task_cursor(cursor, tasks)
    found: list[tuple[int, Task]] = []
    next_cursor = None
    for looked, index in enumerate(range(end - 1, -1, -1), 1):
        task = tasks[index]
        if key is None or task.key == key:
            found.append((index, task))
        if len(found) >= limit or looked >= SCAN:
            next_cursor = f"{index}.{task.id}" if index > 0 else None
            break
    found.reverse()
    return _listing("tasks", [render_safely(_admin_view(task, request)) for _, task in found], next_cursor)


async def get_task(request: Request) -> Response:
    return json_response(_admin_view(backend_of(request).task(request.path_params["task_id"]), request))


async def cancel_task(request: Request) -> Response:
    task = backend_of(request).cancel_task(request.path_params["task_id"])
    return json_response(_admin_view(task, request))


async def list_callbacks(request: Request) -> Response:
    limit, cursor = _page_params(request)
    entries, next_cursor = backend_of(request).callback_page(
        request.query_params.get("task_id"), limit=limit, before=_id_cursor(cursor), scan=SCAN
    )
    return _listing("callbacks", [render_safely(entry) for entry in entries], _str_or_none(next_cursor))


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


async def task_callbacks(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    delivery, entries = backend_of(request).task_callbacks(task_id)
    summary = delivery.summary() if delivery is not None else None
    body = {"task_id": task_id, "delivery": summary, "callbacks": entries, "count": len(entries)}
    return Response(render_safely(body), media_type="application/json")


async def reset(request: Request) -> Response:
    backend_of(request).reset()
    return json_response({"reset": True})


async def list_rules(request: Request) -> Response:
    return json_response({"rules": [rule.snapshot() for rule in backend_of(request).rule_list()]})


async def add_rules(request: Request) -> Response:
    """Body: one rule, a list of rules, or {"rules": [...]}. All are added, or none."""
    backend = backend_of(request)
    payload = await read_json(request, 256 * 1024)
    if isinstance(payload, dict) and set(payload) == {"rules"}:
        payload = payload["rules"]
    items = payload if isinstance(payload, list) else [payload]
    added = backend.add_rules(items)
    return json_response({"rules": [rule.snapshot() for rule in added]}, status=201)


async def clear_rules(request: Request) -> Response:
    backend_of(request).clear_rules()
    return json_response({"rules": []})


async def delete_rule(request: Request) -> Response:
    rule_id = request.path_params["rule_id"]
    backend_of(request).delete_rule(rule_id)
    return json_response({"deleted": rule_id})


def _int_param(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    digits = raw[1:] if raw[:1] in "+-" else raw
    value = int(raw) if digits.isdigit() and digits.isascii() and len(digits) <= 18 else None  # "²".isdigit()
    if value is None or not low <= value <= high:
        message = f"Query parameter '{name}' must be a whole number from {low} to {high}, got {_clipped(raw)}"
        raise InvalidRequest(message, param=name)
    return value


def _clipped(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


async def list_requests(request: Request) -> Response:
    params = request.query_params
    limit, cursor = _page_params(request)
    entries, next_cursor = backend_of(request).request_page(
        method=params.get("method"),
        path=params.get("path"),
        key=params.get("key"),
        status=_int_param(request, "status", 100, 599),
        limit=limit,
        before=_id_cursor(cursor),
        scan=SCAN,
    )
    return _listing("requests", [entry.render() for entry in entries], _str_or_none(next_cursor))


async def clear_requests(request: Request) -> Response:
    backend_of(request).clear_requests()
    return json_response({"requests": [], "count": 0})


async def list_accounts(request: Request) -> Response:
    return json_response(backend_of(request).accounts_state())


def _route(path: str, **handlers: Endpoint) -> Route:
    """One route serving several methods, so a 405 lists all of them in ``Allow``."""

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method if request.method != "HEAD" else "GET"](request)

    return Route(path, dispatch, methods=list(handlers))


routes = [
    Route(f"{PREFIX}/health", health, methods=["GET"]),
    Route(f"{PREFIX}/clock", get_clock, methods=["GET"]),
    Route(f"{PREFIX}/clock/advance", advance_clock, methods=["POST"]),
    Route(f"{PREFIX}/tasks", list_tasks, methods=["GET"]),
    Route(f"{PREFIX}/tasks/{{task_id}}", get_task, methods=["GET"]),
    Route(f"{PREFIX}/tasks/{{task_id}}/cancel", cancel_task, methods=["POST"]),
    Route(f"{PREFIX}/tasks/{{task_id}}/callbacks", task_callbacks, methods=["GET"]),
    Route(f"{PREFIX}/callbacks", list_callbacks, methods=["GET"]),
    Route(f"{PREFIX}/reset", reset, methods=["POST"]),
    _route(f"{PREFIX}/rules", GET=list_rules, POST=add_rules, DELETE=clear_rules),
    Route(f"{PREFIX}/rules/{{rule_id}}", delete_rule, methods=["DELETE"]),
    _route(f"{PREFIX}/requests", GET=list_requests, DELETE=clear_requests),
    Route(f"{PREFIX}/accounts", list_accounts, methods=["GET"]),
]


def is_admin_path(path: str) -> bool:
    return path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/")


async def guard_refused(guard: AdminGuard, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a call the guard refuses (Host, Origin, token: ``admin_guard.py``); True if it did."""
    error = guard.check(scope["method"], scope.get("scheme", "http"), scope["headers"])
    if error is None:
        return False
    await reply_response(error_reply(error))(scope, receive, send)
    return True


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return reply_response(error_reply(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown admin path, wrong method), in the provider's envelope."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return reply_response(error_reply(NotFound(f"Unknown path: {request.method} {shown_path(request.scope)}")))
    if exc.status_code == 405:
        methods = {method.strip() for method in headers.get("Allow", "").split(",") if method.strip()}
        return reply_response(error_reply(method_not_allowed(request.method, shown_path(request.scope), methods)))
    return reply_response(error_reply(InvalidRequest(str(exc.detail), headers=headers)))


class ErrorBoundary:
    """A bug in an admin route answers the envelope's 500 once, and the request ends there.

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
            await reply_response(internal_error_reply(scope["method"], scope["path"]))(scope, receive, send)


def admin_app_options() -> dict[str, Any]:
    """What ``Starlette(...)`` needs to serve the admin routes."""
    return {
        "routes": routes,
        "middleware": [Middleware(ErrorBoundary)],
        "exception_handlers": {ApiError: _api_error, HTTPException: _http_error},
    }
