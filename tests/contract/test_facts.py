"""The fact catalogue, its verdicts, the spend rule of the edge probes, and the report's outputs.

The catalogue is derived from the bundle (a changed bundle changes it); ``--list-facts``
prints it; the ledger keeps the worst verdict; edge probes stay inside ``--max-paid-tasks``
and say which facts went unprobed; the command writes markdown, JUnit, HTML and a GitHub
job summary, and compares a target with the mock in-process when asked.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract_tests import _catalogue, _spec_sources
from contract_tests._budget import Limits
from contract_tests._catalogue import catalogue, render_list
from contract_tests._edges import EdgeRun, insides, pack, refusals, same_host, wall_clock
from contract_tests._ledger import BROKEN, HELD, UNPROBED, Ledger, facts_of
from contract_tests._outputs import write_step_summary
from contract_tests._report import Recorder
from contract_tests._target import Target
from evolink_spec import load_bundle
from tests.support.drifting_api import OTHER, OWNER, StandIn, serving
from tests.support.servers import ROOT


def test_catalogue__names_are_unique_and_every_fact_has_a_source() -> None:
    names = [fact.name for fact in catalogue()]
    assert len(names) == len(set(names))
    assert all(fact.source.startswith(("bundle:", "overlay:", "notes")) for fact in catalogue())


def test_catalogue__lists_every_size_and_model_the_bundle_states() -> None:
    schema = load_bundle()["components"]["schemas"]["ImageGenerationRequest"]["properties"]
    names = {fact.name for fact in catalogue()}
    assert {f"create.size.accepted[nano-banana-beta/{size}]" for size in schema["size"]["enum"]} <= names
    assert {f"create.model.accepted[{model}]" for model in schema["model"]["enum"]} <= names
    assert "create.model.alias[gemini-2.5-flash-image]" in names
    assert next(f for f in catalogue() if f.name == "create.model.alias[gemini-2.5-flash-image]").source.startswith(
        "overlay:"
    )


@pytest.fixture
def edited_bundle(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A copy of the bundle the catalogue reads instead of the real one."""
    bundle = copy.deepcopy(load_bundle())
    monkeypatch.setattr(_spec_sources, "bundle", lambda: bundle)
    _catalogue.catalogue.cache_clear()
    yield bundle
    _catalogue.catalogue.cache_clear()


def test_catalogue__follows_a_changed_bundle(edited_bundle: dict[str, Any]) -> None:
    schema = edited_bundle["components"]["schemas"]["ImageGenerationRequest"]
    schema["properties"]["size"]["enum"].append("21:9")
    schema["properties"]["prompt"]["maxLength"] = 1234
    # The bundle also carries the model's facts beside its schema (``x-evolink-model``).
    schema["x-evolink-model"]["size"]["ratios"].append("21:9")
    schema["x-evolink-model"]["prompt"]["max_length"] = 1234
    facts = {fact.name: fact for fact in catalogue()}
    assert "create.size.accepted[nano-banana-beta/21:9]" in facts
    assert "1234 characters is accepted, 1235 refused" in facts["create.prompt.max-length[nano-banana-beta]"].statement
    probe = next(p for p in refusals() if p.fact == "create.prompt.max-length[nano-banana-beta]")
    assert len(probe.body["prompt"]) == 1235


def test_list_facts__prints_the_catalogue_without_a_target() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "contract", "--list-facts"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_list() + "\n"
    for fact in catalogue():
        assert fact.name in result.stdout


def test_ledger__a_broken_sighting_wins_and_the_first_reason_stays() -> None:
    ledger = Ledger()
    ledger.unprobed("t", "f", "budget")
    ledger.held("t", "f", "ok")
    ledger.broken("t", "f", "refused")
    ledger.held("t", "f", "ok again")
    ledger.unprobed("t", "g", "first")
    ledger.unprobed("t", "g", "second")
    assert (ledger.get("t", "f").state, ledger.get("t", "f").detail) == (BROKEN, "refused")  # type: ignore[union-attr]
    assert ledger.get("t", "g").detail == "first"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("check", "title", "actual", "expected"),
    [
        (
            "edges",
            "create.size.accepted[nano-banana-beta/9:16]: valid create refused",
            "400",
            ["create.size.accepted[nano-banana-beta/9:16]"],
        ),
        ("task_state_consistent", "Status outside the documented set", "'running'", ["task.status-enum"]),
        ("error_envelope", "Undocumented code/type for 401", "401 with code/type x/y", ["error.envelope[401]"]),
        ("auth_required", "Request with a made-up key not refused with 401", "200", ["auth.made-up-key-401"]),
        ("lifecycle", "Progress decreased", "50 -> 5", ["lifecycle.order"]),
    ],
)
def test_facts_of__names_the_fact_a_finding_breaks(check: str, title: str, actual: str, expected: list[str]) -> None:
    assert facts_of(check, title, actual) == expected


def test_pack__never_changes_one_field_twice_in_a_create() -> None:
    groups = pack(insides())
    for group in groups:
        fields = [name for probe in group for name in probe.fields]
        assert len(fields) == len(set(fields))
    sizes = sum(1 for fact in catalogue() if fact.name.startswith("create.size.accepted["))
    assert len(groups) == sizes  # every size needs a create of its own; the rest ride along


def test_private_host_probes__skip_only_the_receivers_address() -> None:
    spellings = {spelling.host: spelling for spelling in _catalogue.PRIVATE_HOSTS}
    assert same_host(spellings["2130706433"], ["127.0.0.1"])
    assert same_host(spellings["[::ffff:127.0.0.1]"], ["127.0.0.1"])
    assert not same_host(spellings["[::1]"], ["127.0.0.1"])
    assert not same_host(spellings["10.0.0.1"], ["127.0.0.1"])
    assert {p.fact for p in refusals(["127.0.0.1"])} < {p.fact for p in refusals()}


def test_edge_probes__stay_within_the_paid_task_budget_and_say_what_went_unprobed() -> None:
    ledger = Ledger()
    with serving(StandIn().app) as url:
        target = Target(name="live", base_url=url, api_key=OWNER, other_api_key=OTHER, limits=Limits(max_paid_tasks=3))
        client = target.open()
        try:
            run = EdgeRun(client, ledger, Recorder(), wall_clock)
            run.run_refusals(refusals())
            run.run_insides(insides(), OTHER)
        finally:
            client.close()
    assert client.budget.paid_tasks == 3
    verdicts = {name: verdict for (_, name), verdict in ledger.verdicts.items()}
    assert all(verdict.state != BROKEN for verdict in verdicts.values())
    assert verdicts["create.size.refused-unknown[nano-banana-beta]"].state == HELD  # refusals cost nothing
    unprobed = [name for name, verdict in verdicts.items() if verdict.state == UNPROBED]
    assert "create.size.accepted[nano-banana-beta/9:16]" in unprobed
    assert (
        "paid-task budget used up (3 of 3 tasks created)"
        in verdicts["create.size.accepted[nano-banana-beta/9:16]"].detail
    )


def test_step_summary__appended_when_github_names_a_file(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert write_step_summary("# Contract report: PASSED", {"GITHUB_STEP_SUMMARY": str(summary)}) == summary
    assert summary.read_text(encoding="utf-8") == "earlier step\n# Contract report: PASSED\n"
    assert write_step_summary("# x", {}) is None


def contract(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("EVOLINK_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "mock_server", "contract", *args],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=ROOT,
        env={**clean, **(env or {})},
    )


def _row(report: str, fact: str) -> str:
    match = re.search(rf"^\| `{re.escape(fact)}` \| ([^|]+) \|", report, re.M)
    assert match, f"no row for {fact}"
    return match[1].strip()


@pytest.mark.slow
def test_contract__a_drift_is_reported_in_every_output_and_compared_with_the_mock(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    with serving(StandIn("size_missing").app) as url:
        result = contract(
            "--base-url",
            url,
            "--api-key",
            OWNER,
            "--other-api-key",
            OTHER,
            "--profile",
            "quick",
            "--compare-with-mock",
            "--report",
            str(tmp_path),
            "-k",
            "edges",
            env={"GITHUB_STEP_SUMMARY": str(summary)},
        )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
    assert _row(report, "create.size.accepted[nano-banana-beta/9:16]") == "**broken**"
    assert _row(report, "create.size.accepted[nano-banana-beta/16:9]") == "held"
    assert "- Fact: `create.size.accepted[nano-banana-beta/9:16]`" in report
    assert _row(report, "callback.retry-delays") == "not probed"
    assert '-H "Authorization: Bearer ${EVOLINK_API_KEY:-' + OWNER + '}"' in report
    assert "## Real API and mock disagree" in report
    disagreement = next(
        line
        for line in report.splitlines()
        if line.startswith("| `create.size.accepted[nano-banana-beta/9:16]` | broken")
    )
    assert "spec/overlay.yaml" in disagreement
    html = (tmp_path / "contract-report.html").read_text(encoding="utf-8")
    assert '<tr class="broken"><td><code>create.size.accepted[nano-banana-beta/9:16]</code>' in html
    assert "curl -sS -i -X POST" in html
    assert 'failures="0"' not in (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8").startswith("# Contract report: FAILED")


@pytest.mark.slow
def test_contract__a_served_mock_allowing_the_receiver_passes_every_probe_and_callback_check(tmp_path: Path) -> None:
    from tests.support.servers import running

    with running("--allow-callback-host", "127.0.0.1", "--task-duration", "1") as url:
        result = contract(
            "--base-url",
            url,
            "--api-key",
            "sk-a",
            "--other-api-key",
            "sk-b",
            "--callbacks",
            "--profile",
            "quick",
            "--report",
            str(tmp_path),
            "-k",
            "auth or edges or callbacks",
        )
    report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
    assert result.returncode == 0, report[-4000:] + result.stdout[-2000:]
    for fact in catalogue():
        if fact.probe == "callbacks":
            assert _row(report, fact.name) == "held", fact.name
    assert "**broken**" not in report


@pytest.mark.slow
def test_pytest__the_mock_in_process_passes_the_edges_and_its_callbacks_on_the_virtual_clock(tmp_path: Path) -> None:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("EVOLINK_", "GITHUB_"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "contract_tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "--contract-callbacks",
            "--contract-profile",
            "quick",
            "--contract-report",
            str(tmp_path),
            "-k",
            "(edges or callbacks) and mock",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=ROOT,
        env=clean,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
    assert _row(report, "callback.attempt-timeout") == "held"
    assert _row(report, "create.callback_url.private-host[2130706433]") == "held"
