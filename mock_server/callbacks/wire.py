"""One callback POST on the wire: a small HTTP/1.1 client over asyncio streams.

Hand-written rather than a client library so that the attempt connects to exactly the
address the safety check approved (no second DNS lookup an attacker could rebind), never
follows a redirect, and reads no more than the status line and headers: the answer's
status is all a delivery needs. It sends ``Connection: close`` and one request per
connection. Time limits are the caller's (it races this against a mock-time deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from .safety import CallbackTarget, Unresolvable, UnsafeCallback

USER_AGENT = "nanobanana-mock-callbacks/0.1"
MAX_HEADER_BYTES = 64 * 1024
CLOSE_TIMEOUT = 1.0


class BadAnswer(ValueError):
    """The receiver answered something that is not HTTP/1.x."""


@dataclass(frozen=True)
class Answer:
    status: int
    location: str | None = None


def request_head(target: CallbackTarget, length: int) -> bytes:
    lines = [
        f"POST {target.target} HTTP/1.1",
        f"Host: {target.host_header}",
        f"User-Agent: {USER_AGENT}",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        "Accept: */*",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (parts[1].isdigit() and len(parts[1]) == 3):
            raise BadAnswer(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(parts[1])
        if 100 <= status < 200:
            continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        location = next(
            (line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("location:")), None
        )
        return Answer(status, location)


async def _close(writer: asyncio.StreamWriter, *, abort: bool) -> None:
    if abort:
        writer.transport.abort()
    else:
        writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)


async def post_json(
    target: CallbackTarget, addresses: list[str], body: bytes, *, tls: ssl.SSLContext | None = None
) -> Answer:
    """POST ``body`` to ``target`` at the first of ``addresses`` that accepts a connection.

    Raises ``OSError`` (refused, reset, TLS failure), ``asyncio.IncompleteReadError`` (closed
    before a full answer), ``asyncio.LimitOverrunError`` or ``BadAnswer``.
    """
    secure = target.scheme == "https"
    if secure and tls is None:
        raise ValueError("an https target needs a TLS context")
    error: OSError | None = None
    for address in addresses:
        try:
            reader, writer = await asyncio.open_connection(
                address,
                target.port,
                ssl=tls if secure else None,
                server_hostname=target.host if secure else None,
                limit=MAX_HEADER_BYTES,
            )
        except ssl.SSLError:
            raise
        except OSError as failed:
            error = failed
            continue
        done = False
        try:
            writer.write(request_head(target, len(body)) + body)
            await writer.drain()
            answer = await _read_answer(reader)
            done = True
            return answer
        finally:
            await _close(writer, abort=not done)
    assert error is not None
    raise error


def describe(error: BaseException) -> str:
    """A short journal text for why an attempt failed."""
    if isinstance(error, UnsafeCallback):
        return f"refused: {error}"
    if isinstance(error, Unresolvable):
        return f"dns: {error}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"tls: certificate verify failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"tls: {error.reason or error}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return "connection reset"
    if isinstance(error, asyncio.IncompleteReadError):
        return "connection closed before a complete answer"
    if isinstance(error, asyncio.LimitOverrunError):
        return "answer headers too large"
    if isinstance(error, BadAnswer):
        return f"invalid answer: {error}"
    if isinstance(error, OSError):
        return f"network error: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"
