"""HTTP/1.1 over a raw socket, for what clients cannot send: malformed requests, half-sent
bodies, slow headers, several requests on one kept-alive connection."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evolink_spec import CREATE_PATH, facts

WAIT = 10.0
"""Seconds any read waits before the test fails (a bound, never a measurement)."""
CREATE_BODY = json.dumps({"model": facts().default_model, "prompt": "a cat"}, separators=(",", ":")).encode()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def connect(url: str) -> socket.socket:
    sock = socket.create_connection(address(url), timeout=WAIT)
    return sock


def request(method: str, path: str, *headers: str, body: bytes = b"", length: int | None = None) -> bytes:
    """A well-formed request; ``length`` declares a Content-Length other than the body's."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if body or length is not None:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def create(*headers: str, body: bytes = CREATE_BODY, length: int | None = None) -> bytes:
    return request(
        "POST",
        CREATE_PATH,
        "Authorization: Bearer sk-raw",
        "Content-Type: application/json",
        *headers,
        body=body,
        length=length,
    )


def read_answer(sock: socket.socket) -> Answer:
    """One whole answer (it must carry Content-Length, as every answer of the mock does)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {buffer!r}")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the middle of an answer")
        rest += chunk
    return Answer(int(status_line.split()[1]), headers, rest[:length])


def exchange(url: str, raw: bytes) -> Answer:
    """Send ``raw`` on a new connection and read one answer."""
    with connect(url) as sock:
        sock.sendall(raw)
        return read_answer(sock)


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` (reading and dropping anything it still sends)."""
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
