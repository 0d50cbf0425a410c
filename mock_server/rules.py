"""Failure rules: match a call, then act. Loaded from the config file and changed at run time.

A rule is data (the respx habit): a ``match`` and what to do when it matches.

    match:  route (create | query | image), method, key, prompt_regex,
            headers {name: regex}, nth (act only on the Nth matching call),
            probability (0..1, drawn from the seeded rule source)
    act:    respond {status[, message, retry_after]}   an error answer in the envelope
            latency_ms                                  added delay (real time)
            fault: reset | empty | truncate             a broken connection
            task {error, duration, stuck}               the created task's outcome
            callback {delay, duplicates, drop, after_poll}   how its callback is delivered
    times:  act this many times, then retire

Rules are checked in order. Every matching rule acts: latencies add up, task outcomes
merge (an earlier rule wins a conflict), and the first matching rule that answers
(``respond`` or ``fault``) ends the check. Probabilities draw only when every other
condition holds, so the same seed and the same requests give the same answers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .argtypes import finite_float
from .callbacks.behaviour import MAX_CALLBACK_DELAY, MAX_DUPLICATES, CallbackBehaviour
from .outcomes import FAILURE_CODES, TaskOutcome

ROUTES = ("create", "query", "image")
FAULTS = ("reset", "empty", "truncate")
MAX_LATENCY_MS = 60_000


class RuleError(ValueError):
    """A rule that cannot be used; the message names where in the rule it went wrong."""


@dataclass(frozen=True)
class RuleCall:
    """What a rule can see of a call."""

    route: str
    method: str
    key: str | None = None
    prompt: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Respond:
    status: int
    message: str | None = None
    retry_after: int | None = None


@dataclass
class Rule:
    id: str
    source: dict[str, Any]
    route: str | None = None
    method: str | None = None
    key: str | None = None
    prompt: re.Pattern[str] | None = None
    headers: dict[str, re.Pattern[str]] = field(default_factory=dict)
    nth: int | None = None
    probability: float | None = None
    respond: Respond | None = None
    latency_ms: int = 0
    fault: str | None = None
    task: TaskOutcome | None = None
    callback: CallbackBehaviour | None = None
    times: int | None = None
    seen: int = 0
    acted: int = 0

    @property
    def retired(self) -> bool:
        return self.times is not None and self.acted >= self.times

    def conditions_hold(self, call: RuleCall) -> bool:
        if self.route is not None and call.route != self.route:
            return False
        if self.method is not None and call.method.upper() != self.method:
            return False
        if self.key is not None and call.key != self.key:
            return False
        if self.prompt is not None and (call.prompt is None or not self.prompt.search(call.prompt)):
            return False
        for name, pattern in self.headers.items():
            value = call.headers.get(name)
            if value is None or not pattern.search(value):
                return False
        return True

    def snapshot(self) -> dict[str, Any]:
        return {**self.source, "id": self.id, "seen": self.seen, "acted": self.acted, "retired": self.retired}


@dataclass
class Decision:
    latency_ms: int = 0
    respond: Respond | None = None
    fault: str | None = None
    outcome: TaskOutcome = TaskOutcome()
    callback: CallbackBehaviour | None = None
    rules: list[str] = field(default_factory=list)


NO_DECISION = Decision()
"""What no rule decides (shared: callers never change a decision)."""


def _regex(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise RuleError(f"{where}: must be a regular expression string")
    try:
        return re.compile(value)
    except re.error as error:
        raise RuleError(f"{where}: invalid regular expression: {error}") from None


def _int(value: Any, where: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise RuleError(f"{where}: must be a whole number {bound}, got {value!r}")
    return value


def _mapping(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RuleError(f"{where}: must be a mapping")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise RuleError(f"{where}: unknown member {unknown[0]!r} (known: {', '.join(allowed)})")
    return value


def parse_callback_behaviour(data: Any, where: str) -> CallbackBehaviour:
    """A rule's ``callback`` act (``callbacks/behaviour.py``), or ``RuleError`` naming the bad member."""
    body = _mapping(data, where, ("delay", "duplicates", "drop", "after_poll"))
    delay = body.get("delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_CALLBACK_DELAY:
        raise RuleError(f"{where}.delay: must be a number of seconds from 0 to {int(MAX_CALLBACK_DELAY)}")
    duplicates = body.get("duplicates", 0)
    if isinstance(duplicates, bool) or not isinstance(duplicates, int) or not 0 <= duplicates <= MAX_DUPLICATES:
        raise RuleError(f"{where}.duplicates: must be a whole number from 0 to {MAX_DUPLICATES}")
    for flag in ("drop", "after_poll"):
        if not isinstance(body.get(flag, False), bool):
            raise RuleError(f"{where}.{flag}: must be true or false")
    return CallbackBehaviour(float(delay), duplicates, body.get("drop", False), body.get("after_poll", False))


def parse_rule(data: Any, where: str, rule_id: str, statuses: frozenset[int]) -> Rule:
    """Build a rule from its YAML/JSON form, or raise ``RuleError`` naming the bad member."""
    body = _mapping(data, where, ("name", "match", "respond", "latency_ms", "fault", "task", "callback", "times"))
    rule = Rule(id=rule_id, source=dict(body))
    match = _mapping(
        body.get("match", {}),
        f"{where}.match",
        ("route", "method", "key", "prompt_regex", "headers", "nth", "probability"),
    )
    if "route" in match:
        if match["route"] not in ROUTES:
            raise RuleError(f"{where}.match.route: must be one of {', '.join(ROUTES)}, got {match['route']!r}")
        rule.route = match["route"]
    if "method" in match:
        if not isinstance(match["method"], str) or not match["method"].isalpha():
            raise RuleError(f"{where}.match.method: must be an HTTP method such as GET")
        rule.method = match["method"].upper()
    if "key" in match:
        if not isinstance(match["key"], str) or not match["key"]:
            raise RuleError(f"{where}.match.key: must be an API key string")
        rule.key = match["key"]
    if "prompt_regex" in match:
        rule.prompt = _regex(match["prompt_regex"], f"{where}.match.prompt_regex")
    if "headers" in match:
        headers = match["headers"]
        if not isinstance(headers, dict):
            raise RuleError(f"{where}.match.headers: must map header names to regular expressions")
        rule.headers = {str(n).lower(): _regex(v, f"{where}.match.headers.{n}") for n, v in headers.items()}
    if "nth" in match:
        rule.nth = _int(match["nth"], f"{where}.match.nth", 1)
    if "probability" in match:
        p = match["probability"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise RuleError(f"{where}.match.probability: must be a number from 0 to 1, got {p!r}")
        rule.probability = float(p)
    if "respond" in body:
        respond = _mapping(body["respond"], f"{where}.respond", ("status", "message", "retry_after"))
        status = respond.get("status")
        if status not in statuses:
            documented = ", ".join(str(s) for s in sorted(statuses))
            raise RuleError(f"{where}.respond.status: {status!r} is not a documented error status ({documented})")
        message = respond.get("message")
        if message is not None and not isinstance(message, str):
            raise RuleError(f"{where}.respond.message: must be a string")
        retry_after = respond.get("retry_after")
        if retry_after is not None:
            retry_after = _int(retry_after, f"{where}.respond.retry_after", 0, 86_400)
        rule.respond = Respond(int(status), message, retry_after)
    if "latency_ms" in body:
        rule.latency_ms = _int(body["latency_ms"], f"{where}.latency_ms", 0, MAX_LATENCY_MS)
    if "fault" in body:
        if body["fault"] not in FAULTS:
            raise RuleError(f"{where}.fault: must be one of {', '.join(FAULTS)}, got {body['fault']!r}")
        rule.fault = body["fault"]
    if rule.respond is not None and rule.fault is not None:
        raise RuleError(f"{where}: a rule either responds or breaks the connection, not both")
    if "task" in body:
        task = _mapping(body["task"], f"{where}.task", ("error", "duration", "stuck"))
        error = task.get("error")
        if error is not None and error not in FAILURE_CODES:
            raise RuleError(f"{where}.task.error: {error!r} is not a business error code ({', '.join(FAILURE_CODES)})")
        duration = task.get("duration")
        if duration is not None:
            try:
                duration = finite_float(duration, minimum=0, text=False)
            except ValueError as why:
                raise RuleError(f"{where}.task.duration: {why} (seconds, 0 or more)") from None
        stuck = task.get("stuck")
        if stuck is not None and not isinstance(stuck, bool):
            raise RuleError(f"{where}.task.stuck: must be true or false")
        rule.task = TaskOutcome(error, None if duration is None else float(duration), stuck)
    if "callback" in body:
        rule.callback = parse_callback_behaviour(body["callback"], f"{where}.callback")
    if "times" in body:
        rule.times = _int(body["times"], f"{where}.times", 1)
    acts = (rule.respond, rule.fault, rule.task, rule.callback, rule.latency_ms or None)
    if all(act is None for act in acts):
        raise RuleError(f"{where}: a rule must act: respond, latency_ms, fault, task or callback")
    return rule


class RuleBook:
    """The rules in force, their counters, and the seeded source their probabilities draw from."""

    def __init__(
        self,
        configured: list[Any] | None = None,
        *,
        seed: int | None = None,
        statuses: frozenset[int] = frozenset({400, 401, 402, 403, 404, 429, 500}),
    ) -> None:
        self.statuses = statuses
        self.seed = seed
        self._configured: Any = configured if configured is not None else []
        self._next_id = 1
        self._random = random.Random(f"rules:{seed}")
        self.rules: list[Rule] = self.parse_many(self._configured, "rules")

    def parse_many(self, items: Any, where: str) -> list[Rule]:
        """Build rules numbered from the next free id; the ids are used up only if all are good."""
        if not isinstance(items, list):
            raise RuleError(f"{where}: must be a list of rules")
        rules = [
            parse_rule(item, f"{where}[{index}]", f"rule-{self._next_id + index}", self.statuses)
            for index, item in enumerate(items)
        ]
        self._next_id += len(rules)
        return rules

    def add(self, items: list[Any]) -> list[Rule]:
        """Add rules at the end, all or none: a bad rule leaves the book (and its ids) untouched."""
        rules = self.parse_many(items, "rules")
        self.rules.extend(rules)
        return rules

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [rule for rule in self.rules if rule.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules = []

    def reset(self) -> None:
        """Back to the configured rules, counters at zero, the random source replayed."""
        self._next_id = 1
        self._random = random.Random(f"rules:{self.seed}")
        self.rules = self.parse_many(self._configured, "rules")

    @property
    def needs_headers(self) -> bool:
        """Whether any rule matches on headers (else calls need not carry them)."""
        return any(rule.headers for rule in self.rules)

    def evaluate(self, call: RuleCall) -> Decision:
        if not self.rules:
            return NO_DECISION
        decision = Decision()
        outcome = TaskOutcome()
        for rule in self.rules:
            if rule.retired or not rule.conditions_hold(call):
                continue
            rule.seen += 1
            if rule.nth is not None and rule.seen != rule.nth:
                continue
            if rule.probability is not None and self._random.random() >= rule.probability:
                continue
            rule.acted += 1
            decision.rules.append(rule.id)
            decision.latency_ms += rule.latency_ms
            if rule.task is not None:
                outcome = outcome.merged_over(rule.task)
            if rule.callback is not None and decision.callback is None:
                decision.callback = rule.callback
            if rule.respond is not None or rule.fault is not None:
                decision.respond, decision.fault = rule.respond, rule.fault
                break
        decision.outcome = outcome
        return decision
