"""The gauntlet's report: the table people read and the JSON machines read."""

from __future__ import annotations

from mock_server.gauntlet.analysis import Expectations, Observation, analyse
from mock_server.gauntlet.report import render_table, to_json
from mock_server.gauntlet.runner import GauntletOptions, ScenarioResult
from mock_server.gauntlet.scenarios import select
from tests.support.gauntlet_journal import T0, create, poll, view

OPTIONS = GauntletOptions(command=["python3", "client.py"], base_url_env="URL")


def results() -> list[ScenarioResult]:
    happy, quota, late = select(["happy", "quota_402", "callback_late"])
    careless = Observation(
        exit_code=0,
        timed_out=False,
        started_at=T0,
        ended_at=T0 + 2.5,
        requests=[create(0.0), poll(0.01), poll(0.02), poll(0.03), poll(2.1), poll(2.11)],
        tasks=[view("task-unified-1790000000-aaaaaaaa", 2.0)],
    )
    refused = Observation(
        exit_code=None, timed_out=True, started_at=T0, ended_at=T0 + 20, requests=[create(0.0, 402), create(0.1, 402)]
    )
    return [
        ScenarioResult(happy, analyse(careless, Expectations(expect="success")), output_tail="done\n"),
        ScenarioResult(quota, analyse(refused, Expectations(expect="failure")), notes=["a note"]),
        ScenarioResult(late, skipped="needs --callback-url-env"),
    ]


def test_render_table__rows_flags_and_summary() -> None:
    table = render_table(results()).splitlines()
    assert table[0].split() == "scenario exit time creates tasks polls interval after 429 4xx again after end".split()
    assert table[1].split() == ["happy", "0", "2.5s", "1", "1", "5", "0.01s", "-", "0", "1"]
    assert table[2].split() == ["quota_402", "killed*", "20.0s", "2", "0", "0", "-", "-", "402x1", "0"]
    assert table[3].split() == ["callback_late", "skipped:", "needs", "--callback-url-env"]
    assert "happy: polled_too_fast [throttle] polled every 0.010 s (median); at most one poll per 1 s" in table
    assert "quota_402: retried_402 [cost] repeated a call refused with 402 1 time(s)" in table
    assert "quota_402: note: a note" in table
    assert "2 scenario(s) run, 2 flagged; flags: cost 1, throttle 2, hang 1" in table


def test_to_json__names_every_flag_by_scenario() -> None:
    document = to_json(results(), OPTIONS, strict=True, exit_code=1)
    assert document["command"] == ["python3", "client.py"]
    assert document["options"]["base_url_env"] == "URL" and "command" not in document["options"]
    assert [s["flags"] for s in document["scenarios"]] == [
        ["polled_too_fast", "polled_after_terminal"],
        ["retried_402", "timed_out"],
        [],
    ]
    assert document["scenarios"][2] | {"behaviour": None} == document["scenarios"][2]
    assert document["scenarios"][2]["skipped"] == "needs --callback-url-env"
    assert document["flags"][0] == {
        "scenario": "happy",
        "code": "polled_too_fast",
        "kind": "throttle",
        "detail": "polled every 0.010 s (median); at most one poll per 1 s",
    }
    assert document["flag_counts"] == {"throttle": 2, "cost": 1, "hang": 1}
    assert (document["strict"], document["exit_code"]) == (True, 1)
    assert document["scenarios"][0]["output_tail"] == "done\n"
