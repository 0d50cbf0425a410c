"""The gauntlet's scenarios as named data: each is the config of a fresh mock (rules,
accounts) plus what the analysis needs to know about it (the ``Retry-After`` it sends,
whether the task never ends, what a good client's exit looks like)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from ..outcomes import CALLER_FIXABLE, FAILURE_CODES

CREATE: dict[str, Any] = {"route": "create"}
STORM_RETRY_AFTER = 2
STORM_SIZE = 3
SLOW_DURATION = 6.0
SLOW_LATENCY_MS = 300
FAILED_TASK_DURATION = 1.0
LATE_CALLBACK_DELAY = 5.0
CALLBACK_DUPLICATES = 2


@dataclass(frozen=True)
class Scenario:
    """One adverse situation a client meets, against a fresh mock.

    Args:
        name: what ``--scenario`` selects it by.
        title: one line for people.
        config: the mock's ``--config`` document (rules, accounts, unknown_keys).
        task_duration: seconds from create to finish; None: the gauntlet's ``--task-duration``.
        expect: the exit a well-behaved client gives: ``success`` (0), ``failure`` (non-zero)
            or None (either is fine).
        retry_after: the ``Retry-After`` its 429s carry.
        stuck: its task never finishes: the client must give up on its own.
        needs_callback: runs only when the command is given a callback URL.
    """

    name: str
    title: str
    config: dict[str, Any] = field(default_factory=dict)
    task_duration: float | None = None
    expect: str | None = "success"
    retry_after: float | None = None
    stuck: bool = False
    needs_callback: bool = False


def _failed_task(code: str) -> Scenario:
    fixable = code in CALLER_FIXABLE
    rule: dict[str, Any] = {"name": code, "match": CREATE, "task": {"error": code}}
    if not fixable:
        rule["times"] = 1  # retry-later: the next task succeeds, as it would after a while
    kind = "caller-fixable: do not re-create" if fixable else "retry-later: a new task succeeds"
    return Scenario(
        name=f"failed_{code}",
        title=f"the task fails with {code} ({kind})",
        config={"rules": [rule]},
        task_duration=FAILED_TASK_DURATION,
        expect="failure" if fixable else None,
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("happy", "the task completes and its image downloads"),
    Scenario(
        "storm_429",
        f"the first {STORM_SIZE} polls answer 429 with Retry-After: {STORM_RETRY_AFTER}, then all is well",
        config={
            "rules": [
                {
                    "name": "storm",
                    "match": {"route": "query"},
                    "respond": {"status": 429, "retry_after": STORM_RETRY_AFTER},
                    "times": STORM_SIZE,
                }
            ]
        },
        retry_after=STORM_RETRY_AFTER,
    ),
    Scenario(
        "error_500",
        "the first create and the first poll answer 500, then all is well",
        config={
            "rules": [
                {"name": "create-500", "match": CREATE, "respond": {"status": 500}, "times": 1},
                {"name": "poll-500", "match": {"route": "query"}, "respond": {"status": 500}, "times": 1},
            ]
        },
    ),
    Scenario(
        "quota_402",
        "the balance is empty: every create answers 402",
        config={"rules": [{"name": "no-credits", "match": CREATE, "respond": {"status": 402}}]},
        expect="failure",
    ),
    Scenario(
        "unauthorized_401",
        "the key is unknown: every call answers 401",
        config={"unknown_keys": "reject"},
        expect="failure",
    ),
    *(_failed_task(code) for code in FAILURE_CODES),
    Scenario(
        "stuck",
        "the task stays processing for ever: the client must give up",
        config={"rules": [{"name": "stuck", "match": CREATE, "task": {"stuck": True}}]},
        expect="failure",
        stuck=True,
    ),
    Scenario(
        "slow",
        f"the task takes {SLOW_DURATION:g} s and every call {SLOW_LATENCY_MS} ms more",
        config={"rules": [{"name": "slow", "match": {}, "latency_ms": SLOW_LATENCY_MS}]},
        task_duration=SLOW_DURATION,
    ),
    Scenario(
        "expired_link",
        "the task completes but its result link answers 404 (expired)",
        config={"rules": [{"name": "expired", "match": {"route": "image"}, "respond": {"status": 404}}]},
        expect=None,
    ),
    Scenario(
        "callback_duplicates",
        f"the callback is delivered, then {CALLBACK_DUPLICATES} duplicates of it",
        config={"rules": [{"name": "dup", "match": CREATE, "callback": {"duplicates": CALLBACK_DUPLICATES}}]},
        needs_callback=True,
    ),
    Scenario(
        "callback_late",
        f"the callback comes {LATE_CALLBACK_DELAY:g} s after the task finished: poll, do not wait for it",
        config={"rules": [{"name": "late", "match": CREATE, "callback": {"delay": LATE_CALLBACK_DELAY}}]},
        needs_callback=True,
    ),
)


def select(patterns: list[str] | None) -> list[Scenario]:
    """The scenarios whose names match any of ``patterns`` (names or globs such as
    ``failed_*``), in the gauntlet's order; all of them without patterns.
    ``ValueError`` names a pattern that matches nothing."""
    if not patterns:
        return list(SCENARIOS)
    for pattern in patterns:
        if not any(fnmatchcase(scenario.name, pattern) for scenario in SCENARIOS):
            known = ", ".join(scenario.name for scenario in SCENARIOS)
            raise ValueError(f"no scenario matches {pattern!r} (known: {known})")
    return [s for s in SCENARIOS if any(fnmatchcase(s.name, pattern) for pattern in patterns)]
