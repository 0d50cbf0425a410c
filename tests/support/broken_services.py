"""A catalog of deliberately broken services: the mock with one promise broken each.

Each builder returns an ASGI app: the real mock (real clock, 3-second tasks, accounts that
know ``OWNER`` and ``OTHER`` only) behind a wrapper that changes one thing about its
answers. The contract suite must find each break and name it in its report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evolink_spec import TASK_PATH_PREFIX, facts
from mock_server import Settings, create_app
from mock_server.accounts import AccountSpec
from mock_server.config import MockConfig

OWNER = "sk-broken-owner"
OTHER = "sk-broken-other"
TASK_SECONDS = 3.0

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]


@dataclass
class Exchange:
    """One request and the mock's answer, which a break may rewrite."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    answer: bytes = b""
    answer_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.answer)

    def set_json(self, value: Any) -> None:
        self.answer = json.dumps(value, separators=(",", ":")).encode()


Break = Callable[[Exchange, Callable[[Exchange], Any]], Any]
"""``async (exchange, forward)``: may change the request, must call ``await forward(exchange)``
once to get the mock's answer into it, and may then change the answer."""


def mock_app(task_seconds: float = TASK_SECONDS) -> ASGIApp:
    config = MockConfig(accounts={OWNER: AccountSpec(), OTHER: AccountSpec()}, unknown_keys="reject")
    return create_app(Settings(clock="real", task_duration=task_seconds, seed=11), config=config)


class Broken:
    """ASGI: hand each provider request to ``brk`` around the real mock."""

    def __init__(self, brk: Break, task_seconds: float = TASK_SECONDS) -> None:
        self.inner = mock_app(task_seconds)
        self.brk = brk

    async def __call__(self, scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.inner(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        exchange = Exchange(scope["method"], scope["path"], headers, b"".join(chunks))

        async def forward(ex: Exchange) -> None:
            inner_scope = dict(scope)
            inner_scope["headers"] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ex.headers.items()]
            sent = False

            async def inner_receive() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": ex.body, "more_body": False}

            parts: list[bytes] = []

            async def inner_send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    ex.status = message["status"]
                    ex.answer_headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"
                    ]
                elif message["type"] == "http.response.body":
                    parts.append(message.get("body", b""))

            await self.inner(inner_scope, inner_receive, inner_send)
            ex.answer = b"".join(parts)

        await self.brk(exchange, forward)
        headers_out = [*exchange.answer_headers, (b"content-length", str(len(exchange.answer)).encode())]
        await send({"type": "http.response.start", "status": exchange.status, "headers": headers_out})
        await send({"type": "http.response.body", "body": exchange.answer})


def _is_poll(ex: Exchange) -> bool:
    return ex.method == "GET" and ex.path.startswith(TASK_PATH_PREFIX) and ex.status == 200


async def status_outside_enum(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """A running task answers ``status: "running"``, which the spec's enum does not hold."""
    await forward(ex)
    if _is_poll(ex):
        body = ex.json()
        if body.get("status") == "processing":
            body["status"] = "running"
            ex.set_json(body)


async def envelope_without_type(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """Error answers lose the envelope's ``type``."""
    await forward(ex)
    if ex.status >= 400:
        body = ex.json()
        body.get("error", {}).pop("type", None)
        ex.set_json(body)


_polls: dict[str, int] = {}


async def progress_backwards(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """While a task runs, each poll reports less progress than the one before."""
    await forward(ex)
    if _is_poll(ex):
        body = ex.json()
        if body.get("status") == "processing":
            seen = _polls.get(body["id"], 0)
            _polls[body["id"]] = seen + 1
            body["progress"] = max(1, 90 - 20 * seen)
            ex.set_json(body)


async def results_before_completion(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """A running task already lists a result link."""
    await forward(ex)
    if _is_poll(ex):
        body = ex.json()
        if body.get("status") in ("pending", "processing"):
            body["results"] = [f"http://127.0.0.1/files/images/{body['id']}_0.png"]
            ex.set_json(body)


_VALID_CREATE = json.dumps({"model": facts().default_model, "prompt": "anything"}).encode()


async def invalid_body_accepted(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """A create the mock refuses as invalid is made anyway, from a valid body, and answered 200."""
    original = (dict(ex.headers), ex.body)
    await forward(ex)
    if ex.method == "POST" and ex.status == 400 and ex.json()["error"]["code"] == "invalid_request":
        ex.headers, ex.body = original
        ex.headers["content-type"] = "application/json"
        ex.body = _VALID_CREATE
        await forward(ex)


def _non_ascii_prompt(body: bytes) -> bool:
    try:
        prompt = json.loads(body).get("prompt")
    except (ValueError, AttributeError):
        return False
    return isinstance(prompt, str) and not prompt.isascii()


async def server_error_on_input(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """A create whose prompt is not plain ASCII crashes with 500 (an encoding bug)."""
    await forward(ex)
    if ex.method == "POST" and _non_ascii_prompt(ex.body):
        ex.status = 500
        ex.set_json({"error": {"code": "internal_error", "message": "boom", "type": "api_error"}})


async def foreign_task_visible(ex: Exchange, forward: Callable[[Exchange], Any]) -> None:
    """Every known key reads as the owner: any key sees every task."""
    if ex.headers.get("authorization") == f"Bearer {OTHER}":
        ex.headers["authorization"] = f"Bearer {OWNER}"
    await forward(ex)


CATALOG: dict[str, Break] = {
    brk.__name__: brk
    for brk in (
        status_outside_enum,
        envelope_without_type,
        progress_backwards,
        results_before_completion,
        invalid_body_accepted,
        server_error_on_input,
        foreign_task_visible,
    )
}


# A break only two polls of a running task can show gets tasks long enough for two polls
# (the suite polls a live task 0.5 s, 1.5 s and 3.5 s after creating it).
TASK_SECONDS_FOR = {"progress_backwards": 6.0}


def build(name: str) -> ASGIApp:
    return Broken(CATALOG[name], TASK_SECONDS_FOR.get(name, TASK_SECONDS))
