"""Create latency with many callback deliveries pending: does a create get slower as they pile up?

In process (no sockets): a mock on a virtual clock that nobody advances, so every delivery
stays pending. The script fills the queue to each level of ``--pending`` (tasks made and
scheduled directly, with the queue's capacity check skipped: in the old code that check scans
every pending delivery, which made filling 40,000 take many minutes), then times ``--samples`` more
creates with a ``callback_url`` one by one (CPU µs each, this process's CPU time, so other
work on a busy machine hardly moves it; median and p99), and the same number without one as
the reference at that level.

Usage: ``python3 bench/callback_pending.py [--pending 0,10000,40000] [--samples 2000] [--source DIR]``
(``--source`` imports ``mock_server`` from another checkout, e.g. an older commit's worktree,
to measure before and after on the same machine.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import CREATE_PATH, ROOT, asgi_scope

HOOK = "http://127.0.0.1:9/hook"  # never called: the clock never reaches the tasks' end


def body(callback: bool) -> bytes:
    extra = f',"callback_url":"{HOOK}"' if callback else ""
    return f'{{"model":"nano-banana-beta","prompt":"a cat"{extra}}}'.encode()


async def create(app: Any, payload: bytes) -> float:
    """One create straight to the ASGI app; the CPU seconds it took."""
    message = {"type": "http.request", "body": payload, "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            statuses.append(event["status"])

    began = time.process_time()
    await app(asgi_scope("POST", CREATE_PATH, payload), receive, send)
    elapsed = time.process_time() - began
    if statuses != [200]:
        raise RuntimeError(f"create answered {statuses}")
    return elapsed


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) * 1e6:8.1f} µs  p99 {p99 * 1e6:8.1f} µs"


async def run(levels: list[int], samples: int) -> None:
    from mock_server import Settings, VirtualClock, create_app
    from mock_server.app import mock_of

    # The garbage collector tuned as ``serve`` tunes it (cli.py), so its pauses do not swamp the figure.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 50)
    settings = Settings(clock="virtual", seed=1, allow_callback_hosts=("127.0.0.1",), max_tasks=1_000_000)
    app = create_app(settings, clock=VirtualClock())
    queue = mock_of(app).callbacks
    with_hook, without = body(True), body(False)
    mock = mock_of(app)
    target = queue.policy.parse(HOOK)
    for level in levels:
        began = time.process_time()
        forget_old = queue._forget_old
        queue._forget_old = lambda: None  # type: ignore[method-assign]
        for _ in range(level - len(queue.deliveries())):
            task = mock.factory.new_task(key="sk-bench", model="nano-banana-beta", now=mock.clock.now())
            mock.store.create_task(task, mock.clock.now())
            queue.schedule(task, target, "http://127.0.0.1:8000")
        queue._forget_old = forget_old  # type: ignore[method-assign]
        filled = time.process_time() - began
        print(f"{len(queue.deliveries()):>7,} pending (filled in {filled:5.1f} CPU s)")
        timed = [await create(app, with_hook) for _ in range(samples)]
        reference = [await create(app, without) for _ in range(samples)]
        print(f"    create with callback_url     {summary(timed)}")
        print(f"    create without (reference)   {summary(reference)}")
    await queue.aclose(grace=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", default="0,10000,40000", help="comma-separated levels of pending deliveries")
    parser.add_argument("--samples", type=int, default=2000, help="creates timed at each level")
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose mock_server is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(args.source.resolve()))
    import mock_server

    print(f"mock_server from {Path(mock_server.__file__).parent}")
    asyncio.run(run([int(level) for level in args.pending.split(",")], args.samples))


if __name__ == "__main__":
    main()
