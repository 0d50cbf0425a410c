"""Result-image throughput: requests per second and server CPU per image, against polls.

The mock runs as a subprocess (``--clock virtual --seed 1``) pinned to core 1. The bench
creates ``--tasks`` tasks (every size in turn), moves the clock past their end, reads each
task's result link from a poll, and then loads the server with wrk (one thread, core 0)
cycling through those links, so that each request asks for another task's image (one
repeated link would measure a cache). Polls of one task, loaded the same way in the same
run, are the reference. VmRSS is read before and after the image load: it must not grow
with the number of images served.

Usage: ``python3 bench/images.py [--tasks N] [--duration S] [--connections C] [--rounds N]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from urllib.parse import urlsplit

from _common import (
    CREATE_PATH,
    HEADERS,
    HOST,
    LOADGEN_CORE,
    Load,
    Proc,
    cpu_seconds,
    free_port,
    launch,
    loadgen_name,
    mock_command,
    request,
    rss_kib,
    run_load,
    stop,
    wait_ready,
    wrk_summary,
)

SIZES = ("1:1", "16:9", "9:16", "3:2", "2:3", "4:3", "3:4")


def completed_links(port: int, tasks: int) -> tuple[list[str], str]:
    """Paths of ``tasks`` completed tasks' result images, and one task id to poll."""
    ids = []
    for index in range(tasks):
        body = json.dumps({"model": "nano-banana-beta", "prompt": "a cat", "size": SIZES[index % len(SIZES)]})
        status, raw = request(port, "POST", CREATE_PATH, body)
        if status != 200:
            raise RuntimeError(f"create answered {status}: {raw[:200]!r}")
        ids.append(json.loads(raw)["id"])
    advance = json.dumps({"seconds": 60})
    status, raw = request(port, "POST", "/__mock/clock/advance", advance)
    if status != 200:
        raise RuntimeError(f"clock advance answered {status}: {raw[:200]!r}")
    paths = []
    for task_id in ids:
        status, raw = request(port, "GET", f"/v1/tasks/{task_id}")
        link = json.loads(raw)["results"][0]
        paths.append(urlsplit(link).path)
    return paths, ids[0]


def _wrk_cycle_script(paths: list[str]) -> str:
    """A wrk script asking for each path in turn (one counter per wrk thread), with the same
    ``BENCH requests micros errors p99_us`` summary as ``_common.wrk_script``."""
    listed = ",\n".join(json.dumps(path) for path in paths)
    return f"""
local paths = {{
{listed}
}}
local i = 0
wrk.headers["Authorization"] = {json.dumps(HEADERS["Authorization"])}
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d\\n", summary.requests, summary.duration,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(99.0)))
end
"""


def load_images(port: int, paths: list[str], seconds: float, connections: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_cycle_script(paths))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", script.name]
    proc = launch([*command, f"http://{HOST}:{port}/"], core=LOADGEN_CORE)
    try:
        proc.popen.wait(timeout=seconds + 60)
        return wrk_summary(proc.tail(50))
    finally:
        stop(proc)
        os.unlink(script.name)


def measured(pid: int, run: Load, cpu_before: float) -> Load:
    run.cpu = cpu_seconds(pid) - cpu_before
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=210, help="distinct images cycled through (default 210)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind, alternated (default 3)")
    args = parser.parse_args()
    if loadgen_name() != "wrk":
        raise SystemExit("bench/images.py needs wrk: apt-get install -y wrk")
    port = free_port()
    proc: Proc = launch(mock_command(port, "--clock", "virtual"))
    try:
        wait_ready(proc, port, "/__mock/health", ok=lambda status: status == 200)
        paths, task_id = completed_links(port, args.tasks)
        status, raw = request(port, "GET", paths[0])
        print(f"{len(paths)} links, e.g. {paths[0]} -> {status}, {len(raw)} bytes")
        rss = [rss_kib(proc.pid)]
        images: list[Load] = []
        polls: list[Load] = []
        for _ in range(args.rounds):
            before = cpu_seconds(proc.pid)
            images.append(measured(proc.pid, load_images(port, paths, args.duration, args.connections), before))
            rss.append(rss_kib(proc.pid))
            before = cpu_seconds(proc.pid)
            poll = run_load(
                port, "GET", f"/v1/tasks/{task_id}", None, seconds=args.duration, connections=args.connections
            )
            polls.append(measured(proc.pid, poll, before))
    finally:
        stop(proc)

    def row(name: str, loads: list[Load]) -> None:
        rate = statistics.median(load.rate for load in loads)
        cpu = statistics.median(load.cpu_us or 0.0 for load in loads)
        p99 = statistics.median(load.p99_ms or 0.0 for load in loads)
        errors = sum(load.errors for load in loads)
        print(f"| {name} | {rate:,.0f} | {cpu:,.1f} | {p99:.1f} | {errors} |")

    print(f"\nmedian of {args.rounds} runs of {args.duration:g} s, {args.connections} connections, wrk -t1")
    print("| request | req/s | server CPU-µs/req | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: |")
    row(f"result image ({len(paths)} tasks in turn)", images)
    row("poll (reference)", polls)
    served = sum(load.requests for load in images)
    after = ", ".join(f"{kib / 1024:.1f}" for kib in rss[1:])
    print(f"\nVmRSS: {rss[0] / 1024:.1f} MB before the image runs; after each: {after} MB ({served:,} images served)")
    print("(the request journal keeps the newest 10,000 calls, so RSS grows until it is full, then stays)")


if __name__ == "__main__":
    main()
