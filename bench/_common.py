"""Helpers shared by the benchmarks: ports, subprocesses ended by pid, readiness, and load.

Load comes from ``wrk`` (one thread, pinned to core 0) when it is installed, else from a
small asyncio keep-alive client in this process. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
HOST = "127.0.0.1"
KEY = "sk-bench"
CREATE_PATH = "/v1/images/generations"
CREATE_BODY = '{"model":"nano-banana-beta","prompt":"a cat playing in the grass"}'
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
SERVER_CORE = 1
LOADGEN_CORE = 0

App = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(core: int, command: list[str]) -> list[str]:
    """``command`` run under ``taskset -c core`` when taskset exists and the core does."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > core:
        return ["taskset", "-c", str(core), *command]
    return command


def mock_command(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--seed", "1", *extra]


def app_command(script: str, port: int) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / script), "--port", str(port)]


@dataclass
class Proc:
    """A subprocess (taskset and env exec their target, so the pid is the server's) and its log."""

    popen: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 8) -> str:
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])


def launch(command: list[str], core: int | None = SERVER_CORE) -> Proc:
    log = tempfile.TemporaryFile()
    full = pinned(core, command) if core is not None else command
    popen = subprocess.Popen(full, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    return Proc(popen, log)


def stop(proc: Proc) -> None:
    """End the process by its pid: SIGTERM, then SIGKILL after 5 s."""
    try:
        if proc.popen.poll() is None:
            proc.popen.terminate()
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=5)
    finally:
        proc.log.close()


def request(port: int, method: str, path: str, body: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = HEADERS if body is not None else {"Authorization": HEADERS["Authorization"]}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(proc: Proc, port: int, path: str, ok: Callable[[int], bool], timeout: float = 60.0) -> float:
    """Poll ``GET path`` every 5 ms until ``ok(status)``; return the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"exited with {proc.popen.returncode} before answering:\n{proc.tail()}")
        try:
            status, _ = request(port, "GET", path, timeout=2.0)
            if ok(status):
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"no answer on {path} within {timeout:.0f} s:\n{proc.tail()}")


def create_task(port: int) -> str:
    status, raw = request(port, "POST", CREATE_PATH, CREATE_BODY)
    if status != 200:
        raise RuntimeError(f"create answered {status}: {raw[:200]!r}")
    task_id: str = json.loads(raw)["id"]
    return task_id


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    p99_ms: float | None = None
    cpu: float | None = None
    """CPU seconds the server spent during the run, when measured."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float | None:
        """Server CPU µs per request: hardly moved by other work on the machine, unlike the rate."""
        return self.cpu / self.requests * 1e6 if self.cpu is not None and self.requests else None


def loadgen_name() -> str:
    """``wrk`` when installed, else ``python``; ``BENCH_LOADGEN=python`` forces the fallback."""
    return "wrk" if shutil.which("wrk") and os.environ.get("BENCH_LOADGEN") != "python" else "python"


def _lua(text: str) -> str:
    """A Lua string literal (JSON's escapes of ASCII text are Lua's too)."""
    return json.dumps(text, ensure_ascii=True)


def wrk_script(method: str, path: str, body: str | None, cap: int | None) -> str:
    """The request, and a summary line: ``BENCH requests micros errors p99_us`` from ``done()``, or with a
    cap ``CAPPED requests errors`` once that many answers came (wrk itself would sleep out its duration)."""
    lines = [f"wrk.method = {_lua(method)}", f"wrk.path = {_lua(path)}"]
    lines += [
        f"wrk.headers[{_lua(name)}] = {_lua(value)}"
        for name, value in HEADERS.items()
        if body or name != "Content-Type"
    ]
    if body is not None:
        lines.append(f"wrk.body = {_lua(body)}")
    if cap is not None:
        lines += [
            "local count, errors = 0, 0",
            "function response(status, headers, body)",
            "  count = count + 1",
            "  if status > 299 then errors = errors + 1 end",
            f"  if count >= {cap} then",
            '    io.write(string.format("CAPPED %d %d\\n", count, errors))',
            "    io.flush()",
            "    os.exit(0)",
            "  end",
            "end",
        ]
    lines += [
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format("BENCH %d %d %d %d\\n", summary.requests, summary.duration,',
        "    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(99.0)))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def wrk_summary(output: str) -> Load:
    """The ``BENCH requests micros errors p99_us`` line that the wrk scripts print, as a Load."""
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    done, micros, errors, p99 = (int(group) for group in match.groups())
    return Load(done, micros / 1e6, errors, p99 / 1000)


def run_wrk(
    port: int, method: str, path: str, body: str | None, seconds: float, connections: int, cap: int | None
) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(method, path, body, cap))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", script.name]
    start = time.perf_counter()
    proc = launch([*command, f"http://{HOST}:{port}{path}"], core=LOADGEN_CORE)
    try:
        proc.popen.wait(timeout=seconds + 60)
        elapsed = time.perf_counter() - start
        output = proc.tail(50)
        capped = re.search(r"^CAPPED (\d+) (\d+)$", output, re.MULTILINE)
        if capped is not None:
            return Load(int(capped.group(1)), elapsed, int(capped.group(2)))
        return wrk_summary(output)
    finally:
        stop(proc)
        os.unlink(script.name)


async def _client(port: int, raw: bytes, deadline: float, budget: list[int], tally: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            await reader.readexactly(int(match.group(1)) if match else 0)
            tally[0 if head[9:10] == b"2" else 1] += 1
    finally:
        writer.close()


async def _python_load(port: int, raw: bytes, seconds: float, connections: int, cap: int | None) -> Load:
    budget, tally = [cap if cap is not None else sys.maxsize], [0, 0]
    start = time.perf_counter()
    results = await asyncio.gather(
        *(_client(port, raw, start + seconds, budget, tally) for _ in range(connections)), return_exceptions=True
    )
    elapsed = time.perf_counter() - start
    failed = sum(1 for result in results if isinstance(result, BaseException))
    return Load(tally[0] + tally[1], elapsed, tally[1] + failed)


def run_python(
    port: int, method: str, path: str, body: str | None, seconds: float, connections: int, cap: int | None
) -> Load:
    """The fallback: keep-alive raw-socket clients in this process, pinned to the load core."""
    headers = HEADERS if body else {"Authorization": HEADERS["Authorization"]}
    data = (body or "").encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        lines.append(f"Content-Length: {len(data)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
    previous = os.sched_getaffinity(0)
    if (os.cpu_count() or 1) > LOADGEN_CORE + 1:
        os.sched_setaffinity(0, {LOADGEN_CORE})
    try:
        return asyncio.run(_python_load(port, raw, seconds, connections, cap))
    finally:
        os.sched_setaffinity(0, previous)


def run_load(
    port: int, method: str, path: str, body: str | None, *, seconds: float, connections: int, cap: int | None = None
) -> Load:
    runner = run_wrk if loadgen_name() == "wrk" else run_python
    return runner(port, method, path, body, seconds, connections, cap)


def asgi_scope(method: str, path: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {KEY}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _drive(app: App, method: str, path: str, body: bytes, count: int) -> float:
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses: Counter[int] = Counter()

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            statuses[event["status"]] += 1

    start = time.process_time()
    for _ in range(count):
        await app(asgi_scope(method, path, body), receive, send)
    elapsed = time.process_time() - start
    if set(statuses) != {200}:
        raise RuntimeError(f"{method} {path}: statuses {dict(statuses)}")
    return elapsed / count


async def _call(app: App, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    message = {"type": "http.request", "body": body, "more_body": False}
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            answer["status"] = event["status"]
        else:
            answer["body"] += event.get("body", b"")

    await app(asgi_scope(method, path, body), receive, send)
    return answer["status"], answer["body"]


def asgi_call(app: App, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request straight to the ASGI app: its status and body."""
    return asyncio.run(_call(app, method, path, body))


def drive(app: App, method: str, path: str, body: bytes, count: int) -> float:
    """CPU seconds per request (this process's CPU time, so other work on the machine hardly
    moves it) of ``count`` requests sent straight to the ASGI app (no sockets, no uvicorn), one
    after another; raises unless every one answers 200."""
    return asyncio.run(_drive(app, method, path, body, count))
