"""The behaviours the gauntlet flags, by what they would cost with the real service:

    cost       recreated_task, retried_caller_fixable, retried_402
    throttle   hammered_after_429, polled_too_fast, polled_after_terminal, retried_4xx
    hang       timed_out

Any flag fails ``--strict``. The thresholds are here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analysis import Behaviour, Expectations, Observation

SLACK = 0.05
"""Seconds of timing slack: a client that sleeps exactly the asked time is measured a hair over it."""
DEFAULT_WAIT_AFTER_429 = 1.0
"""The least wait after a 429 that carries no Retry-After."""


@dataclass(frozen=True)
class Flag:
    code: str
    kind: str
    """``cost``, ``throttle`` or ``hang``."""
    detail: str


def raise_flags(behaviour: Behaviour, expectations: Expectations, observation: Observation) -> list[Flag]:
    """The flags one scenario's metrics raise, in a fixed order."""
    flags: list[Flag] = []
    if behaviour.recreated_needlessly:
        flags.append(
            Flag(
                "recreated_task",
                "cost",
                f"created {behaviour.recreated_needlessly} more task(s) while the previous one was still "
                "running or had completed (each one is paid)",
            )
        )
    if behaviour.recreated_after_caller_fixable:
        flags.append(
            Flag(
                "retried_caller_fixable",
                "cost",
                f"re-created {behaviour.recreated_after_caller_fixable} task(s) after a caller-fixable failure "
                "(the same request fails the same way)",
            )
        )
    retries = behaviour.non_retryable_retries
    if retries.get("402"):
        flags.append(Flag("retried_402", "cost", f"repeated a call refused with 402 {retries['402']} time(s)"))
    others = {status: count for status, count in retries.items() if status != "402"}
    if others:
        listed = ", ".join(f"{status} x{count}" for status, count in sorted(others.items()))
        flags.append(Flag("retried_4xx", "throttle", f"repeated calls refused for good ({listed})"))
    if behaviour.honoured_retry_after is False:
        wanted = expectations.retry_after if expectations.retry_after is not None else DEFAULT_WAIT_AFTER_429
        flags.append(
            Flag(
                "hammered_after_429",
                "throttle",
                f"called again {behaviour.gap_after_429_s} s (median) after a 429 that asked for {wanted:g} s",
            )
        )
    interval = behaviour.poll_interval_s
    if interval is not None and interval < expectations.min_poll_interval - SLACK:
        flags.append(
            Flag(
                "polled_too_fast",
                "throttle",
                f"polled every {interval:.3f} s (median); at most one poll per {expectations.min_poll_interval:g} s",
            )
        )
    if behaviour.polls_after_terminal:
        flags.append(
            Flag(
                "polled_after_terminal",
                "throttle",
                f"polled {behaviour.polls_after_terminal} more time(s) after a poll answered the final state",
            )
        )
    if observation.timed_out:
        limit = f"{observation.timeout:g} s" if observation.timeout is not None else "the timeout"
        what = "never gave up on the stuck task" if expectations.stuck else "did not finish"
        flags.append(Flag("timed_out", "hang", f"{what}: killed after {limit}"))
    return flags
