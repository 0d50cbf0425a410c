"""Starting the real CLI as a process on a free loopback port, and stopping it by its pid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNER = "nanobanana-mock listening on "


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``nanobanana-mock serve --port 0 ARGS``; return the process and its base URL."""
    return launch("serve", *args)


def launch(
    command: str, *args: str, stderr: Any = subprocess.DEVNULL, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start ``nanobanana-mock COMMAND --port 0 ARGS`` (``serve``, ``proxy``); the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", command, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    while line and not line.startswith(BANNER):
        line = process.stdout.readline()
    if not line.startswith(BANNER):
        stop(process)
        pytest.fail(f"the mock did not start: {line!r}")
    return process, json.loads(line.split("  ", 1)[1])["url"]


@contextmanager
def running(*args: str) -> Iterator[str]:
    process, url = start(*args)
    try:
        yield url
    finally:
        stop(process)
