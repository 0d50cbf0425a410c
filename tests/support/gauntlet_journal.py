"""Hand-made journals for the gauntlet's tests: entries as ``GET /__mock/requests`` lists
them, task views as ``GET /__mock/tasks`` does."""

from __future__ import annotations

from typing import Any

from evolink_spec import CREATE_PATH, TASK_PATH_PREFIX, facts

T0 = 1_790_000_000.0
TASK = "task-unified-1790000000-aaaaaaaa"
OTHER = "task-unified-1790000005-bbbbbbbb"
SPAN = 0.01


def entry(method: str, path: str, at: float, status: int | None = 200, **note: Any) -> dict[str, Any]:
    """A journal entry for a call that started ``at`` seconds after T0 and took 10 ms."""
    return {
        "method": method,
        "path": path,
        "time": T0 + at + SPAN,
        "duration_ms": SPAN * 1000,
        "status": status,
        "fault": None,
        **note,
    }


def create(at: float, status: int = 200, task: str | None = TASK, **body: Any) -> dict[str, Any]:
    return entry(
        "POST",
        CREATE_PATH,
        at,
        status,
        body={"model": facts().default_model, "prompt": "x", **body},
        task_id=task if status == 200 else None,
    )


def poll(at: float, status: int = 200, task: str = TASK) -> dict[str, Any]:
    return entry("GET", f"{TASK_PATH_PREFIX}{task}", at, status)


def image(at: float, status: int = 200, task: str = TASK) -> dict[str, Any]:
    return entry("GET", f"/files/images/{task}_0.png", at, status)


def view(task: str, finished_at: float | None, outcome: str = "completed", code: str | None = None) -> dict[str, Any]:
    """A task as ``GET /__mock/tasks`` lists it."""
    return {
        "key": "sk-gauntlet",
        "task": {"id": task},
        "plan": {
            "created_at": T0,
            "started_at": T0,
            "finished_at": None if finished_at is None else T0 + finished_at,
            "outcome": outcome,
            "error_code": code,
        },
    }
