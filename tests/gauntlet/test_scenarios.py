"""The gauntlet's scenarios: each a valid mock config, one per failed-task code, selectable by glob."""

from __future__ import annotations

import pytest

from mock_server.app import create_app
from mock_server.config import parse_config
from mock_server.gauntlet.scenarios import SCENARIOS, Scenario, select
from mock_server.outcomes import CALLER_FIXABLE, FAILURE_CODES
from mock_server.settings import Settings


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_scenario__config_builds_a_mock(scenario: Scenario) -> None:
    config = parse_config(scenario.config, scenario.name)
    assert create_app(Settings(clock="virtual", seed=1), config=config) is not None


def test_scenarios__names_are_unique_and_cover_every_failed_task_code() -> None:
    names = [scenario.name for scenario in SCENARIOS]
    assert len(names) == len(set(names)) == 23
    assert [name for name in names if name.startswith("failed_")] == [f"failed_{code}" for code in FAILURE_CODES]


@pytest.mark.parametrize(
    ("code", "expect", "times"),
    [("content_policy_violation", "failure", None), ("service_error", None, 1)],
)
def test_failed_scenario__caller_fixable_fails_every_time_retry_later_once(
    code: str, expect: str | None, times: int | None
) -> None:
    (scenario,) = select([f"failed_{code}"])
    assert (code in CALLER_FIXABLE, scenario.expect) == (expect == "failure", expect)
    assert scenario.config["rules"][0].get("times") == times


def test_select__globs_keep_the_gauntlet_order() -> None:
    assert [s.name for s in select(["stuck", "happy"])] == ["happy", "stuck"]
    assert len(select(["failed_*"])) == 13
    assert len(select(None)) == len(SCENARIOS)


def test_select__a_pattern_that_matches_nothing_is_named() -> None:
    with pytest.raises(ValueError, match="no scenario matches 'hapy'"):
        select(["hapy"])
