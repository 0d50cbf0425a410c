"""The probe sent before a run: real mocks on loopback (plain, key-guarded, admin-guarded, TLS),
and a port bound and closed here, so nothing listens on it.

A target that cannot be reached stops ``contract`` with one line and exit 2; under plain
pytest its connectivity test fails with that line and nothing else is sent.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract_tests._options import RunOptions
from contract_tests._probe import Probe, probe
from contract_tests._targets import targets_for
from tests.support.servers import ROOT, running


@pytest.fixture(scope="module")
def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tls_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``serve --tls``; yields its URL and the CA that signed its certificate."""
    ca = tmp_path_factory.mktemp("tls") / "ca.pem"
    with running("--tls", "--tls-ca-out", str(ca)) as url:
        yield url, ca


def _contract(*args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVOLINK_")}
    return subprocess.run(
        [sys.executable, "-m", "mock_server", "contract", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_probe__knows_the_default_mock_accepts_any_key() -> None:
    with running() as url:
        assert probe(url) == Probe(problem=None, mock_unknown_keys="allow")


def test_probe__knows_a_mock_with_keys_refuses_others() -> None:
    with running("--api-key", "sk-only") as url:
        assert probe(url) == Probe(problem=None, mock_unknown_keys="reject")


def test_probe__a_target_that_does_not_say_is_any_other_target() -> None:
    with running("--admin-token", "secret") as url:  # /__mock/health answers 401 without the token
        assert probe(url) == Probe(problem=None, mock_unknown_keys=None)


def test_probe__connection_refused(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    assert probe(url).problem == f"cannot reach {url}: connection refused"


def test_probe__untrusted_certificate_names_the_option(tls_mock: tuple[str, Path]) -> None:
    url, ca = tls_mock
    problem = probe(url).problem
    assert problem is not None
    assert problem.startswith(f"cannot reach {url}: certificate verify failed (")
    assert problem.endswith("): pass --ca-file PEM (the CA that signed it)")
    assert probe(url, ca_file=str(ca)) == Probe(problem=None, mock_unknown_keys="allow")


def test_probe__https_to_a_plain_http_port() -> None:
    with running() as url:
        https = url.replace("http://", "https://")
        assert (
            probe(https).problem
            == f"cannot reach {https}: TLS handshake failed: wrong version number (is it plain http?)"
        )


def test_contract__unreachable_target_stops_in_one_line(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    result = _contract("--base-url", url, "--api-key", "k")
    assert result.returncode == 2
    assert result.stderr == f"nanobanana-mock contract: cannot reach {url}: connection refused\n"
    assert result.stdout == ""


def test_contract__tls_without_ca_file_stops_in_one_line(tls_mock: tuple[str, Path]) -> None:
    url, _ = tls_mock
    result = _contract("--base-url", url, "--api-key", "k")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "certificate verify failed" in result.stderr
    assert "pass --ca-file PEM" in result.stderr


def test_pytest__unreachable_target_fails_one_test_in_one_line(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVOLINK_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "contract_tests", "--contract-base-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env | {"EVOLINK_API_KEY": "k"},
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert f"cannot reach {url}: connection refused" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "1 failed" in result.stdout
    assert "test_target_answers[live]" in result.stdout
    assert "test_operation" not in result.stdout  # nothing else was sent
    assert len(result.stdout.splitlines()) < 20, result.stdout


@pytest.mark.parametrize(
    ("found", "accepts_any_key", "noted"),
    [
        (Probe(mock_unknown_keys="allow"), True, True),
        (Probe(mock_unknown_keys="reject"), False, False),
        (Probe(), False, False),
    ],
)
def test_targets__judge_a_mock_by_the_keys_it_says_it_accepts(found: Probe, accepts_any_key: bool, noted: bool) -> None:
    options = RunOptions(base_url="http://127.0.0.1:8000", api_key="k")
    (target,) = targets_for(options, prober=lambda url, ca_file: found)
    assert target.accepts_any_key is accepts_any_key
    assert bool(target.notes) is noted


def test_targets__the_flag_needs_no_note() -> None:
    options = RunOptions(base_url="http://127.0.0.1:8000", api_key="k", accepts_any_key=True)
    (target,) = targets_for(options, prober=lambda url, ca_file: Probe(mock_unknown_keys="allow"))
    assert target.accepts_any_key and target.notes == ()


def test_targets__an_unreachable_target_is_sent_nothing() -> None:
    options = RunOptions(base_url="http://127.0.0.1:8000", api_key="k")
    (target,) = targets_for(options, prober=lambda url, ca_file: Probe(problem="cannot reach it: connection refused"))
    assert target.unreachable == "cannot reach it: connection refused"


def test_targets__no_probe_without_a_key() -> None:
    def refuse(url: str, ca_file: str | None) -> Probe:
        raise AssertionError("probed")

    (real,) = targets_for(RunOptions(with_mock=False), prober=refuse)
    assert real.skip_reason is not None and real.unreachable is None
