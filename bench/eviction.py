"""Creates per second at ``--max-tasks``, block after block, the store full all along.

Each create at the cap evicts the oldest task; its cost must not grow with how long the
store has been full. Two figures per block of creates (CPU time of this process, so other
work on the machine hardly moves them): the store alone (``InMemoryTaskStore.create_task``
with ready-made tasks), and the whole create sent straight to the ASGI app (no sockets).

Usage: ``python3 bench/eviction.py [--max-tasks N] [--blocks N]``
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import CREATE_BODY, CREATE_PATH, ROOT, drive

sys.path.insert(0, str(ROOT))  # the working tree's mock_server

from mock_server.app import create_app  # noqa: E402
from mock_server.randomness import SeededRandom  # noqa: E402
from mock_server.settings import Settings  # noqa: E402
from mock_server.store import InMemoryTaskStore  # noqa: E402
from mock_server.tasks import TaskFactory  # noqa: E402


def store_only(max_tasks: int, blocks: int) -> list[float]:
    factory = TaskFactory(SeededRandom(1), duration=10.0, estimated_time=45, credits=1.6)
    store = InMemoryTaskStore(max_tasks=max_tasks)
    for _ in range(max_tasks):
        store.create_task(factory.new_task(key="k", model="nano-banana-beta", now=0.0), 0.0)
    rates = []
    for _ in range(blocks):
        batch = [factory.new_task(key="k", model="nano-banana-beta", now=0.0) for _ in range(max_tasks // 2)]
        start = time.process_time()
        for task in batch:
            store.create_task(task, 0.0)
        rates.append(len(batch) / (time.process_time() - start))
    return rates


def whole_create(max_tasks: int, blocks: int) -> list[float]:
    app = create_app(Settings(seed=1, clock="virtual", max_tasks=max_tasks))
    drive(app, "POST", CREATE_PATH, CREATE_BODY.encode(), max_tasks)  # fill the store
    return [1 / drive(app, "POST", CREATE_PATH, CREATE_BODY.encode(), max_tasks // 2) for _ in range(blocks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-tasks", type=int, default=200_000, help="the store's cap (the mock's default)")
    parser.add_argument("--blocks", type=int, default=8, help="blocks of max-tasks/2 creates after the store is full")
    args = parser.parse_args()
    half = args.max_tasks // 2
    print(f"store full at {args.max_tasks:,} tasks; each block is {half:,} more creates, each evicting one")
    for name, rates in (
        ("store.create_task", store_only(args.max_tasks, args.blocks)),
        ("whole create (ASGI)", whole_create(args.max_tasks, args.blocks)),
    ):
        cells = "  ".join(f"{rate:9,.0f}" for rate in rates)
        print(f"  {name:<20} creates/s by block: {cells}   last/first {rates[-1] / rates[0]:.2f}")


if __name__ == "__main__":
    main()
