"""Every documented limit, enum, alias, format and rule, probed just inside and just outside its edge.

``test_edges_refused`` sends the outside probes (free: each must be refused) with the
connectivity and auth probes; ``test_edges_accepted`` sends the inside probes last, when the
lifecycle has had its task, sharing creates between independent facts (see ``_edges``).
Against the real API (or with ``--compare-with-mock``) the same probes also run against
the mock in-process, and the report lists the facts where the two disagree.
"""

from __future__ import annotations

import pytest

from contract_tests import _suite
from contract_tests._edges import EdgeRun, insides, mock_clock, refusals, skipped_for_receiver, wall_clock
from contract_tests._target import Client


def _run(name: str) -> tuple[_suite.Suite, EdgeRun]:
    suite = _suite.current()
    target = suite.target(name)
    client: Client = suite.client(target)
    clock = mock_clock(client) if target.clock_control else wall_clock
    return suite, EdgeRun(client, suite.ledger, suite.recorder, clock)


def _fail(run: EdgeRun) -> None:
    if run.found:
        lines = "\n".join(f"- {violation.title}: {violation.actual}" for violation in run.found)
        pytest.fail(f"{len(run.found)} edge(s) broken:\n{lines}", pytrace=False)


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_edges_refused(name: str) -> None:
    suite, run = _run(name)
    hosts = suite.callback_hosts(run.client.target)
    for fact in skipped_for_receiver(hosts):
        reason = f"the callback receiver's host ({', '.join(hosts)}), which the target was told to allow"
        suite.ledger.unprobed(name, fact, reason)
    run.run_refusals(refusals(skip_hosts=hosts))
    _fail(run)


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_edges_accepted(name: str) -> None:
    suite, run = _run(name)
    run.run_insides(insides(), run.client.target.other_api_key)
    suite.compare_with_mock(run.client.target)
    _fail(run)
