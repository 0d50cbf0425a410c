"""The pytest side of the suite: options, the run's ``Suite``, test order, and the report.

Loaded by ``contract_tests/conftest.py``. The ``contract`` command passes its options as a
plugin object (``OptionsPlugin``) instead of command-line flags, so keys never appear in
``sys.argv``; plain pytest reads ``--contract-*`` flags and the environment.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import pytest

from . import _suite
from ._catalogue import catalogue
from ._ledger import facts_of
from ._lifecycle import poll_interval
from ._options import DEFAULT_CALLBACK_LISTEN, JUNIT_FILE, OptionsPlugin, RunOptions
from ._outputs import comparison_lines, facts_lines, render_html, write_html, write_step_summary
from ._report import Outcome, accepted_any_key, render, write_report
from ._target import Target
from .checks import ANY_KEY_HINT

PACKAGE_DIR = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "EvoLink contract suite (keys: EVOLINK_API_KEY, EVOLINK_OTHER_API_KEY)")
    group.addoption("--contract-base-url", help="check this target instead of the mock in-process and the real API")
    group.addoption("--contract-ca-file", help="PEM bundle to trust for HTTPS")
    group.addoption(
        "--contract-max-paid-tasks", type=int, help="most tasks the run may create (default 2 off loopback)"
    )
    group.addoption("--contract-max-minutes", type=float, help="time bound of the run (default 15)")
    group.addoption("--contract-max-rate", type=float, help="most requests per second (default 2 off loopback)")
    group.addoption("--contract-report", help="write contract-report.md (and junit.xml) into this folder")
    group.addoption("--contract-profile", help="quick, default or deep (a target off loopback always runs live)")
    group.addoption("--contract-seed", type=int, help="seed of every generator, to replay a run")
    group.addoption("--contract-exclude-checks", default="", help="comma-separated checks to turn off")
    group.addoption("--contract-accepts-any-key", action="store_true", help="skip the made-up-key probes")
    group.addoption("--contract-callbacks", action="store_true", help="check callbacks with the suite's receiver")
    group.addoption("--contract-callback-listen", default=DEFAULT_CALLBACK_LISTEN, help="HOST:PORT of the receiver")
    group.addoption("--contract-callback-public-url", help="the URL the target calls to reach the receiver")
    group.addoption(
        "--contract-compare-with-mock", action="store_true", default=None, help="compare edge verdicts with the mock"
    )


def _options_from(config: pytest.Config) -> RunOptions:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, OptionsPlugin):
            return plugin.options
    report = config.getoption("contract_report")
    seed = config.getoption("contract_seed")
    return RunOptions(
        base_url=config.getoption("contract_base_url"),
        ca_file=config.getoption("contract_ca_file"),
        max_paid_tasks=config.getoption("contract_max_paid_tasks"),
        max_minutes=config.getoption("contract_max_minutes"),
        max_rate=config.getoption("contract_max_rate"),
        report_dir=Path(report) if report else None,
        profile=config.getoption("contract_profile"),
        exclude_checks=tuple(name.strip() for name in config.getoption("contract_exclude_checks").split(",") if name),
        accepts_any_key=config.getoption("contract_accepts_any_key"),
        callbacks=config.getoption("contract_callbacks"),
        callback_listen=config.getoption("contract_callback_listen"),
        callback_public_url=config.getoption("contract_callback_public_url"),
        compare_with_mock=config.getoption("contract_compare_with_mock"),
        **({"seed": seed} if seed is not None else {}),
    ).with_environment()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract_target(name): the target a contract test checks")
    config.addinivalue_line("markers", "real_api: talks to the real EvoLink API (needs EVOLINK_API_KEY)")
    options = _options_from(config)
    if options.report_dir is not None and not config.getoption("xmlpath", None):
        # JUnit XML beside the markdown, unless the caller chose a path (runs before junitxml's own hook).
        config.option.xmlpath = str(options.report_dir / JUNIT_FILE)
    # Test modules build their tests from the suite when imported: a second run in the
    # same process (tests of this package) must import them afresh.
    for name in [name for name in sys.modules if name.startswith("contract_tests.test_")]:
        del sys.modules[name]
    suite = _suite.start(options)
    suite.progress.sink = _terminal_sink(config)


def _terminal_sink(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines through pytest's terminal, each on a line of its own (after ``-q``'s dots too)."""

    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        # Inside a test pytest captures the terminal's file descriptor: lift it, as live logging does.
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            writer = getattr(reporter, "_tw", None)
            if writer is not None and writer.width_of_current_line:
                reporter.write("\n")
            reporter.write_line(line)
            reporter.flush()

    return write


def _stage(nodeid: str) -> int:
    """The phase of a run a test belongs to (``_stage_line`` names each)."""
    if "test_examples" in nodeid or "test_target" in nodeid or "test_auth" in nodeid:
        return 0
    if "test_callbacks_start" in nodeid:
        return 1
    if "test_edges_refused" in nodeid:
        return 2
    if "test_operation" in nodeid and "-negative]" in nodeid:
        return 3
    if "test_operation" in nodeid and "POST" not in nodeid:
        return 4
    if "test_lifecycle" in nodeid:
        return LIFECYCLE_STAGE
    if "test_edges_accepted" in nodeid:
        return 7
    if "test_callbacks" in nodeid:
        return 8
    if "test_family" in nodeid:
        return 9  # spends what the budget has left, so it runs last
    return 6


LIFECYCLE_STAGE = 5


def _stage_line(stage: int, target: Target) -> str:
    """What a live target's run is doing in ``stage``, for the progress line when it starts."""
    if stage == LIFECYCLE_STAGE:
        every = poll_interval(target.limits)
        return f"lifecycle: creating tasks, polling each every {every:g} s or more until it finishes"
    return (
        "connectivity and auth probes",
        "callbacks: creating two tasks that call the suite's receiver (judged at the end)",
        "edges: probes just outside each documented limit, each must be refused",
        "negative data: invalid requests, each must be refused",
        "positive data: task queries",
        "",
        "positive data: creates",
        "edges: probes just inside each documented limit, sharing creates",
        "callbacks: the receiver failed on purpose; judging the attempts",
        "the image family: each model's limits from both sides",
    )[stage]


def _rank(item: pytest.Item) -> tuple[int, int]:
    """Order that spends a paid-task budget last: free requests first, then the lifecycle, then
    accepted creates. Targets stay in the order they were listed."""
    suite = _suite.current()
    names = [target.name for target in suite.targets]
    target = item.get_closest_marker("contract_target")
    position = names.index(target.args[0]) if target and target.args[0] in names else -1
    return (position, _stage(item.nodeid))


def _is_ours(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().is_relative_to(PACKAGE_DIR)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each of the suite's tests with its target, and order them; other tests keep their places."""
    places = [index for index, item in enumerate(items) if _is_ours(item)]
    ours = [items[index] for index in places]
    for item in ours:
        name = _target_name(item)
        if name is None:
            continue
        item.add_marker(pytest.mark.contract_target(name))
        if name == "real":
            item.add_marker(pytest.mark.real_api)
    _suite.current().nodeids.update(item.nodeid for item in ours)
    for index, item in zip(places, sorted(ours, key=_rank), strict=True):
        items[index] = item


def _target_name(item: pytest.Item) -> str | None:
    target = _target_of(item.nodeid)
    return target.name if target else None


def _target_of(nodeid: str) -> Target | None:
    for target in _suite.current().targets:
        if f"[{target.name}-" in nodeid or f"[{target.name}]" in nodeid:
            return target
    return None


def pytest_collection(session: pytest.Session) -> None:
    """Say what the silent seconds of collection are (schemathesis builds its cases then)."""
    suite = _suite.current()
    for target in suite.active():
        if not target.in_process:
            suite.progress.say(f"{target.name}: {target.base_url}: building test cases from the spec")
            for note in target.notes:
                suite.progress.say(f"{target.name}: not checked: {note}")


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    suite = _suite.current()
    target = _target_of(nodeid) if nodeid in suite.nodeids else None
    if target is None or target.in_process or target not in suite.active():
        return
    stage = _stage(nodeid)
    if suite.phases.get(target.name) != stage:
        suite.phases[target.name] = stage
        suite.progress.say(f"{target.name}: {_stage_line(stage, target)}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    suite = _suite.current()
    if report.nodeid not in suite.nodeids:
        return
    recorder = suite.recorder
    if report.when == "call" or (report.when == "setup" and not report.passed):
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        recorder.outcomes.append(Outcome(report.nodeid, report.outcome, reason))


NOT_REACHED = "not reached in this run (deselected with -k, or the run stopped first)"
NO_CALLBACKS = "callbacks not checked: pass --callbacks (pytest: --contract-callbacks)"


def settle_facts(suite: _suite.Suite) -> None:
    """Give every fact of every target a verdict, from the probes and the run's findings."""
    for target in suite.targets:
        reason = target.skip_reason or target.unreachable
        ran = False
        if reason is None:
            ran = any(
                outcome.outcome != "skipped" and _target_of(outcome.nodeid) is target
                for outcome in suite.recorder.outcomes
            )
        if not suite.options.callbacks:
            for fact in catalogue():
                if fact.probe == "callbacks":
                    suite.ledger.unprobed(target.name, fact.name, NO_CALLBACKS)
        broken = [(f.check, f.title, f.actual) for f in suite.recorder.findings.values() if f.target == target.name]
        suite.ledger.settle(target.name, broken, ran, reason or NOT_REACHED)


def full_report(suite: _suite.Suite) -> str:
    """The markdown report: ``_report.render`` plus the facts table and the comparison."""
    text = render(
        suite.recorder,
        suite.targets,
        suite.clients,
        suite.options.seed,
        facts_of=lambda finding: facts_of(finding.check, finding.title, finding.actual),
    )
    extra = facts_lines(suite.ledger, suite.targets) + comparison_lines(suite.disagreements)
    return text.rstrip("\n") + "\n\n" + "\n".join(extra)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    suite = _suite.current()
    try:
        settle_facts(suite)
        text = full_report(suite)
        if suite.options.report_dir is not None:
            path = write_report(suite.options.report_dir, text)
            session.config.stash[_REPORT_KEY] = str(path)
            heading = text.split("\n", 3)
            verdict = "FAILED" if heading[0].endswith("FAILED") else "PASSED"
            write_html(
                suite.options.report_dir,
                render_html(verdict, heading[2], suite.recorder, suite.ledger, suite.targets, suite.disagreements),
            )
        write_step_summary(text)
    finally:
        suite.close()


_REPORT_KEY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    suite = _suite.current()
    findings = list(suite.recorder.findings.values())
    terminalreporter.section("contract suite")
    for target in suite.targets:
        if target.skip_reason or target.unreachable:
            terminalreporter.write_line(f"{target.name}: not checked: {target.skip_reason or target.unreachable}")
            continue
        client = suite.clients.get(target.name)
        spent = client.budget.summary() if client else {}
        found = [f for f in findings if f.target == target.name]
        terminalreporter.write_line(
            f"{target.name}: {len(found)} violation(s); {spent.get('requests', 0)} requests, "
            f"{spent.get('paid_tasks', 0)} tasks created"
        )
        for finding in sorted(found, key=lambda f: (f.operation, f.check)):
            terminalreporter.write_line(f"  - {finding.operation}: {finding.check}: {finding.title}")
        if accepted_any_key(found):
            terminalreporter.write_line(f"  hint: a made-up key was accepted: {ANY_KEY_HINT}")
    path = terminalreporter.config.stash.get(_REPORT_KEY, None)
    if path:
        terminalreporter.write_line(f"report: {path}")
