"""Rendering: answers are compact JSON, byte for byte what the standard library would write."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, strategies as st

from mock_server.randomness import SeededRandom
from mock_server.tasks import TaskFactory, creation_body, detail_body, render_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def stdlib(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@given(json_values)
def test_render_json__matches_the_standard_library(value: Any) -> None:
    assert json.loads(render_json(value)) == json.loads(stdlib(value))


def test_render_json__task_answers_are_byte_identical() -> None:
    factory = TaskFactory(SeededRandom(3), duration=10, estimated_time=45, credits=1.6)
    task = factory.new_task(key="k", model="nano-banana-beta", now=1_790_000_000.0, size="16:9")
    for body in (creation_body(task), detail_body(task, 1_790_000_005.0, "x"), detail_body(task, 2e9, "https://h")):
        assert render_json(body) == stdlib(body)


def test_create_task__stamps_id_and_created_with_wall_time_and_plans_in_mock_time() -> None:
    """A sped-up clock's mock time runs ahead; ``created`` stays on the client's clock."""
    factory = TaskFactory(SeededRandom(3), duration=10, estimated_time=45, credits=1.6)
    task = factory.new_task(key="k", model="nano-banana-beta", now=1_790_009_000.0, wall=1_790_000_000.4)
    assert task.id.startswith("task-unified-1790000000-")
    assert task.created == 1_790_000_001
    assert (task.plan.created_at, task.plan.finished_at) == (1_790_009_000.0, 1_790_009_010.0)
