"""The suite's own callback receiver: an HTTP server that answers each delivery from a script.

Each scenario has a token; the target is given ``<base>/cb/<token>`` as ``callback_url``.
Every request is recorded with its times on the judge's clock, and, before it is answered,
the receiver polls the task it names (``poll``), so the judge can compare the body with what
the task's owner saw at that moment. Answers, in order per token (then ``200``):

- an int: that status (a 3xx carries ``Location: <base>/redirected/<token>``, which a
  target must not follow);
- ``"hang"``: no answer for ``HANG_SECONDS`` (longer than the documented 10 s timeout),
  or until the receiver is released.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_SECONDS = 13.0
"""Real seconds a hanging answer waits: longer than the documented 10 s attempt timeout."""

Answer = int | str


@dataclass
class Attempt:
    token: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    started: float
    """When the request arrived, on the judge's clock."""
    answered: float | None = None
    """When the answer went out (None for a hang)."""
    answer: Answer = 200
    poll: dict[str, Any] | None = None
    """The owner's poll of the task while this attempt waited for its answer."""
    poll_error: str = ""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Receiver:
    clock: Callable[[], float]
    poll: Callable[[str], dict[str, Any]]
    """Ask the target for a task by id, as its owner; returns the parsed answer."""
    listen: tuple[str, int] = ("127.0.0.1", 0)
    public_base: str | None = None
    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    task_ids: dict[str, str] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    redirected: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.release = threading.Event()
        self.arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def _handle(self) -> None:
                receiver._handle(self)

            do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(self.listen, Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="contract-receiver", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        if self.public_base:
            return self.public_base.rstrip("/")
        host = self.listen[0]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def url(self, token: str) -> str:
        return f"{self.base}/cb/{token}"

    def expect(self, token: str, script: list[Answer]) -> str:
        self.scripts[token] = list(script)
        return self.url(token)

    def of(self, token: str) -> list[Attempt]:
        with self._lock:
            return [attempt for attempt in self.attempts if attempt.token == token]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = handler.path.split("?", 1)[0].strip("/").split("/")
        kind, token = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
        attempt = Attempt(
            token=token,
            method=handler.command,
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            started=self.clock(),
        )
        if kind == "redirected":
            with self._lock:
                self.redirected.append(attempt)
            self._reply(handler, 200, attempt)
            return
        with self._lock:
            script = self.scripts.get(token, [])
            attempt.answer = script.pop(0) if script else 200
        self._poll_for(attempt)
        with self.arrived:
            self.attempts.append(attempt)
            self.arrived.notify_all()
        if attempt.answer == "hang":
            self.release.wait(HANG_SECONDS)
            try:
                self._reply(handler, 500, attempt, record=False)
            except OSError:
                pass
            return
        self._reply(handler, int(attempt.answer), attempt)

    def _poll_for(self, attempt: Attempt) -> None:
        task_id = self.task_ids.get(attempt.token)
        if task_id is None:
            try:
                task_id = str(attempt.json().get("id"))
            except (ValueError, AttributeError):
                return
        try:
            attempt.poll = self.poll(task_id)
        except Exception as exc:  # noqa: BLE001 - any failure of the poll is reported, not raised in a thread
            attempt.poll_error = f"{type(exc).__name__}: {exc}"

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, attempt: Attempt, *, record: bool = True) -> None:
        if record:
            # Read before the answer leaves: on a virtual clock the mock moves time on once it has it.
            attempt.answered = self.clock()
        handler.send_response(status)
        if 300 <= status < 400:
            handler.send_header("Location", f"{self.base}/redirected/{attempt.token}")
        handler.send_header("Content-Length", "2")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"ok")
        handler.wfile.flush()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
