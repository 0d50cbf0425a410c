"""The report's other outputs: the facts table, the real-vs-mock comparison, the HTML one-pager
and the GitHub job summary.

The markdown report (``_report.render``) gains two sections here: "Facts" (each fact of the
catalogue, per target: held, broken or not probed, and why) and, when the target was
compared with the mock in-process, "Real API and mock disagree". The HTML page shows the
same verdict, facts and violations on one page; when ``$GITHUB_STEP_SUMMARY`` names a file
(GitHub Actions sets it) the markdown report is appended to it, so the job's summary page
shows it.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ._comparison import Disagreement
from ._ledger import BROKEN, HELD, UNPROBED, Ledger
from ._options import HTML_FILE
from ._report import Finding, Recorder
from ._target import Target

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
SUMMARY_LIMIT = 1_000_000
"""GitHub shows at most 1 MiB of a step's summary."""
MARK = {HELD: "held", BROKEN: "**broken**", UNPROBED: "not probed"}


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def facts_lines(ledger: Ledger, targets: Iterable[Target]) -> list[str]:
    """The "Facts" section: one table per checked target."""
    lines = ["## Facts", ""]
    for target in targets:
        if target.skip_reason or target.unreachable:
            lines += [f"### Facts of `{target.name}`: none probed ({target.skip_reason or target.unreachable})", ""]
            continue
        rows = ledger.for_target(target.name)
        counts = {state: sum(1 for _, verdict in rows if verdict.state == state) for state in (HELD, BROKEN, UNPROBED)}
        lines += [
            f"### Facts of `{target.name}`: {counts[HELD]} held, {counts[BROKEN]} broken, "
            f"{counts[UNPROBED]} not probed",
            "",
            "| Fact | Verdict | Why / what was seen | Source |",
            "|---|---|---|---|",
        ]
        for fact, verdict in rows:
            lines.append(f"| `{fact.name}` | {MARK[verdict.state]} | {_cell(verdict.detail)} | {_cell(fact.source)} |")
        lines.append("")
    return lines


def comparison_lines(found: Mapping[str, list[Disagreement]]) -> list[str]:
    """The "Real API and mock disagree" section (empty without a comparison)."""
    if not found:
        return []
    lines = ["## Real API and mock disagree", ""]
    for name, items in found.items():
        if not items:
            lines += [f"Target `{name}` and the mock in-process judged every probed fact alike.", ""]
            continue
        lines += [
            f"Target `{name}` against the mock in-process: {len(items)} fact(s) judged differently.",
            "",
            "| Fact | Target | Mock | What was seen | What should change |",
            "|---|---|---|---|---|",
        ]
        for item in items:
            lines.append(
                f"| `{item.fact}` | {item.target_verdict} | {item.mock_verdict} | {_cell(item.detail)} | "
                f"{_cell(item.advice)} |"
            )
        lines.append("")
    return lines


def _finding_html(number: int, finding: Finding) -> str:
    parts = [
        f"<h3>{number}. <code>{html.escape(finding.operation)}</code>: {html.escape(finding.title)}</h3>",
        "<ul>",
        f"<li>Check: <code>{html.escape(finding.check)}</code> ({html.escape(finding.severity)}), "
        f"target <code>{html.escape(finding.target)}</code>"
        + (f" (seen {finding.count} times)" if finding.count > 1 else "")
        + "</li>",
        f"<li>Spec/docs say: {html.escape(finding.expected)}</li>",
        f"<li>Target did: {html.escape(finding.actual)}</li>",
        "</ul>",
    ]
    if finding.curl:
        parts.append(f"<pre>{html.escape(finding.curl)}</pre>")
    return "\n".join(parts)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}tr.broken{background:#fde2e2}tr.held{background:#e6f4e6}
tr.unprobed{background:#f4f4f4}pre{background:#f6f8fa;padding:.5em;overflow-x:auto;white-space:pre-wrap}
.verdict-FAILED{color:#b00}.verdict-PASSED{color:#070}
"""


def render_html(
    verdict: str,
    summary: str,
    recorder: Recorder,
    ledger: Ledger,
    targets: Iterable[Target],
    found: Mapping[str, list[Disagreement]],
) -> str:
    """The one-page HTML report: verdict, facts per target, disagreements, violations."""
    body = [
        f'<h1 class="verdict-{verdict}">Contract report: {verdict}</h1>',
        f"<p>{html.escape(summary)}</p>",
    ]
    for target in targets:
        if target.skip_reason or target.unreachable:
            reason = html.escape(target.skip_reason or target.unreachable or "")
            body.append(f"<h2>Facts of <code>{html.escape(target.name)}</code></h2><p>None probed: {reason}</p>")
            continue
        rows = ledger.for_target(target.name)
        body.append(f"<h2>Facts of <code>{html.escape(target.name)}</code></h2>")
        body.append("<table><tr><th>Fact</th><th>Verdict</th><th>Why / what was seen</th><th>Source</th></tr>")
        for fact, verdict_of in rows:
            css = {HELD: "held", BROKEN: "broken", UNPROBED: "unprobed"}[verdict_of.state]
            body.append(
                f'<tr class="{css}"><td><code>{html.escape(fact.name)}</code></td><td>{verdict_of.state}</td>'
                f"<td>{html.escape(verdict_of.detail)}</td><td>{html.escape(fact.source)}</td></tr>"
            )
        body.append("</table>")
    for name, items in found.items():
        body.append(f"<h2>Target <code>{html.escape(name)}</code> and the mock disagree</h2>")
        if not items:
            body.append("<p>Every probed fact was judged alike.</p>")
        for item in items:
            body.append(
                f"<p><code>{html.escape(item.fact)}</code>: target {item.target_verdict}, mock "
                f"{item.mock_verdict}. {html.escape(item.detail)}. <em>{html.escape(item.advice)}</em></p>"
            )
    findings = sorted(recorder.findings.values(), key=lambda f: (f.target, f.operation, f.check, f.title))
    body.append("<h2>Violations</h2>")
    if not findings:
        body.append("<p>None found.</p>")
    body += [_finding_html(number, finding) for number, finding in enumerate(findings, 1)]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Contract report: '
        f"{verdict}</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_html(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HTML_FILE
    path.write_text(text, encoding="utf-8")
    return path


def write_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append the markdown report to ``$GITHUB_STEP_SUMMARY`` when it is set (cut to GitHub's limit)."""
    target = (os.environ if environ is None else environ).get(SUMMARY_ENV)
    if not target:
        return None
    text = markdown
    if len(text.encode("utf-8")) > SUMMARY_LIMIT:
        text = text.encode("utf-8")[: SUMMARY_LIMIT - 200].decode("utf-8", "ignore")
        text += "\n\n(cut to GitHub's summary limit: the full report is in the run's report folder)\n"
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return path
