"""The contract suite, run the way users run it (``nanobanana-mock contract``), must catch real breaks.

Each broken service (``tests/support/broken_services.py``) breaks one promise and is served on a
loopback port; the suite must exit 1 and name the break in its report. The same command
against the real mock, started as its own process and serving HTTPS with a trustme
certificate (``serve --tls-cert/--tls-key``), must pass and stay inside its paid-task budget.
"""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import uvicorn

from tests.support import broken_services
from tests.support.servers import ROOT, running

EXPECTED = {
    "status_outside_enum": ("task_state_consistent", "Status outside the documented set"),
    "envelope_without_type": ("error_envelope", "Error envelope without `type`"),
    "progress_backwards": ("lifecycle", "Progress decreased"),
    "results_before_completion": ("task_state_consistent", "Results before completion"),
    "invalid_body_accepted": ("negative_data_rejection", "Schema-violating request accepted"),
    "server_error_on_input": ("not_a_server_error", "Server error"),
    "foreign_task_visible": ("foreign_task_invisible", "Another key's task is visible"),
}


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free loopback port, in a thread of this process."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="broken-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the broken service did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def contract(*args: str, keys: tuple[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``nanobanana-mock contract ARGS`` as a separate process, keys passed in its environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVOLINK_")}
    if keys is not None:
        env["EVOLINK_API_KEY"], env["EVOLINK_OTHER_API_KEY"] = keys
    return subprocess.run(
        [sys.executable, "-m", "mock_server", "contract", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("name", "check", "title"), [(name, *found) for name, found in EXPECTED.items()])
def test_contract__finds_the_broken_promise(name: str, check: str, title: str, tmp_path: Path) -> None:
    with serving(broken_services.build(name)) as url:
        result = contract(
            "--base-url",
            url,
            "--profile",
            "quick",
            "--max-minutes",
            "4",
            "--report",
            str(tmp_path),
            keys=(broken_services.OWNER, broken_services.OTHER),
        )
    report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert report.startswith("# Contract report: FAILED")
    assert f"Check: `{check}`" in report, report
    assert title in report, report
    assert "curl -sS -i -X" in report
    assert 'failures="0"' not in (tmp_path / "junit.xml").read_text(encoding="utf-8")


@pytest.fixture
def https_mock(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The mock as its own process (``serve``) over HTTPS with a trustme certificate; yields (URL, CA file)."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, chain, key = tmp_path / "ca.pem", tmp_path / "chain.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain.write_bytes(b"".join(blob.bytes() for blob in certificate.cert_chain_pems))
    certificate.private_key_pem.write_to_path(str(key))
    config = tmp_path / "accounts.yaml"
    config.write_text("unknown_keys: reject\naccounts:\n  sk-e2e-owner: {}\n  sk-e2e-other: {}\n", encoding="utf-8")
    tls = ("--tls-cert", str(chain), "--tls-key", str(key))
    with running("--task-duration", "2", "--seed", "3", "--config", str(config), *tls) as url:
        assert url.startswith("https://127.0.0.1:")
        yield url, ca_file


@pytest.mark.slow
def test_contract__passes_against_the_mock_over_https_within_budget(
    https_mock: tuple[str, Path], tmp_path: Path
) -> None:
    url, ca_file = https_mock
    report_dir = tmp_path / "report"
    result = contract(
        "--base-url",
        url,
        "--ca-file",
        str(ca_file),
        "--max-paid-tasks",
        "2",
        "--max-rate",
        "40",
        "--profile",
        "quick",
        "--max-minutes",
        "4",
        "--report",
        str(report_dir),
        keys=("sk-e2e-owner", "sk-e2e-other"),
    )
    report = (report_dir / "contract-report.md").read_text(encoding="utf-8")
    assert result.returncode == 0, report + result.stdout[-3000:] + result.stderr[-2000:]
    assert report.startswith("# Contract report: PASSED")
    assert "2 of at most 2 tasks created" in report
    trust = ssl.create_default_context(cafile=str(ca_file))
    tasks = httpx.get(f"{url}/__mock/tasks", timeout=10, verify=trust).json()
    assert tasks["count"] == 2
    assert {task["key"] for task in tasks["tasks"]} == {"sk-e2e-owner"}
    assert (report_dir / "junit.xml").is_file()


def test_contract__skips_the_real_api_without_a_key(tmp_path: Path) -> None:
    result = contract("--report", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "EVOLINK_API_KEY is not set" in result.stdout
    report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
    assert "### Target `real`: https://api.evolink.ai" in report
    assert "Not checked: EVOLINK_API_KEY is not set" in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--base-url", "ftp://127.0.0.1/"), "--base-url must be an http(s) URL"),
        (("--base-url", "http://127.0.0.1:9"), "--base-url needs a key"),
        (("--base-url", "http://127.0.0.1:9", "--api-key", "k", "--other-api-key", "k"), "must differ"),
    ],
)
def test_contract__refuses_bad_options(args: tuple[str, ...], message: str) -> None:
    result = contract(*args)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.slow
def test_contract__first_natural_run_against_a_default_serve_passes(tmp_path: Path) -> None:
    """``serve`` as it starts, then ``contract --base-url URL --api-key k``: the suite learns from
    ``/__mock/health`` that this mock accepts any key, and a second key's tasks don't confuse teardown."""
    with running() as url:
        result = contract(
            "--base-url",
            url,
            "--api-key",
            "k",
            "--other-api-key",
            "k2",
            "--profile",
            "quick",
            "--max-minutes",
            "4",
            "--report",
            str(tmp_path),
        )
    report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
    assert result.returncode == 0, report + result.stdout[-3000:] + result.stderr[-2000:]
    assert "the target is nanobanana-mock accepting any key" in report
    assert "- Lifecycle: " in report
    # What the run is doing, while it does it (the lifecycle waits for real tasks).
    assert f"contract: live: {url}: building test cases from the spec" in result.stdout
    assert "contract: live: lifecycle: creating tasks, polling each every 0.2 s or more" in result.stdout
    # A default task takes 10 s of real time: at least one count comes while the lifecycle waits.
    assert re.search(r"^contract: live: lifecycle: \d+ task\(s\) created, \d+ finished, \d+ polls", result.stdout, re.M)


def _violations(report: str) -> list[tuple[int, str]]:
    """(status the target answered, curl line) of each violation in a report."""
    found = []
    for block in report.split("\n### ")[1:]:
        did = re.search(r"^- Target did: (\d{3})", block, re.MULTILINE)
        curl = re.search(r"^  (curl .*)$", block, re.MULTILINE)
        if did and curl:
            found.append((int(did[1]), curl[1]))
    return found


@pytest.mark.slow
def test_contract__a_target_accepting_made_up_keys_is_told_how_to_declare_it(tmp_path: Path) -> None:
    # With an admin token the mock's /__mock/health answers 401: the suite cannot tell it is the mock.
    with running("--admin-token", "secret") as url:
        quick = ("--base-url", url, "--api-key", "k", "--profile", "quick", "-k", "auth")
        failing = contract(*quick, "--report", str(tmp_path))
        report = (tmp_path / "contract-report.md").read_text(encoding="utf-8")
        violations = _violations(report)
        replayed = [
            subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30, env={"PATH": os.defpath})
            for _, line in violations
        ]
        declared = contract(*quick, "--accepts-any-key")
    assert failing.returncode == 1, failing.stdout[-3000:]
    assert "hint: a made-up key was accepted: if the target accepts every key by design, as" in failing.stdout
    assert "--accepts-any-key" in report
    # Each reproduce line, run by a shell without any EVOLINK_* variable, gets the answer the report shows.
    assert violations
    for (status, line), result in zip(violations, replayed, strict=True):
        assert result.stdout.startswith(f"HTTP/1.1 {status}"), line + "\n" + result.stdout[:300] + result.stderr
    assert declared.returncode == 0, declared.stdout[-3000:]
