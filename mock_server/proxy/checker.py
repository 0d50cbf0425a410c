"""Judging each exchange against the contract, with the contract suite's own checks.

- The answer: schemathesis' response checks (documented status, media type, headers, the
  body's schema) and the suite's (``contract_tests.checks``: error envelope, task id form,
  ``created``, state consistency), run on the exchange as on one of the suite's cases.
- The request: its body against the bundle's request schema (the mock's validator, which
  loads the same bundle); a refused request that the target accepted anyway is the suite's
  ``negative_data_rejection``, a request without a key that was accepted its ``auth_required``.
- The task: every poll against the answer seen before of the same task, with the suite's
  lifecycle invariants (status never moves back or leaves a final state, progress never
  decreases, the answer is the task asked for, a task is not lost by the key that created it).
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis import Response
from schemathesis.core.failures import Failure, FailureGroup, Severity
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi import checks as openapi_checks

from contract_tests import checks as suite_checks
from contract_tests._failures import ContractViolation
from contract_tests._invariants import answered_task_violations, excerpt, transition_violations
from contract_tests._report import PROMISES, check_name
from evolink_spec import (
    CREATE,
    CREATE_OPERATION,
    TASK,
    TASK_OPERATION,
    TASK_PATH_PREFIX,
    TERMINAL_STATUSES,
    load_bundle,
)

from ..errors import ApiError
from ..validation import RequestValidator
from .exchange import CREATE_LABEL, TASK_LABEL, Exchange

ANSWER_CHECKS = [
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    suite_checks.error_envelope,
    suite_checks.task_id_form,
    suite_checks.created_plausible,
    suite_checks.task_state_consistent,
]
MAX_TASKS = 10_000
"""Tasks whose last answer is remembered for the lifecycle checks; the least recently seen go first."""
REQUEST_SCHEMA = "request_schema"
CALLBACK_LABEL = "POST callback_url"


@dataclass
class Judgement:
    """What one exchange broke: by the target's answer, and by the client's request."""

    answer: list[ContractViolation]
    request: list[ContractViolation]


@dataclass
class _Task:
    last: dict[str, Any]
    owner: str
    """A hash of the ``Authorization`` that created (or first polled) the task: never the key."""


class ExchangeChecker:
    """Checks exchanges one at a time; remembers each task's last answer (thread-safe)."""

    def __init__(self, bundle: dict[str, Any] | None = None) -> None:
        document = bundle if bundle is not None else load_bundle()
        self.schema = schemathesis.openapi.from_dict(copy.deepcopy(document))
        self.operations: dict[str, APIOperation[Any, Any, Any, Any]] = {}
        for operation_id, method, path in ((op.id, op.method, op.path) for op in (CREATE, TASK)):
            operation = self.schema.find_operation_by_path(method, path)
            assert operation is not None, f"the bundle has no {method} {path}"
            self.operations[operation_id] = operation
        self.validator = RequestValidator(copy.deepcopy(document))
        self._tasks: OrderedDict[str, _Task] = OrderedDict()
        self._lock = threading.Lock()

    def judge(self, exchange: Exchange) -> Judgement:
        operation_id = exchange.operation_id
        if operation_id is None or exchange.status is None:
            return Judgement([], [])
        request_side = self._request_violations(exchange)
        answer_side = self._answer_violations(exchange, operation_id)
        answer_side += self._acceptance_violations(exchange, refused_by_schema=bool(request_side))
        answer_side += self._lifecycle_violations(exchange)
        return Judgement(answer_side, request_side)

    def judge_callback(self, exchange: Exchange) -> list[ContractViolation]:
        """A callback the target delivered (``exchange``'s request): the body is the task as a poll
        answers it (so it is judged as one, against the task's last answer), in a final state."""
        body = exchange.request_json()
        task_id = str(body.get("id")) if isinstance(body, dict) else ""
        as_poll = Exchange(
            request_id=exchange.request_id,
            method="GET",
            path=f"{TASK_PATH_PREFIX}{task_id}",
            query="",
            request_headers=(),
            request_body=b"",
            status=200,
            answer_headers=tuple((n, v) for n, v in exchange.request_headers if n == "content-type"),
            answer_body=exchange.request_body,
            at=exchange.at,
        )
        found = self._answer_violations(as_poll, TASK_OPERATION) + self._lifecycle_violations(as_poll)
        if isinstance(body, dict) and body.get("status") not in TERMINAL_STATUSES:
            found.append(
                ContractViolation(
                    check="lifecycle",
                    operation=CALLBACK_LABEL,
                    title="Callback for an unfinished task",
                    expected="a callback is sent when the task reaches completed or failed",
                    actual=f"status {body.get('status')!r}",
                )
            )
        for violation in found:
            violation.operation = CALLBACK_LABEL
        return found

    # -- the request ------------------------------------------------------------------------

    def _request_violations(self, exchange: Exchange) -> list[ContractViolation]:
        if exchange.operation_id != CREATE_OPERATION:
            return []
        body = exchange.request_json()
        problem: str | None = None
        if body is None:
            problem = f"body is not JSON: {excerpt(exchange.request_body) or '(empty)'}"
        else:
            try:
                self.validator.validate_body(CREATE_OPERATION, body)
            except ApiError as error:
                problem = error.message
        if problem is None:
            return []
        return [
            ContractViolation(
                check=REQUEST_SCHEMA,
                operation=CREATE_LABEL,
                title="Request body breaks the request schema",
                expected="a create body satisfies the bundle's request schema",
                actual=problem,
                severity=Severity.MEDIUM,
            )
        ]

    def _acceptance_violations(self, exchange: Exchange, *, refused_by_schema: bool) -> list[ContractViolation]:
        status = exchange.status or 0
        found: list[ContractViolation] = []
        if refused_by_schema and 200 <= status < 300:
            found.append(
                ContractViolation(
                    check="negative_data_rejection",
                    operation=exchange.label,
                    title="Invalid request accepted",
                    expected=PROMISES["negative_data_rejection"],
                    actual=f"{status}: {excerpt(exchange.answer_body)}",
                )
            )
        if exchange.header("authorization", answer=False) is None:
            refused = suite_checks.auth_refusal_violation(
                exchange.label, "no Authorization header", status, exchange.answer_body
            )
            if refused is not None and 200 <= status < 300:
                found.append(refused)
        return found

    # -- the answer -------------------------------------------------------------------------

    def _answer_violations(self, exchange: Exchange, operation_id: str) -> list[ContractViolation]:
        operation = self.operations[operation_id]
        headers = {name: value for name, value in exchange.request_headers}
        if operation_id == TASK_OPERATION:
            case = operation.Case(path_parameters={"task_id": exchange.asked_task_id}, headers=headers)
        else:
            body = exchange.request_json()
            case = operation.Case(headers=headers, body=body, media_type="application/json")
        # The request as schemathesis' Response carries it (failure messages read it); built by
        # hand, as ``Request.prepare()`` costs more than every check together.
        prepared = requests.PreparedRequest()
        prepared.method = exchange.method
        prepared.url = f"http://proxy{exchange.path}" + (f"?{exchange.query}" if exchange.query else "")
        prepared.headers = CaseInsensitiveDict(headers)
        prepared.body = exchange.request_body or None
        answer_headers: dict[str, list[str]] = {}
        for name, value in exchange.answer_headers:
            answer_headers.setdefault(name, []).append(value)
        response = Response(
            status_code=exchange.status or 0,
            headers=answer_headers,
            content=exchange.answer_body,
            request=prepared,
            elapsed=0.0,
            verify=True,
        )
        try:
            case.validate_response(response, checks=ANSWER_CHECKS)
        except FailureGroup as group:
            return [
                self._as_violation(failure, exchange) for failure in group.exceptions if isinstance(failure, Failure)
            ]
        except Failure as failure:
            return [self._as_violation(failure, exchange)]
        return []

    @staticmethod
    def _as_violation(failure: Failure, exchange: Exchange) -> ContractViolation:
        if isinstance(failure, ContractViolation):
            failure.operation = exchange.label
            return failure
        name = check_name(failure)
        return ContractViolation(
            check=name,
            operation=exchange.label,
            title=failure.title,
            expected=PROMISES.get(name, failure.title),
            actual=f"{exchange.status}: {excerpt(failure.message, 500)}",
            severity=failure.severity,
        )

    # -- the task over its polls ------------------------------------------------------------

    def _lifecycle_violations(self, exchange: Exchange) -> list[ContractViolation]:
        task_id = exchange.task_id
        if task_id is None:
            return []
        owner = _owner(exchange.header("authorization", answer=False))
        body = exchange.answer_json()
        with self._lock:
            known = self._tasks.get(task_id)
            if known is not None:
                self._tasks.move_to_end(task_id)
            if exchange.status != 200 or not isinstance(body, dict):
                lost = known is not None and exchange.status == 404 and known.owner == owner
                return [_lost(task_id, exchange)] if lost else []
            self._tasks[task_id] = _Task(body, known.owner if known else owner)
            while len(self._tasks) > MAX_TASKS:
                self._tasks.popitem(last=False)
        if exchange.operation_id != TASK_OPERATION:
            return []
        found = answered_task_violations(TASK_LABEL, task_id, body)
        if known is not None:
            found += transition_violations(TASK_LABEL, known.last, body)
        return found


def _owner(authorization: str | None) -> str:
    return hashlib.sha256((authorization or "").encode("utf-8", "surrogateescape")).hexdigest()


def _lost(task_id: str, exchange: Exchange) -> ContractViolation:
    return ContractViolation(
        check="lifecycle",
        operation=TASK_LABEL,
        title="Own task not answered",
        expected="the key that created a task can query it (200) until it expires",
        actual=f"GET /v1/tasks/{task_id}: {exchange.status}: {excerpt(exchange.answer_body)}",
    )
