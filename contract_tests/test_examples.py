"""Every example in the spec and every JSON fixture satisfies its schema (and, for answers, the
documented promises an answer carries on its own). No target is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests._examples import Example, errors, fixture_example, fixture_paths, spec_examples
from contract_tests._fixtures import EXAMPLES, fixtures_dir
from contract_tests._invariants import error_envelope_violations, state_violations, task_id_violations
from evolink_spec import CREATE_OPERATION, TASK_OPERATION

_SPEC = spec_examples()
_FIXTURES = fixture_paths()


@pytest.mark.parametrize("example", _SPEC, ids=[example.where for example in _SPEC])
def test_spec_example(example: Example) -> None:
    problems = errors(example)
    assert not problems, f"{example.where}: " + "; ".join(problems)


def _promises(example: Example) -> list[str]:
    fixture = example.fixture
    assert fixture is not None
    value, status = example.value, fixture.status
    if status is None or not isinstance(value, dict):
        return []
    label = f"{fixture.operation} {status}"
    if status >= 400:
        found = error_envelope_violations(
            label,
            status,
            "application/json",
            Path(example.where).read_bytes(),
            task_route=fixture.operation == TASK_OPERATION,
        )
    elif fixture.operation in (CREATE_OPERATION, TASK_OPERATION):
        found = task_id_violations(label, value) + state_violations(
            label, value, first_state=fixture.operation == CREATE_OPERATION
        )
    else:
        found = []
    return [f"{violation.title}: {violation.actual}" for violation in found]


@pytest.mark.parametrize("path", _FIXTURES, ids=[str(path.relative_to(fixtures_dir())) for path in _FIXTURES])
def test_fixture(path: Path) -> None:
    try:
        example = fixture_example(path)
    except LookupError as exc:
        pytest.fail(f"{path.name}: {exc}")
    if example is None:
        if path.parent.name == EXAMPLES:
            pytest.fail(f"{path.name}: examples are named <operationId>.<request|status>.<label>.json")
        pytest.skip(f"{path.name}: not named <operationId>.<request|status>.<label>.json, so its schema is unknown")
    problems = errors(example) + _promises(example)
    assert not problems, f"{path.name}: " + "; ".join(problems)
