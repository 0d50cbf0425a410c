"""The documented promises as pure functions: answer in, list of ``ContractViolation`` out.

No HTTP and no schemathesis here, so the same rules serve the registered checks
(``checks.py``), the lifecycle machine (``_lifecycle.py``) and anyone's own tests.
"""

from __future__ import annotations

import json
import time
from typing import Any

from schemathesis.core.failures import Severity

from evolink_spec import STATUS_RANK, TASK_ID, TASK_OPERATION, TERMINAL_STATUSES, TaskStatus, facts

from ._failures import ContractViolation

EARLIEST_CREATED = 1_672_531_200
"""2023-01-01T00:00:00Z: no task of this API is older (the service launched later)."""
CREATED_FUTURE_SLACK = 86_400
"""How far ahead of the checker's clock ``created`` may be (clock skew, a mock's advanced clock)."""
ID_CREATED_SLACK = 300
"""Largest gap allowed between the second inside the id and ``created`` (observed: one second)."""
# 404 on the task route: the provider says nothing; the bundle's example names the mock's
# choice. Only its ``type`` is held against a target; any code name will do.
NOT_FOUND_TYPE = facts().operation(TASK_OPERATION).errors[404].type
DOCUMENTED_PAIRS = {status: pairs for status, pairs in facts().error_pairs.items() if status != 404}
"""Documented ``(code, type)`` pairs per HTTP status, from the spec's error examples."""

ENVELOPE = '{"error": {"code": "...", "message": "...", "type": "..."}} as JSON'


def excerpt(content: bytes | str, limit: int = 300) -> str:
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _violation(check: str, operation: str, title: str, expected: str, actual: str, **kw: Any) -> ContractViolation:
    return ContractViolation(check=check, operation=operation, title=title, expected=expected, actual=actual, **kw)


def parse_json(content: bytes) -> Any:
    """The body as JSON, or ``ValueError``."""
    return json.loads(content.decode("utf-8"))


# -- error answers --------------------------------------------------------------------------


def error_envelope_violations(
    operation: str, status: int, content_type: str, content: bytes, *, task_route: bool
) -> list[ContractViolation]:
    """An error answer is the provider's envelope, with the documented ``code``/``type`` for its status."""
    check = "error_envelope"
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        body = parse_json(content)
    except ValueError:
        body = None
    if body is None or not (media == "application/json" or media.endswith("+json")):
        return [
            _violation(
                check,
                operation,
                "Error answer is not JSON",
                f"every answer, errors included, is {ENVELOPE} (clients parse the body before the status)",
                f"{status} with Content-Type {content_type or 'none'}: {excerpt(content)}",
            )
        ]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return [
            _violation(
                check, operation, "Error answer without the error envelope", ENVELOPE, f"{status}: {excerpt(content)}"
            )
        ]
    missing = [name for name in ("code", "message", "type") if not isinstance(error.get(name), str) or not error[name]]
    if missing:
        names = ", ".join(f"`{name}`" for name in missing)
        return [
            _violation(
                check,
                operation,
                f"Error envelope without {names}",
                f"{ENVELOPE}, each member a non-empty string",
                f"{status}: {excerpt(content)}",
            )
        ]
    pair = (error["code"], error["type"])
    documented = DOCUMENTED_PAIRS.get(status)
    if documented is not None and pair not in documented:
        allowed = " or ".join(f"{code}/{kind}" for code, kind in sorted(documented))
        return [
            _violation(
                check,
                operation,
                f"Undocumented code/type for {status}",
                f"a {status} answer carries code/type {allowed}",
                f"{status} with code/type {pair[0]}/{pair[1]}",
            )
        ]
    if status == 404 and task_route and error["type"] != NOT_FOUND_TYPE:
        return [
            _violation(
                check,
                operation,
                "Undocumented type for 404",
                f"an unknown task answers 404 with type {NOT_FOUND_TYPE}",
                f"404 with type {error['type']}",
            )
        ]
    return []


# -- task answers ---------------------------------------------------------------------------


def task_id_violations(operation: str, body: dict[str, Any]) -> list[ContractViolation]:
    task_id = body.get("id")
    if isinstance(task_id, str) and TASK_ID.match(task_id):
        return []
    return [
        _violation(
            "task_id_form",
            operation,
            "Task id of the wrong form",
            "ids look like task-unified-<unix seconds>-<8 lowercase letters or digits>",
            f"id {task_id!r}",
        )
    ]


def created_violations(operation: str, body: dict[str, Any], now: float | None = None) -> list[ContractViolation]:
    created = body.get("created")
    now = time.time() if now is None else now
    check = "created_plausible"
    if isinstance(created, bool) or not isinstance(created, int):
        return [
            _violation(check, operation, "`created` is not a unix time", "an integer of unix seconds", repr(created))
        ]
    if not EARLIEST_CREATED <= created <= now + CREATED_FUTURE_SLACK:
        return [
            _violation(
                check,
                operation,
                "`created` is not a plausible unix time",
                f"unix seconds between {EARLIEST_CREATED} (2023) and a day after now ({int(now)})",
                f"created {created}",
            )
        ]
    match = TASK_ID.match(str(body.get("id", "")))
    if match and abs(int(match["created"]) - created) > ID_CREATED_SLACK:
        return [
            _violation(
                check,
                operation,
                "`created` far from the time inside the id",
                f"within {ID_CREATED_SLACK} s of the seconds in the id (observed: one second apart)",
                f"created {created}, id {body.get('id')}",
                severity=Severity.MEDIUM,
            )
        ]
    return []


def state_violations(operation: str, body: dict[str, Any], *, first_state: bool = False) -> list[ContractViolation]:
    """One answer's own consistency: results iff completed, error iff failed, and so on."""
    check = "task_state_consistent"
    found: list[ContractViolation] = []
    status, progress = body.get("status"), body.get("progress")

    def add(title: str, expected: str, actual: str) -> None:
        found.append(_violation(check, operation, title, expected, actual))

    if status not in facts().task_statuses:
        add("Status outside the documented set", f"status is one of {', '.join(facts().task_statuses)}", repr(status))
        return found
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        add("Progress is not an integer from 0 to 100", "progress: integer, 0 to 100", repr(progress))
    elif status == TaskStatus.COMPLETED and progress != 100:
        add("Completed task without progress 100", "a completed task has progress 100", f"progress {progress}")
    results = body.get("results")
    if status == TaskStatus.COMPLETED:
        if not isinstance(results, list) or not results or not all(isinstance(url, str) for url in results):
            add("Completed task without results", "a completed task lists its result links in `results`", repr(results))
    elif "results" in body and results not in (None, []):
        add("Results before completion", "`results` only once the task has completed", f"{status} with {results!r}")
    error = body.get("error")
    if status == TaskStatus.FAILED:
        code = error.get("code") if isinstance(error, dict) else None
        if code not in facts().business_codes:
            add(
                "Failed task without a documented business code",
                "a failed task carries error.code, one of the documented business codes",
                f"error {error!r}",
            )
    elif error is not None:
        add("Error on a task that has not failed", "`error` only when status is failed", f"{status} with {error!r}")
    info = body.get("task_info")
    if status in TERMINAL_STATUSES and isinstance(info, dict) and info.get("can_cancel") is not False:
        add("Finished task still cancellable", "task_info.can_cancel is false once finished", repr(info))
    if first_state and (status != TaskStatus.PENDING or progress != 0):
        add(
            "Create answer not in the first state",
            "the create answer is the task in its first state: status pending, progress 0",
            f"status {status}, progress {progress}",
        )
    return found


def transition_violations(operation: str, before: dict[str, Any], after: dict[str, Any]) -> list[ContractViolation]:
    """What may change between two polls of one task."""
    check = "lifecycle"
    found: list[ContractViolation] = []
    old, new = before.get("status"), after.get("status")
    if old in STATUS_RANK and new in STATUS_RANK:
        if old in TERMINAL_STATUSES and new != old:
            found.append(
                _violation(check, operation, "Finished task changed status", f"{old} is final", f"{old} -> {new}")
            )
        elif STATUS_RANK[new] < STATUS_RANK[old]:
            found.append(
                _violation(
                    check,
                    operation,
                    "Status moved backwards",
                    "status only moves pending -> processing -> completed|failed",
                    f"{old} -> {new}",
                )
            )
    p_old, p_new = before.get("progress"), after.get("progress")
    if isinstance(p_old, int) and isinstance(p_new, int) and p_new < p_old:
        found.append(
            _violation(check, operation, "Progress decreased", "progress never decreases", f"{p_old} -> {p_new}")
        )
    return found


def answered_task_violations(operation: str, task_id: str, body: dict[str, Any]) -> list[ContractViolation]:
    """A query for ``task_id`` answers that task, not another one."""
    if body.get("id") == task_id:
        return []
    return [
        _violation(
            "lifecycle",
            operation,
            "Query answered another task",
            f"the answer describes the task asked for ({task_id})",
            f"id {body.get('id')!r}",
        )
    ]


def poll_violations(
    operation: str, task_id: str, before: dict[str, Any], after: dict[str, Any]
) -> list[ContractViolation]:
    """Everything one poll's answer may break, judged against the answer seen before it of the
    same task: the answer's own consistency, the transition, and the task it names."""
    return (
        task_id_violations(operation, after)
        + created_violations(operation, after)
        + state_violations(operation, after)
        + transition_violations(operation, before, after)
        + answered_task_violations(operation, task_id, after)
    )
