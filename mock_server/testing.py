"""Running the mock inside someone else's tests: a threaded server, a handle to steer it,
and a webhook receiver that records what the mock delivers. The pytest plugin is a thin
layer over these; they work from any test runner.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import ApiError

# The pieces the README documents ("Use it from pytest"); tests/test_public_names.py pins them.
__all__ = ["CallbackReceiver", "MockHandle", "ThreadedServer"]

START_TIMEOUT = 10.0


class _NoMock(ApiError):
    status = 503
    code = "service_unavailable"
    type = ApiError.type
    default_message = "No mock is mounted on this server right now"


class SwitchableApp:
    """An ASGI app that forwards to whichever app is mounted, so one server can serve a fresh
    mock to each test without a new port or a new thread."""

    def __init__(self, app: ASGIApp | None = None) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.loop = asyncio.get_running_loop()
        app = self.app
        if app is not None:
            await app(scope, receive, send)
            return
        if scope["type"] == "http":
            body = _NoMock().render()
            await send(
                {"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ThreadedServer:
    """uvicorn in a background thread on a loopback port, serving a ``SwitchableApp``."""

    def __init__(self, *, host: str = "127.0.0.1", ssl_certfile: str | None = None, ssl_keyfile: str | None = None):
        import uvicorn

        from .connections import protocol_class

        self.host = host
        self.switch = SwitchableApp()
        self.port = free_port(host)
        scheme = "https" if ssl_certfile else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        config = uvicorn.Config(
            self.switch,
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            http=protocol_class("auto"),  # serve's protocol: malformed HTTP answered in the envelope
            ws="none",
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"nanobanana-mock:{self.port}", daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the mock server did not start on {self.url}")
            time.sleep(0.005)
        return self

    def mount(self, app: ASGIApp | None) -> None:
        self.switch.app = app

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        """Run ``coroutine`` on the server's event loop (if it has served anything yet)."""
        loop = self.switch.loop
        if loop is None or not loop.is_running():
            coroutine.close()
            return None
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class MockHandle:
    """What a test holds of its running mock.

    Usage::

        mock.advance(10)                                  # move the virtual clock
        mock.add_rule({"match": {"route": "create"}, "respond": {"status": 429}, "times": 1})
        mock.prefer(task_error="content_policy_violation")  # the next create's task fails
        assert [r["path"] for r in mock.requests()] == ["/v1/images/generations", ...]
    """

    base_url: str
    api_key: str = "sk-test"
    admin_token: str | None = None
    app: Any = None
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        headers = {"X-Mock-Admin-Token": self.admin_token} if self.admin_token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=30, verify=False)

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` for this test's key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def context(self) -> Any:
        """The mock's backend (``MockBackend``), for assertions beyond the admin API."""
        return self.app.state.mock if self.app is not None else None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"admin call {method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    def now(self) -> float:
        return float(self._call("GET", "/__mock/clock")["now"])

    def advance(self, seconds: float) -> float:
        """Move mock time forward as if it passed continuously: every callback attempt, retry
        and timeout falling due on the way runs at its own time, and this returns once they
        are journalled."""
        return float(self._call("POST", "/__mock/clock/advance", json={"seconds": seconds})["now"])

    def add_rule(self, rule: dict[str, Any] | None = None, **members: Any) -> str:
        """Add a failure rule (README, "Rules"); returns its id."""
        added = self._call("POST", "/__mock/rules", json=rule if rule is not None else members)
        return str(added["rules"][0]["id"])

    def remove_rule(self, rule_id: str) -> None:
        self._call("DELETE", f"/__mock/rules/{rule_id}")

    def prefer(
        self,
        *,
        code: int | None = None,
        task_error: str | None = None,
        task_duration: float | None = None,
        task_stuck: bool | None = None,
        delay_ms: int | None = None,
        route: str = "create",
        times: int | None = 1,
    ) -> str:
        """What a ``Prefer`` header would do, applied server-side to the next ``times`` calls
        of ``route`` (for clients whose headers a test cannot set). Returns the rule id."""
        rule: dict[str, Any] = {"match": {"route": route}}
        if code is not None:
            rule["respond"] = {"status": code}
        task = {
            k: v
            for k, v in (("error", task_error), ("duration", task_duration), ("stuck", task_stuck))
            if v is not None
        }
        if task:
            rule["task"] = task
        if delay_ms:
            rule["latency_ms"] = delay_ms
        if times is not None:
            rule["times"] = times
        return self.add_rule(rule)

    @staticmethod
    def prefer_header(**preferences: Any) -> dict[str, str]:
        """The ``Prefer`` header for these preferences: ``prefer_header(task_error="service_error")``."""
        parts = []
        for name, value in preferences.items():
            token = name.replace("_", "-")
            parts.append(token if value is True else f"{token}={value}")
        return {"Prefer": ", ".join(parts)}

    def _listing(self, path: str, name: str, params: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        """Every item of a paged admin listing (or the newest ``limit``), oldest first."""
        pages: list[list[dict[str, Any]]] = []
        wanted = limit
        while True:
            if wanted is not None:
                params = {**params, "limit": min(wanted, 1000)}
            answer = self._call("GET", path, params=params)
            pages.append(answer[name])
            if wanted is not None:
                wanted -= len(answer[name])
            if answer.get("next_cursor") is None or (wanted is not None and wanted <= 0):
                break
            params = {**params, "cursor": answer["next_cursor"]}
        return [item for page in reversed(pages) for item in page]

    def tasks(self, key: str | None = None) -> list[dict[str, Any]]:
        return self._listing("/__mock/tasks", "tasks", {"key": key} if key else {})

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """The request journal, oldest first (filters: method, path, key, status, limit)."""
        params = {k: v for k, v in filters.items() if v is not None and k != "limit"}
        return self._listing("/__mock/requests", "requests", params, filters.get("limit"))

    def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        """Every callback delivery attempt the mock made."""
        return self._listing("/__mock/callbacks", "callbacks", {"task_id": task_id} if task_id else {})

    def reset(self) -> None:
        self._call("POST", "/__mock/reset")

    def close(self) -> None:
        self._http.close()


@dataclass
class ReceivedCallback:
    """One POST a ``CallbackReceiver`` got: its path, headers and body, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


class CallbackReceiver:
    """A webhook receiver on a loopback port that records every POST, and fails on command.

    Usage::

        receiver.attach(mock)           # wait_for() also waits for the mock's journal
        receiver.fail_next(2)           # the next two deliveries answer 500
        receiver.hang_next(1)           # the next delivery gets no answer until release()
        receiver.wait_for(3)            # block until three deliveries are done

    A delivery is recorded once its answer has been sent. With a mock attached (the pytest
    plugin attaches the test's ``nanobanana_mock``), ``wait_for(n)`` returns only once the
    mock has also finished handling n deliveries to this receiver (each has its entry in
    the callback journal, its retry booked), so a test's next ``advance()`` cannot land
    between the receiver's answer and the mock reading it.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.deliveries: list[ReceivedCallback] = []
        self._failures: list[int] = []
        self._hangs = 0
        self._release = threading.Event()
        self._arrived = threading.Condition()
        self._journals: list[Callable[[], list[dict[str, Any]] | None]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, hang = receiver._next_answer()
                if hang:
                    receiver._release.wait(timeout=30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    self.wfile.flush()
                finally:
                    with receiver._arrived:
                        receiver.deliveries.append(
                            ReceivedCallback(self.path, dict(self.headers.items()), body, status)
                        )
                        receiver._arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, name="callback-receiver", daemon=True)
        self._thread.start()

    def _next_answer(self) -> tuple[int, bool]:
        with self._arrived:
            if self._hangs:
                self._hangs -= 1
                return 200, True
            if self._failures:
                return self._failures.pop(0), False
            return 200, False

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._arrived:
            self._failures.extend([status] * count)

    def hang_next(self, count: int = 1) -> None:
        with self._arrived:
            self._hangs += count
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    def attach(self, mock: MockHandle | Callable[[], list[dict[str, Any]] | None]) -> None:
        """Let ``wait_for()`` also wait for this mock's callback journal (a ``MockHandle``, or
        a function returning journal entries, or None while there is no mock to wait for)."""
        self._journals.append(mock.callbacks if isinstance(mock, MockHandle) else mock)

    def _handled(self) -> int | None:
        """Deliveries to this receiver that the attached mocks have journalled (None: no mock)."""
        journals = [entries for entries in (journal() for journal in self._journals) if entries is not None]
        if not journals:
            return None
        return sum(1 for entries in journals for entry in entries if self._is_mine(entry))

    def _is_mine(self, entry: dict[str, Any]) -> bool:
        if entry.get("kind") not in ("attempt", "duplicate") or entry.get("result") not in ("delivered", "failed"):
            return False
        try:
            target = urlsplit(str(entry.get("url")))
            port = target.port
        except ValueError:
            return False
        return port == self.port and target.hostname in {self.host, "127.0.0.1", "localhost", "::1"}

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedCallback]:
        """Block until ``count`` deliveries are done: answered here and, with a mock attached,
        journalled by the mock (or fail after ``timeout`` real seconds)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} callback deliveries, got {len(self.deliveries)}")
        handled = self._handled()
        if handled is not None:
            while handled < count:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{count} deliveries arrived, but the mock has finished handling {handled}")
                time.sleep(0.005)
                handled = self._handled() or 0
        with self._arrived:
            return list(self.deliveries)

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
