"""``serve``'s server: uvicorn under the mock's connection limits, stopped cleanly by a signal.

- Connections: the protocol of ``connections.py`` (header size, read and keep-alive timeouts,
  connection limit, malformed HTTP answered in the envelope); a TLS handshake must finish
  within the read timeout too.
- Stopping: the first SIGTERM or SIGINT (Ctrl-C) stops accepting, closes idle connections,
  cuts artificial delays short (their answers go out at once), and gives the requests in
  flight ``shutdown_grace`` seconds to finish; then it closes what is left, ends callback
  deliveries (1 s) and exits: status 0 after SIGTERM, 130 after Ctrl-C, no traceback. A
  second signal exits at once (status 128 + the signal's number).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Generator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn

from .connections import ConnectionGuard, Limits, ServeConfig, protocol_class
from .delays import Delays
from .errors import ServiceUnavailable
from .settings import Settings

logger = logging.getLogger("uvicorn.error")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
AFTER_GRACE = 1.0
"""Seconds requests get to end once their connections were closed after the grace period."""
POLL = 0.02
FILE_MARGIN = 64
"""Open files the server needs besides its connections (listener, loop, logs, callbacks)."""


class MockServer(uvicorn.Server):
    """uvicorn's server with the mock's stop: bounded, signal-driven, without a traceback."""

    def __init__(self, config: uvicorn.Config, *, grace: float, delays: Delays | None = None) -> None:
        super().__init__(config)
        self.grace = grace
        self.delays = delays
        self.stop_signal: int | None = None
        self.forced = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def exit_status(self) -> int:
        """0 after SIGTERM (or no signal), 130 after SIGINT, 128 + signal when forced."""
        if self.stop_signal is None:
            return 0
        if self.forced:
            return 128 + self.stop_signal
        return 130 if self.stop_signal == signal.SIGINT else 0

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn's own re-raises the signal once stopped, and Python's SIGINT handler then
        # prints a KeyboardInterrupt traceback; this one only records it.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:  # a second signal: stop now
            self.forced = self.force_exit = True
            self.stop_signal = sig
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._abort_connections)
            return
        self.stop_signal = sig
        self.should_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """As uvicorn's for given sockets, with a TLS handshake bounded by the read timeout."""
        self._loop = loop = asyncio.get_running_loop()
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            raise SystemExit(3)  # uvicorn's STARTUP_FAILURE; the lifespan logged why
        config = self.config
        limits: Limits = getattr(config, "limits", Limits())

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=_loop
            )

        self.servers = []
        for sock in sockets or []:
            server = await loop.create_server(
                create_protocol,
                sock=sock,
                ssl=config.ssl,
                backlog=config.backlog,
                # None is asyncio's default; a timeout without ssl would be refused.
                ssl_handshake_timeout=limits.read_timeout if config.ssl else None,
            )
            self.servers.append(server)
        self.started = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        logger.info("Shutting down")
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        if self.delays is not None:
            self.delays.cut_short()  # their answers go out now
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle ones close; busy ones close after their answer
        loop = asyncio.get_running_loop()
        if state.tasks and not self.force_exit:
            logger.info("Waiting up to %g s for %d request(s) in flight", self.grace, len(state.tasks))
        await self._wait(lambda: bool(state.connections or state.tasks), loop.time() + self.grace)
        if state.connections:
            logger.info("Closing %d connection(s) still open", len(state.connections))
            self._abort_connections()
        await self._wait(lambda: bool(state.tasks), loop.time() + AFTER_GRACE)
        for task in list(state.tasks):
            task.cancel()
        if not self.force_exit:
            await self.lifespan.shutdown()
        else:
            # Forced: the app's shutdown is skipped and its lifespan task cancelled on the way
            # out, which Starlette reports (through this logger) with a traceback: not news.
            logger.warning("Stopped at once by a second signal")
            logger.disabled = True

    async def _wait(self, busy: Any, until: float) -> None:
        loop = asyncio.get_running_loop()
        while busy() and not self.force_exit and loop.time() < until:
            await asyncio.sleep(POLL)

    def _abort_connections(self) -> None:
        """Close every connection now: a request still arriving gets 503 first."""
        stopping = ServiceUnavailable("The mock is shutting down: the request did not arrive whole in time")
        for connection in list(self.server_state.connections):
            if isinstance(connection, ConnectionGuard):
                connection.close_now(stopping)
            elif getattr(connection, "transport", None) is not None:
                connection.transport.abort()


def make_room_for(connections: int) -> str | None:
    """Raise the open-file limit (up to its hard limit) so that ``connections`` fit beside
    the server's own files; a warning when they cannot (then accepting fails before the
    connection limit can answer 503)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return None
    need = connections + FILE_MARGIN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return None
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target >= need:
        return None
    return (
        f"--max-connections {connections} needs about {need} open files, but the limit is {target} "
        f"(ulimit -n): connections past about {target - FILE_MARGIN} will fail instead of answering 503"
    )


def run_server(
    app: Any,
    settings: Settings,
    sock: socket.socket,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    log_level: str = "info",
    delays: Delays | None = None,
) -> int:
    """Serve ``app`` on the listening ``sock`` until a signal stops it; the exit status."""
    config = ServeConfig(
        app,
        limits=Limits.of(settings),
        http=protocol_class(settings.http_parser),
        ws="none",
        log_level=log_level,
        access_log=settings.access_log,
        lifespan="on",  # its shutdown ends callback deliveries cleanly (see docs/callbacks.md)
        server_header=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = MockServer(config, grace=settings.shutdown_grace, delays=delays)
    warning = make_room_for(settings.max_connections)
    if warning is not None:
        logger.warning(warning)
    server.run(sockets=[sock])
    return server.exit_status()
