"""Each probe of the contract suite, proven against a stand-in that breaks its one fact.

``tests/drifting_api.py`` is a small service written from the documented facts (not the
mock), served on a free loopback port, with one drift per instance. For every drift the
suite's own probe machinery (the auth probes, the edge probes, the lifecycle machine, the
callback checks) must report the drift's fact broken; on the faithful stand-in no fact may
be broken. ``tests/contract/test_suite.py`` runs the same through the ``contract`` command.

The callback drifts run on the wall clock (about 30 s each: retries 1, 2 and 4 s apart and a
hang past the 10 s timeout), so they run side by side, once per module.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import strategies as st

from contract_tests._auth_probes import probe_auth
from contract_tests._callback_receiver import Receiver
from contract_tests._callbacks import CallbackRun, poller
from contract_tests._edges import EdgeRun, insides, refusals, wall_clock
from contract_tests._ledger import BROKEN, Ledger
from contract_tests._lifecycle import lifecycle_machine, run_lifecycle
from contract_tests._profiles import PROFILES
from contract_tests._report import Recorder
from contract_tests._target import Target
from tests.support.drifting_api import DRIFTS, OTHER, OWNER, StandIn, serving

BODY = {"model": "nano-banana-beta", "prompt": "a red square"}


TARGET = "live"


def _target(url: str) -> Target:
    return Target(name=TARGET, base_url=url, api_key=OWNER, other_api_key=OTHER)


def broken_facts(ledger: Ledger) -> dict[str, str]:
    return {name: verdict.detail for (target, name), verdict in ledger.verdicts.items() if verdict.state == BROKEN}


def judge_edges(drift: str | None) -> Ledger:
    ledger, recorder = Ledger(), Recorder()
    with serving(StandIn(drift).app) as url:
        client = _target(url).open()
        try:
            probe_auth(client, ledger, recorder)
            run = EdgeRun(client, ledger, recorder, wall_clock)
            run.run_refusals(refusals())
            run.run_insides(insides(), OTHER)
        finally:
            client.close()
    return ledger


def judge_lifecycle(drift: str | None) -> Ledger:
    ledger, recorder = Ledger(), Recorder()
    with serving(StandIn(drift, task_seconds=5.0).app) as url:
        client = _target(url).open()
        try:
            machine = lifecycle_machine(client, recorder, st.just(BODY))
            run_lifecycle(machine, PROFILES["quick"], 1)
        finally:
            client.close()
    for finding in recorder.findings.values():
        ledger.broken(TARGET, "lifecycle.order", f"{finding.title}: {finding.actual}")
    return ledger


def judge_callbacks(drift: str | None) -> Ledger:
    ledger = Ledger()
    with serving(StandIn(drift, allow_callback_hosts=("127.0.0.1",)).app) as url:
        client = _target(url).open()
        receiver = Receiver(clock=client.budget.now, poll=poller(client))
        try:
            CallbackRun(client, ledger, Recorder(), receiver, clock=client.budget.now, wait=client.budget.wait).run()
        finally:
            receiver.close()
            client.close()
    return ledger


EDGE_DRIFTS = [name for name, drift in DRIFTS.items() if drift.suite == "edges"]
CALLBACK_DRIFTS = [name for name, drift in DRIFTS.items() if drift.suite == "callbacks"]


@pytest.mark.parametrize("drift", EDGE_DRIFTS)
def test_edge_probes__catch_the_drift(drift: str) -> None:
    broken = broken_facts(judge_edges(drift))
    assert DRIFTS[drift].fact in broken, broken


def test_edge_probes__raise_no_alarm_on_the_faithful_stand_in() -> None:
    ledger = judge_edges(None)
    assert broken_facts(ledger) == {}
    held = [name for (_, name), verdict in ledger.verdicts.items() if verdict.state == "held"]
    assert len(held) >= 60


@pytest.mark.slow
def test_lifecycle__catches_a_regression_between_two_sparse_polls() -> None:
    assert "lifecycle.order" in broken_facts(judge_lifecycle("blip_regression"))


@pytest.mark.slow
def test_lifecycle__raises_no_alarm_on_the_faithful_stand_in() -> None:
    assert broken_facts(judge_lifecycle(None)) == {}


@pytest.fixture(scope="module")
def callback_verdicts() -> Iterator[dict[str | None, Ledger]]:
    """Every callback drift (and the faithful stand-in) judged side by side, each in its own thread."""
    verdicts: dict[str | None, Ledger] = {}
    errors: list[BaseException] = []

    def judge(drift: str | None) -> None:
        try:
            verdicts[drift] = judge_callbacks(drift)
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            errors.append(exc)

    threads = [threading.Thread(target=judge, args=(drift,)) for drift in [None, *CALLBACK_DRIFTS]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    if errors:
        raise errors[0]
    yield verdicts


@pytest.mark.slow
@pytest.mark.parametrize("drift", CALLBACK_DRIFTS)
def test_callback_checks__catch_the_drift(drift: str, callback_verdicts: dict[str | None, Ledger]) -> None:
    broken = broken_facts(callback_verdicts[drift])
    assert DRIFTS[drift].fact in broken, broken


@pytest.mark.slow
def test_callback_checks__raise_no_alarm_on_the_faithful_stand_in(
    callback_verdicts: dict[str | None, Ledger],
) -> None:
    ledger = callback_verdicts[None]
    assert broken_facts(ledger) == {}
    assert all(verdict.state == "held" for verdict in ledger.verdicts.values()), ledger.verdicts
