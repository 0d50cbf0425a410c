"""Fuzzing a served mock: schemathesis with every check, then every admin listing still answers.

The run is part of the suite, reduced for CI; go deeper with variables:

    MOCK_FUZZ_EXAMPLES=1000 MOCK_FUZZ_PHASES=examples,coverage,fuzzing,stateful \\
        python3 -m pytest -q tests/test_fuzz.py

- ``MOCK_FUZZ_EXAMPLES``: examples per operation and phase (default 25).
- ``MOCK_FUZZ_PHASES``: schemathesis phases (default ``examples,fuzzing,stateful``; the
  ``coverage`` phase adds about 30 s here).
- ``MOCK_FUZZ_SEED``: the seed (default 1, so CI runs the same cases every time).

The mock runs as ``serve --api-key sk-fuzz``: with its default (any key works) the
``ignored_auth`` check reports, rightly, that a made-up key is accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import running

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-fuzz"
LISTINGS = ("requests", "tasks", "callbacks")
OTHER_ADMIN = ("/__mock/health", "/__mock/clock", "/__mock/rules", "/__mock/accounts")
POISON = (
    b'{"model": "nano-banana-beta", "prompt": "x", "seed": 18446744073709551616}',
    b'{"model": "nano-banana-beta", "prompt": "\\ud800"}',
    b"[" * 300 + b"]" * 300,
    b'{"model": "nano-banana-beta", "prompt": "x", "seed": 1e400}',
)

pytestmark = pytest.mark.slow


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} in an admin answer")

    return json.loads(text, parse_constant=refuse)


def _schemathesis() -> list[str]:
    """The CLI of the schemathesis installed beside this interpreter (not whatever ``st`` is on PATH)."""
    return [sys.executable, "-m", "schemathesis.cli"]


def _every_item(http: httpx.Client, name: str) -> int:
    """Walk a paged listing to its end; each page must answer 200 with strict JSON."""
    params: dict[str, Any] = {"limit": 1000}
    total = 0
    for _ in range(1000):
        answer = http.get(f"/__mock/{name}", params=params)
        assert answer.status_code == 200, f"/__mock/{name}: {answer.status_code} {answer.text[:300]}"
        page = _strict_json(answer.text)
        total += len(page[name])
        if page["next_cursor"] is None:
            return total
        params["cursor"] = page["next_cursor"]
    raise AssertionError(f"/__mock/{name} never reached its last page")


def test_fuzz__schemathesis_finds_nothing_and_every_admin_listing_still_answers(tmp_path: Path) -> None:
    examples = os.environ.get("MOCK_FUZZ_EXAMPLES", "25")
    phases = os.environ.get("MOCK_FUZZ_PHASES", "examples,fuzzing,stateful")
    seed = os.environ.get("MOCK_FUZZ_SEED", "1")
    with running("--api-key", KEY) as url:
        command = [
            *_schemathesis(),
            "run",
            f"{url}/openapi.json",
            "--url",
            url,
            "-H",
            f"Authorization: Bearer {KEY}",
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            phases,
            "--max-examples",
            examples,
            "--seed",
            seed,
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
        ]
        # Positive data keeps only pixel sizes their model accepts (tests/fuzz_hooks.py).
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(ROOT)}
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        with httpx.Client(base_url=url, timeout=30) as http:
            headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            for raw in POISON:
                assert http.post("/v1/images/generations", content=raw, headers=headers).status_code < 500
            counts = {name: _every_item(http, name) for name in LISTINGS}
            for path in OTHER_ADMIN:
                answer = http.get(path)
                assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
                _strict_json(answer.text)
    assert counts["requests"] > len(POISON)
