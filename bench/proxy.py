"""What ``nanobanana-mock proxy`` adds: latency (p50, p99) and throughput, against calling the
target directly in the same run.

The target is the mock itself (``serve --clock virtual``, pinned to the server core); the
proxy runs in front of it with every check on. Latency: one keep-alive connection sends
requests one at a time, alternating blocks of direct and proxied calls so that both see the
same machine; the added latency is the difference of the two percentiles. Throughput: wrk
(or the Python load generator) on each for the same time; the ratio is proxied / direct.

    python3 bench/proxy.py                         # ~40 s
    python3 bench/proxy.py --requests 4000 --duration 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time

from _common import (
    CREATE_BODY,
    CREATE_PATH,
    HEADERS,
    HOST,
    cpu_seconds,
    create_task,
    free_port,
    launch,
    loadgen_name,
    mock_command,
    run_load,
    stop,
    wait_ready,
)

BLOCK = 100
"""Requests per block; direct and proxied blocks alternate."""


def timings(port: int, method: str, path: str, body: str | None, count: int) -> list[float]:
    """Seconds per request, ``count`` requests one after another on one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = HEADERS if body is not None else {"Authorization": HEADERS["Authorization"]}
    found: list[float] = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            found.append(time.perf_counter() - start)
            if answer.status != 200:
                raise RuntimeError(f"{method} {path} answered {answer.status}")
    finally:
        conn.close()
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency(direct: int, proxied: int, method: str, path: str, body: str | None, total: int) -> dict[str, float]:
    measured: dict[int, list[float]] = {direct: [], proxied: []}
    timings(direct, method, path, body, BLOCK)  # warm-up: connections, caches
    timings(proxied, method, path, body, BLOCK)
    for _ in range(max(1, total // BLOCK)):
        for port in (direct, proxied):
            measured[port] += timings(port, method, path, body, BLOCK)
    figures = {}
    for name, port in (("direct", direct), ("proxied", proxied)):
        figures[f"{name}_p50"] = statistics.median(measured[port]) * 1000
        figures[f"{name}_p99"] = percentile(measured[port], 0.99) * 1000
    figures["added_p50"] = figures["proxied_p50"] - figures["direct_p50"]
    figures["added_p99"] = figures["proxied_p99"] - figures["direct_p99"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per side for latency (default 2000)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of load per side (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="connections for throughput (default 16)")
    args = parser.parse_args()
    target_port, proxy_port = free_port(), free_port()
    target = launch(mock_command(target_port, "--clock", "virtual", "--log-level", "warning"))
    proxy = None
    try:
        wait_ready(target, target_port, "/__mock/health", lambda status: status == 200)
        proxy = launch(
            [
                sys.executable,
                "-m",
                "mock_server",
                "proxy",
                "--target",
                f"http://{HOST}:{target_port}",
                "--port",
                str(proxy_port),
            ],
            core=None,
        )
        wait_ready(proxy, proxy_port, "/__mock/health", lambda status: status == 200)
        task_path = f"/v1/tasks/{create_task(target_port)}"
        results = {
            "poll": latency(target_port, proxy_port, "GET", task_path, None, args.requests),
            "create": latency(target_port, proxy_port, "POST", CREATE_PATH, CREATE_BODY, args.requests // 2),
        }
        before = cpu_seconds(target.pid)
        direct = run_load(target_port, "GET", task_path, None, seconds=args.duration, connections=args.connections)
        target_cpu = (cpu_seconds(target.pid) - before) / max(1, direct.requests)
        before = cpu_seconds(proxy.pid)
        proxied = run_load(proxy_port, "GET", task_path, None, seconds=args.duration, connections=args.connections)
        proxy_cpu = (cpu_seconds(proxy.pid) - before) / max(1, proxied.requests)
        health = json.loads(http_get(proxy_port, "/__mock/violations"))
    finally:
        if proxy is not None:
            stop(proxy)
        stop(target)
    print(f"load generator: {loadgen_name()}; latency: {args.requests} sequential requests per side, one connection")
    print(
        f"{'operation':<8} {'direct p50':>11} {'proxied p50':>12} {'added p50':>10} {'direct p99':>11} "
        f"{'proxied p99':>12} {'added p99':>10}  (ms)"
    )
    for name, figures in results.items():
        print(
            f"{name:<8} {figures['direct_p50']:>11.3f} {figures['proxied_p50']:>12.3f} {figures['added_p50']:>10.3f} "
            f"{figures['direct_p99']:>11.3f} {figures['proxied_p99']:>12.3f} {figures['added_p99']:>10.3f}"
        )
    print(
        f"poll throughput, {args.connections} connections, {args.duration:g} s: direct {direct.rate:,.0f} req/s, "
        f"proxied {proxied.rate:,.0f} req/s, ratio {proxied.rate / direct.rate:.2f} "
        f"(errors {direct.errors}/{proxied.errors})"
    )
    print(
        f"CPU per poll: the target {target_cpu * 1e6:,.0f} µs, the proxy {proxy_cpu * 1e6:,.0f} µs "
        "(forwarding and every check: the least it can add to a request on an idle core)"
    )
    print(f"violations the proxy found on the way: {health['total']} (expected 0: the target is the mock)")
    return 0


def http_get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
