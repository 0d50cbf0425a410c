"""The auth probes: a create and a query with no key, a malformed header and a made-up key, each refused with 401.

``probe_auth(client, ledger, recorder)`` sends them through the client's budget, records the
catalogue's ``auth.*`` verdicts, and returns the violations; ``test_auth.py`` runs it first.
"""

from __future__ import annotations

import secrets

import requests

from evolink_spec import CREATE as CREATE_FACTS, CREATE_OPERATION, CREATE_PATH, TASK, TASK_PATH_PREFIX

from ._failures import BudgetExhausted, ContractViolation
from ._fixtures import request_bodies
from ._invariants import error_envelope_violations
from ._ledger import Ledger
from ._report import Recorder
from ._target import UNKNOWN_TASK_ID, Client
from .checks import MADE_UP_KEY, auth_refusal_violation

CREATE = CREATE_FACTS.label
QUERY = TASK.label


FACT_OF = {
    "no Authorization header": "auth.no-key-401",
    "a malformed header": "auth.malformed-header-401",
    MADE_UP_KEY: "auth.made-up-key-401",
}
"""The catalogue's fact each probe shows."""


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


def probe_auth(client: Client, ledger: Ledger, recorder: Recorder) -> list[ContractViolation]:
    """Send every auth probe to ``client``'s target; verdicts go to ``ledger``, violations to ``recorder``."""
    target = client.target
    name = target.name
    found: list[ContractViolation] = []
    if target.accepts_any_key:
        ledger.unprobed(name, FACT_OF[MADE_UP_KEY], "the target accepts any key (--accepts-any-key)")
    for operation in (QUERY, CREATE):
        for label, authorization in _probes(client):
            try:
                answer = _send(client, operation, authorization)
            except BudgetExhausted as exc:
                client.note(f"auth_required: {operation} with {label} not sent ({exc})")
                ledger.unprobed(name, FACT_OF[label], f"{operation} with {label} not sent ({exc})")
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
                ledger.held(name, FACT_OF[label], f"{operation}: 401")
            else:
                ledger.broken(name, FACT_OF[label], f"{operation}: {refusal.actual}")
            for violation in violations:
                recorder.add_violation(target, violation, answer.request)
            found += violations
    return found
