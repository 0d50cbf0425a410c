"""The target's callbacks, judged against the documented delivery rules (``--callbacks``; see ``_callbacks``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from contract_tests import _suite
from contract_tests._callback_receiver import Receiver
from contract_tests._callbacks import CallbackRun, poller, unprobed
from contract_tests._lifecycle import LIVE_TASK_LIMIT, poll_interval
from contract_tests._served_mock import served_mock
from contract_tests._target import Client, Target, is_loopback


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def _clients(target: Target) -> Iterator[tuple[Client, bool]]:
    """The client the callback checks use, and whether its clock is the mock's (virtual)."""
    suite = _suite.current()
    if target.in_process:
        # The in-process mock has no address a receiver could be called from: serve a twin of it.
        with served_mock(suite.options) as twin:
            yield twin, True
    else:
        yield suite.client(target), False


@pytest.mark.parametrize("name", [target.name for target in _suite.current().active()])
def test_callbacks(name: str) -> None:
    suite = _suite.current()
    options = suite.options
    if not options.callbacks:
        pytest.skip("callbacks not checked: pass --callbacks (pytest: --contract-callbacks)")
    target = suite.target(name)
    if not target.in_process and not is_loopback(target.base_url) and not options.callback_public_url:
        reason = (
            f"the receiver on {options.callback_listen} cannot be reached from {target.base_url}: pass "
            "--callback-public-url URL (an https tunnel to --callback-listen)"
        )
        unprobed(suite.ledger, name, reason)
        pytest.skip(reason)
    for client, virtual in _clients(target):
        clock = client_clock(client) if virtual else client.budget.now
        receiver = Receiver(
            clock=clock,
            poll=poller(client),
            listen=_listen(options.callback_listen),
            public_base=options.callback_public_url,
        )
        try:
            run = CallbackRun(
                client,
                suite.ledger,
                suite.recorder,
                receiver,
                clock=clock,
                wait=client.advance if virtual else client.budget.wait,
                virtual=virtual,
                poll_every=1.0 if virtual else max(0.25, poll_interval(target.limits)),
                task_limit=3600.0 if virtual else LIVE_TASK_LIMIT,
            )
            run.run()
        finally:
            receiver.close()
        if run.skipped:
            pytest.skip(run.skipped)
        if run.found:
            lines = "\n".join(f"- {v.title}: {v.actual}" for v in run.found)
            pytest.fail(f"{len(run.found)} callback promise(s) broken:\n{lines}", pytrace=False)


def client_clock(client: Client) -> Callable[[], float]:
    """The mock's own clock, read over HTTP (its callbacks run on it)."""

    def now() -> float:
        return float(client.request("GET", client.url("/__mock/clock")).json()["now"])

    return now
