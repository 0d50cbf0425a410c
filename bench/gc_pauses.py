"""The garbage collector's pauses while creates fill the store past ``--max-tasks``, in process.

Creates are sent straight to the ASGI app (no sockets), one after another, under the
collector settings ``nanobanana-mock serve`` uses (``cli._tune_garbage_collector``);
``gc.callbacks`` time every collection in CPU time, so other work on the machine hardly
moves the figures. Also printed: the most objects a young collection had to walk.

Usage: ``python3 bench/gc_pauses.py [--creates N] [--max-tasks N]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from typing import Any

from _common import CREATE_BODY, CREATE_PATH, ROOT, App, asgi_scope

sys.path.insert(0, str(ROOT))  # the working tree's mock_server

from mock_server.app import create_app  # noqa: E402
from mock_server.cli import _tune_garbage_collector  # noqa: E402
from mock_server.settings import Settings  # noqa: E402

BODY = CREATE_BODY.encode()


async def creates(app: App, count: int) -> list[float]:
    """CPU seconds of each create, collections included."""
    message = {"type": "http.request", "body": BODY, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start" and event["status"] != 200:
            raise RuntimeError(f"create answered {event['status']}")

    spent = []
    for _ in range(count):
        start = time.thread_time()
        await app(asgi_scope("POST", CREATE_PATH, BODY), receive, send)
        spent.append(time.thread_time() - start)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=300_000)
    parser.add_argument("--max-tasks", type=int, default=20_000)
    args = parser.parse_args()
    app: App = create_app(Settings(seed=1, clock="virtual", max_tasks=args.max_tasks))
    pauses: list[tuple[int, float]] = []
    started = [0.0]
    young = [0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.thread_time()
        else:
            pauses.append((info["generation"], time.thread_time() - started[0]))

    def walked(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 0:
            young[0] = max(young[0], len(gc.get_objects(0)) - 1)

    _tune_garbage_collector()
    gc.callbacks[:0] = [walked]  # counted before the timer starts
    gc.callbacks.append(timed)
    try:
        spent = asyncio.run(creates(app, args.creates))
    finally:
        gc.callbacks.remove(timed)
        gc.callbacks.remove(walked)
    steady = sorted(spent[args.max_tasks :])  # once the store is full
    print(f"{args.creates:,} creates, --max-tasks {args.max_tasks:,}, serve's collector settings")
    print(
        f"  create CPU µs once full: median {statistics.median(steady) * 1e6:.0f}, "
        f"p99 {steady[int(0.99 * len(steady))] * 1e6:.0f}, max {steady[-1] * 1e6:.0f}"
    )
    print(f"  largest young generation walked: {young[0]:,} objects")
    for generation in range(3):
        times = [pause for gen, pause in pauses if gen == generation]
        if times:
            print(
                f"  generation {generation}: {len(times):5d} collections, "
                f"max {max(times) * 1e3:6.1f} ms, total {sum(times) * 1e3:6.0f} ms"
            )


if __name__ == "__main__":
    main()
