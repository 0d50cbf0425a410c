"""What the provider documents, read from the bundled spec once: the facts every check compares against.

Lists (statuses, business codes, the code/type pair of each error status) come from the
bundle, so a correction in ``spec/overlay.yaml`` reaches the checks without a Python edit.
Only what the spec cannot say in a schema is written here: the task id form, the window in
which ``created`` is plausible, and the order of statuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from evolink_spec import load_bundle

CREATE_PATH = "/v1/images/generations"
TASK_PATH_PREFIX = "/v1/tasks/"
CREATE_OPERATION = "createImageGeneration"
TASK_OPERATION = "getTaskDetail"
REAL_API_URL = "https://api.evolink.ai"
"""The provider's documented base URL (the first ``servers`` entry of the seed)."""

UNKNOWN_TASK_ID = "task-unified-1700000000-contract"
"""A well-formed id no target has: asking for it costs nothing and must answer 404."""
TASK_ID = re.compile(r"^task-unified-(?P<created>\d{9,11})-[a-z0-9]{8}$")
"""``task-unified-<unix seconds>-<8 lowercase letters or digits>`` (query spec, ``id``)."""

EARLIEST_CREATED = 1_672_531_200
"""2023-01-01T00:00:00Z: no task of this API is older (the service launched later)."""
CREATED_FUTURE_SLACK = 86_400
"""How far ahead of the checker's clock ``created`` may be (clock skew, a mock's advanced clock)."""
ID_CREATED_SLACK = 300
"""Largest gap allowed between the second inside the id and ``created`` (observed: one second)."""

TERMINAL = frozenset({"completed", "failed"})
RANK = {"pending": 0, "processing": 1, "completed": 2, "failed": 2}
"""Status order: a task only moves to a status of equal or higher rank, and never leaves a terminal one."""


@dataclass(frozen=True)
class Facts:
    statuses: tuple[str, ...]
    business_codes: frozenset[str]
    error_pairs: dict[int, frozenset[tuple[str, str]]]
    """Documented ``(code, type)`` pairs per HTTP status, from the spec's error examples."""
    not_found_type: str
    """The ``type`` of the task route's 404 (its ``code`` name is an inferred choice, not checked)."""


def _schema(bundle: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = bundle["components"]["schemas"][name]
    return schema


def _error_examples(bundle: dict[str, Any]) -> dict[int, set[tuple[str, str]]]:
    pairs: dict[int, set[tuple[str, str]]] = {}
    for item in bundle["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                for media in response.get("content", {}).values():
                    examples = [media.get("example")] + [e.get("value") for e in media.get("examples", {}).values()]
                    for example in examples:
                        error = example.get("error") if isinstance(example, dict) else None
                        if isinstance(error, dict) and "code" in error and "type" in error:
                            pairs.setdefault(int(status), set()).add((error["code"], error["type"]))
    return pairs


@cache
def facts() -> Facts:
    """The documented facts, read from the bundle shipped with the package."""
    bundle = load_bundle()
    detail = _schema(bundle, "TaskDetailResponse")["properties"]
    failure = _schema(bundle, "TaskFailure")["properties"]
    pairs = _error_examples(bundle)
    # 404 on the task route: the provider says nothing; the bundle's example names the
    # mock's choice. Only its ``type`` is held against a target; any code name will do.
    not_found = pairs.pop(404, {("task_not_found", "invalid_request_error")})
    return Facts(
        statuses=tuple(detail["status"]["enum"]),
        business_codes=frozenset(failure["code"]["enum"]),
        error_pairs={status: frozenset(found) for status, found in sorted(pairs.items())},
        not_found_type=next(iter(not_found))[1],
    )
