"""Requests per second of the mock's create and poll, against references served the same way.

Each target runs as its own subprocess on a free 127.0.0.1 port, pinned to core 1; the
load generator (wrk, one thread) runs on core 0. Targets: the mock, a bare Starlette app
(static answers: the framework's floor), the same app validating naively with openapi-core,
Stoplight Prism when npm can install it, WireMock when Maven Central serves its jar.

All servers start together and idle until loaded; each operation gets a warm-up per server,
then rounds of one run per server in turn, so that noise from other work on the machine
hits every target alike. Ratios are of the medians of the rounds.

The tail: each run's p99 latency (wrk's) is printed, and the mock's p99 over the bare app's,
run by run. ``--tail`` measures only that, on create, mock against the bare app, with the mock
serving ``--max-tasks 20000`` (unless given) so that a few seconds of load fill the store and
every later create evicts: eviction and the garbage collector over a full store are in every
measured run. Target: create's p99 within 5 times the bare app's (median of the rounds).

Usage: ``python3 bench/throughput.py [--duration S] [--rounds N] [--connections N] [--warmup S] [--no-wiremock]
[--max-tasks N] [--tail]``
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _common import (
    CACHE,
    CREATE_BODY,
    CREATE_PATH,
    HOST,
    ROOT,
    Load,
    Proc,
    app_command,
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
from bare_app import CREATE_ANSWER

PRISM_VERSION = "5.14.2"
WIREMOCK_VERSION = "3.13.2"
OPS = ("create", "poll")
TARGETS = {"create": 0.5, "poll": 0.7}  # mock/bare ratios to reach
P99_TARGET = 5.0  # mock/bare p99 ratio not to exceed, on create
TAIL_MAX_TASKS = 20_000
TEMPORARY: list[Path] = []


@dataclass
class Server:
    """One server of a target, for some of the operations (Prism needs two specs)."""

    target: str
    ops: tuple[str, ...]
    command: Callable[[int], list[str]]
    ready: str
    note: str = ""
    port: int = 0
    proc: Proc | None = None


def _tail(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def prism_binary() -> Path | str:
    """Prism installed under bench/.cache/prism with npm (once), or why it cannot be."""
    binary = CACHE / "prism" / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "npm/node not found"
    command = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        str(CACHE / "prism"),
        f"@stoplight/prism-cli@{PRISM_VERSION}",
    ]
    print(f"installing Prism {PRISM_VERSION} into {CACHE / 'prism'} ...", flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "npm install timed out after 300 s"
    if done.returncode != 0 or not binary.exists():
        return f"npm install failed: {_tail(done.stderr or done.stdout)}"
    return binary


def wiremock_jar() -> Path | str:
    """WireMock's standalone jar from Maven Central via ``mvn dependency:get``, or why not."""
    name = f"wiremock-standalone-{WIREMOCK_VERSION}.jar"
    jar = Path.home() / ".m2/repository/org/wiremock/wiremock-standalone" / WIREMOCK_VERSION / name
    if jar.exists():
        return jar
    mvn, java = shutil.which("mvn"), shutil.which("java")
    if mvn is None or java is None:
        return "mvn/java not found"
    artifact = f"-Dartifact=org.wiremock:wiremock-standalone:{WIREMOCK_VERSION}"
    command = [mvn, "-q", "-B", "-Dstyle.color=never", "dependency:get", artifact, "-Dtransitive=false"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "mvn dependency:get timed out after 300 s"
    if done.returncode != 0 or not jar.exists():
        output = done.stdout + done.stderr
        cause = re.search(r"(Unknown host [^ ]+|Could not transfer[^:]*|No plugin found[^.]*)", output)
        return f"mvn dependency:get failed: {cause.group(1) if cause else _tail(output)}"
    return jar


def wiremock_root() -> Path:
    """Stub mappings answering the create answer on both operations, in a fresh folder."""
    root = Path(tempfile.mkdtemp(prefix="bench-wiremock-"))
    TEMPORARY.append(root)
    (root / "mappings").mkdir()
    answer = {"status": 200, "body": CREATE_ANSWER.decode(), "headers": {"Content-Type": "application/json"}}
    stubs = {
        "create": {"request": {"method": "POST", "url": CREATE_PATH}, "response": answer},
        "poll": {"request": {"method": "GET", "urlPattern": "/v1/tasks/[^/]+"}, "response": answer},
    }
    for name, stub in stubs.items():
        (root / "mappings" / f"{name}.json").write_text(json.dumps(stub))
    return root


def servers(args: argparse.Namespace) -> list[Server]:
    extra = ("--max-tasks", str(args.max_tasks)) if args.max_tasks else ()
    found = [
        Server("mock", OPS, lambda port: mock_command(port, *extra), "/__mock/health"),
        Server("bare", OPS, lambda port: app_command("bare_app.py", port), "/__mock/health"),
    ]
    if args.tail:
        return found
    found.append(Server("naive", OPS, lambda port: app_command("naive_app.py", port), "/__mock/health"))
    prism = prism_binary()
    if isinstance(prism, str):
        print(f"skipping Prism: {prism}")
    else:

        def prism_on(spec: str) -> Callable[[int], list[str]]:
            document = str(ROOT / "spec" / spec)
            return lambda port: [str(prism), "mock", "-h", HOST, "-p", str(port), "-v", "warn", document]

        note = "create on the seed spec, poll on the bundle (the seed has no GET /v1/tasks/{task_id})"
        found.append(Server("prism", ("create",), prism_on("nanobanana-image-generate.yaml"), "/", note))
        found.append(Server("prism", ("poll",), prism_on("openapi.json"), "/"))
    jar = "--no-wiremock given" if args.no_wiremock else wiremock_jar()
    if isinstance(jar, str):
        print(f"skipping WireMock: {jar}")
    else:
        root = wiremock_root()
        flags = ["--bind-address", HOST, "--root-dir", str(root), "--disable-banner", "--no-request-journal"]

        def wiremock(port: int) -> list[str]:
            return ["java", "-jar", str(jar), "--port", str(port), *flags, "--disable-request-logging"]

        found.append(Server("wiremock", OPS, wiremock, "/__admin/health"))
    return found


def start_all(found: list[Server]) -> list[Server]:
    """Launch every server (each on core 1, idle until loaded); return those that answered."""
    for server in found:
        server.port = free_port()
        server.proc = launch(server.command(server.port))
    ready = []
    for server in found:
        assert server.proc is not None
        try:
            wait_ready(server.proc, server.port, server.ready, ok=lambda status: status < 500, timeout=90)
            ready.append(server)
        except RuntimeError as error:
            print(f"skipping {server.target}: {error}")
    return ready


def load_once(server: Server, op: str, seconds: float, connections: int) -> Load:
    """One run of wrk on ``op``, with the server's CPU time over it."""
    assert server.proc is not None
    if op == "create":
        method, path, body = "POST", CREATE_PATH, CREATE_BODY
    else:  # a fresh task each run: pending for its first second, then processing
        method, path, body = "GET", f"/v1/tasks/{create_task(server.port)}", None
    before = cpu_seconds(server.proc.pid)
    load = run_load(server.port, method, path, body, seconds=seconds, connections=connections)
    load.cpu = cpu_seconds(server.proc.pid) - before
    return load


def measure(ready: list[Server], args: argparse.Namespace) -> dict[tuple[str, str], list[Load]]:
    """For each operation: warm every server up, then rounds of one run per server in turn."""
    results: dict[tuple[str, str], list[Load]] = {}
    for op in args.ops:
        chosen = [server for server in ready if op in server.ops]
        for server in chosen:
            load_once(server, op, args.warmup, args.connections)
        for round_ in range(1, args.rounds + 1):
            for server in list(chosen):
                try:
                    load = load_once(server, op, args.duration, args.connections)
                except (RuntimeError, OSError) as error:
                    print(f"  {op:<7} round {round_}  {server.target:<9} failed, dropped: {error}", flush=True)
                    chosen.remove(server)
                    continue
                results.setdefault((server.target, op), []).append(load)
                errors = f"  ({load.errors} errors!)" if load.errors else ""
                p99 = f"  p99 {load.p99_ms:6.2f} ms" if load.p99_ms is not None else ""
                cpu = (
                    f"  {load.cpu_us:6.1f} CPU-µs/req  CPU {int(100 * load.cpu / load.seconds):3d}%" if load.cpu else ""
                )
                starved = "" if saturated(load) else "  (server below 90% CPU: other load on the machine?)"
                line = f"  {op:<7} round {round_}  {server.target:<9} {load.rate:7.0f} req/s{p99}{cpu}{errors}{starved}"
                print(line, flush=True)
    return results


def saturated(load: Load) -> bool:
    """Whether the server was busy all the run (below 90% it was starved, or the load generator was)."""
    return load.cpu is None or load.cpu >= 0.9 * load.seconds


def report_tail(results: dict[tuple[str, str], list[Load]], ops: tuple[str, ...]) -> None:
    """The mock's p99 over the bare app's, round by round (the two ran back to back)."""
    print("\np99 latency, mock/bare, per round (the same round's runs)")
    for op in ops:
        mock, bare = results.get(("mock", op), []), results.get(("bare", op), [])
        pairs = [(m.p99_ms, b.p99_ms) for m, b in zip(mock, bare, strict=False) if m.p99_ms and b.p99_ms]
        if not pairs:
            print(f"  {op:<7} no p99 (the Python load generator does not measure it: install wrk)")
            continue
        ratios = [m / b for m, b in pairs]
        middle = statistics.median(ratios)
        rounds = "  ".join(f"{m:.2f}/{b:.2f} ms" for m, b in pairs)
        # Judged by the median round: other work on the machine stalls one server or the other
        # now and then, and one stall decides a run's p99.
        verdict = (
            f"  target <= {P99_TARGET:g}: {'met' if middle <= P99_TARGET else 'NOT met'}" if op == "create" else ""
        )
        print(f"  {op:<7} median {middle:5.2f}, range {min(ratios):5.2f}-{max(ratios):5.2f}  ({rounds}){verdict}")


def report(results: dict[tuple[str, str], list[Load]], notes: dict[str, str], ops: tuple[str, ...]) -> None:
    clean = {key: [load for load in loads if saturated(load)] or loads for key, loads in results.items()}
    rate = {key: statistics.median(load.rate for load in loads) for key, loads in clean.items()}
    cpu = {key: statistics.median(load.cpu_us or 0.0 for load in loads) for key, loads in results.items()}
    print("\nmedian of the rounds with the server at >= 90% CPU (else of all): req/s (min-max), server CPU-µs/request")
    for target in dict.fromkeys(name for name, _ in results):
        cells = ""
        for op in ops:
            loads = results.get((target, op))
            if loads is None:
                cells += f"  {op} {'-':>33}"
                continue
            low, high = min(load.rate for load in loads), max(load.rate for load in loads)
            steady = sum(1 for load in loads if saturated(load))
            mark = "" if steady == len(loads) else f" ({steady} of {len(loads)} rounds saturated)"
            cells += f"  {op} {rate[target, op]:6.0f} ({low:5.0f}-{high:5.0f}) {cpu[target, op]:6.1f} µs{mark}"
        print(f"  {target:<9}{cells}{'   ' + notes[target] if target in notes else ''}")
    print("\nratios mock/reference: of req/s, and of CPU per request (reference µs / mock µs; steadier under noise)")
    for reference in ("bare", "naive", "prism", "wiremock"):
        for op in ops:
            if ("mock", op) not in rate or (reference, op) not in rate:
                continue
            ratio, by_cpu = rate["mock", op] / rate[reference, op], cpu[reference, op] / cpu["mock", op]
            verdict = ""
            if reference == "bare":
                # Starved runs hurt the faster server most (its load generator starves first): judge by CPU then.
                steady = all(saturated(load) for target in ("mock", "bare") for load in results[target, op])
                judged, how = (ratio, "") if steady else (by_cpu, " (judged by CPU: some runs starved)")
                verdict = f"  target >= {TARGETS[op]}: {'met' if judged >= TARGETS[op] else 'NOT met'}{how}"
            print(f"  mock/{reference:<9}{op:<7} {ratio:6.2f}  (by CPU {by_cpu:5.2f}){verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of one measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per target and operation")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the first round")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--no-wiremock", action="store_true", help="do not try to fetch WireMock with mvn")
    parser.add_argument("--max-tasks", type=int, default=0, help="the mock's --max-tasks (default: the mock's)")
    parser.add_argument(
        "--tail",
        action="store_true",
        help=f"create only, mock and bare only, mock at --max-tasks {TAIL_MAX_TASKS} unless given: the p99 ratio",
    )
    args = parser.parse_args()
    args.ops = ("create",) if args.tail else OPS
    if args.tail and not args.max_tasks:
        args.max_tasks = TAIL_MAX_TASKS
    tool = loadgen_name()
    if tool == "python":
        print("wrk not used (apt-get install -y wrk): the Python asyncio load generator runs instead, slower than wrk")
    print(f"load: {tool}, {args.connections} connections, {args.rounds} rounds of {args.duration:g} s")
    if args.max_tasks:
        print(f"mock: --max-tasks {args.max_tasks}")
    busy = float(Path("/proc/loadavg").read_text().split()[0])
    if busy > 0.5:
        print(f"warning: load average {busy:.2f} before start: other processes share the cores, figures will be noisy")
    found: list[Server] = []
    results: dict[tuple[str, str], list[Load]] = {}
    try:
        found = servers(args)
        results = measure(start_all(found), args)
    finally:
        for server in found:
            if server.proc is not None:
                stop(server.proc)
        for folder in TEMPORARY:
            shutil.rmtree(folder, ignore_errors=True)
    report(results, {server.target: server.note for server in found if server.note}, args.ops)
    report_tail(results, args.ops)


if __name__ == "__main__":
    main()
