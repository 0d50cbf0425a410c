"""The gauntlet's report: a table for people and a JSON document for machines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from .analysis import Behaviour
from .runner import GauntletOptions, ScenarioResult

COLUMNS = ("scenario", "exit", "time", "creates", "tasks", "polls", "interval", "after 429", "4xx again", "after end")
LEGEND = """\
exit: * = not what a well-behaved client gives here; killed = ran over the timeout
interval: median gap between two polls of a task
after 429: 429s received, median wait after one vs the pace before the storm (ok = waited Retry-After)
4xx again: calls repeated after a 400/401/402/403 answer, by status
after end: polls after a poll was answered completed or failed"""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _exit(behaviour: Behaviour) -> str:
    text = "killed" if behaviour.timed_out else str(behaviour.exit_code)
    return text + ("*" if behaviour.exit_as_expected is False else "")


def _after_429(behaviour: Behaviour) -> str:
    if not behaviour.rate_limited:
        return "-"
    verdict = "ok" if behaviour.honoured_retry_after else "TOO SOON"
    after, before = _seconds(behaviour.gap_after_429_s), _seconds(behaviour.gap_before_429_s)
    return f"{behaviour.rate_limited}x {after} vs {before} {verdict}"


def _row(result: ScenarioResult) -> list[str]:
    name = result.scenario.name
    behaviour = result.behaviour
    if behaviour is None:
        return [name, f"skipped: {result.skipped}", *[""] * (len(COLUMNS) - 2)]
    again = ", ".join(f"{status}x{count}" for status, count in behaviour.non_retryable_retries.items()) or "0"
    return [
        name,
        _exit(behaviour),
        f"{behaviour.total_time_s:.1f}s",
        str(behaviour.creates),
        str(behaviour.tasks_created),
        str(behaviour.polls),
        _seconds(behaviour.poll_interval_s),
        _after_429(behaviour),
        again,
        str(behaviour.polls_after_terminal),
    ]


def flag_counts(results: Sequence[ScenarioResult]) -> Counter[str]:
    """How many flags of each kind (cost, throttle, hang) the run raised."""
    return Counter(flag.kind for result in results if result.behaviour for flag in result.behaviour.flags)


def render_table(results: Sequence[ScenarioResult]) -> str:
    """The table, then one line per flag, then a summary line."""
    rows = [(result.behaviour is None, _row(result)) for result in results]
    measured = [list(COLUMNS), *(row for skipped, row in rows if not skipped)]
    widths = [max(len(row[index]) for row in measured) for index in range(len(COLUMNS))]
    widths[0] = max([widths[0], *(len(row[0]) for _, row in rows)])
    lines = []
    for skipped, row in [(False, list(COLUMNS)), *rows]:
        if skipped:
            lines.append(f"{row[0].ljust(widths[0])}  {row[1]}")
        else:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    lines.append("")
    flagged = [(r.scenario.name, flag) for r in results if r.behaviour for flag in r.behaviour.flags]
    for name, flag in flagged:
        lines.append(f"{name}: {flag.code} [{flag.kind}] {flag.detail}")
    for result in results:
        lines.extend(f"{result.scenario.name}: note: {note}" for note in result.notes)
    counts = flag_counts(results)
    ran = sum(result.behaviour is not None for result in results)
    scenarios_flagged = sum(bool(result.behaviour and result.behaviour.flags) for result in results)
    kinds = ", ".join(f"{kind} {counts[kind]}" for kind in ("cost", "throttle", "hang") if counts[kind]) or "none"
    lines.append(f"{ran} scenario(s) run, {scenarios_flagged} flagged; flags: {kinds}")
    lines.extend(["", LEGEND])
    return "\n".join(lines)


def to_json(
    results: Sequence[ScenarioResult], options: GauntletOptions, *, strict: bool, exit_code: int
) -> dict[str, Any]:
    """The report as one JSON-ready document (docs/gauntlet.md describes each member)."""
    scenarios: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for result in results:
        behaviour = result.behaviour.as_dict() if result.behaviour else None
        scenarios.append(
            {
                "name": result.scenario.name,
                "title": result.scenario.title,
                "expect": result.scenario.expect,
                "skipped": result.skipped,
                "behaviour": behaviour,
                "flags": [flag["code"] for flag in behaviour["flags"]] if behaviour else [],
                "notes": result.notes,
                "output_tail": result.output_tail,
            }
        )
        if result.behaviour:
            flags.extend({"scenario": result.scenario.name, **asdict(flag)} for flag in result.behaviour.flags)
    return {
        "command": list(options.command),
        "options": {key: value for key, value in asdict(options).items() if key != "command"},
        "strict": strict,
        "scenarios": scenarios,
        "flags": flags,
        "flag_counts": dict(flag_counts(results)),
        "exit_code": exit_code,
    }
