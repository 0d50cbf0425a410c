"""Runs the client once per scenario, each time against a fresh mock on a free loopback
port (and a fresh callback receiver when asked), and collects what the mock journalled.

The client runs in its own process group with the mock's URL (and key, and receiver URL)
in its environment; when it runs over the timeout, or the gauntlet itself is stopped
(Ctrl-C, SIGTERM: ``Interrupted``), its group gets SIGTERM, then SIGKILL a second later.
Nothing but that group is ever signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..app import create_app, mock_of
from ..config import parse_config
from ..settings import Settings
from ..testing import CallbackReceiver, ThreadedServer
from .analysis import Behaviour, Expectations, Observation, analyse
from .recorder import AnswerRecorder
from .scenarios import Scenario

JOURNAL_CAPACITY = 100_000
"""Room for a client that polls as fast as it can for the whole timeout."""
OUTPUT_TAIL = 2000
KILL_GRACE = 1.0
SCENARIO_ENV = "NANOBANANA_MOCK_SCENARIO"
LOOPBACK = "127.0.0.1"


class CommandError(RuntimeError):
    """The client command could not be started at all."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached the gauntlet while it ran (a BaseException, as
    KeyboardInterrupt is, so that no ``except Exception`` swallows it on the way out)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def interruptible() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise ``Interrupted`` (main thread only), so that the
    client's process group is ended on the way out instead of being left running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class GauntletOptions:
    """How to run the client. ``command`` is argv; the ``*_env`` names are the variables
    that carry the mock's base URL, the API key and the callback receiver's URL."""

    command: Sequence[str]
    base_url_env: str
    api_key_env: str | None = None
    api_key: str = "sk-gauntlet"
    callback_url_env: str | None = None
    timeout: float = 20.0
    task_duration: float = 2.0
    min_poll_interval: float = 1.0
    seed: int = 1


@dataclass
class ScenarioResult:
    scenario: Scenario
    behaviour: Behaviour | None = None
    skipped: str | None = None
    output_tail: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Exit:
    code: int | None
    timed_out: bool
    output: str


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the client's process group (the client is its leader, not yet reaped)."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_client(command: Sequence[str], env: dict[str, str], timeout: float) -> _Exit:
    """Run ``command`` to its end or to ``timeout`` seconds; ``CommandError`` if it cannot start."""
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(
                list(command),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise CommandError(f"cannot start {command[0]!r}: {error.strerror or error}") from None
        timed_out = False
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _end_group(process)
        except BaseException:  # Ctrl-C or SIGTERM on the gauntlet: the client's group goes too
            _end_group(process)
            raise
        output.seek(0)
        tail = output.read()[-OUTPUT_TAIL:].decode("utf-8", errors="replace")
    return _Exit(process.returncode, timed_out, tail)


def _expectations(scenario: Scenario, options: GauntletOptions) -> Expectations:
    return Expectations(
        expect=scenario.expect,
        retry_after=scenario.retry_after,
        stuck=scenario.stuck,
        min_poll_interval=options.min_poll_interval,
    )


def _listing(admin: httpx.Client, name: str) -> list[dict[str, Any]]:
    """Every item of a paged admin listing, oldest first."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        answer = admin.get(f"/__mock/{name}", params=params).raise_for_status().json()
        pages.append(answer[name])
        if answer.get("next_cursor") is None:
            return [item for page in reversed(pages) for item in page]
        params["cursor"] = answer["next_cursor"]


def _journals(base_url: str) -> dict[str, list[dict[str, Any]]]:
    with httpx.Client(base_url=base_url, timeout=30) as admin:
        return {name: _listing(admin, name) for name in ("requests", "tasks", "callbacks")}


def run_scenario(scenario: Scenario, options: GauntletOptions) -> ScenarioResult:
    """One run of the client against a fresh mock configured for ``scenario``."""
    if scenario.needs_callback and not options.callback_url_env:
        return ScenarioResult(scenario, skipped="needs --callback-url-env")
    settings = Settings(
        host=LOOPBACK,
        seed=options.seed,
        task_duration=scenario.task_duration if scenario.task_duration is not None else options.task_duration,
        journal_capacity=JOURNAL_CAPACITY,
        allow_callback_hosts=(LOOPBACK,),
    )
    app = create_app(settings, config=parse_config(scenario.config, f"scenario {scenario.name}"))
    mock = mock_of(app)
    receiver = CallbackReceiver(LOOPBACK) if options.callback_url_env else None
    recorder = AnswerRecorder(app, mock.clock)
    server = ThreadedServer(host=LOOPBACK).start()
    server.mount(recorder)
    try:
        env = {**os.environ, options.base_url_env: server.url, SCENARIO_ENV: scenario.name}
        if options.api_key_env:
            env[options.api_key_env] = options.api_key
        if options.callback_url_env and receiver is not None:
            env[options.callback_url_env] = receiver.url
        started = mock.clock.now()
        client = run_client(options.command, env, options.timeout)
        ended = mock.clock.now()
        journals = _journals(server.url)
    finally:
        # The threaded server runs no lifespan: end callback deliveries here, then stop.
        server.run(mock.callbacks.aclose())
        server.stop()
        if receiver is not None:
            receiver.close()
    observation = Observation(
        exit_code=client.code,
        timed_out=client.timed_out,
        started_at=started,
        ended_at=ended,
        timeout=options.timeout,
        answers=list(recorder.answers),
        **journals,
    )
    notes = []
    if len(journals["requests"]) >= JOURNAL_CAPACITY:
        notes.append(f"the journal kept only the newest {JOURNAL_CAPACITY} requests: counts are lower bounds")
    behaviour = analyse(observation, _expectations(scenario, options))
    return ScenarioResult(scenario, behaviour, output_tail=client.output, notes=notes)


def run_gauntlet(
    scenarios: Sequence[Scenario],
    options: GauntletOptions,
    on_result: Callable[[int, ScenarioResult, float], None] | None = None,
) -> list[ScenarioResult]:
    """Every scenario in turn; ``on_result(index, result, seconds)`` after each.
    ``CommandError`` stops the run at the first scenario that cannot start the command;
    ``Interrupted`` when a signal stops it (the client's process group is ended first)."""
    results = []
    with interruptible():
        for index, scenario in enumerate(scenarios):
            began = time.monotonic()
            result = run_scenario(scenario, options)
            results.append(result)
            if on_result is not None:
                on_result(index, result, time.monotonic() - began)
    return results
