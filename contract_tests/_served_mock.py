"""The mock served on a loopback port inside the suite's process, for checks that need an address.

The in-process mock has none (requests go to it through an ASGI adapter), but a callback
delivery is a real HTTP request from the mock to the suite's receiver, on the mock's own
event loop. So the callback checks of the ``mock`` target run against a twin: the same
mock, same keys and seed, on a virtual clock the suite moves, allowed to call the
receiver on 127.0.0.1, served by uvicorn in a thread and stopped when the check ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ._options import MOCK_KEY, MOCK_OTHER_KEY, RunOptions
from ._target import Client, Target
from ._targets import mock_app

START_TIMEOUT = 10.0


@contextmanager
def served_mock(options: RunOptions, allow_callback_hosts: tuple[str, ...] = ("127.0.0.1",)) -> Iterator[Client]:
    app = mock_app(options, allow_callback_hosts=allow_callback_hosts)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="contract-served-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        raise RuntimeError("the mock did not start on a loopback port")
    port = server.servers[0].sockets[0].getsockname()[1]
    target = Target(
        name="mock",
        base_url=f"http://127.0.0.1:{port}",
        api_key=MOCK_KEY,
        other_api_key=MOCK_OTHER_KEY,
        clock_control=True,
    )
    client = target.open()
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(START_TIMEOUT)
