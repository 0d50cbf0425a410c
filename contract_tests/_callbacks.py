"""Callback checks of any target (``--callbacks``): tasks call the suite's receiver, which fails on purpose.

Two tasks are created with a ``callback_url`` on the suite's receiver (``_callback_receiver``):

- task A's receiver answers 500, then a 302 (which must not be followed), then hangs past
  the documented 10 s timeout, then 500 again: four failed attempts, after which nothing
  more may come;
- task B's receiver answers 500, then 200: after the 2xx nothing more may come.

The judge compares what arrived with the documented behaviour: no callback before the task
is terminal; the body equals the owner's poll at that moment; a JSON POST; retries 1 s,
2 s and 4 s after each failure (a timed-out attempt fails 10 s after it started) within
``tolerance(delay)``; at most 4 attempts; nothing after a 2xx; no redirect followed.

Time is the judge's clock: the mock's own clock for a mock whose clock the suite moves
(virtual: each wait is one stepped advance, so a run takes seconds of real time), else a
monotonic clock and real waits (about 30 s once the tasks have finished).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from evolink_spec import TERMINAL_STATUSES as TERMINAL

from ._callback_receiver import Attempt, Receiver
from ._catalogue import catalogue
from ._edges import base_body
from ._failures import BudgetExhausted, ContractViolation
from ._invariants import excerpt, parse_json
from ._ledger import Ledger
from ._report import Recorder
from ._target import Client

ATTEMPT_TIMEOUT = 10.0
RETRY_DELAYS = (1.0, 2.0, 4.0)
MAX_ATTEMPTS = 4
FIRST_WAIT = 30.0
"""Seconds after the task is seen terminal within which the first attempt must arrive."""
QUIET = 8.0
"""Seconds after the last expected attempt the judge watches for more (a target that went on
doubling would send its next one 8 s later)."""
SCRIPT_A: list[int | str] = [500, 302, "hang", 500]
SCRIPT_B: list[int | str] = [500, 200]
CHECK = "callbacks"
OPERATION = "POST callback_url"


def tolerance(delay: float) -> float:
    """How far an attempt may land from its documented time: 0.5 s plus 10 % of the delay."""
    return 0.5 + 0.1 * delay


@dataclass
class Scenario:
    token: str
    script: list[int | str]
    task_id: str = ""
    request: requests.PreparedRequest | None = None
    terminal_at: float | None = None


@dataclass
class CallbackRun:
    client: Client
    ledger: Ledger
    recorder: Recorder
    receiver: Receiver
    clock: Callable[[], float]
    wait: Callable[[float], None]
    """Let ``seconds`` of the judge's time pass (a sleep, or one stepped advance of the mock's clock)."""
    virtual: bool = False
    poll_every: float = 0.25
    task_limit: float = 600.0
    found: list[ContractViolation] = field(default_factory=list)
    skipped: str | None = None
    scenarios: list[Scenario] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.client.target.name

    def broken(
        self, fact: str, title: str, expected: str, actual: str, request: requests.PreparedRequest | None
    ) -> None:
        self.ledger.broken(self.name, fact, f"{title}: {actual}")
        violation = ContractViolation(
            check=CHECK, operation=OPERATION, title=f"{fact}: {title}", expected=expected, actual=actual
        )
        if request is not None:
            self.recorder.add_violation(self.client.target, violation, request)
        self.found.append(violation)

    def unprobed_all(self, reason: str) -> None:
        unprobed(self.ledger, self.name, reason)
        self.skipped = reason

    # -- the run --

    def run(self) -> None:
        """Create the two tasks and judge their callbacks."""
        self.start()
        self.finish()

    def start(self) -> None:
        """Create the two tasks (a live run does this early, so their callbacks happen while the
        rest of the suite runs, and ``finish`` at the end waits only for what has not come yet)."""
        if self.scenarios:
            return
        scenarios = [Scenario(f"a-{secrets.token_hex(4)}", SCRIPT_A), Scenario(f"b-{secrets.token_hex(4)}", SCRIPT_B)]
        for scenario in scenarios:
            if not self._create(scenario):
                return
        self.scenarios = scenarios

    def finish(self) -> None:
        """Wait for every attempt that is due, then judge them."""
        if self.skipped is not None or len(self.scenarios) != 2:
            return
        self._until_terminal(self.scenarios)
        first, second = self.scenarios
        self._follow(first, second)
        self.judge(first, second)

    def _create(self, scenario: Scenario) -> bool:
        url = self.receiver.expect(scenario.token, scenario.script)
        body = {**base_body(), "callback_url": url}
        try:
            answer = self.client.create(body)
        except BudgetExhausted as exc:
            self.unprobed_all(f"no task for the callback checks ({exc})")
            return False
        if answer.status_code != 200:
            self.unprobed_all(
                f"the target refused callback_url {url} ({answer.status_code}: {excerpt(answer.content, 160)}); a "
                "remote target needs --callback-public-url (an https tunnel to the receiver), a local mock "
                "`serve --allow-callback-host 127.0.0.1`"
            )
            return False
        try:
            task = parse_json(answer.content)
        except ValueError:
            task = {}
        scenario.task_id = str(task.get("id", "")) if isinstance(task, dict) else ""
        scenario.request = answer.request
        self.receiver.task_ids[scenario.token] = scenario.task_id
        return True

    def _until_terminal(self, scenarios: list[Scenario]) -> None:
        started = self.clock()
        while any(s.terminal_at is None for s in scenarios) and self.clock() - started < self.task_limit:
            for scenario in scenarios:
                if scenario.terminal_at is None:
                    status = self._status(scenario.task_id)
                    if status in TERMINAL:
                        scenario.terminal_at = self.clock()
            if any(s.terminal_at is None for s in scenarios):
                self.wait(self.poll_every)

    def _status(self, task_id: str) -> str | None:
        answer = self.client.get_task(task_id)
        try:
            body = parse_json(answer.content)
        except ValueError:
            return None
        return body.get("status") if isinstance(body, dict) else None

    def _wait_for(self, arrived: Callable[[], bool], deadline: float) -> None:
        """Let time pass until ``arrived()`` or the judge's clock reaches ``deadline``."""
        while not arrived():
            left = deadline - self.clock()
            if left <= 0:
                return
            # On a virtual clock one stepped advance runs every attempt due on the way.
            self.wait(left if self.virtual else min(self.poll_every, left))

    def _more_than(self, token: str, count: int) -> Callable[[], bool]:
        return lambda: len(self.receiver.of(token)) > count

    def _follow(self, first: Scenario, second: Scenario) -> None:
        ends = [s.terminal_at or self.clock() for s in (first, second)]
        self._wait_for(
            lambda: bool(self.receiver.of(first.token)) and bool(self.receiver.of(second.token)),
            max(ends) + FIRST_WAIT,
        )
        while True:
            seen = self.receiver.of(first.token)
            if not seen or len(seen) >= MAX_ATTEMPTS:
                break
            expected = _next_due(seen[-1], RETRY_DELAYS[len(seen) - 1])
            count = len(seen)
            self._wait_for(self._more_than(first.token, count), expected + tolerance(4.0) + 1.0)
            if len(self.receiver.of(first.token)) == count:
                break
        last = max((a.started for a in self.receiver.of(first.token) + self.receiver.of(second.token)), default=0.0)
        self._wait_for(lambda: False, max(last, self.clock()) + QUIET)

    # -- judging --

    def judge(self, first: Scenario, second: Scenario) -> None:
        a, b = self.receiver.of(first.token), self.receiver.of(second.token)
        for scenario, seen in ((first, a), (second, b)):
            if not seen:
                self.broken(
                    "callback.after-terminal",
                    "no callback arrived",
                    f"a finished task calls its callback_url (within {FIRST_WAIT:g} s here)",
                    f"task {scenario.task_id}: nothing arrived",
                    scenario.request,
                )
        for scenario, seen in ((first, a), (second, b)):
            for attempt in seen:
                self._judge_attempt(scenario, attempt)
        self._judge_schedule(first, a)
        self._judge_schedule(second, b)
        if len(a) > MAX_ATTEMPTS:
            self.broken(
                "callback.max-attempts",
                f"{len(a)} attempts",
                f"at most {MAX_ATTEMPTS} attempts (3 retries) when every attempt fails",
                _times(a),
                first.request,
            )
        elif a:
            self.ledger.held(self.name, "callback.max-attempts", f"{len(a)} attempts when every one failed")
        if len(b) > 2:
            self.broken(
                "callback.stop-after-2xx",
                "attempts after a 2xx answer",
                "nothing is sent after a 2xx answer",
                f"{len(b)} attempts for answers {[x.answer for x in b]}: {_times(b)}",
                second.request,
            )
        elif len(b) == 2:
            self.ledger.held(self.name, "callback.stop-after-2xx", "nothing after the 2xx")
        if self.receiver.redirected:
            self.broken(
                "callback.no-redirect",
                "redirect followed",
                "a 3xx answer is a failed attempt: its Location is not called",
                f"{self.receiver.redirected[0].method} {self.receiver.redirected[0].path}",
                first.request,
            )
        elif len(a) >= 2:
            self.ledger.held(self.name, "callback.no-redirect", "the 302's Location was not called")

    def _judge_attempt(self, scenario: Scenario, attempt: Attempt) -> None:
        media = attempt.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        try:
            body = attempt.json()
        except ValueError:
            body = None
        if attempt.method != "POST" or media != "application/json" or not isinstance(body, dict):
            self.broken(
                "callback.json-post",
                "callback is not a JSON POST",
                "a POST with Content-Type application/json and the task as a JSON object",
                f"{attempt.method}, Content-Type {media or 'none'}: {excerpt(attempt.body, 120)}",
                scenario.request,
            )
            return
        self.ledger.held(self.name, "callback.json-post", "POST application/json")
        poll = attempt.poll
        polled = poll.get("status") if isinstance(poll, dict) else None
        if body.get("status") not in TERMINAL or (poll is not None and polled not in TERMINAL):
            self.broken(
                "callback.after-terminal",
                "callback before the task was terminal",
                "a callback is sent once the task is completed or failed",
                f"callback status {body.get('status')!r}, poll at that moment {polled!r}",
                scenario.request,
            )
        else:
            self.ledger.held(self.name, "callback.after-terminal", f"status {body.get('status')}")
        if poll is None:
            self.ledger.unprobed(
                self.name, "callback.body-equals-poll", f"the poll during the attempt failed: {attempt.poll_error}"
            )
        elif body != poll:
            differing = sorted(key for key in set(body) | set(poll) if body.get(key) != poll.get(key))
            self.broken(
                "callback.body-equals-poll",
                "callback body differs from the poll",
                "the callback body is the same JSON a poll of the task answers at that moment",
                f"members differing: {', '.join(differing)}; callback {excerpt(attempt.body, 160)}",
                scenario.request,
            )
        else:
            self.ledger.held(self.name, "callback.body-equals-poll", "equal")

    def _judge_schedule(self, scenario: Scenario, seen: list[Attempt]) -> None:
        for index in range(1, min(len(seen), MAX_ATTEMPTS)):
            before, attempt = seen[index - 1], seen[index]
            delay = RETRY_DELAYS[index - 1]
            hung = before.answered is None
            fact = "callback.attempt-timeout" if hung else "callback.retry-delays"
            gap = attempt.started - _next_due(before, 0.0)
            documented = f"{ATTEMPT_TIMEOUT:g} s timeout + {delay:g} s" if hung else f"{delay:g} s"
            if abs(gap - delay) > tolerance(delay):
                expected = (
                    f"attempt {index + 1} starts {documented} after attempt {index} "
                    + ("started" if hung else "failed")
                    + f" (tolerance ±{tolerance(delay):.1f} s)"
                )
                self.broken(
                    fact,
                    f"attempt {index + 1} off schedule",
                    expected,
                    f"{gap + (ATTEMPT_TIMEOUT if hung else 0):.2f} s; attempts at {_times(seen)}",
                    scenario.request,
                )
            else:
                self.ledger.held(self.name, fact, f"attempt {index + 1} after {documented}")
        failures = [attempt for attempt in seen if attempt.answer != 200]
        due = len(scenario.script) if scenario.script[-1] == 200 else MAX_ATTEMPTS
        if seen and len(seen) < due and len(failures) == len(seen):
            missing = len(seen) + 1
            fact = "callback.attempt-timeout" if seen[-1].answered is None else "callback.retry-delays"
            self.broken(
                fact,
                f"attempt {missing} never came",
                f"after a failed attempt the target retries ({len(RETRY_DELAYS)} retries: 1 s, 2 s, 4 s)",
                f"{len(seen)} attempt(s), at {_times(seen)}",
                scenario.request,
            )


def unprobed(ledger: Ledger, target: str, reason: str) -> None:
    """Every callback fact of ``target`` not probed, for ``reason``."""
    for fact in catalogue():
        if fact.probe == "callbacks":
            ledger.unprobed(target, fact.name, reason)


def _next_due(attempt: Attempt, delay: float) -> float:
    """When the attempt after ``attempt`` is due: ``delay`` after it failed (a hang fails at the timeout)."""
    failed = attempt.answered if attempt.answered is not None else attempt.started + ATTEMPT_TIMEOUT
    return failed + delay


def _times(seen: list[Attempt]) -> str:
    if not seen:
        return "none"
    start = seen[0].started
    return ", ".join(f"+{attempt.started - start:.2f} s ({attempt.answer})" for attempt in seen)


def poller(client: Client) -> Callable[[str], dict[str, Any]]:
    def poll(task_id: str) -> dict[str, Any]:
        answer = client.get_task(task_id)
        body = parse_json(answer.content)
        if not isinstance(body, dict):
            raise ValueError(f"poll answered {answer.status_code}: {excerpt(answer.content, 120)}")
        return body

    return poll
