"""Findings of a run, and the markdown summary written next to the JUnit XML.

A ``Finding`` is one broken promise: the operation, what the spec or docs say, what the
target did, and a curl line reproducing it. The same finding seen many times (hypothesis
tries many inputs, and replays the smallest failing one last) is kept once, with the last
example seen and a count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from schemathesis.core.failures import CustomFailure, Failure

from ._curl import curl_line, masked, writes_keys
from ._failures import ContractViolation
from ._invariants import excerpt
from ._options import KEY_ENV, OTHER_KEY_ENV, REPORT_FILE
from ._target import Client, Target
from .checks import ANY_KEY_HINT, MADE_UP_KEY

PROMISES = {
    "not_a_server_error": "no request, valid or not, makes the service fail with a 5xx",
    "status_code_conformance": "every status answered is one the spec documents for the operation",
    "content_type_conformance": "answers use the media type the spec documents (application/json)",
    "response_headers_conformance": "documented response headers are present and well-formed",
    "response_schema_conformance": "the body matches the schema the spec gives for its status",
    "negative_data_rejection": "a request that breaks the request schema is refused with a 4xx",
    "positive_data_acceptance": "a request that satisfies the request schema is not refused as invalid",
    "ignored_auth": "a request without a valid Bearer key is refused with 401",
    "missing_required_header": "a request missing a required header is refused with a 4xx",
    "unsupported_method": "a method the spec does not list is answered 405 with an Allow header",
}


@dataclass
class Finding:
    target: str
    check: str
    operation: str
    title: str
    expected: str
    actual: str
    detail: str = ""
    curl: str = ""
    severity: str = "high"
    count: int = 1

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.target, self.check, self.operation, self.title)


def check_name(failure: Failure) -> str:
    if isinstance(failure, ContractViolation):
        return failure.check
    if isinstance(failure, CustomFailure):
        return failure.title.removeprefix("Custom check failed: ").strip("`")
    return failure.checks[0] if failure.checks else type(failure).__name__


def describe_answer(status: int, reason: str, content: bytes) -> str:
    return f"{status} {reason}: {excerpt(content) or '(empty body)'}"


@dataclass
class Outcome:
    nodeid: str
    outcome: str
    reason: str = ""


@dataclass
class Recorder:
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, finding: Finding) -> Finding:
        known = self.findings.get(finding.key)
        if known is not None:
            finding.count = known.count + 1
        self.findings[finding.key] = finding
        return finding

    def add_failure(self, target: Target, failure: Failure, answer: str, curl: str) -> Finding:
        """Record a schemathesis failure (built-in or ours); ``answer`` summarises what the target sent back."""
        if isinstance(failure, ContractViolation):
            expected, actual, detail = failure.expected, failure.actual, ""
        else:
            expected = PROMISES.get(check_name(failure), failure.title)
            actual, detail = answer, failure.message
        return self.add(
            Finding(
                target=target.name,
                check=check_name(failure),
                operation=failure.operation or "",
                title=failure.title,
                expected=expected,
                actual=actual,
                detail=detail,
                curl=curl,
                severity=failure.severity.value,
            )
        )

    def add_violation(self, target: Target, violation: ContractViolation, request: requests.PreparedRequest) -> Finding:
        return self.add_failure(target, violation, "", curl_line(request, target))


def accepted_any_key(findings: Iterable[Finding]) -> bool:
    """Whether a target accepted a made-up key: worth the hint that says how to declare it."""
    return any(f.check == "ignored_auth" or (f.check == "auth_required" and MADE_UP_KEY in f.title) for f in findings)


def _target_lines(target: Target, client: Client | None) -> Iterable[str]:
    where = "in-process (the mock, virtual clock)" if target.in_process else target.base_url
    yield f"### Target `{target.name}`: {where}"
    yield ""
    if target.skip_reason or target.unreachable:
        yield f"Not checked: {target.skip_reason or target.unreachable}."
        yield ""
        return
    if client is not None:
        spent = client.budget.summary()
        paid = f"{spent['paid_tasks']}" + (f" of at most {spent['max_paid_tasks']}" if spent["max_paid_tasks"] else "")
        rate = f"at most {spent['max_rate']:g}/s" if spent["max_rate"] else "unlimited rate"
        yield (
            f"- Budget: {paid} tasks created; {spent['requests']} requests ({rate}); "
            f"{spent['throttled']} answers 429; {spent['seconds']} s"
            + (f" of {spent['max_seconds']:g} s allowed" if spent["max_seconds"] else "")
        )
        if not writes_keys(target):
            keys = [(KEY_ENV, target.api_key), (OTHER_KEY_ENV, target.other_api_key)]
            used = ", ".join(f"`${name}` (the run used `{masked(key)}`)" for name, key in keys if key)
            if used:
                yield f"- Reproduce lines read the keys from {used}: set them before running a line"
        for observation in client.observations:
            yield f"- {observation}"
        for note in client.notes:
            yield f"- Not checked: {note}"
        for reason in sorted(set(client.budget.refused)):
            yield f"- Budget refused a request: {reason}"
    yield ""


def render(recorder: Recorder, targets: list[Target], clients: dict[str, Client], seed: int) -> str:
    findings = sorted(recorder.findings.values(), key=lambda f: (f.target, f.operation, f.check, f.title))
    counts = {outcome: sum(1 for o in recorder.outcomes if o.outcome == outcome) for outcome in ("passed", "failed")}
    skipped = [o for o in recorder.outcomes if o.outcome == "skipped"]
    verdict = "FAILED" if findings or counts["failed"] else "PASSED"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(recorder.started))
    lines = [
        f"# Contract report: {verdict}",
        "",
        f"{len(findings)} violation(s); {counts['passed']} test(s) passed, {counts['failed']} failed, "
        f"{len(skipped)} skipped. Seed {seed}. Started {started} UTC, "
        f"took {time.time() - recorder.started:.1f} s.",
        "",
        "## Targets",
        "",
    ]
    for target in targets:
        lines += list(_target_lines(target, clients.get(target.name)))
    lines += ["## Violations", ""]
    if not findings:
        lines += ["None found.", ""]
    if accepted_any_key(findings):
        lines += [f"A made-up key was accepted: {ANY_KEY_HINT}.", ""]
    for number, finding in enumerate(findings, 1):
        seen = f" (seen {finding.count} times)" if finding.count > 1 else ""
        lines += [
            f"### {number}. `{finding.operation}`: {finding.title}",
            "",
            f"- Check: `{finding.check}` ({finding.severity}), target `{finding.target}`{seen}",
            f"- Spec/docs say: {finding.expected}",
            f"- Target did: {finding.actual}",
        ]
        if finding.detail:
            lines += ["- Detail:", "", "  ```text", *[f"  {line}" for line in finding.detail.splitlines()], "  ```"]
        if finding.curl:
            lines += ["- Reproduce:", "", "  ```sh", f"  {finding.curl}", "  ```"]
        lines.append("")
    if skipped:
        lines += ["## Skipped", ""]
        lines += [f"- `{o.nodeid}`: {o.reason}" for o in skipped]
        lines.append("")
    failed = [o for o in recorder.outcomes if o.outcome == "failed"]
    if failed:
        lines += ["## Failed tests", ""] + [f"- `{o.nodeid}`" for o in failed] + [""]
    return "\n".join(lines)


def write_report(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_FILE
    path.write_text(text, encoding="utf-8")
    return path
