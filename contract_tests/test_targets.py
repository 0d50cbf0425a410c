"""Each target answers at all (a free request), or is skipped with the reason it cannot be checked.

A live target the probe before the run could not reach (``_probe``) fails here, in one line,
and is sent nothing else.
"""

from __future__ import annotations

import pytest
import requests

from contract_tests import _suite
from contract_tests._failures import BudgetExhausted
from contract_tests._target import UNKNOWN_TASK_ID


@pytest.mark.parametrize("name", [target.name for target in _suite.current().targets])
def test_target_answers(name: str) -> None:
    suite = _suite.current()
    target = suite.target(name)
    if target.skip_reason:
        pytest.skip(target.skip_reason)
    if target.unreachable:
        pytest.fail(target.unreachable, pytrace=False)
    try:
        answer = suite.client(target).get_task(UNKNOWN_TASK_ID)
    except BudgetExhausted as exc:
        pytest.skip(f"budget: {exc}")
    except requests.ConnectionError as exc:
        pytest.fail(f"cannot reach {target.base_url}: {exc}", pytrace=False)
    assert answer.status_code < 500, f"{target.base_url} answered {answer.status_code} to a query of an unknown task"
