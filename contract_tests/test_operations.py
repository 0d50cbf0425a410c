"""Schemathesis, from the bundled spec, against every target: examples, coverage and fuzzing
phases, negative data then positive data, with the built-in checks and ours (``checks.py``)."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import Case

from contract_tests import _suite

_SCHEMAS = _suite.current().operation_schemas()

if _SCHEMAS:

    @schemathesis.pytest.parametrize(**_SCHEMAS)
    def test_operation(case: Case[Any]) -> None:
        _suite.current().check_case(case)
