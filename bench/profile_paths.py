"""Where the time goes on the mock's create and poll, in process (no sockets, no uvicorn).

1. µs per request of the mock's ASGI app against the bare app's, driven directly;
2. µs per step of the handlers (parse, validate, create, render), timed one by one;
3. the garbage collector's time while the store grows;
4. cProfile of N creates and N polls: self time grouped by library, and the top functions.

For the whole server (uvicorn, httptools, the socket writes) sample a served mock under
wrk with py-spy instead: bench/README.md shows how.

Usage: ``python3 bench/profile_paths.py [--requests N] [--top N]``
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import sys
import time
import timeit
from collections import Counter
from collections.abc import Callable
from typing import Any

from _common import CREATE_BODY, CREATE_PATH, KEY, ROOT, App, asgi_call, drive

sys.path.insert(0, str(ROOT))  # the working tree's mock_server, as ``python3 -m`` from ROOT runs it

from bare_app import build_app  # noqa: E402

from evolink_spec import CREATE_OPERATION  # noqa: E402
from mock_server import tasks, validation  # noqa: E402
from mock_server.app import create_app, mock_of  # noqa: E402
from mock_server.settings import Settings  # noqa: E402

BODY = CREATE_BODY.encode()
GROUPS = [
    ("mock_server", "mock_server"),
    ("jsonschema", "jsonschema/openapi-core"),
    ("openapi", "jsonschema/openapi-core"),
    ("referencing", "jsonschema/openapi-core"),
    ("/json/", "json (stdlib)"),
    ("_json", "json (stdlib)"),
    ("starlette", "starlette"),
    ("asyncio", "asyncio"),
]


def fresh_mock(**changes: Any) -> App:
    app: App = create_app(Settings(seed=1, clock="virtual", **changes))
    return app


def poll_path(app: App) -> str:
    """A task created through ``app``, then 5 mock seconds later (processing, for ever: the clock is virtual)."""
    status, raw = asgi_call(app, "POST", CREATE_PATH, BODY)
    if status != 200:
        raise RuntimeError(f"create answered {status}: {raw[:200]!r}")
    mock_of(app).clock.advance(5)  # type: ignore[arg-type]
    return f"/v1/tasks/{json.loads(raw)['id']}"


def per_step() -> dict[str, float | str]:
    """µs of each step of the two handlers (n/a where the code moved under this script)."""
    mock = mock_of(fresh_mock())  # type: ignore[arg-type]
    payload = json.loads(CREATE_BODY)
    task = mock.factory.new_task(key=KEY, model="nano-banana-beta", now=mock.clock.now())
    steps: dict[str, Callable[[], object]] = {
        "json.loads(body)": lambda: json.loads(BODY),
        "bearer_key(header)": lambda: validation.bearer_key(f"Bearer {KEY}"),
        "validator.validate_body(create)": lambda: mock.validator.validate_body(CREATE_OPERATION, payload),
        "factory.new_task": lambda: mock.factory.new_task(key=KEY, model="nano-banana-beta", now=1e9),
        "render_json(creation_body(task))": lambda: tasks.render_json(tasks.creation_body(task)),
        "detail_body(task, processing)": lambda: tasks.detail_body(task, task.plan.started_at + 1, "http://x"),
        "render_json(detail_body(...))": lambda: tasks.render_json(
            tasks.detail_body(task, task.plan.started_at + 1, "http://x")
        ),
    }
    timed: dict[str, float | str] = {}
    for name, step in steps.items():
        try:
            timed[name] = min(timeit.repeat(step, number=2000, repeat=5)) / 2000 * 1e6
        except Exception as error:  # the handlers' helpers are being changed by others
            timed[name] = f"n/a ({type(error).__name__}: {error})"[:90]
    return timed


def gc_time(count: int) -> tuple[float, int, float]:
    """CPU seconds in the collector, collections, and total CPU seconds, for ``count`` creates on a fresh mock."""
    app = fresh_mock(max_tasks=1_000_000)
    spent = [0.0, 0.0, 0]

    def track(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.process_time()
        else:
            spent[0] += time.process_time() - spent[1]
            spent[2] += 1

    gc.callbacks.append(track)
    try:
        total = drive(app, "POST", CREATE_PATH, BODY, count) * count
    finally:
        gc.callbacks.remove(track)
    return spent[0], int(spent[2]), total


def profile(app: App, method: str, path: str, body: bytes, count: int) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        drive(app, method, path, body, count)
    finally:
        profiler.disable()
    return pstats.Stats(profiler)


def show(title: str, stats: pstats.Stats, top: int) -> None:
    rows: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in rows.values())
    groups: Counter[str] = Counter()
    for (filename, _, name), row in rows.items():
        groups[next((group for marker, group in GROUPS if marker in filename or marker in name), "other")] += row[2]
    print(f"\n{title}: self time by library (cProfile, {total * 1e3:.0f} ms)")
    for group, seconds in groups.most_common():
        print(f"  {100 * seconds / total:5.1f}%  {group}")
    print("  top functions by self time:")
    for (filename, line, name), row in sorted(rows.items(), key=lambda item: item[1][2], reverse=True)[:top]:
        where = filename.rsplit("site-packages/", 1)[-1].rsplit("/lib/python3", 1)[-1].replace(str(ROOT) + "/", "")
        print(f"  {100 * row[2] / total:5.1f}%  {row[1]:>7} calls  {name} ({where}:{line})")
    print("  mock_server functions by cumulative time (nested ones overlap):")
    ours = [(key, row) for key, row in rows.items() if "mock_server" in key[0]]
    for (filename, line, name), row in sorted(ours, key=lambda item: item[1][3], reverse=True)[:top]:
        print(f"  {100 * row[3] / total:5.1f}%  {row[1]:>7} calls  {name} ({filename.rsplit('/', 1)[-1]}:{line})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="requests per measurement")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    mock, bare = fresh_mock(), build_app()
    path = poll_path(mock)
    print(f"in process, CPU-µs per request ({args.requests:,} each)  mock     bare")
    for op, method, target, body in (("create", "POST", CREATE_PATH, BODY), ("poll", "GET", path, b"")):
        drive(mock, method, target, body, 1000)  # warm-up
        mine = drive(mock, method, target, body, args.requests)
        ref = drive(bare, method, target, body, args.requests)
        print(f"  {op:<42} {mine * 1e6:8.1f} {ref * 1e6:8.1f}")
    print("\nµs per step (best of 5 x 2000):")
    for name, micros in per_step().items():
        print(f"  {name:<42} {micros:8.2f}" if isinstance(micros, float) else f"  {name:<42} {micros}")
    spent, collections, total = gc_time(100_000)
    print(f"\ngc during 100,000 creates: {collections} collections, {spent * 1e3:.0f} ms ({100 * spent / total:.1f}%)")
    show("create", profile(fresh_mock(), "POST", CREATE_PATH, BODY, args.requests), args.top)
    show("poll (processing task)", profile(mock, "GET", path, b"", args.requests), args.top)


if __name__ == "__main__":
    main()
