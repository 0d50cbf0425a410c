"""One API call at the HTTP edge: read the request, run one handler, answer, journal. Every
provider call (``provider.py``) goes through ``serve`` and nothing else, so each step has one
place:

- ``Prefer`` (``delay-ms``, ``code=``) is applied in ``apply_preferences``, before the handler;
- an ``ApiError`` becomes its envelope in ``error_reply`` (the admin routes use it too);
- an unexpected exception becomes the envelope's 500 in ``internal_error_reply`` (idem);
- a connection fault is applied in ``Exchange.answer``:

  - ``reset``: the connection is reset (RST), no answer; nothing is created.
  - ``empty``: the connection closes with no answer at all; nothing is created.
  - ``truncate``: the request is served (a create makes its task), then the answer is cut
    after half its body and the connection closes.

- the request journal gets one entry per call, in ``Exchange.journal``.

Connection faults need the socket, which ASGI hides: under uvicorn the ``send`` callable
is a method of the request cycle, whose ``transport`` is the connection. Without one
(in-process test transports) a fault raises ``ConnectionFault`` to the caller instead.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..backend import BrokenConnectionError, CallRecord, MockBackend
from ..bodies import check_content_type, check_declared_length, parse_json, too_large
from ..errors import ApiError, InternalError, InvalidRequest, MethodNotAllowed, SpecifiedError
from ..preferences import NO_PREFERENCES, Preferences, parse_prefer

log = logging.getLogger("mock_server")

TRANSPORT_KEY = "mock.transport"
"""Where a layer that wraps ``send`` (the gauntlet's recorder) leaves the connection for us."""
JSON = b"application/json"
METHOD_ORDER = {"GET": 0, "HEAD": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5, "OPTIONS": 6}


class Reply(NamedTuple):
    """An answer before it is sent: status, body, extra headers, media type."""

    status: int
    body: bytes
    headers: dict[str, str] | None = None
    media_type: bytes = JSON


def error_reply(error: ApiError) -> Reply:
    """An ``ApiError`` in the provider's envelope, with the headers it carries."""
    return Reply(error.status, error.render(), error.headers)


def internal_error_reply(method: str, path: str) -> Reply:
    """A bug in the mock still answers JSON (the provider's own client parses every body)."""
    log.exception("unhandled error on %s %s", method, path)
    return error_reply(InternalError())


def reply_response(reply: Reply) -> Response:
    """A ``Reply`` as a Starlette response (for the admin routes)."""
    return Response(reply.body, status_code=reply.status, headers=reply.headers, media_type=reply.media_type.decode())


def method_not_allowed(method: str, path: str, allowed: set[str] | frozenset[str]) -> MethodNotAllowed:
    """405 naming what the path takes, in ``Allow`` too (GET before HEAD before POST...)."""
    shown = ", ".join(sorted(allowed, key=lambda name: (METHOD_ORDER.get(name, 99), name)))
    message = f"Method {method} not allowed on {path}; allowed: {shown}"
    return MethodNotAllowed(message, headers={"Allow": shown})


def shown_path(scope: Scope) -> str:
    """The request's path as error messages show it (as Starlette's ``request.url.path``)."""
    path: str = scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


class ConnectionFault(ConnectionError):
    """Raised to an in-process caller where a real connection would have been broken."""


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


class Exchange:
    """One API call: the request's headers (read in one pass), its body as read, what the
    backend reported of it (``record``), and the answer sent."""

    __slots__ = (
        "scope",
        "receive",
        "send",
        "started",
        "record",
        "body",
        "preferences",
        "content_type",
        "content_length",
        "prefer",
        "host",
        "idempotency_key",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started = time.perf_counter()
        self.scope = scope
        self.receive = receive
        self.send = send
        self.record = CallRecord()
        self.body = b""
        self.preferences = NO_PREFERENCES
        self.content_type: str | None = None
        self.content_length: str | None = None
        self.prefer: list[str] | None = None
        self.host: str | None = None
        self.idempotency_key: str | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                self.content_type = value.decode("latin-1")
            elif name == b"content-length":
                self.content_length = value.decode("latin-1")
            elif name == b"prefer":
                self.prefer = [*(self.prefer or []), value.decode("latin-1")]
            elif name == b"host":
                self.host = value.decode("latin-1")
            elif name == b"idempotency-key":
                self.idempotency_key = value.decode("latin-1")

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    def headers(self) -> dict[str, str]:
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in self.scope["headers"]}

    def base_url(self) -> str:
        scope = self.scope
        host = self.host
        if host is None:
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"

    async def read_body(self, limit: int) -> bytes:
        """The whole body, refusing more than ``limit`` bytes (413). A client that leaves
        before its body arrived whole ends the call (``ClientDisconnect``): nothing is made
        from a part, and the journal notes what did arrive."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] != "http.request":
                self.body = b"".join(chunks)
                self.record.add_note(incomplete_body=True)
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self.body = raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return raw

    async def read_json(self, limit: int) -> tuple[bytes, Any]:
        """The body and its JSON value, refusing wrong content types, oversize and bad JSON."""
        check_content_type(self.content_type)
        check_declared_length(self.content_length, limit)
        raw = await self.read_body(limit)
        return raw, parse_json(raw)

    async def answer(self, reply: Reply | None) -> None:
        """Send ``reply`` (None: a rule broke the connection), applying the call's fault."""
        fault = self.record.fault
        if reply is None:
            await break_connection(self.scope.get(TRANSPORT_KEY) or transport_of(self.send), fault or "reset")
            return
        body = reply.body
        headers = [(b"content-type", reply.media_type), (b"content-length", str(len(body)).encode())]
        if reply.headers:
            headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        send = self.send
        if fault is None:
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if fault == "truncate":
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": body[: max(1, len(body) // 2)], "more_body": True})
        await break_connection(self.scope.get(TRANSPORT_KEY) or transport_of(send), fault)

    def journal(self, backend: MockBackend, status: int | None) -> None:
        """The call's one journal entry (a broken connection has no status)."""
        scope = self.scope
        request = (scope["method"], scope["path"], scope.get("query_string", b""), scope["headers"], self.body)
        backend.record_request(request, status, (time.perf_counter() - self.started) * 1000, self.record)


async def apply_preferences(backend: MockBackend, exchange: Exchange, operation: str) -> Preferences:
    """Read ``Prefer`` and wait its ``delay-ms``; a non-200 ``code=`` then answers with the
    spec's example, carrying ``Preference-Applied`` and the headers that status carries."""
    values = exchange.prefer
    if not values:
        return NO_PREFERENCES
    preferences = parse_prefer(values)
    forced = preferences.code if preferences.code != 200 else None
    examples = backend.examples[operation]
    if forced is not None and forced not in examples:
        documented = ", ".join(str(code) for code in [200, *sorted(examples)])
        raise InvalidRequest(
            f"Prefer code={forced} is not documented for this operation; documented: {documented}", param="Prefer"
        )
    if preferences.delay_ms:
        await backend.delays.sleep(preferences.delay_ms / 1000)
    if forced is not None:
        raise SpecifiedError(forced, examples[forced], headers=preferences.forced_headers())
    return preferences


Handler = Callable[[MockBackend, Exchange], Awaitable[Reply]]


class Endpoint(NamedTuple):
    """A handler, and the spec operation whose ``Prefer`` it honours (None: no ``Prefer``)."""

    handler: Handler
    operation: str | None = None


async def serve(backend: MockBackend, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """One provider call, start to end: the one error boundary of the provider API."""
    exchange = Exchange(scope, receive, send)
    reply: Reply | None
    try:
        if endpoint.operation is not None and exchange.prefer:
            exchange.preferences = await apply_preferences(backend, exchange, endpoint.operation)
        reply = await endpoint.handler(backend, exchange)
    except ApiError as error:
        reply = error_reply(error)
    except BrokenConnectionError:
        reply = None
    except ClientDisconnect:  # nobody is left to answer
        exchange.journal(backend, None)
        return
    except Exception:
        reply = internal_error_reply(scope["method"], scope["path"])
    try:
        await exchange.answer(reply)
    finally:
        exchange.journal(backend, None if reply is None else reply.status)
