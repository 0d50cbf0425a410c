"""Artificial delays (``Prefer: delay-ms``, a rule's ``latency_ms``) that shutdown can cut short.

A delay is a wait the mock adds on purpose, so a server stopping (SIGTERM, Ctrl-C) need not
sit it out: ``cut_short()`` ends every delay in progress at once, the answers go out as they
would have later, and delays started afterwards do not wait at all.
"""

from __future__ import annotations

import asyncio


class Delays:
    """Usage: ``await mock.delays.sleep(0.5)``; at shutdown, ``mock.delays.cut_short()``."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Future[None]] = set()
        self.cut = False

    async def sleep(self, seconds: float) -> None:
        if self.cut or seconds <= 0:
            return
        cut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(asyncio.sleep(seconds))
        self._waiting.add(cut)
        try:
            await asyncio.wait((waiting, cut), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            self._waiting.discard(cut)

    def cut_short(self) -> None:
        """End every delay now and skip later ones. Call it on the loop the delays run on."""
        self.cut = True
        for waiter in list(self._waiting):
            _wake(waiter)

    def __len__(self) -> int:
        return len(self._waiting)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
