"""Requests without a valid key are refused with 401, before anything is paid for.

``checks.auth_required`` probes the same way after every accepted request; this test runs
first, so that on a budget the probes of a create are sent while a paid task is still free
to reserve (a create that a broken target accepts without a key would be paid for).
"""

from __future__ import annotations

import secrets

import pytest
import requests

from contract_tests import _suite
from contract_tests._failures import BudgetExhausted, ContractViolation
from contract_tests._fixtures import request_bodies
from contract_tests._invariants import error_envelope_violations
from contract_tests._target import UNKNOWN_TASK_ID, Client
from contract_tests.checks import MADE_UP_KEY, auth_refusal_violation
from evolink_spec import CREATE as CREATE_FACTS, CREATE_OPERATION, CREATE_PATH, TASK, TASK_PATH_PREFIX

CREATE = CREATE_FACTS.label
QUERY = TASK.label


def _probes(client: Client) -> list[tuple[str, str | None]]:
    probes: list[tuple[str, str | None]] = [
        ("no Authorization header", None),
        ("a malformed header", "Basic Zm9vOmJhcg=="),
    ]
    if not client.target.accepts_any_key:
        probes.append((MADE_UP_KEY, f"Bearer sk-contract-invalid-{secrets.token_hex(8)}"))
    return probes


def _send(client: Client, operation: str, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    if operation == CREATE:
        body = request_bodies(CREATE_OPERATION)[0]
        return client.request("POST", client.url(CREATE_PATH), json=body, headers=headers)
    return client.request("GET", client.url(TASK_PATH_PREFIX + UNKNOWN_TASK_ID), headers=headers)


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_auth_required(name: str) -> None:
    suite = _suite.current()
    target = suite.target(name)
    client = suite.client(target)
    found: list[ContractViolation] = []
    for operation in (QUERY, CREATE):
        for label, authorization in _probes(client):
            try:
                answer = _send(client, operation, authorization)
            except BudgetExhausted as exc:
                client.note(f"auth_required: {operation} with {label} not sent ({exc})")
                continue
            refusal = auth_refusal_violation(operation, label, answer.status_code, answer.content)
            violations = [refusal] if refusal else []
            if answer.status_code >= 400:
                media = answer.headers.get("content-type", "")
                violations += error_envelope_violations(
                    operation, answer.status_code, media, answer.content, task_route=operation == QUERY
                )
            if refusal is None:
                client.confirmed.add(("auth_required", operation, label))
            for violation in violations:
                suite.recorder.add_violation(target, violation, answer.request)
            found += violations
    if found:
        pytest.fail("\n".join(f"- {v.operation}: {v.title}: {v.actual}" for v in found), pytrace=False)
