"""Each image model's limits from both sides, on every target (the probes of ``_family``).

The whole EvoLink image family shares the create path; each model has its own limits. A
refusal costs nothing, so every model's requests just outside a limit are sent: each must
answer 400 in the documented envelope (a target that accepts one breaks its contract, and
that create counts against the paid budget like any other).

A create that is accepted costs a task. On a target without a paid budget every model's
requests just inside each limit are sent too, and each answer must name the model (an alias
answers with the name it maps to) and carry the model's documented ``estimated_time``,
``billing_rule`` and ``credits_reserved``. On a paid target (``--max-paid-tasks``) the test
runs last, after the lifecycle and the spec's example have had their tasks, and probes the
accepted side with one minimal create per model, for the models published clients default
to, in ``SPEND_ORDER``, as far as the tasks left allow; the report says which models were
spent on and which were not.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from contract_tests import _suite
from contract_tests._catalogue import selected_models
from contract_tests._failures import BudgetExhausted, ContractViolation
from contract_tests._family import Case, cases, minimal
from contract_tests._invariants import error_envelope_violations, excerpt, parse_json
from contract_tests._target import Client
from evolink_spec import CREATE_PATH, Model, facts
from evolink_spec.family import ModelContract

CREATE = f"POST {CREATE_PATH}"
SPEND_ORDER = (
    "gpt-image-2",
    "z-image-turbo",
    "gemini-3.1-flash-lite-image",
    "gemini-3-pro-image-preview",
    "gemini-2.5-flash-image",
    "nano-banana-beta",
)
"""On a paid target, the models whose accepted side is probed, in order: what published
clients default to (issue 17), then the seed's own model."""


def _violation(title: str, expected: str, actual: str) -> ContractViolation:
    return ContractViolation(check="family", operation=CREATE, title=title, expected=expected, actual=actual)


def _judge_refusal(case: Case, answer: requests.Response) -> list[ContractViolation]:
    if answer.status_code != 400:
        return [
            _violation(
                f"{case.model}: a create outside a documented limit was not refused ({case.label})",
                f"400 naming '{case.refused_param}'",
                f"{answer.status_code}: {excerpt(answer.content)}",
            )
        ]
    media = answer.headers.get("content-type", "")
    return error_envelope_violations(CREATE, 400, media, answer.content, task_route=False)


def _judge_acceptance(case: Case, contract: Model, answer: requests.Response) -> list[ContractViolation]:
    if answer.status_code != 200:
        return [
            _violation(
                f"{case.model}: a create inside the documented limits was refused ({case.label})",
                "200 with the task",
                f"{answer.status_code}: {excerpt(answer.content)}",
            )
        ]
    try:
        body = parse_json(answer.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return [_violation(f"{case.model}: the create answer is not a JSON object", "a task", excerpt(answer.content))]
    plan = contract.plan(case.body)
    expected: dict[str, Any] = {
        "model": plan.model,
        "task_info.estimated_time": plan.estimated_time,
        "usage.billing_rule": contract.answer.billing_rule,
        "usage.credits_reserved": plan.credits,
    }
    found = {
        "model": body.get("model"),
        "task_info.estimated_time": (body.get("task_info") or {}).get("estimated_time"),
        "usage.billing_rule": (body.get("usage") or {}).get("billing_rule"),
        "usage.credits_reserved": (body.get("usage") or {}).get("credits_reserved"),
    }
    return [
        _violation(
            f"{case.model}: the create answer's {member} is not the documented one ({case.label})",
            f"{member} {expected[member]!r} ({contract.source_page})",
            f"{member} {found[member]!r}",
        )
        for member in expected
        if found[member] != expected[member]
    ]


def _selected(name: str) -> bool:
    chosen = selected_models()
    return chosen is None or name in chosen


def _contracts() -> list[ModelContract]:
    """The models this run probes (``contract --models``; every model by default)."""
    return [contract for contract in facts().family.models.values() if _selected(contract.name)]


def _accepted_side(client: Client) -> list[Case]:
    """The accepted cases to send: all of them, or on a paid budget one per model in ``SPEND_ORDER``."""
    family = facts().family
    left = client.budget.paid_left()
    if left is None:
        return [
            case
            for contract in _contracts()
            for case in cases(contract, every_value=False)
            if case.refused_param is None
        ]
    spend = left
    order = [name for name in SPEND_ORDER if _selected(family.model(name).name)]
    chosen = [minimal(family.model(name), sent=name) for name in order[:spend]]
    skipped = [name for name in family.names if name not in order[:spend] and _selected(family.model(name).name)]
    client.note(
        "family: accepted creates spent on "
        + (", ".join(case.model for case in chosen) or "no model")
        + f" (the {left} paid tasks left after the lifecycle and the spec's example);"
        + f" not probed on the accepted side: {', '.join(skipped)}"
    )
    return chosen


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_family_limits(name: str) -> None:
    suite = _suite.current()
    target = suite.target(name)
    client = suite.client(target)
    family = facts().family
    refusals = [case for contract in _contracts() for case in cases(contract, every_value=False) if case.refused_param]
    found: list[ContractViolation] = []
    sent = 0
    for case in refusals + _accepted_side(client):
        contract = family.model(case.body["model"])
        try:
            answer = client.create(case.body)
        except BudgetExhausted as exc:
            client.note(f"family: {case.id} not sent ({exc})")
            continue
        sent += 1
        if case.refused_param is None:
            violations = _judge_acceptance(case, contract, answer)
        else:
            violations = _judge_refusal(case, answer)
        for violation in violations:
            suite.recorder.add_violation(target, violation, answer.request)
        found += violations
    client.observations.append(f"family: {sent} creates sent over {len(family.models)} models")
    if found:
        pytest.fail("\n".join(f"- {v.title}: {v.actual}" for v in found), pytrace=False)
