"""The proxy's findings in the contract suite's formats: its markdown report and JUnit XML.

The markdown is the suite's own (``contract_tests._report.render``): each violation with what
the spec says and what the target did, counted when seen again. Each API operation the proxy
saw is one test case, failed when any of its exchanges broke the contract.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from pathlib import Path

from contract_tests._options import JUNIT_FILE
from contract_tests._report import Finding, Outcome, Recorder, render, write_report
from contract_tests._target import Target

from .checker import REQUEST_SCHEMA
from .violations import Violation

TARGET_NAME = "proxy"


def findings_of(violations: list[Violation], started: float, operations: Mapping[str, bool]) -> Recorder:
    recorder = Recorder(started=started)
    for violation in violations:
        task = f", task {violation.task_id}" if violation.task_id else ""
        by_client = violation.side == "request"
        recorder.add(
            Finding(
                target=TARGET_NAME,
                check=violation.fact,
                operation=violation.operation,
                title=violation.title,
                expected=violation.expected,
                actual=f"(the client's request, not the target) {violation.actual}" if by_client else violation.actual,
                detail=f"exchange {violation.request_id}{task} (see GET /__mock/violations and the recording)",
                severity=violation.severity,
            )
        )
    for label, failed in sorted(operations.items()):
        recorder.outcomes.append(Outcome(f"{TARGET_NAME}::{label}", "failed" if failed else "passed"))
    return recorder


def junit_xml(recorder: Recorder) -> bytes:
    findings = list(recorder.findings.values())
    suite = ElementTree.Element(
        "testsuite",
        name="contract",
        tests=str(len(recorder.outcomes)),
        failures=str(sum(1 for o in recorder.outcomes if o.outcome == "failed")),
        time=f"{time.time() - recorder.started:.3f}",
    )
    for outcome in recorder.outcomes:
        label = outcome.nodeid.split("::", 1)[1]
        case = ElementTree.SubElement(suite, "testcase", classname=TARGET_NAME, name=label)
        for finding in findings:
            # A client's invalid request is reported in the markdown; it fails no test of the target.
            if finding.operation == label and finding.check != REQUEST_SCHEMA:
                failure = ElementTree.SubElement(
                    case, "failure", type=finding.check, message=f"{finding.title} (seen {finding.count} times)"
                )
                failure.text = f"Expected: {finding.expected}\nActual: {finding.actual}\n{finding.detail}"
    suites = ElementTree.Element("testsuites")
    suites.append(suite)
    return bytes(ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True))


def write_proxy_report(
    folder: Path, violations: list[Violation], *, target: str, started: float, operations: Mapping[str, bool]
) -> list[Path]:
    """Write ``contract-report.md`` and ``junit.xml`` into ``folder``; their paths."""
    recorder = findings_of(violations, started, operations)
    checked = Target(name=TARGET_NAME, base_url=target, api_key=None)
    markdown = write_report(folder, render(recorder, [checked], {}, 0))
    junit = folder / JUNIT_FILE
    junit.write_bytes(junit_xml(recorder))
    return [markdown, junit]
