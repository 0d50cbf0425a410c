"""The task lifecycle, as a hypothesis state machine, against every target (see ``_lifecycle.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode

from contract_tests import _suite
from contract_tests._fixtures import request_bodies
from contract_tests._lifecycle import lifecycle_machine, poll_interval, run_lifecycle
from contract_tests._profiles import PROFILES
from contract_tests._target import Target
from evolink_spec import CREATE_OPERATION, CREATE_PATH


def _bodies(target: Target) -> st.SearchStrategy[Any]:
    """Generated valid bodies; a target where tasks cost money gets the realistic fixture bodies."""
    if target.limits.max_paid_tasks is not None:
        return st.sampled_from(request_bodies(CREATE_OPERATION))
    schema = _suite.current().operation_schemas()[f"{target.name}-{GenerationMode.POSITIVE.value}"]
    return schema[CREATE_PATH]["POST"].as_strategy(GenerationMode.POSITIVE).map(lambda case: case.body)


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_lifecycle(name: str) -> None:
    suite = _suite.current()
    target = suite.target(name)
    client = suite.client(target)
    if client.budget.paid_left() == 0:
        pytest.skip("budget: no paid task left for the lifecycle")
    machine = lifecycle_machine(client, suite.recorder, _bodies(target), progress=suite.progress)
    found = run_lifecycle(machine, PROFILES[target.profile], suite.options.seed)
    if not target.clock_control:
        client.observations.append(f"Lifecycle: {machine.sampling.line(poll_interval(target.limits))}")
    if found:
        lines = "\n".join(f"- {v.title}: {v.actual}" for v in found)
        pytest.fail(f"the lifecycle broke {len(found)} promise(s):\n{lines}", pytrace=False)
