"""The task lifecycle as a hypothesis state machine: create, poll, let time pass, check every answer.

Invariants, checked on every poll against everything seen before of the same task:
status only moves pending -> processing -> completed|failed; progress is an integer that
never decreases and is 100 when completed; ``results`` is present iff completed, and each
link downloads as an image; ``error`` is present iff failed, with a documented business
code; ``can_cancel`` is false once finished; another key never sees the task.

Time passes in one of two ways. In-process, the machine moves the mock's virtual clock
(``POST /__mock/clock/advance``), so a run takes milliseconds and hypothesis may shrink a
failure. Against a live target it polls each task densely, as often as the run's rate
allows (polls are free; a sparse sampler misses a regression that lasts a second), and at
teardown keeps polling every unfinished task until each has finished or is
``LIVE_TASK_LIMIT`` seconds old, inside the run's time budget. Such runs are never replayed
(each step would be sent, and maybe paid for, again), so violations are recorded and the
run goes on, and the test fails at the end. Real time is read from the budget's clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from hypothesis import seed as hypothesis_seed, strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    multiple,
    precondition,
    rule,
)

from evolink_spec import CREATE as CREATE_FACTS, TASK, TASK_PATH_PREFIX, TERMINAL_STATUSES, TaskStatus

from ._budget import Limits
from ._failures import BudgetExhausted, ContractViolation
from ._invariants import (
    created_violations,
    excerpt,
    parse_json,
    poll_violations,
    state_violations,
    task_id_violations,
)
from ._profiles import Profile, machine_settings
from ._progress import Progress
from ._report import Recorder
from ._target import Client
from .checks import foreign_answer_violation

POLL = TASK.label
CREATE = CREATE_FACTS.label
POLL_FLOOR = 0.2
"""Fewest seconds between two polls of one live task (the rate limit, when slower, decides)."""
LIVE_TASK_LIMIT = 600.0
"""Real seconds from its create a live task may take before it counts as never finishing (the docs estimate 45 s)."""
MOCK_STEP = 15.0
MOCK_TASK_LIMIT = 3600.0
"""Mock seconds an in-process task may take before it counts as never finishing."""
ADVANCES = (0.5, 1.0, 2.0, 5.0, 15.0)
MAX_TASKS = 3
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def poll_interval(limits: Limits) -> float:
    """Seconds between polls of one live task: as dense as the rate budget allows, never below ``POLL_FLOOR``."""
    return max(POLL_FLOOR, 1.0 / limits.max_rate) if limits.max_rate else POLL_FLOOR


@dataclass
class Tracked:
    id: str
    last: dict[str, Any]
    created_at: float
    """When the create was answered, on the budget's clock."""
    history: list[str] = field(default_factory=list)
    last_poll: float = -math.inf
    results_checked: bool = False
    lost: bool = False
    """The target stopped answering for the task (reported once); it is polled no more."""

    @property
    def finished(self) -> bool:
        return self.last.get("status") in TERMINAL_STATUSES

    @property
    def waiting(self) -> bool:
        return not self.finished and not self.lost

    def remember(self, body: dict[str, Any]) -> None:
        self.last = body
        seen = f"{body.get('status')} {body.get('progress')}"
        # Dense polling sees each state many times: the history keeps changes only.
        if not self.history or self.history[-1] != seen:
            self.history.append(seen)


@dataclass
class Sampling:
    """What the machine's runs against one target did, for progress lines and the report."""

    created: int = 0
    finished: int = 0
    polls: int = 0

    def line(self, interval: float | None) -> str:
        every = f", each task polled every {interval:g} s or more" if interval is not None else ""
        return f"{self.created} task(s) created, {self.finished} finished, {self.polls} polls{every}"


def is_image(content: bytes) -> bool:
    return content.startswith(IMAGE_SIGNATURES) or (content[:4] == b"RIFF" and content[8:12] == b"WEBP")


class LifecycleMachine(RuleBasedStateMachine):
    """Set ``client``, ``recorder`` and ``bodies`` on a subclass (``lifecycle_machine()`` does)."""

    client: ClassVar[Client]
    recorder: ClassVar[Recorder]
    bodies: ClassVar[st.SearchStrategy[Any]]
    found: ClassVar[list[ContractViolation]]
    progress: ClassVar[Progress]
    sampling: ClassVar[Sampling]

    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.tracked: dict[str, Tracked] = {}
        self.out_of_budget = False
        self.reported: set[tuple[str, str]] = set()
        """(task id, title) of violations already in ``found``: dense polls repeat them."""

    # -- rules ----------------------------------------------------------------------------

    @initialize(target=tasks, data=st.data())
    def create_first(self, data: st.DataObject) -> Any:
        return self._create(data.draw(self.bodies, label="body"))

    @precondition(lambda self: self.client.target.replayable and len(self.tracked) < MAX_TASKS)
    @rule(target=tasks, data=st.data())
    def create(self, data: st.DataObject) -> Any:
        return self._create(data.draw(self.bodies, label="body"))

    @rule(task_id=tasks)
    def poll(self, task_id: str) -> None:
        with self._budget() as allowed:
            if allowed:
                self._wait_for_turn(self.tracked[task_id])
                self._poll(self.tracked[task_id])

    @precondition(lambda self: self.client.target.clock_control)
    @rule(seconds=st.sampled_from(ADVANCES))
    def advance(self, seconds: float) -> None:
        self.client.advance(seconds)

    @precondition(lambda self: bool(self.client.target.other_api_key))
    @rule(task_id=tasks)
    def poll_as_other(self, task_id: str) -> None:
        with self._budget() as allowed:
            if not allowed:
                return
            answer = self.client.get_task(task_id, key=self.client.target.other_api_key)
            self._judge(answer.request, [v for v in [foreign_answer_violation(POLL, task_id, answer)] if v])
            if answer.status_code == 401:
                self.client.note("lifecycle: the other key was refused with 401, so isolation was not shown")

    def teardown(self) -> None:
        with self._budget() as allowed:
            if not allowed:
                return
            if self.client.target.clock_control:
                self._finish_in_mock_time()
            else:
                self._finish_in_real_time()

    # -- steps ----------------------------------------------------------------------------

    @contextmanager
    def _budget(self) -> Iterator[bool]:
        """Runs the block (``True``) until the budget runs out; then the machine only idles."""
        try:
            yield not self.out_of_budget
        except BudgetExhausted as exc:
            self.out_of_budget = True
            self.client.note(f"lifecycle: stopped early ({exc})")

    def _create(self, body: Any) -> Any:
        try:
            answer = self.client.create(body)
        except BudgetExhausted as exc:
            self.client.note(f"lifecycle: no task created ({exc})")
            return multiple()
        if answer.status_code != 200:
            if answer.status_code in (400, 422):
                self._judge(
                    answer.request,
                    [
                        ContractViolation(
                            check="lifecycle",
                            operation=CREATE,
                            title="Valid create body refused",
                            expected="a body that satisfies the request schema creates a task (200)",
                            actual=f"{answer.status_code}: {excerpt(answer.content)}",
                        )
                    ],
                )
            else:
                self.client.note(f"lifecycle: a create was answered {answer.status_code}: {excerpt(answer.content)}")
            return multiple()
        body_out = self._json(answer, CREATE)
        if body_out is None:
            return multiple()
        self._judge(
            answer.request,
            task_id_violations(CREATE, body_out)
            + created_violations(CREATE, body_out)
            + state_violations(CREATE, body_out, first_state=True),
        )
        task_id = body_out.get("id")
        if not isinstance(task_id, str):
            return multiple()
        task = Tracked(task_id, body_out, created_at=self.client.budget.now())
        task.remember(body_out)
        self.tracked[task_id] = task
        self.sampling.created += 1
        return task_id

    def _wait_for_turn(self, task: Tracked) -> None:
        if self.client.target.clock_control or task.finished:
            return
        due = task.last_poll + poll_interval(self.client.target.limits)
        self.client.budget.wait(max(0.0, due - self.client.budget.now()))

    def _poll(self, task: Tracked) -> None:
        answer = self.client.get_task(task.id)
        task.last_poll = self.client.budget.now()
        self.sampling.polls += 1
        self._tick()
        if answer.status_code == 429:
            self.client.note("lifecycle: a poll stayed throttled (429) after backing off")
            return
        if answer.status_code != 200:
            self._judge(
                answer.request,
                [
                    ContractViolation(
                        check="lifecycle",
                        operation=POLL,
                        title="Own task not answered",
                        expected="the key that created a task can query it (200) until it expires",
                        actual=f"{answer.status_code}: {excerpt(answer.content)}",
                    )
                ],
                task,
            )
            task.lost = True
            return
        body = self._json(answer, POLL)
        if body is None:
            return
        before = task.last
        task.remember(body)
        if task.finished and before.get("status") not in TERMINAL_STATUSES:
            self.sampling.finished += 1
        found = poll_violations(POLL, task.id, before, body)
        for violation in found:
            violation.message += f"\nStatuses seen: {' -> '.join(task.history)}"
        self._judge(answer.request, found, task)
        if body.get("status") == TaskStatus.COMPLETED and not task.results_checked:
            task.results_checked = True
            self._check_results(task, body)

    def _check_results(self, task: Tracked, body: dict[str, Any]) -> None:
        for url in body.get("results") or []:
            if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
                problem, request = f"link {url!r} is not an http(s) URL", None
            else:
                answer = self.client.download(url)
                request = answer.request
                media = answer.headers.get("content-type", "")
                if answer.status_code == 200 and media.startswith("image/") and is_image(answer.content):
                    continue
                problem = (
                    f"GET {url}: {answer.status_code}, Content-Type {media or 'none'}, {len(answer.content)} bytes"
                )
            violation = ContractViolation(
                check="lifecycle",
                operation=POLL,
                title="Result link not downloadable as an image",
                expected="each result link of a completed task downloads an image (links live 24 hours)",
                actual=problem,
            )
            self._judge(request or requests.Request("GET", str(url)).prepare(), [violation])

    def _finish_in_mock_time(self) -> None:
        waited = 0.0
        while waited < MOCK_TASK_LIMIT and not all(task.finished for task in self.tracked.values()):
            self.client.advance(MOCK_STEP)
            waited += MOCK_STEP
            for task in self.tracked.values():
                if task.waiting:
                    self._poll(task)
        for task in self.tracked.values():
            self._never_finished(task, f"after {waited:g} s of mock time")

    def _finish_in_real_time(self) -> None:
        """Poll every unfinished task, the least recently polled first, until each has finished
        or is ``LIVE_TASK_LIMIT`` seconds old; then judge the ones that never finished."""
        while True:
            now = self.client.budget.now()
            waiting = [t for t in self.tracked.values() if t.waiting and now - t.created_at < LIVE_TASK_LIMIT]
            if not waiting:
                break
            task = min(waiting, key=lambda t: t.last_poll)
            self._wait_for_turn(task)
            self._poll(task)
        now = self.client.budget.now()
        for task in self.tracked.values():
            self._never_finished(task, f"{now - task.created_at:.0f} s after it was created")

    def _never_finished(self, task: Tracked, when: str) -> None:
        if task.waiting:
            self._judge(
                requests.Request(
                    "GET", self.client.url(TASK_PATH_PREFIX + task.id), headers=self.client.auth()
                ).prepare(),
                [
                    ContractViolation(
                        check="lifecycle",
                        operation=POLL,
                        title="Task never finished",
                        expected="a task reaches completed or failed (the provider estimates 45 s)",
                        actual=f"still {task.last.get('status')} {when}; seen: {' -> '.join(task.history)}",
                    )
                ],
                task,
            )

    def _json(self, answer: requests.Response, operation: str) -> dict[str, Any] | None:
        try:
            body = parse_json(answer.content)
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        violation = ContractViolation(
            check="lifecycle",
            operation=operation,
            title="Task answer is not a JSON object",
            expected="a 200 answer is the task as a JSON object",
            actual=excerpt(answer.content),
        )
        self._judge(answer.request, [violation])
        return None

    def _tick(self) -> None:
        target = self.client.target
        if not target.clock_control:
            interval = poll_interval(target.limits)
            self.progress.tick(lambda: f"{target.name}: lifecycle: {self.sampling.line(interval)}")

    def _judge(
        self, request: requests.PreparedRequest, violations: list[ContractViolation], task: Tracked | None = None
    ) -> None:
        for violation in violations:
            self.recorder.add_violation(self.client.target, violation, request)
            seen = (task.id if task else "", violation.title)
            if seen not in self.reported:
                # The report counts every sighting; the test lists each broken promise once per task.
                self.reported.add(seen)
                self.found.append(violation)
        if violations and self.client.target.clock_control:
            raise violations[0]


def lifecycle_machine(
    client: Client, recorder: Recorder, bodies: st.SearchStrategy[Any], *, progress: Progress | None = None
) -> type[LifecycleMachine]:
    """A machine class bound to one target (hypothesis makes a fresh instance per run).

    Its ``sampling`` counts tasks and polls over every run; ``progress`` gets a line every few
    seconds against a live target."""
    return type(
        "Lifecycle",
        (LifecycleMachine,),
        {
            "client": client,
            "recorder": recorder,
            "bodies": bodies,
            "found": [],
            "progress": progress or Progress(),
            "sampling": Sampling(),
        },
    )


def run_lifecycle(machine: type[LifecycleMachine], profile: Profile, seed: int) -> list[ContractViolation]:
    """Run the machine as hypothesis would run a test; return the violations it recorded."""
    virtual_time = machine.client.target.clock_control
    # hypothesis leaves get_state_machine_test unannotated (it is the public run_state_machine_as_test's core).
    test = get_state_machine_test(  # type: ignore[no-untyped-call]
        machine, settings=machine_settings(profile, virtual_time=virtual_time)
    )
    hypothesis_seed(seed)(test)()
    return list(machine.found)
