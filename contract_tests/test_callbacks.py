"""The target's callbacks, judged against the documented delivery rules (``--callbacks``; see ``_callbacks``).

Against a live target ``test_callbacks_start`` creates the two tasks early in the run, so
their callbacks come while the rest of the suite runs; ``test_callbacks`` at the end waits
for whatever is still due and judges. The mock in-process is checked at the end, on a twin
served on a loopback port, with its virtual clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contract_tests import _suite
from contract_tests._callback_receiver import Receiver
from contract_tests._callbacks import CallbackRun, poller, unprobed
from contract_tests._lifecycle import LIVE_TASK_LIMIT, poll_interval
from contract_tests._served_mock import served_mock
from contract_tests._target import Client, Target, is_loopback

NOT_ASKED = "callbacks not checked: pass --callbacks (pytest: --contract-callbacks)"


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def client_clock(client: Client) -> Callable[[], float]:
    """The mock's own clock, read over HTTP (its callbacks run on it)."""

    def now() -> float:
        return float(client.request("GET", client.url("/__mock/clock")).json()["now"])

    return now


def _unreachable(suite: _suite.Suite, target: Target) -> str | None:
    options = suite.options
    if target.in_process or is_loopback(target.base_url) or options.callback_public_url:
        return None
    return (
        f"the receiver on {options.callback_listen} cannot be reached from {target.base_url}: pass "
        "--callback-public-url URL (an https tunnel to --callback-listen)"
    )


def _run(suite: _suite.Suite, client: Client, *, virtual: bool) -> CallbackRun:
    options = suite.options
    clock = client_clock(client) if virtual else client.budget.now
    receiver = Receiver(
        clock=clock,
        poll=poller(client),
        listen=_listen(options.callback_listen),
        public_base=options.callback_public_url,
    )
    suite.closers.append(receiver.close)
    return CallbackRun(
        client,
        suite.ledger,
        suite.recorder,
        receiver,
        clock=clock,
        wait=client.advance if virtual else client.budget.wait,
        virtual=virtual,
        poll_every=1.0 if virtual else max(0.25, poll_interval(client.target.limits)),
        task_limit=3600.0 if virtual else LIVE_TASK_LIMIT,
    )


def _live_run(suite: _suite.Suite, target: Target) -> CallbackRun:
    """The run of a live target, made once (by whichever of the two tests comes first)."""
    if target.name not in suite.callback_runs:
        suite.callback_runs[target.name] = _run(suite, suite.client(target), virtual=False)
    return suite.callback_runs[target.name]


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_callbacks_start(name: str) -> None:
    suite = _suite.current()
    target = suite.target(name)
    if not suite.options.callbacks or target.in_process or _unreachable(suite, target):
        return  # judged (or skipped, saying why) by test_callbacks
    _live_run(suite, target).start()


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_callbacks(name: str) -> None:
    suite = _suite.current()
    if not suite.options.callbacks:
        pytest.skip(NOT_ASKED)
    target = suite.target(name)
    reason = _unreachable(suite, target)
    if reason is not None:
        unprobed(suite.ledger, name, reason)
        pytest.skip(reason)
    if target.in_process:
        # The in-process mock has no address a receiver could be called from: serve a twin of it.
        with served_mock(suite.options) as twin:
            run = _run(suite, twin, virtual=True)
            run.run()
    else:
        run = _live_run(suite, target)
        run.start()
        run.finish()
    if run.skipped:
        pytest.skip(run.skipped)
    if run.found:
        lines = "\n".join(f"- {v.title}: {v.actual}" for v in run.found)
        pytest.fail(f"{len(run.found)} callback promise(s) broken:\n{lines}", pytrace=False)
