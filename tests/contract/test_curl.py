"""The report's curl lines, run by a real shell against a real mock: each must reproduce its request.

On loopback a key is a test key and is written as it was sent; off loopback the line reads
it from ``$EVOLINK_API_KEY`` and refuses to run without it (it would send no key and get a
401 that reproduces nothing).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import requests

from contract_tests._curl import curl_line, masked
from contract_tests._target import UNKNOWN_TASK_ID, Target
from tests.support.servers import running

KEY = "sk-curl-owner-0123456789"


@pytest.fixture(scope="module")
def strict_mock() -> Iterator[str]:
    """``serve --api-key KEY``: any other key (or none) answers 401, so a wrong key shows."""
    with running("--api-key", KEY) as url:
        yield url


def _shell(line: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("EVOLINK_")}
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30, env=clean | env)


def _query(url: str) -> requests.Request:
    return requests.Request("GET", f"{url}/v1/tasks/{UNKNOWN_TASK_ID}", headers={"Authorization": f"Bearer {KEY}"})


def test_curl_line__on_loopback_reproduces_without_any_variable(strict_mock: str) -> None:
    target = Target(name="live", base_url=strict_mock, api_key=KEY)
    result = _shell(curl_line(_query(strict_mock), target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 404"), result.stdout  # the key was accepted: 404, not 401


def test_curl_line__off_loopback_refuses_to_run_without_the_key(strict_mock: str) -> None:
    # A target the suite thinks is remote; the request itself went to the local mock.
    target = Target(name="live", base_url="https://api.example.test", api_key=KEY)
    line = curl_line(_query(strict_mock), target)
    assert KEY not in line
    unset = _shell(line)
    assert unset.returncode != 0
    assert "EVOLINK_API_KEY" in unset.stderr
    assert unset.stdout == ""  # nothing was sent
    given = _shell(line, EVOLINK_API_KEY=KEY)
    assert given.stdout.startswith("HTTP/1.1 404"), given.stdout + given.stderr


def test_curl_line__keeps_other_dollar_signs_literal(strict_mock: str) -> None:
    target = Target(name="live", base_url="https://api.example.test", api_key=KEY)
    request = requests.Request(
        "POST",
        f"{strict_mock}/v1/images/generations",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "X-Note": "$HOME"},
        data=b'{"model": "nano-banana-beta", "prompt": "$HOME `id`"}',
    )
    result = _shell(curl_line(request, target) + " --trace-ascii /dev/stderr", EVOLINK_API_KEY=KEY)
    assert "X-Note: $HOME" in result.stderr
    assert '"prompt": "$HOME `id`"' in result.stderr


def test_curl_line__head_does_not_wait_for_a_body(strict_mock: str) -> None:
    request = requests.Request("HEAD", f"{strict_mock}/openapi.json")
    result = _shell(curl_line(request, Target(name="live", base_url=strict_mock, api_key=KEY)) + " -m 10")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 ")


@pytest.mark.parametrize(
    ("key", "shown"),
    [("sk-abcdefghijklmnopqrstuvwxyz", "sk-…wxyz"), ("0123456789abcdefWXYZ", "…WXYZ"), ("sk-short", "…")],
)
def test_masked__tells_keys_apart_without_revealing_them(key: str, shown: str) -> None:
    assert masked(key) == shown
