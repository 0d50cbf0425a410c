"""Memory growth per 100,000 live tasks (target < 100 MB), measured two ways.

1. Over HTTP: the mock as a subprocess (``--clock virtual --max-tasks 1000000``, so no task
   finishes or is evicted), VmRSS from /proc/PID/status after 1,000 warm-up creates and
   again after N more creates (wrk capped at N answers, or the Python load generator).
2. In process, with tracemalloc: the same creates sent straight to ``create_app()``'s ASGI
   app (no sockets), after the same warm-up; with the top allocation sites per task.

Usage: ``python3 bench/memory.py [--tasks N] [--warmup N] [--connections C]``
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tracemalloc

from _common import (
    CREATE_BODY,
    CREATE_PATH,
    ROOT,
    App,
    Proc,
    drive,
    free_port,
    launch,
    loadgen_name,
    mock_command,
    request,
    rss_kib,
    run_load,
    stop,
    wait_ready,
)

PER = 100_000
TARGET_MB = 100.0
WARMUP = 1_000


def live_tasks(port: int) -> int:
    status, raw = request(port, "GET", "/__mock/health")
    count: int = json.loads(raw)["tasks"]
    return count


def over_http(tasks: int, warmup: int, connections: int) -> float:
    """RSS growth in MB per ``PER`` tasks, the mock serving over HTTP."""
    port = free_port()
    proc: Proc = launch(mock_command(port, "--clock", "virtual", "--max-tasks", "1000000"))
    try:
        wait_ready(proc, port, "/__mock/health", ok=lambda status: status == 200)
        run_load(port, "POST", CREATE_PATH, CREATE_BODY, seconds=600, connections=connections, cap=warmup)
        before, count_before = rss_kib(proc.pid), live_tasks(port)
        load = run_load(port, "POST", CREATE_PATH, CREATE_BODY, seconds=600, connections=connections, cap=tasks)
        after, count_after = rss_kib(proc.pid), live_tasks(port)
    finally:
        stop(proc)
    created = count_after - count_before
    growth_mb = (after - before) * 1024 / 1e6
    rate = f"{load.rate:.0f} req/s, {load.errors} errors"
    print(f"over HTTP ({loadgen_name()}): {created} tasks in {load.seconds:.1f} s ({rate})")
    print(f"  VmRSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB: +{growth_mb:.1f} MB")
    return growth_mb * PER / created


def in_process(tasks: int, warmup: int) -> tuple[float, list[str]]:
    """tracemalloc growth in MB per ``PER`` tasks, creates sent straight to the ASGI app, and the
    top allocation sites."""
    sys.path.insert(0, str(ROOT))  # the working tree's mock_server, as ``python3 -m`` from ROOT runs it
    from mock_server.app import create_app
    from mock_server.settings import Settings

    app: App = create_app(Settings(seed=1, clock="virtual", max_tasks=1_000_000))
    body = CREATE_BODY.encode()
    drive(app, "POST", CREATE_PATH, body, warmup)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.take_snapshot()
        before, _ = tracemalloc.get_traced_memory()
        drive(app, "POST", CREATE_PATH, body, tasks)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
        top = tracemalloc.take_snapshot().compare_to(start, "lineno")[:8]
    finally:
        tracemalloc.stop()
    sites = [f"{stat.size_diff / tasks:7.1f} B/task  {stat.traceback[0]}" for stat in top]
    return (after - before) / 1e6 * PER / tasks, sites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=PER, help="tasks created after the warm-up")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="creates before the first reading")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    http_mb = over_http(args.tasks, args.warmup, args.connections)
    verdict = "met" if http_mb < TARGET_MB else "NOT met"
    print(f"  growth per {PER:,} tasks: {http_mb:.1f} MB (target < {TARGET_MB:g} MB: {verdict})")
    traced_mb, sites = in_process(args.tasks, args.warmup)
    print(f"in process (tracemalloc): {traced_mb:.1f} MB per {PER:,} tasks; top allocation sites:")
    for site in sites:
        print(f"  {site}")


if __name__ == "__main__":
    main()
