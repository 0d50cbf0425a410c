"""Stopping the gauntlet (mock_server/gauntlet/runner.py): Ctrl-C or SIGTERM on
``nanobanana-mock gauntlet`` ends the client program's whole process group, not only itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.servers import ROOT

CLIENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(os.environ["PIDS_FILE"] + ".part", "w") as pids:
    pids.write(f"{os.getpid()} {child.pid}")
os.rename(os.environ["PIDS_FILE"] + ".part", os.environ["PIDS_FILE"])
time.sleep(120)
"""
WAIT = 20.0


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def bounded(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {WAIT:g} s")
        time.sleep(0.02)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_gauntlet__ends_the_client_and_its_children(tmp_path: Path, stop: signal.Signals) -> None:
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    pids_file = tmp_path / "pids"
    command = [sys.executable, "-m", "mock_server", "gauntlet", "--base-url-env", "BASE_URL"]
    command += ["--scenario", "happy", "--timeout", "120", "--", sys.executable, str(client)]
    gauntlet = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PIDS_FILE": str(pids_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        bounded(pids_file.exists, "the client did not start")
        pids = [int(pid) for pid in pids_file.read_text().split()]
        gauntlet.send_signal(stop)
        _, stderr = gauntlet.communicate(timeout=WAIT)
        client_pid, child_pid = pids
        bounded(lambda: not alive(client_pid) and not alive(child_pid), "the client's group did not end")
    finally:
        if gauntlet.poll() is None:
            gauntlet.kill()
            gauntlet.communicate()
        for pid in pids:  # never leave them behind, whatever happened
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert gauntlet.returncode == 128 + stop
    assert "the client's process group was ended" in stderr
    assert "Traceback" not in stderr
