"""The mock's own controls, under ``/__mock/``, outside the provider's namespace.

- ``GET  /__mock/health``         liveness, and what this mock is running with
- ``GET  /__mock/clock``          mock time
- ``POST /__mock/clock/advance``  ``{"seconds": N}`` moves mock time forward
- ``GET  /__mock/tasks``          every live task, with its owner and plan
- ``GET  /__mock/tasks/{id}``     one task, whoever owns it
- ``POST /__mock/reset``          forget every task and replay the seed
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import InvalidRequest
from .routes import context, files_base, json_response, read_json
from .tasks import Task, detail_body

PREFIX = "/__mock"
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
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE:
        raise InvalidRequest(f"'seconds' must be between 0 and {int(MAX_ADVANCE)}", param="seconds")
    mock.clock.advance(float(seconds))
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


async def reset(request: Request) -> Response:
    context(request).reset()
    return json_response({"reset": True})


routes = [
    Route(f"{PREFIX}/health", health, methods=["GET"]),
    Route(f"{PREFIX}/clock", get_clock, methods=["GET"]),
    Route(f"{PREFIX}/clock/advance", advance_clock, methods=["POST"]),
    Route(f"{PREFIX}/tasks", list_tasks, methods=["GET"]),
    Route(f"{PREFIX}/tasks/{{task_id}}", get_task, methods=["GET"]),
    Route(f"{PREFIX}/reset", reset, methods=["POST"]),
]
