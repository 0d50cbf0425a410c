"""The response checker used by every HTTP test really catches drift from the contract."""

from __future__ import annotations

import httpx
import pytest

from tests.support.spec_check import ResponseChecker


def answer(
    status: int, payload: object, path: str = "/v1/tasks/task-unified-1-abcdefgh", method: str = "GET"
) -> httpx.Response:
    request = httpx.Request(method, f"http://testserver{path}", headers={"Authorization": "Bearer k"})
    return httpx.Response(status, json=payload, request=request)


GOOD = {
    "created": 1,
    "id": "task-unified-1-abcdefgh",
    "model": "nano-banana-beta",
    "object": "image.generation.task",
    "progress": 0,
    "status": "pending",
    "task_info": {"can_cancel": True},
    "type": "image",
}


def test_checker__accepts_a_conforming_answer(checker: ResponseChecker) -> None:
    before = checker.checked
    checker.check(answer(200, GOOD))
    assert checker.checked == before + 1


@pytest.mark.parametrize(
    "drift",
    [
        answer(200, {**GOOD, "status": "done"}),
        answer(200, {**GOOD, "progress": 101}),
        answer(200, {k: v for k, v in GOOD.items() if k != "id"}),
        answer(418, {"error": {"code": "x", "message": "y", "type": "z"}}),
        answer(404, {"error": {"code": "x", "message": "y"}}),
        answer(404, {"error": "nope"}, path="/nowhere"),
    ],
)
def test_checker__rejects_drift(checker: ResponseChecker, drift: httpx.Response) -> None:
    with pytest.raises(Exception):  # noqa: B017 - openapi-core and assert raise different types
        checker.check(drift)
