"""The real API beside the mock: the same edge probes against both, and where they disagree.

Against the real API (or any target with ``--compare-with-mock``) the suite also runs its
edge probes against the mock in-process (free: no network, no budget). A fact the two judge
differently is a drift between this mock and reality, and each gets a piece of advice:

- the target breaks a fact the mock keeps: the provider's behaviour departs from its own
  contract, so record it in ``spec/overlay.yaml`` (with the evidence) if it is how the API
  really works; the mock follows the bundle and changes with it;
- the mock breaks a fact the target keeps: the mock is wrong and should change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._edges import EdgeRun, insides, mock_clock, refusals
from ._ledger import BROKEN, HELD, Ledger
from ._options import RunOptions
from ._report import Recorder
from ._target import Target

REFERENCE = "mock-reference"
"""The ledger name of the mock's verdicts."""
CHANGE_OVERLAY = (
    "the target departs from the documented fact: if this is how it really works, record it in "
    "spec/overlay.yaml (then the mock follows); otherwise report it to the provider"
)
CHANGE_MOCK = "the mock departs from the documented fact the target keeps: the mock should change"


@dataclass(frozen=True)
class Disagreement:
    fact: str
    target_verdict: str
    mock_verdict: str
    detail: str
    advice: str


def run_reference(options: RunOptions, ledger: Ledger) -> None:
    """The edge probes against a fresh in-process mock, verdicts under ``REFERENCE``."""
    from dataclasses import replace

    from ._targets import mock_target

    target = replace(mock_target(options), name=REFERENCE)
    client = target.open()
    try:
        run = EdgeRun(client, ledger, Recorder(), mock_clock(client))
        run.run_refusals(refusals())
        run.run_insides(insides(), target.other_api_key)
    finally:
        client.close()


def disagreements(ledger: Ledger, target: Target) -> list[Disagreement]:
    found = []
    for fact, verdict in ledger.for_target(target.name):
        reference = ledger.get(REFERENCE, fact.name)
        if reference is None or {verdict.state, reference.state} != {HELD, BROKEN}:
            continue
        target_broke = verdict.state == BROKEN
        found.append(
            Disagreement(
                fact=fact.name,
                target_verdict=verdict.state,
                mock_verdict=reference.state,
                detail=verdict.detail if target_broke else reference.detail,
                advice=CHANGE_OVERLAY if target_broke else CHANGE_MOCK,
            )
        )
    return found
