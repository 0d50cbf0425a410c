"""What one client connection may hold and send, enforced where uvicorn reads the bytes.

uvicorn's HTTP protocols (httptools' when installed, else h11's) are subclassed so that:

- a request's head (its request line and headers) holds at most ``max_header_bytes``: a
  longer request line answers 414, more headers 431, as nginx does;
- malformed HTTP (a bad or doubled Content-Length, Content-Length with Transfer-Encoding, a
  NUL in a header, an unknown method token, ...) answers 400 in the provider's envelope, not
  uvicorn's ``text/plain`` "Invalid HTTP request received.";
- a connection has ``read_timeout`` seconds to deliver a request's headers whole (from
  its opening, or from the first byte after an answer), and a request body may not pause
  longer than that: 408 in the envelope when part of a request arrived, else the connection
  just closes; an idle connection closes ``keep_alive_timeout`` seconds after an answer
  (uvicorn's own timer);
- past ``max_connections`` open connections, a request on one more answers 503 in the
  envelope (with ``Retry-After: 1``) as soon as its headers arrive, and such a connection
  gets at most a second to send them.

Every refusal carries ``Connection: close``. After it the connection stops reading requests
and half-closes; what the client still sends is read and dropped for up to ``LINGER``
seconds (nginx's lingering close), so that the answer is not lost to a reset.
"""

from __future__ import annotations

import asyncio
import http
import importlib.util
import logging
import sys
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from .errors import ApiError, HeaderFieldsTooLarge, InvalidRequest, RequestTimeout, ServiceUnavailable, UriTooLong
from .settings import Settings

LINGER = 2.0
"""Seconds a refused connection keeps reading (and dropping) what the client still sends."""
OVER_LIMIT_DEADLINE = 1.0
"""Seconds a connection over ``max_connections`` has to send its request's headers."""
HEAD_SLACK = 1
"""A head counts up to its blank line: ``limit + 1`` bytes of one still incomplete are over."""
_LINE_EXTRA = len(b"  HTTP/1.1\r\n")
"""A request line's bytes besides its method and target."""

log = logging.getLogger("mock_server")


@dataclass(frozen=True)
class Limits:
    """The connection limits of ``Settings`` (see the README's option table)."""

    max_header_bytes: int = 32 * 1024
    read_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            read_timeout=settings.read_timeout,
            keep_alive_timeout=settings.keep_alive_timeout,
            max_connections=settings.max_connections,
        )


class ServeConfig(uvicorn.Config):
    """uvicorn's config, carrying the mock's connection limits to each connection."""

    def __init__(self, app: Any, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits


def envelope_response(error: ApiError, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """``error`` as a whole HTTP/1.1 answer in the provider's envelope, closing the connection."""
    body = error.render()
    phrase = http.HTTPStatus(error.status).phrase
    lines = [f"HTTP/1.1 {error.status} {phrase}\r\n".encode()]
    lines += [name + b": " + value + b"\r\n" for name, value in default_headers]
    lines += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n",
    ]
    lines += [f"{name.lower()}: {value}\r\n".encode("latin-1") for name, value in error.headers.items()]
    lines += [b"\r\n", body]
    return b"".join(lines)


class _Refused(Exception):
    """Raised from a parser callback to stop parsing: ``ConnectionGuard._refusal`` says why."""


class ConnectionGuard:
    """The limits, over either of uvicorn's HTTP protocols (a mixin: it comes first in the bases).

    The head of the request being read is metered as its bytes arrive (exactly once the parser
    has it whole); one timer per connection watches the deadline the client must meet next.
    """

    # Set by uvicorn's protocol classes.
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    server_state: ServerState
    logger: logging.Logger
    client: tuple[str, int] | None
    cycle: Any
    flow: Any

    def _guard(self, config: uvicorn.Config) -> None:
        self.limits: Limits = getattr(config, "limits", None) or Limits()
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = True
        self._in_body = False
        self._head_seen = 0
        self._line_seen = 0
        self._line_done = False
        self._over_limit = False
        self._lingering = False
        self._refusal: ApiError | None = None

    # -- deadlines --------------------------------------------------------------------------

    def _expect(self, seconds: float | None) -> None:
        """The client must make its next move within ``seconds`` (None: none is awaited)."""
        if seconds is None:
            self._deadline = None
            return
        self._deadline = deadline = self.loop.time() + seconds
        if self._timer is None:
            self._timer = self.loop.call_at(deadline, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self.transport.is_closing():
            return
        if self.loop.time() < deadline:  # moved on since the timer was set
            self._timer = self.loop.call_at(deadline, self._check_deadline)
            return
        seconds = self.limits.read_timeout
        if self._waiting_on_us():
            self._expect(seconds)
            return
        self._deadline = None
        if self._in_body:
            if self.cycle is not None and self.cycle.response_started:
                self.transport.close()  # answered already; the rest of the body is not coming
            else:
                self._refuse(RequestTimeout(f"The request body paused for more than {seconds:g} s"))
        elif self._head_seen and not self._over_limit:
            self._refuse(RequestTimeout(f"The request headers did not arrive whole within {seconds:g} s"))
        else:
            self.transport.close()  # idle, or over the limit: nothing to answer

    def _waiting_on_us(self) -> bool:
        """Whether the client is stalled by the mock, not the other way round: an answer to an
        earlier request still being made, reading paused while the app has not taken what
        arrived, or a ``100 Continue`` the app has not asked for yet."""
        cycle = self.cycle
        if cycle is None:
            return False
        if self._in_head:
            return not cycle.response_complete
        return bool(self.flow.read_paused or getattr(cycle, "waiting_for_100_continue", False))

    # -- connection life --------------------------------------------------------------------

    def _opened(self) -> None:
        self._over_limit = len(self.connections) > self.limits.max_connections
        if self._over_limit:
            self._expect(min(self.limits.read_timeout, OVER_LIMIT_DEADLINE))
        else:
            self._expect(self.limits.read_timeout)

    def _closed(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arrived(self, data: bytes) -> None:
        """Meter ``data`` against the head being read (before the parser sees it)."""
        if not self._head_seen and self._deadline is None:
            self._expect(self.limits.read_timeout)  # the first byte after an answer
        self._head_seen += len(data)
        if not self._line_done:
            end = data.find(b"\n")
            if end < 0:
                self._line_seen += len(data)
            else:
                self._line_seen += end
                self._line_done = True

    def _after_feed(self) -> None:
        """After the parser took a chunk: a head still incomplete may already be too large."""
        if self._in_body:
            self._expect(self.limits.read_timeout)  # the body moved
        elif self._in_head and self._head_seen > self.limits.max_header_bytes + HEAD_SLACK and not self._lingering:
            # Even complete, this head would be over: see HEAD_SLACK.
            self._refuse(self._oversize(self._line_seen))

    def _oversize(self, line: int) -> ApiError:
        limit = self.limits.max_header_bytes
        if line > limit:
            return UriTooLong(f"The request line is longer than the limit of {limit} bytes")
        return HeaderFieldsTooLarge(f"The request's headers are larger than the limit of {limit} bytes")

    def _head_complete(self, line: int, headers: list[tuple[bytes, bytes]]) -> None:
        """A request's head was parsed whole: raise ``_Refused`` if it may not go on."""
        self._in_head = False
        size = line + _LINE_EXTRA + sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.limits.max_header_bytes:
            self._refusal = self._oversize(line + _LINE_EXTRA)
            raise _Refused()
        if self._over_limit:
            limit = self.limits.max_connections
            self._refusal = ServiceUnavailable(
                f"Too many connections (the limit is {limit}): try again later", headers={"Retry-After": "1"}
            )
            raise _Refused()
        self._in_body = True
        self._expect(self.limits.read_timeout)

    def _message_complete(self) -> None:
        """The request was read whole: the next head begins."""
        self._in_body = False
        self._in_head = True
        self._head_seen = self._line_seen = 0
        self._line_done = False
        self._deadline = None

    # -- refusing ---------------------------------------------------------------------------

    def close_now(self, error: ApiError) -> None:
        """Close at once (the server is stopping): a request still arriving is answered
        ``error`` first; an answer still being written is cut."""
        if self._in_body and self.cycle is not None and not self.cycle.response_started:
            self._refuse(error, linger=False)
        else:
            self.transport.abort()

    def _refuse(self, error: ApiError, *, linger: bool = True) -> None:
        """Answer ``error`` in the envelope (unless an answer has begun), then close."""
        transport = self.transport
        if self._lingering or transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                transport.close()
                return
            cycle.disconnected = True  # the request in progress gets ``http.disconnect``
            cycle.message_event.set()
        client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        self.logger.warning("%s%d %s", client, error.status, error.message)
        transport.write(envelope_response(error, self.server_state.default_headers))
        if linger:
            self._linger()
        else:
            transport.close()

    def _linger(self) -> None:
        self._lingering = True
        self._deadline = None
        transport = self.transport
        if not transport.can_write_eof():  # TLS: no half-close
            transport.close()
            return
        transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER, transport.close)

    def _shutdown_lingering(self) -> bool:
        if self._lingering:
            self.transport.close()
        return self._lingering


class MockH11Protocol(ConnectionGuard, H11Protocol):
    """uvicorn's h11 protocol under the mock's connection limits."""

    def __init__(
        self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any], _loop: Any = None
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard(config)
        self.conn = _WatchedConnection(self, self.limits.max_header_bytes + HEAD_SLACK)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        if self._in_head:
            self._arrived(data)
        try:
            super().data_received(data)
        except _Refused:
            self._refuse(self._refusal or InvalidRequest())
            return
        self._after_feed()

    def on_response_complete(self) -> None:
        try:
            super().on_response_complete()  # may parse a pipelined request
        except _Refused:
            self._refuse(self._refusal or InvalidRequest())

    def send_400_response(self, msg: str) -> None:
        # Called from h11_impl's ``except h11.RemoteProtocolError`` block: the error is current.
        error = sys.exc_info()[1]
        if isinstance(error, h11.RemoteProtocolError) and error.error_status_hint == 431:
            self._refuse(self._oversize(self._line_seen))
        else:
            self._refuse(InvalidRequest(f"Malformed HTTP request: {error or msg}"))

    def shutdown(self) -> None:
        if not self._shutdown_lingering():
            super().shutdown()


class _WatchedConnection(h11.Connection):
    """h11's connection, telling the guard where each request's head and end are."""

    def __init__(self, guard: MockH11Protocol, max_head: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head)
        self._guard = guard

    def next_event(self) -> Any:
        event = super().next_event()
        if type(event) is h11.Request:
            headers = event.headers.raw_items()
            names = {name.lower() for name, _ in headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                # httptools refuses this request-smuggling shape; h11 would take the chunked body.
                self._guard._refusal = InvalidRequest("Malformed HTTP request: Content-Length with Transfer-Encoding")
                raise _Refused()
            self._guard._head_complete(len(event.method) + len(event.target), headers)
        elif type(event) is h11.EndOfMessage:
            self._guard._message_complete()
        return event


if importlib.util.find_spec("httptools") is not None:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class MockHttpToolsProtocol(ConnectionGuard, HttpToolsProtocol):
        """uvicorn's httptools protocol under the mock's connection limits."""

        def __init__(
            self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any], _loop: Any = None
        ) -> None:
            super().__init__(config, server_state, app_state, _loop)
            self._guard(config)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._opened()

        def connection_lost(self, exc: Exception | None) -> None:
            self._closed()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._lingering:
                return
            if self._in_head:
                self._arrived(data)
            self._unset_keepalive_if_required()
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                self._unsupported_upgrade_warning()  # the mock serves no WebSockets
                return
            except httptools.HttpParserError as error:
                self._refuse(self._refusal or InvalidRequest(f"Malformed HTTP request: {error}"))
                return
            self._after_feed()

        def on_headers_complete(self) -> None:
            self._head_complete(len(self.url) + len(self.parser.get_method()), self.headers)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._message_complete()
            super().on_message_complete()

        def shutdown(self) -> None:
            if not self._shutdown_lingering():
                super().shutdown()

    AUTO_PROTOCOL: type[asyncio.Protocol] = MockHttpToolsProtocol
else:  # pragma: no cover - uvicorn without its [standard] extra
    AUTO_PROTOCOL = MockH11Protocol


def protocol_class(parser: str) -> type[asyncio.Protocol]:
    """The protocol for ``--http-parser`` (``auto``: httptools when installed, else h11)."""
    if parser == "h11":
        return MockH11Protocol
    if parser == "httptools" and AUTO_PROTOCOL is MockH11Protocol:
        raise ValueError("--http-parser httptools: httptools is not installed (pip install httptools)")
    return AUTO_PROTOCOL
