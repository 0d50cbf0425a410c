"""Requests without a valid key are refused with 401, before anything is paid for.

``checks.auth_required`` probes the same way after every accepted request; this test runs
first, so that on a budget the probes of a create are sent while a paid task is still free
to reserve (a create that a broken target accepts without a key would be paid for).
"""

from __future__ import annotations

import pytest

from contract_tests import _suite
from contract_tests._auth_probes import probe_auth


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_auth_required(name: str) -> None:
    suite = _suite.current()
    client = suite.client(suite.target(name))
    found = probe_auth(client, suite.ledger, suite.recorder)
    if found:
        pytest.fail("\n".join(f"- {v.operation}: {v.title}: {v.actual}" for v in found), pytrace=False)
