"""Start-up time: from launching the server to its first 200 on ``GET /__mock/health``.

Median of N runs (default 5) of ``python3 -m mock_server serve``, against the bare
Starlette app of bench/bare_app.py started the same way in the same run. Target: < 1 s.

Usage: ``python3 bench/startup.py [--runs N]``
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import Proc, app_command, free_port, launch, mock_command, stop, wait_ready

TARGET_SECONDS = 1.0


def time_start(name: str) -> float:
    """Seconds from launch to the first 200, the server on a fresh free port each time."""
    port = free_port()
    command = mock_command(port) if name == "mock" else app_command("bare_app.py", port)
    start = time.perf_counter()
    proc: Proc = launch(command, core=None)
    try:
        wait_ready(proc, port, "/__mock/health", ok=lambda status: status == 200, timeout=30)
        return time.perf_counter() - start
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"mock": [], "bare": []}
    for _ in range(args.runs):
        for name, runs in times.items():  # interleaved, so drift hits both alike
            runs.append(time_start(name))
    for name, runs in times.items():
        shown = " ".join(f"{value:.3f}" for value in runs)
        print(f"{name:<5} median {statistics.median(runs):.3f} s  (runs: {shown})")
    mock, bare = statistics.median(times["mock"]), statistics.median(times["bare"])
    verdict = "met" if mock < TARGET_SECONDS else "NOT met"
    print(f"mock start-up {mock:.3f} s: target < {TARGET_SECONDS:g} s {verdict}")
    print(f"  {mock / bare:.2f}x the bare app's {bare:.3f} s")


if __name__ == "__main__":
    main()
