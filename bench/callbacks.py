"""Callback delivery under load: 1,000 tasks whose receiver fails each first attempt.

Every task must get exactly its 2 attempts (the failure, then the retry 1 s later). The
benchmark prints how late attempts start against their schedule (p50/p99/max, from the
mock's own journal, and the retry gap the receiver saw) and the API's poll throughput
while deliveries run against the same load without them.

Processes, all on 127.0.0.1 and ended by pid: the mock (real clock, core 1), a receiver
(this script's ``receiver`` mode, core 0) and the load generator (wrk if installed, core 0).

Usage: ``python3 bench/callbacks.py [--tasks N] [--spread S] [--duration S] [--connections N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import defaultdict
from typing import Any

from _common import (
    HEADERS,
    HOST,
    LOADGEN_CORE,
    Load,
    create_task,
    free_port,
    launch,
    loadgen_name,
    mock_command,
    request,
    run_load,
    stop,
    wait_ready,
)

TARGET_P99_MS = 50.0
TASK_DURATION = 1.0  # mock seconds before the first task finishes


# -- the receiver (a subprocess) --------------------------------------------------------------


def receiver_main(port: int) -> None:
    """Answer 500 to the first call for each task id and 200 afterwards; GET /stats tells all."""
    arrivals: dict[str, list[float]] = defaultdict(list)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            raw = await reader.readexactly(int(match.group(1)) if match else 0)
            if head.startswith(b"GET /stats"):
                payload = json.dumps(arrivals).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
            else:
                task_id = json.loads(raw)["id"]
                arrivals[task_id].append(time.monotonic())
                status = b"500 Internal Server Error" if len(arrivals[task_id]) == 1 else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, HOST, port, backlog=4096)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


# -- creating the tasks -------------------------------------------------------------------------


async def _create_on(port: int, bodies: list[tuple[float, str]], started: dict[str, tuple[float, float]]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while bodies:
            duration, payload = bodies.pop()
            data = payload.encode()
            lines = [
                "POST /v1/images/generations HTTP/1.1",
                f"Host: {HOST}:{port}",
                *(f"{k}: {v}" for k, v in HEADERS.items()),
                f"Prefer: task-duration={duration:.4f}",
                f"Content-Length: {len(data)}",
            ]
            sent = time.monotonic()
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            answer = await reader.readexactly(int(match.group(1)) if match else 0)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"create answered {head[:20]!r}: {answer[:200]!r}")
            started[json.loads(answer)["id"]] = (sent, duration)
    finally:
        writer.close()


def create_tasks(port: int, hook: str, count: int, spread: float) -> dict[str, tuple[float, float]]:
    """Create ``count`` tasks whose durations spread their ends over ``spread`` seconds."""
    payload = json.dumps({"model": "nano-banana-beta", "prompt": "a cat", "callback_url": hook})
    bodies = [(TASK_DURATION + spread * index / count, payload) for index in range(count)]
    bodies.reverse()
    started: dict[str, tuple[float, float]] = {}

    async def run() -> None:
        await asyncio.gather(*(_create_on(port, bodies, started) for _ in range(8)))

    asyncio.run(run())
    return started


# -- measuring ------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def journal(port: int) -> list[dict[str, Any]]:
    status, raw = request(port, "GET", "/__mock/callbacks", timeout=30)
    if status != 200:
        raise RuntimeError(f"journal answered {status}")
    entries: list[dict[str, Any]] = json.loads(raw)["callbacks"]
    return entries


def wait_for_entries(port: int, expected: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    entries = journal(port)
    while len(entries) < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        entries = journal(port)
    return entries


def poll_load(port: int, task_id: str, seconds: float, connections: int) -> Load:
    return run_load(port, "GET", f"/v1/tasks/{task_id}", None, seconds=seconds, connections=connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "receiver"])
    parser.add_argument("--port", type=int, help="receiver mode: the port to listen on")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=3.0, help="seconds over which the tasks finish (default 3)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of each load run (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="load connections (default 32)")
    args = parser.parse_args()
    if args.mode == "receiver":
        receiver_main(args.port)
        return 0

    mock_port, hook_port = free_port(), free_port()
    hook = f"http://{HOST}:{hook_port}/hook"
    receiver = launch([sys.executable, __file__, "receiver", "--port", str(hook_port)], core=LOADGEN_CORE)
    mock = launch(mock_command(mock_port, "--allow-callback-host", HOST))
    try:
        wait_ready(mock, mock_port, "/__mock/health", lambda status: status == 200)
        wait_ready(receiver, hook_port, "/stats", lambda status: status == 200)
        probe = create_task(mock_port)
        print(f"mock on :{mock_port}, receiver on :{hook_port}, load from {loadgen_name()}", flush=True)

        poll_load(mock_port, probe, 1.0, args.connections)  # warm up
        quiet = poll_load(mock_port, probe, args.duration, args.connections)

        began = time.monotonic()
        created = create_tasks(mock_port, hook, args.tasks, args.spread)
        took = time.monotonic() - began
        time.sleep(max(0.0, began + TASK_DURATION - time.monotonic()))
        busy = poll_load(mock_port, probe, args.duration, args.connections)

        entries = wait_for_entries(mock_port, 2 * args.tasks, timeout=args.spread + 30)
        time.sleep(1.5)  # a third attempt, if any were wrongly made, would show by now
        entries = journal(mock_port)
        quiet_after = poll_load(mock_port, probe, args.duration, args.connections)
        _, raw = request(hook_port, "GET", "/stats", timeout=30)
        arrivals: dict[str, list[float]] = json.loads(raw)
    finally:
        stop(mock)
        stop(receiver)

    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_task[entry["task_id"]].append(entry)
    right = [
        task_id
        for task_id in created
        if [(e["status"], e["result"]) for e in by_task[task_id]] == [(500, "failed"), (200, "delivered")]
        and len(arrivals.get(task_id, [])) == 2
    ]
    late = [entry["late_ms"] for entry in entries]
    first = [entry["late_ms"] for entry in entries if entry["attempt"] == 1]
    retry = [entry["late_ms"] for entry in entries if entry["attempt"] == 2]
    gap_error = [(times[1] - times[0] - 1.0) * 1000 for times in arrivals.values() if len(times) == 2]

    def show(name: str, values: list[float]) -> str:
        if not values:
            return f"{name}: none"
        return (
            f"{name}: p50 {percentile(values, 0.5):.2f} ms, p99 {percentile(values, 0.99):.2f} ms, "
            f"max {max(values):.2f} ms (n={len(values)})"
        )

    print(f"created {len(created)} tasks in {took:.2f} s; ends spread over {args.spread:g} s")
    print(f"tasks with exactly 2 attempts (500, then 200) at the mock and the receiver: {len(right)}/{args.tasks}")
    print("lateness of attempt starts against their schedule (mock journal):")
    print("  " + show("all", late))
    print("  " + show("first attempts", first))
    print("  " + show("retries", retry))
    print("  " + show("receiver-seen retry gap minus 1 s", gap_error))
    durations = [entry["duration_ms"] for entry in entries if entry["attempt"] == 1]
    print("  " + show("first attempts' duration (connect to answer read; the retry counts from its end)", durations))
    without = (quiet.rate + quiet_after.rate) / 2
    ratio = busy.rate / without if without else 0.0
    print(
        f"poll throughput ({args.connections} connections, {args.duration:g} s runs): "
        f"{quiet.rate:,.0f} and {quiet_after.rate:,.0f} req/s without deliveries (before, after), "
        f"{busy.rate:,.0f} req/s while they run: {ratio:.0%} of the mean without "
        f"(errors {quiet.errors + quiet_after.errors}/{busy.errors})"
    )
    p99 = percentile(late, 0.99) if late else float("inf")
    ok = len(right) == args.tasks and p99 < TARGET_P99_MS
    print(f"{'PASS' if ok else 'FAIL'}: every task exactly 2 attempts, p99 lateness {p99:.2f} ms (target < 50 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
