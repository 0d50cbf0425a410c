"""Custom schemathesis checks for the EvoLink task API, registered on import.

Each takes ``(ctx, response, case)`` and raises ``ContractViolation`` (an ``AssertionError``):

- ``error_envelope``: every 4xx/5xx answer is JSON in the provider's envelope, with the
  documented ``code``/``type`` pair for its status (and type ``invalid_request_error`` for
  the task route's 404).
- ``task_id_form``: ids are ``task-unified-<unix seconds>-<8 lowercase letters or digits>``.
- ``created_plausible``: ``created`` is a unix time between 2023 and a day from now, close
  to the second inside the id.
- ``task_state_consistent``: ``results`` iff completed (progress 100), ``error`` with a
  documented business code iff failed, ``can_cancel`` false once finished, and a create
  answer in the first state (pending, progress 0).
- ``auth_required``: the same request without a key (and, unless the target accepts any
  key, with a made-up one) is refused with 401.
- ``foreign_task_invisible``: a task is not visible to another key.

The first four need nothing but the answer: use them anywhere, e.g.
``case.call_and_validate(additional_checks=[error_envelope, task_state_consistent])``, or
with the schemathesis CLI through ``SCHEMATHESIS_HOOKS=contract_tests.checks``. The last
two send requests of their own, so they act only on schemas built by the suite
(``contract_tests.build_schema``), whose budget and second key they use.
"""

from __future__ import annotations

import secrets
from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import Severity

from evolink_spec import CREATE_OPERATION, TASK_OPERATION

from . import _binding
from ._failures import BudgetExhausted, ContractViolation
from ._invariants import (
    created_violations,
    error_envelope_violations,
    excerpt,
    parse_json,
    state_violations,
    task_id_violations,
)

__all__ = [
    "auth_required",
    "created_plausible",
    "error_envelope",
    "foreign_task_invisible",
    "task_id_form",
    "task_state_consistent",
]


def operation_id(case: Case[Any]) -> str | None:
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None)
    return raw.get("operationId") if isinstance(raw, dict) else None


def _raise_first(violations: list[ContractViolation]) -> None:
    if violations:
        raise violations[0]


def _task_body(response: Response, case: Case[Any]) -> dict[str, Any] | None:
    """The task in a 2xx answer of one of the two operations, if it is a JSON object."""
    if not 200 <= response.status_code < 300 or operation_id(case) not in (CREATE_OPERATION, TASK_OPERATION):
        return None
    try:
        body = parse_json(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@schemathesis.check
def error_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if response.status_code < 400 or operation_id(case) not in (CREATE_OPERATION, TASK_OPERATION):
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    _raise_first(
        error_envelope_violations(
            case.operation.label,
            response.status_code,
            content_type,
            response.content,
            task_route=operation_id(case) == TASK_OPERATION,
        )
    )
    return None


@schemathesis.check
def task_id_form(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    body = _task_body(response, case)
    if body is not None:
        _raise_first(task_id_violations(case.operation.label, body))
    return None


@schemathesis.check
def created_plausible(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    body = _task_body(response, case)
    if body is not None:
        _raise_first(created_violations(case.operation.label, body))
    return None


@schemathesis.check
def task_state_consistent(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    body = _task_body(response, case)
    if body is not None:
        first = operation_id(case) == CREATE_OPERATION
        _raise_first(state_violations(case.operation.label, body, first_state=first))
    return None


def _resend(session: requests.Session, sent: requests.PreparedRequest, authorization: str | None) -> requests.Response:
    probe = sent.copy()
    probe.headers.pop("Authorization", None)
    if authorization is not None:
        probe.headers["Authorization"] = authorization
    return session.send(probe, timeout=30)


@schemathesis.check
def auth_required(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A request the target accepted is refused once its key is removed (or made up)."""
    client = _binding.client_for(case)
    sent = response.request
    if client is None or not 200 <= response.status_code < 300 or "Authorization" not in sent.headers:
        return None
    probes: list[tuple[str, str | None]] = [("no Authorization header", None)]
    if not client.target.accepts_any_key:
        probes.append((MADE_UP_KEY, f"Bearer sk-contract-invalid-{secrets.token_hex(8)}"))
    for label, authorization in probes:
        memo = ("auth_required", case.operation.label, label)
        if memo in client.confirmed:
            continue
        try:
            answer = _resend(client.session, sent, authorization)
        except BudgetExhausted as exc:
            client.note(f"auth_required: {case.operation.label} with {label} not sent ({exc})")
            continue
        violation = auth_refusal_violation(case.operation.label, label, answer.status_code, answer.content)
        if violation is not None:
            violation.request = answer.request
            raise violation
        client.confirmed.add(memo)
    return None


MADE_UP_KEY = "a made-up key"
ANY_KEY_HINT = (
    "if the target accepts every key by design, as nanobanana-mock does by default, declare it with "
    "--accepts-any-key (under pytest: --contract-accepts-any-key)"
)
"""Said wherever a made-up key was accepted: the one failure a faithful test double may cause on purpose."""


def auth_refusal_violation(operation: str, label: str, status: int, content: bytes) -> ContractViolation | None:
    """Judge the answer to a request sent with ``label`` instead of a valid key (401 expected)."""
    if status == 401:
        return None
    hint = f"; {ANY_KEY_HINT}" if label == MADE_UP_KEY else ""
    return ContractViolation(
        check="auth_required",
        operation=operation,
        title=f"Request with {label} not refused with 401",
        expected="a request without a valid Bearer key is refused: 401 unauthorized/authentication_error",
        actual=f"{status}: {excerpt(content)}{hint}",
        severity=Severity.CRITICAL if status < 400 else Severity.MEDIUM,
    )


@schemathesis.check
def foreign_task_invisible(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """The task in an accepted answer is not visible to another key."""
    client = _binding.client_for(case)
    body = _task_body(response, case)
    if client is None or body is None or not client.target.other_api_key or not isinstance(body.get("id"), str):
        return None
    task_id = body["id"]
    if task_id in client.foreign_checked:
        return None
    try:
        answer = client.get_task(task_id, key=client.target.other_api_key)
    except BudgetExhausted as exc:
        client.note(f"foreign_task_invisible: {task_id} not checked ({exc})")
        return None
    client.foreign_checked.add(task_id)
    violation = foreign_answer_violation(case.operation.label, task_id, answer)
    if violation is not None:
        violation.request = answer.request
        raise violation
    if answer.status_code == 401:
        client.note("foreign_task_invisible: the other key was refused with 401, so isolation was not shown")
    return None


def foreign_answer_violation(operation: str, task_id: str, answer: requests.Response) -> ContractViolation | None:
    """Judge another key's answer to a query for ``task_id`` (404 expected, 401 proves nothing)."""
    if answer.status_code in (401, 404):
        return None
    visible = 200 <= answer.status_code < 300
    return ContractViolation(
        check="foreign_task_invisible",
        operation=operation,
        title="Another key's task is visible" if visible else "Another key's task not answered with 404",
        expected="a task is visible only to the key that created it; any other key gets 404",
        actual=f"GET /v1/tasks/{task_id} with the other key: {answer.status_code}: {excerpt(answer.content)}",
        severity=Severity.CRITICAL if visible else Severity.MEDIUM,
    )
