"""A webhook receiver on a loopback port, for callback tests: plain or TLS, scripted answers.

Each call takes the next answer from the script (then ``default``):

    200, 204, 500, 302 ...   answer that status (302 with a Location header)
    "hang"                   read the request, never answer (until the receiver closes)
    "reset"                  read the request, then reset the connection
    "close"                  read the request, then close without a word
    "slow"                   read the request, then answer 500 after 0.2 real seconds
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Answer = int | str


@dataclass
class Call:
    mock_time: float
    wall: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    now: Callable[[], float]
    script: list[Answer] = field(default_factory=list)
    default: Answer = 200
    tls: ssl.SSLContext | None = None
    calls: list[Call] = field(default_factory=list)

    async def start(self) -> Receiver:
        self._writers: set[asyncio.StreamWriter] = set()
        self._release = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hook"

    async def close(self) -> None:
        self._release.set()
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        await asyncio.sleep(0)

    def _next(self) -> Answer:
        return self.script.pop(0) if self.script else self.default

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.calls.append(Call(self.now(), time.monotonic(), method, path, headers, body))
            answer = self._next()
            if answer == "hang":
                await self._release.wait()
            elif answer == "reset":
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            elif answer == "close":
                pass
            elif answer == "slow":
                await asyncio.sleep(0.2)
                writer.write(b"HTTP/1.1 500 X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                await writer.drain()
            else:
                extra = "Location: https://elsewhere.example/hook\r\n" if 300 <= int(answer) < 400 else ""
                writer.write(f"HTTP/1.1 {answer} X\r\nContent-Length: 2\r\n{extra}Connection: close\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
