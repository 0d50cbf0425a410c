"""The outermost ASGI layer: journals each API call, breaks connections on demand, and
guards the admin API (``admin_guard.py``: its Host, Origin and token).

Connection faults need the socket, which ASGI hides: under uvicorn the ``send`` callable
is a method of the request cycle, whose ``transport`` is the connection. Without one
(in-process test transports) a fault raises ``ConnectionFault`` to the caller instead.

- ``reset``: the connection is reset (RST), no answer; nothing is created.
- ``empty``: the connection closes with no answer at all; nothing is created.
- ``truncate``: the request is served (a create makes its task), then the answer is cut
  after half its body and the connection closes.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admin_guard import AdminGuard
from .context import MockContext
from .journal import MAX_BODY, JournalEntry

ADMIN_PREFIX = "/__mock"
FAULT_KEY = "mock_fault"
NOTE_KEY = "mock_note"
JOURNALLED_KEY = "mock_journalled"
KEY_STATE = "mock_key"
"""The API key the API decided on (``api._authorized_key``), for the journal."""


class ConnectionFault(ConnectionError):
    """Raised to an in-process caller where a real connection would have been broken."""


TRANSPORT_KEY = "mock.transport"


def transport_of(send: Send) -> asyncio.BaseTransport | None:
    """The connection behind uvicorn's ``send`` (a method of its request cycle), if any."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    # uvloop's transports are not asyncio.BaseTransport subclasses: check the methods used.
    return transport if hasattr(transport, "close") and hasattr(transport, "get_extra_info") else None


def _reset(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    abort = getattr(transport, "abort", None)
    if callable(abort):
        abort()
    else:
        transport.close()


async def break_connection(transport: Any, fault: str) -> None:
    """Reset (``reset``) or close (``empty``, ``truncate``) the connection; without one (an
    in-process transport) raise ``ConnectionFault`` to the caller instead."""
    if transport is None:
        raise ConnectionFault(f"connection {fault} (rule)")
    if fault == "reset":
        _reset(transport)
    else:
        transport.close()
    # Let the server see the connection lost, so it sends nothing more on it.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def record_call(mock: MockContext, scope: Scope, body: bytes, status: int | None, started: float) -> None:
    """Journal one API call from its scope (the state holds the fault and the note)."""
    state: dict[str, Any] = scope["state"]
    fault = state.get(FAULT_KEY)
    mock.journal.record(
        JournalEntry(
            mock.clock.now(),
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            scope["headers"],
            body,
            None if fault in ("reset", "empty") else status,
            fault,
            (time.perf_counter() - started) * 1000,
            state.get(NOTE_KEY),
        ),
        key=state.get(KEY_STATE),
    )


class MockMiddleware:
    def __init__(self, app: ASGIApp, mock: MockContext) -> None:
        self.app = app
        self.mock = mock
        self.guard = AdminGuard(mock.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            await self._admin(scope, receive, send)
            return
        await self._api(scope, receive, send)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self.guard.check(scope["method"], scope.get("scheme", "http"), scope["headers"])
        if error is not None:
            body = error.render()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": error.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        mock = self.mock
        started = time.perf_counter()
        captured: list[bytes] = []
        captured_size = 0
        status = 0
        state: dict[str, Any] = scope.setdefault("state", {})
        faulted = False
        truncate_left = 0

        async def tee_receive() -> Message:
            nonlocal captured_size
            message = await receive()
            if message["type"] == "http.request" and captured_size <= MAX_BODY:
                chunk = message.get("body", b"")
                captured.append(chunk)
                captured_size += len(chunk)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal status, faulted, truncate_left
            if faulted:
                return
            fault = state.get(FAULT_KEY)
            if message["type"] == "http.response.start":
                status = message["status"]
                if fault in ("reset", "empty"):
                    faulted = True
                    await break_connection(scope.get(TRANSPORT_KEY), fault)
                    return
                if fault == "truncate":
                    length = next((int(v) for k, v in message["headers"] if k.lower() == b"content-length"), 0)
                    truncate_left = max(1, length // 2)
            elif message["type"] == "http.response.body" and fault == "truncate":
                body: bytes = message.get("body", b"")
                part, truncate_left = body[:truncate_left], truncate_left - len(body[:truncate_left])
                if truncate_left > 0 and message.get("more_body", False):
                    await send({**message, "body": part})
                    return
                faulted = True
                await send({"type": "http.response.body", "body": part, "more_body": True})
                await break_connection(scope.get(TRANSPORT_KEY), "truncate")
                return
            await send(message)

        try:
            await self.app(scope, tee_receive, guarded_send)
        finally:
            if not state.get(JOURNALLED_KEY):
                record_call(mock, scope, b"".join(captured), status, started)
