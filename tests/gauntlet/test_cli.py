"""``nanobanana-mock gauntlet`` through the real entry point: it tells a well-behaved client
from a careless one (tests/gauntlet/clients/), on a subset of scenarios to stay short."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mock_server.cli import main
from mock_server.gauntlet.runner import GauntletOptions, run_scenario
from mock_server.gauntlet.scenarios import select
from tests.support.servers import ROOT

CLIENTS = ROOT / "tests" / "gauntlet" / "clients"
ENV_OPTIONS = [
    "--base-url-env",
    "NANOBANANA_BASE_URL",
    "--api-key-env",
    "NANOBANANA_API_KEY",
    "--callback-url-env",
    "NANOBANANA_CALLBACK_URL",
]
GOOD_SCENARIOS = [
    "happy",
    "storm_429",
    "quota_402",
    "unauthorized_401",
    "failed_content_policy_violation",
    "expired_link",
    "callback_duplicates",
]
CARELESS_SCENARIOS = ["happy", "storm_429", "quota_402", "failed_content_policy_violation"]


@dataclass
class GauntletRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]

    def scenario(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["scenarios"] if s["name"] == name)


def _start(client: str, scenarios: list[str], report: Path, *extra: str, deadline: int = 8) -> subprocess.Popen[str]:
    selection = [option for name in scenarios for option in ("--scenario", name)]
    command = [sys.executable, "-m", "mock_server", "gauntlet", *ENV_OPTIONS, *selection, *extra]
    command += ["--strict", "--task-duration", "1", "--json", str(report), "--", sys.executable, str(CLIENTS / client)]
    environ = {**os.environ, "GOOD_CLIENT_DEADLINE": str(deadline)}  # outlasts the 429 storm (7 s)
    return subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str], report: Path) -> GauntletRun:
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return GauntletRun(process.returncode, stdout, stderr, json.loads(report.read_text()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GauntletRun]]:
    """The gauntlets at once (each runs its own mocks on their own ports), so the module takes
    as long as the longest. The stuck task runs apart, with a shorter deadline for the client."""
    folder = tmp_path_factory.mktemp("gauntlet")
    started = {
        "good": _start("good_client.py", GOOD_SCENARIOS, folder / "good.json"),
        "stuck": _start("good_client.py", ["stuck"], folder / "stuck.json", deadline=3),
        "careless": _start("careless_client.py", CARELESS_SCENARIOS, folder / "careless.json", "--timeout", "3"),
    }
    yield {name: _finish(process, folder / f"{name}.json") for name, process in started.items()}


def test_gauntlet__strict_passes_for_the_well_behaved_client(runs: dict[str, GauntletRun]) -> None:
    for good in (runs["good"], runs["stuck"]):
        assert good.returncode == 0, good.stdout + good.stderr
        assert good.report["flags"] == []
        assert all(s["behaviour"]["exit_as_expected"] is not False for s in good.report["scenarios"])
    assert [s["name"] for s in runs["good"].report["scenarios"]] == GOOD_SCENARIOS


def test_gauntlet__measures_the_well_behaved_client(runs: dict[str, GauntletRun]) -> None:
    good = runs["good"]
    storm = good.scenario("storm_429")["behaviour"]
    assert (storm["rate_limited"], storm["honoured_retry_after"], storm["retry_after_s"]) == (3, True, 2)
    assert storm["gap_after_429_s"] >= 2 and storm["backoff_factor"] > 1.2
    happy = good.scenario("happy")["behaviour"]
    assert (happy["exit_code"], happy["creates"], happy["image_downloads"], happy["terminal_seen"]) == (
        0,
        1,
        1,
        "completed",
    )
    stuck = runs["stuck"].scenario("stuck")["behaviour"]
    assert (stuck["gave_up"], stuck["timed_out"], stuck["poll_interval_s"] >= 1) == (True, False, True)
    duplicates = good.scenario("callback_duplicates")["behaviour"]
    assert (duplicates["callback_url_sent"], duplicates["callback_duplicates_delivered"]) == (True, 2)
    assert good.scenario("quota_402")["behaviour"]["non_retryable_retries"] == {}
    assert "happy" in good.stdout and "0 flagged" in good.stdout


def test_gauntlet__strict_fails_the_careless_client_and_names_its_habits(runs: dict[str, GauntletRun]) -> None:
    careless = runs["careless"]
    assert careless.returncode == 1, careless.stdout + careless.stderr
    assert careless.report["exit_code"] == 1
    flags = {name: set(careless.scenario(name)["flags"]) for name in CARELESS_SCENARIOS}
    assert {"polled_too_fast", "polled_after_terminal"} <= flags["happy"]
    assert {"hammered_after_429", "recreated_task"} <= flags["storm_429"]
    assert {"retried_402", "timed_out"} <= flags["quota_402"]
    assert {"retried_caller_fixable", "timed_out"} <= flags["failed_content_policy_violation"]
    kinds = {flag["kind"] for flag in careless.report["flags"]}
    assert kinds == {"cost", "throttle", "hang"}
    assert "killed" in careless.stdout and "retried_402 [cost]" in careless.stdout


def test_gauntlet__a_command_that_cannot_start_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["gauntlet", "--base-url-env", "URL", "--scenario", "quota_402", "--", "/nonexistent/client"])
    assert code == 2
    assert "cannot start '/nonexistent/client'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--", "true"], "needs --base-url-env", id="no-base-url-env"),
        pytest.param(["--base-url-env", "URL"], "needs --base-url-env VAR and -- COMMAND", id="no-command"),
        pytest.param(["--base-url-env", "URL", "--scenario", "nope", "--", "true"], "no scenario", id="unknown"),
    ],
)
def test_gauntlet__bad_options_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gauntlet", *argv]) == 2
    assert message in capsys.readouterr().err


def test_gauntlet__list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gauntlet", "--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert len(names) == 23 and names[0] == "happy" and "failed_unknown_error" in names


def test_run_scenario__kills_the_whole_process_group_of_a_client_that_runs_over(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"]
    result = run_scenario(select(["happy"])[0], GauntletOptions(command=command, base_url_env="URL", timeout=0.5))
    assert result.behaviour is not None and result.behaviour.timed_out
    assert [flag.code for flag in result.behaviour.flags] == ["timed_out"]
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_run_scenario__skips_callback_scenarios_without_a_receiver_variable() -> None:
    scenario = select(["callback_late"])[0]
    result = run_scenario(scenario, GauntletOptions(command=["true"], base_url_env="URL"))
    assert (result.behaviour, result.skipped) == (None, "needs --callback-url-env")


SEED_2_64_CLIENT = """
import os, urllib.request
request = urllib.request.Request(
    os.environ["URL"] + "/v1/images/generations",
    data=b'{"model": "nano-banana-beta", "prompt": "x", "seed": 18446744073709551616}',
    headers={"Authorization": "Bearer sk-gauntlet", "Content-Type": "application/json"},
)
try:
    urllib.request.urlopen(request, timeout=10)
except OSError:
    pass
"""


def test_run_scenario__reports_a_client_whose_body_json_renderers_cannot_carry() -> None:
    """A create with ``"seed": 2**64`` once made the journal answer 500 and the gauntlet exit 1."""
    command = [sys.executable, "-c", SEED_2_64_CLIENT]
    result = run_scenario(select(["happy"])[0], GauntletOptions(command=command, base_url_env="URL", timeout=20))
    assert result.behaviour is not None
    assert (result.behaviour.exit_code, result.behaviour.creates) == (0, 1)
