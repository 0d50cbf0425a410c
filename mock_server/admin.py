"""The mock's own controls, under ``/__mock/``, outside the provider's namespace.

- ``GET  /__mock/health``         liveness, and what this mock is running with
- ``GET  /__mock/clock``          mock time
- ``POST /__mock/clock/advance``  ``{"seconds": N}`` moves mock time forward
- ``GET  /__mock/tasks``          every live task, with its owner and plan
- ``GET  /__mock/tasks/{id}``     one task, whoever owns it
- ``POST /__mock/tasks/{id}/cancel``  end an unfinished task now: failed, ``request_cancelled``
- ``GET  /__mock/callbacks``      the callback journal: every attempt (filters: task_id, limit)
- ``GET  /__mock/tasks/{id}/callbacks``  one task's delivery state and attempts
- ``POST /__mock/reset``          back to the start: tasks, journal, rules, balances, seed
- ``GET|POST|DELETE /__mock/rules``, ``DELETE /__mock/rules/{id}``   failure rules at run time
- ``GET|DELETE /__mock/requests``  the request journal (filters: method, path, key, status, limit)
- ``GET  /__mock/accounts``       configured keys with their balances
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .argtypes import finite_float
from .errors import InvalidRequest, NotFound
from .routes import context, files_base, json_response, read_json
from .rules import RuleError
from .tasks import Task, cancel, detail_body

PREFIX = "/__mock"
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_ADVANCE = 10 * 365 * 86_400.0


def _clock_body(request: Request) -> dict[str, Any]:
    mock = context(request)
    return {"now": mock.clock.now(), "kind": mock.clock.kind, "speed": mock.settings.speed}


async def health(request: Request) -> Response:
    mock = context(request)
    settings = mock.settings
    return json_response(
        {
            "status": "ok",
            "seed": mock.random.seed,
            "clock": mock.clock.kind,
            "speed": settings.speed,
            "task_duration": settings.task_duration,
            "tasks": len(mock.store),
        }
    )


async def get_clock(request: Request) -> Response:
    return json_response(_clock_body(request))


async def advance_clock(request: Request) -> Response:
    mock = context(request)
    payload = await read_json(request, 4096)
    seconds = payload.get("seconds") if isinstance(payload, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidRequest('Body must be {"seconds": N} with N a number of seconds', param="seconds")
    try:
        seconds = finite_float(seconds, minimum=0, maximum=MAX_ADVANCE, text=False)
    except ValueError as why:
        raise InvalidRequest(f"'seconds' {why}", param="seconds") from None
    mock.clock.advance(seconds)
    return json_response(_clock_body(request))


def _admin_view(task: Task, request: Request) -> dict[str, Any]:
    mock = context(request)
    plan = task.plan
    return {
        "key": task.key,
        "task": detail_body(task, mock.clock.now(), files_base(request, mock)),
        "plan": {
            "created_at": plan.created_at,
            "started_at": plan.started_at,
            "finished_at": plan.finished_at if plan.finishes else None,
            "outcome": "failed" if plan.failure else ("completed" if plan.finishes else "stuck"),
            "error_code": plan.failure.code if plan.failure else None,
        },
    }


async def list_tasks(request: Request) -> Response:
    mock = context(request)
    key = request.query_params.get("key")
    tasks = [_admin_view(task, request) for task in mock.store.tasks() if key is None or task.key == key]
    return json_response({"tasks": tasks, "count": len(tasks)})


async def get_task(request: Request) -> Response:
    mock = context(request)
    return json_response(_admin_view(mock.store.get_task(request.path_params["task_id"]), request))


async def cancel_task(request: Request) -> Response:
    mock = context(request)
    task = mock.store.get_task(request.path_params["task_id"])
    now = mock.clock.now()
    state = task.view(now)
    if state.finished:
        message = f"Task {task.id} has already {state.status.value}: only an unfinished task can be cancelled"
        raise InvalidRequest(message, param="task_id")
    refund = task.plan.failure is None  # a task planned to fail has its refund booked already
    cancel(task, now)
    if refund:
        mock.accounts.refund_at(task.key, task.credits, now)
    mock.callbacks.task_ended(task)
    return json_response(_admin_view(task, request))


async def list_callbacks(request: Request) -> Response:
    journal = context(request).callbacks.journal
    entries = journal.entries(task_id=request.query_params.get("task_id"), limit=_int_param(request, "limit"))
    return json_response({"callbacks": entries, "count": len(entries)})


async def task_callbacks(request: Request) -> Response:
    mock = context(request)
    task_id = request.path_params["task_id"]
    delivery = mock.callbacks.delivery(task_id)
    entries = mock.callbacks.journal.entries(task_id=task_id)
    if delivery is None and not entries:
        mock.store.get_task(task_id)  # 404 for an unknown task; a known one simply has no callback
    summary = delivery.summary() if delivery is not None else None
    return json_response({"task_id": task_id, "delivery": summary, "callbacks": entries, "count": len(entries)})


async def reset(request: Request) -> Response:
    context(request).reset()
    return json_response({"reset": True})


async def list_rules(request: Request) -> Response:
    return json_response({"rules": [rule.snapshot() for rule in context(request).rules.rules]})


async def add_rules(request: Request) -> Response:
    """Body: one rule, a list of rules, or {"rules": [...]}. All are added, or none."""
    mock = context(request)
    payload = await read_json(request, 256 * 1024)
    if isinstance(payload, dict) and set(payload) == {"rules"}:
        payload = payload["rules"]
    items = payload if isinstance(payload, list) else [payload]
    try:
        added = mock.rules.add(items)
    except RuleError as error:
        raise InvalidRequest(f"Invalid rule: {error}", param="rules") from None
    return json_response({"rules": [rule.snapshot() for rule in added]}, status=201)


async def clear_rules(request: Request) -> Response:
    context(request).rules.clear()
    return json_response({"rules": []})


async def delete_rule(request: Request) -> Response:
    rule_id = request.path_params["rule_id"]
    if not context(request).rules.remove(rule_id):
        raise NotFound(f"No rule {rule_id}", param="rule_id")
    return json_response({"deleted": rule_id})


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not raw.isascii():  # "²".isdigit(), but int("²") fails
        raise InvalidRequest(f"Query parameter '{name}' must be a whole number", param=name)
    return int(raw)


async def list_requests(request: Request) -> Response:
    params = request.query_params
    entries = context(request).journal.entries(
        method=params.get("method"),
        path=params.get("path"),
        key=params.get("key"),
        status=_int_param(request, "status"),
        limit=_int_param(request, "limit"),
    )
    return json_response({"requests": entries, "count": len(entries)})


async def clear_requests(request: Request) -> Response:
    context(request).journal.clear()
    return json_response({"requests": [], "count": 0})


async def list_accounts(request: Request) -> Response:
    mock = context(request)
    accounts = mock.accounts
    return json_response({"accounts": accounts.snapshot(mock.clock.now()), "unknown_keys": accounts.unknown_keys})


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
