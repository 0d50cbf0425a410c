"""What crosses the proxy: which headers go on, the request's URL at the target, the body within
its limit, and the proxy's own answers (in the provider's envelope).

Hop-by-hop headers (RFC 9110 7.6.1: ``Connection`` and what it names, ``Keep-Alive``,
``Proxy-*``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``) belong to one connection,
so neither direction passes them on. ``Host`` and ``Content-Length`` are the forwarded
request's own (the target's name; the body's length). Everything else passes unchanged,
``Authorization`` included. The target is fixed at start: the request's absolute-form URL,
``Host`` and ``X-Forwarded-*`` headers never choose where it goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
from starlette.types import Receive, Send

from ..errors import ApiError, PayloadTooLarge

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_OWN = frozenset({"host", "content-length"})


class ProxyError(ApiError):
    """502: the proxy made this answer, not the target (unreachable, timed out, or, with
    ``--strict``, an answer that broke the contract)."""

    status = 502
    code = "proxy_error"
    type = "proxy_error"
    default_message = "The proxy could not get an answer from the target"


class ContractBroken(ProxyError):
    """``--strict``: the target's answer broke the contract, so the client gets this instead."""

    code = "contract_violation"


def _named_by_connection(headers: Iterable[tuple[str, str]]) -> set[str]:
    named: set[str] = set()
    for name, value in headers:
        if name == "connection":
            named.update(token.strip().lower() for token in value.split(",") if token.strip())
    return named


def forwarded_request_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's headers as they go to the target (names lower case, order kept)."""
    dropped = HOP_BY_HOP | _REQUEST_OWN | _named_by_connection(headers)
    return [(name, value) for name, value in headers if name not in dropped]


def returned_answer_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The target's headers as they go back to the client."""
    dropped = HOP_BY_HOP | _named_by_connection(headers)
    return [(name, value) for name, value in headers if name not in dropped]


def target_url(base: httpx.URL, raw_path: bytes, query: bytes) -> httpx.URL:
    """The request's URL at the target: the target's scheme, host and port always, its path
    prefix, then the request's path and query exactly as they arrived (percent-escapes kept)."""
    prefix = base.raw_path.split(b"?", 1)[0].rstrip(b"/")
    path = raw_path if raw_path.startswith(b"/") else b"/" + raw_path
    return base.copy_with(raw_path=prefix + path + (b"?" + query if query else b""))


async def read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body, whole, or ``PayloadTooLarge`` as soon as it passes ``limit`` bytes."""
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body larger than {limit} bytes (--max-body-bytes)")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body larger than {limit} bytes (--max-body-bytes)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_error(send: Send, error: ApiError) -> None:
    body = error.render()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def decoded(status: int, headers: list[tuple[str, str]], raw: bytes) -> bytes:
    """The body with its ``Content-Encoding`` undone (gzip, deflate, br...), for the checks; the
    raw bytes are what the client gets."""
    if not any(name == "content-encoding" for name, _ in headers):
        return raw
    try:
        return httpx.Response(status, headers=headers, content=raw).read()
    except httpx.DecodingError:
        return raw


def latin1_headers(raw: Any) -> list[tuple[str, str]]:
    return [(bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1")) for name, value in raw]
