"""A stand-in EvoLink target on a free loopback port: faithful by default, or drifting from the
contract in exactly one fact (``StandIn.drift``), for the proxy's tests.

A task's life is counted in polls, not in time: the create answers pending, the first poll
processing, every later poll completed (or what the drift says). The stand-in keeps every
request it received and the last answer it sent, byte for byte, so a test can compare them
with what went through the proxy.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

START_TIMEOUT = 10.0

DRIFTS: dict[str, str] = {
    # drift name: the fact (the contract suite's check name) the proxy must report for it
    "error_as_text": "error_envelope",
    "task_id_form": "task_id_form",
    "created_string": "created_plausible",
    "create_not_pending": "task_state_consistent",
    "progress_backwards": "lifecycle",
    "status_backwards": "lifecycle",
    "wrong_task": "lifecycle",
    "poll_without_object": "response_schema_conformance",
    "undocumented_status": "status_code_conformance",
    "accepts_invalid": "negative_data_rejection",
    "accepts_no_key": "auth_required",
    "lost_task": "lifecycle",
}


@dataclass
class Sent:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class StandIn:
    """The ASGI app; ``drift`` (a key of ``DRIFTS`` or None) and ``hang`` may change at any time."""

    drift: str | None = None
    hang: bool = False
    compress: bool = False
    """Answer gzip-compressed to clients that accept it."""
    received: list[Received] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    counter: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def task(self, task_id: str, status: str, progress: int) -> dict[str, Any]:
        created = int(task_id.split("-")[2]) if task_id.count("-") >= 3 else int(time.time())
        body: dict[str, Any] = {
            "created": created,
            "id": task_id,
            "model": "nano-banana-beta",
            "object": "image.generation.task",
            "progress": progress,
            "status": status,
            "task_info": {"can_cancel": status not in ("completed", "failed"), "estimated_time": 45},
            "type": "image",
            "usage": {"billing_rule": "per_call", "credits_reserved": 1.6, "user_group": "default"},
        }
        if status == "completed":
            body["results"] = ["http://127.0.0.1:9/files/a.png"]
            body["result_data"] = [{"url": "http://127.0.0.1:9/files/a.png"}]
        return body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in scope["headers"]]
        self.received.append(
            Received(scope["method"], scope["path"], scope["query_string"].decode(), headers, b"".join(chunks))
        )
        if self.hang:
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        status, extra, body = self.answer(scope["method"], scope["path"], dict(headers), b"".join(chunks))
        answer_headers = [(b"content-type", b"application/json"), *extra]
        if isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body, separators=(",", ":")).encode()
        if self.compress and "gzip" in dict(headers).get("accept-encoding", ""):
            raw = gzip.compress(raw, mtime=0)
            answer_headers.append((b"content-encoding", b"gzip"))
        answer_headers.append((b"content-length", str(len(raw)).encode()))
        self.sent.append(Sent(status, answer_headers, raw))
        await send({"type": "http.response.start", "status": status, "headers": answer_headers})
        await send({"type": "http.response.body", "body": raw})

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[Any], Any]:
        drift = self.drift
        key = headers.get("authorization")
        if path == "/hook":
            return 200, [], {"hook": "answered"}
        if path == "/redirect":
            return 302, [(b"location", b"http://127.0.0.1:9/elsewhere")], {"moved": True}
        if key is None and drift != "accepts_no_key" or key == "Bearer sk-wrong":
            if drift == "error_as_text":
                return 401, [(b"x-drift", b"text")], b"Unauthorized"
            return 401, [], _error("unauthorized", "Missing API key", "authentication_error")
        if method == "POST" and path == "/v1/images/generations":
            request = json.loads(body or b"{}")
            if "prompt" not in request and drift != "accepts_invalid":
                return (
                    400,
                    [],
                    _error("invalid_request", "Missing required parameter: 'prompt'", "invalid_request_error"),
                )
            self.counter += 1
            task_id = f"task-unified-{int(time.time())}-{self.counter:08d}"
            if drift == "task_id_form":
                task_id = f"task-{self.counter}"
            if drift == "undocumented_status":
                return 202, [], self.task(task_id, "pending", 0)
            answer = self.task(task_id, "pending", 0)
            if drift == "created_string":
                answer["created"] = "yesterday"
            if drift == "create_not_pending":
                answer = self.task(task_id, "processing", 10)
            self.polls[task_id] = 0
            return 200, [], answer
        if method == "GET" and path.startswith("/v1/tasks/"):
            task_id = path.rsplit("/", 1)[1]
            if task_id not in self.polls:
                return 404, [], _error("task_not_found", "Task not found", "invalid_request_error")
            self.polls[task_id] += 1
            seen = self.polls[task_id]
            if drift == "lost_task" and seen >= 2:
                return 404, [], _error("task_not_found", "Task not found", "invalid_request_error")
            answer = self.task(task_id, "processing", 50) if seen == 1 else self.task(task_id, "completed", 100)
            if drift == "progress_backwards" and seen >= 2:
                answer = self.task(task_id, "processing", 40)
            if drift == "status_backwards" and seen >= 2:
                answer = self.task(task_id, "pending", 50)
            if drift == "wrong_task":
                answer["id"] = "task-unified-1700000000-otherone"
            if drift == "poll_without_object":
                del answer["object"]
            return 200, [], answer
        return 404, [], _error("not_found", "Not found", "invalid_request_error")


def _error(code: str, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": kind}}


@contextmanager
def serving(stand_in: StandIn) -> Iterator[str]:
    """Serve ``stand_in`` on a free loopback port in a thread; its base URL. Stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(stand_in, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"stand-in:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in did not start"
        assert thread.is_alive(), "the stand-in stopped at start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stand_in.release.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
