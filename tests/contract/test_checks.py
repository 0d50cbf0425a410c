"""The contract suite's promises as pure functions, on literal answers (no target, no schemathesis run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from contract_tests._curl import curl_line
from contract_tests._invariants import (
    created_violations,
    error_envelope_violations,
    state_violations,
    task_id_violations,
    transition_violations,
)
from contract_tests._target import Target

NOW = 1_790_000_000.0
TASK = {
    "created": 1_790_000_001,
    "id": "task-unified-1790000000-k3v9q2xa",
    "model": "nano-banana-beta",
    "object": "image.generation.task",
    "progress": 0,
    "status": "pending",
    "task_info": {"can_cancel": True, "estimated_time": 45},
    "type": "image",
}


def task(**changes: Any) -> dict[str, Any]:
    body = dict(TASK)
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def titles(violations: list[Any]) -> list[str]:
    return [violation.title for violation in violations]


def error(status: int, code: str | None, kind: str | None) -> bytes:
    body: dict[str, Any] = {"message": "m"}
    if code is not None:
        body["code"] = code
    if kind is not None:
        body["type"] = kind
    return json.dumps({"error": body}).encode()


@pytest.mark.parametrize(
    ("status", "content_type", "content", "task_route", "expected"),
    [
        (401, "application/json", error(401, "unauthorized", "authentication_error"), False, []),
        (404, "application/json", error(404, "not_found_here", "invalid_request_error"), True, []),
        (405, "application/json", error(405, "method_not_allowed", "invalid_request_error"), False, []),
        (401, "application/json", error(401, "unauthorized", None), False, ["Error envelope without `type`"]),
        (
            429,
            "application/json",
            error(429, "slow_down", "rate_limit_error"),
            False,
            ["Undocumented code/type for 429"],
        ),
        (404, "application/json", error(404, "task_not_found", "api_error"), True, ["Undocumented type for 404"]),
        (500, "text/html", b"<h1>oops</h1>", False, ["Error answer is not JSON"]),
        (400, "application/json", b'{"detail": "bad"}', False, ["Error answer without the error envelope"]),
    ],
)
def test_error_envelope(status: int, content_type: str, content: bytes, task_route: bool, expected: list[str]) -> None:
    assert titles(error_envelope_violations("op", status, content_type, content, task_route=task_route)) == expected


@pytest.mark.parametrize(
    ("task_id", "ok"),
    [
        ("task-unified-1790000000-k3v9q2xa", True),
        ("task-unified-1790000000-K3V9Q2XA", False),
        ("task-unified-1790000000-k3v9q2x", False),
        ("task-1790000000-k3v9q2xa", False),
        (None, False),
    ],
)
def test_task_id_form(task_id: str | None, ok: bool) -> None:
    assert (task_id_violations("op", task(id=task_id)) == []) is ok


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (1_790_000_001, []),
        ("1790000001", ["`created` is not a unix time"]),
        (1_790_000_001_000, ["`created` is not a plausible unix time"]),
        (1_600_000_000, ["`created` is not a plausible unix time"]),
        (1_790_003_600, ["`created` far from the time inside the id"]),
    ],
)
def test_created_plausible(created: object, expected: list[str]) -> None:
    assert titles(created_violations("op", task(created=created), now=NOW)) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"status": "processing", "progress": 40}, []),
        (
            {
                "status": "completed",
                "progress": 100,
                "results": ["https://x/a.png"],
                "task_info": {"can_cancel": False},
            },
            [],
        ),
        (
            {
                "status": "failed",
                "error": {"code": "service_error", "message": "m"},
                "task_info": {"can_cancel": False},
            },
            [],
        ),
        ({"status": "queued"}, ["Status outside the documented set"]),
        ({"progress": 100.0}, ["Progress is not an integer from 0 to 100"]),
        (
            {"status": "completed", "progress": 99, "results": ["u"], "task_info": {"can_cancel": False}},
            ["Completed task without progress 100"],
        ),
        (
            {"status": "completed", "progress": 100, "task_info": {"can_cancel": False}},
            ["Completed task without results"],
        ),
        ({"status": "processing", "progress": 5, "results": ["u"]}, ["Results before completion"]),
        (
            {"status": "failed", "error": {"code": "oops", "message": "m"}, "task_info": {"can_cancel": False}},
            ["Failed task without a documented business code"],
        ),
        ({"error": {"code": "service_error", "message": "m"}}, ["Error on a task that has not failed"]),
        (
            {"status": "completed", "progress": 100, "results": ["u"], "task_info": {"can_cancel": True}},
            ["Finished task still cancellable"],
        ),
    ],
)
def test_task_state_consistent(changes: dict[str, Any], expected: list[str]) -> None:
    assert titles(state_violations("op", task(**changes))) == expected


def test_task_state_consistent__a_create_answer_is_the_first_state() -> None:
    assert titles(state_violations("op", task(status="processing", progress=3), first_state=True)) == [
        "Create answer not in the first state"
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (("pending", 0), ("processing", 10), []),
        (("pending", 0), ("completed", 100), []),
        (("processing", 50), ("processing", 50), []),
        (("processing", 50), ("pending", 50), ["Status moved backwards"]),
        (("processing", 50), ("processing", 40), ["Progress decreased"]),
        (("completed", 100), ("failed", 100), ["Finished task changed status"]),
    ],
)
def test_lifecycle_transitions(before: tuple[str, int], after: tuple[str, int], expected: list[str]) -> None:
    old = task(status=before[0], progress=before[1])
    new = task(status=after[0], progress=after[1])
    assert titles(transition_violations("op", old, new)) == expected


def test_curl_line__never_writes_a_key_off_loopback() -> None:
    target = Target(name="live", base_url="https://api.example.test", api_key="sk-secret", other_api_key="sk-two")
    request = requests.Request(
        "POST",
        "https://api.example.test/v1/images/generations",
        headers={"Authorization": "Bearer sk-secret", "Content-Type": "application/json"},
        data=b'{"prompt": "it\'s a cat"}',
    )
    line = curl_line(request, target)
    assert "sk-secret" not in line
    assert '"Authorization: Bearer ${EVOLINK_API_KEY:?}"' in line
    assert line.endswith("https://api.example.test/v1/images/generations")
    other = requests.Request("GET", "https://api.example.test/v1/tasks/t", headers={"Authorization": "Bearer sk-two"})
    assert '"Authorization: Bearer ${EVOLINK_OTHER_API_KEY:?}"' in curl_line(other, target)
