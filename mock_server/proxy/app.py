"""The proxy as an ASGI app: forward, judge, record; its own routes under ``/__mock/``.

A request goes to the target unchanged (``wire.py``) through one pooled ``httpx.AsyncClient``
that never follows redirects. The answer comes back unchanged, except hop-by-hop headers;
the exchange is then judged (``checker.py``), its violations logged, and it is recorded.
With ``strict`` the judgement comes first, and an answer that broke the contract is replaced
by 502 ``contract_violation``. Paths that are no API operation (result images) stream
through without being held whole.
"""

from __future__ import annotations

import itertools
import json
import ssl
import time
from collections.abc import Callable
from typing import Any

import certifi
import httpx
from starlette.types import Receive, Scope, Send

from ..admin_guard import AdminGuard
from ..errors import ApiError, MethodNotAllowed, NotFound
from ..settings import Settings
from .checker import ExchangeChecker
from .exchange import Exchange
from .recording import RecordingWriter
from .settings import POOL_CONNECTIONS, POOL_SHARDS, ProxySettings
from .violations import Violation, ViolationLog
from .wire import (
    ContractBroken,
    ProxyError,
    decoded,
    forwarded_request_headers,
    latin1_headers,
    read_body,
    returned_answer_headers,
    send_error,
    send_json,
    target_url,
)

ADMIN_PREFIX = "/__mock/"
CALLBACK_PATH = "/__callback"
"""Where the proxy receives the target's callbacks (give ``https://PROXY/__callback`` as ``callback_url``)."""
SERVICE = "nanobanana-mock proxy"


class ProxyApp:
    """Usage: ``ProxyApp(ProxySettings(target=URL))``, served by uvicorn (lifespan on or off)."""

    def __init__(
        self,
        settings: ProxySettings,
        *,
        checker: ExchangeChecker | None = None,
        log: ViolationLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.base = httpx.URL(settings.target)
        self.checker = checker or ExchangeChecker()
        self.log = log or ViolationLog()
        self.recorder = (
            RecordingWriter(settings.record_dir, images=settings.record_images) if settings.record_dir else None
        )
        self.guard = AdminGuard(Settings(host=settings.host, admin_token=settings.admin_token))
        self.clock = clock
        self.exchanges = 0
        self.operations_seen: dict[str, bool] = {}
        """Each API operation seen, and whether any of its exchanges broke the contract (for the report)."""
        self._ids = itertools.count(1)
        self._clients: list[httpx.AsyncClient] = []

    # -- the pooled clients -------------------------------------------------------------------

    def client(self, downstream: Any = None) -> httpx.AsyncClient:
        """The pooled client for requests from ``downstream`` (the ASGI ``client`` address).

        httpcore's pool walks its connections and waiting requests for every request, so one
        pool of many busy connections costs more per request the more there are (measured:
        ~2 ms of CPU a request at 16 connections). The pool is therefore split into
        ``POOL_SHARDS`` pools, and a client connection always uses the same one."""
        if not self._clients:
            # One context for every pool (each load of the CA bundle costs ~30 ms):
            # certifi's CAs, as httpx trusts by default, plus ``ca_file``.
            verify = ssl.create_default_context(cafile=certifi.where())
            if self.settings.ca_file:
                verify.load_verify_locations(cafile=self.settings.ca_file)
            per_shard = -(-POOL_CONNECTIONS // POOL_SHARDS)
            self._clients = [
                httpx.AsyncClient(
                    verify=verify,
                    follow_redirects=False,
                    timeout=httpx.Timeout(self.settings.timeout),
                    limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
                    trust_env=False,  # HTTP(S)_PROXY must not send the traffic anywhere but the target
                )
                for _ in range(POOL_SHARDS)
            ]
        return self._clients[hash(downstream) % POOL_SHARDS if downstream is not None else 0]

    async def aclose(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        try:
            if path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/"):
                await self._admin(scope, receive, send)
            elif path == CALLBACK_PATH:
                await self._callback(scope, receive, send)
            else:
                await self._forward(scope, receive, send)
        except ApiError as error:
            await send_error(send, error)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- the proxy's own routes -----------------------------------------------------------------

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        refusal = self.guard.check(method, scope.get("scheme", "http"), list(scope["headers"]))
        if refusal is not None:
            raise refusal
        path: str = scope["path"]
        if path == "/__mock/violations":
            if method == "GET":
                await send_json(send, 200, json.dumps(self.log.as_json()).encode())
            elif method == "DELETE":
                self.log.clear()
                await send_json(send, 200, b'{"status":"cleared"}')
            else:
                raise MethodNotAllowed(headers={"Allow": "GET, DELETE"})
        elif path == "/__mock/health":
            if method != "GET":
                raise MethodNotAllowed(headers={"Allow": "GET"})
            health = {
                "status": "ok",
                "service": SERVICE,
                "target": str(self.base),
                "strict": self.settings.strict,
                "exchanges": self.exchanges,
                "violations": self.log.total,
            }
            await send_json(send, 200, json.dumps(health).encode())
        else:
            raise NotFound(
                f"The proxy answers only /__mock/violations and /__mock/health; send admin calls for the "
                f"target to {self.base} directly, not {path[:100]!r}"
            )

    # -- callbacks --------------------------------------------------------------------------------

    async def _callback(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A callback from the target: judged as the task's answer, recorded with its task, then
        passed on to ``callback_forward`` (whose answer the target gets) or answered 200 here."""
        if scope["method"] != "POST":
            raise MethodNotAllowed(headers={"Allow": "POST"})
        headers = latin1_headers(scope["headers"])
        declared = next((value for name, value in headers if name == "content-length"), None)
        body = await read_body(receive, declared, self.settings.max_body_bytes)
        query: bytes = scope.get("query_string", b"")
        delivery = Exchange(
            request_id=f"p{next(self._ids):06d}",
            method="POST",
            path=CALLBACK_PATH,
            query=query.decode("latin-1"),
            request_headers=tuple(headers),
            request_body=body,
            status=None,
            answer_headers=(),
            answer_body=b"",
            at=self.clock(),
        )
        found = self.checker.judge_callback(delivery)
        task_id = _task_id_of(delivery)
        for violation in found:
            self.log.add(Violation.of(violation, side="answer", request_id=delivery.request_id, task_id=task_id))
        status, answer_headers, answer_body = 200, [("content-type", "application/json")], b'{"status":"received"}'
        if self.settings.callback_forward:
            url = httpx.URL(self.settings.callback_forward)
            try:
                answer = await self.client().post(url, content=body, headers=forwarded_request_headers(headers))
            except httpx.HTTPError as error:
                raise ProxyError(f"The callback receiver {url} could not be reached: {_reason(error)}") from None
            status, answer_body = answer.status_code, answer.content
            answer_headers = [(n.lower(), v) for n, v in answer.headers.multi_items() if n.lower() == "content-type"]
        if self.recorder is not None and task_id is not None:
            self.recorder.record_callback(
                task_id, _answered(delivery, status, answer_headers, answer_body, self.clock())
            )
        await self._send(
            send, status, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer_headers], answer_body
        )

    # -- forwarding -----------------------------------------------------------------------------

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        headers = latin1_headers(scope["headers"])
        declared = next((value for name, value in headers if name == "content-length"), None)
        body = await read_body(receive, declared, self.settings.max_body_bytes)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        request_id = f"p{next(self._ids):06d}"
        client = self.client(tuple(scope.get("client") or ()))
        request = client.build_request(
            method,
            target_url(self.base, raw_path, query),
            headers=forwarded_request_headers(headers),
            content=body,
        )
        exchange = Exchange(
            request_id=request_id,
            method=method,
            path=scope["path"],
            query=query.decode("latin-1"),
            request_headers=tuple(headers),
            request_body=body,
            status=None,
            answer_headers=(),
            answer_body=b"",
            at=self.clock(),
        )
        try:
            answer = await client.send(request, stream=True)
        except httpx.TimeoutException:
            self._done(exchange)
            raise ProxyError(
                f"The target {self.base} did not answer within {self.settings.timeout:g} s (--timeout)"
            ) from None
        except httpx.HTTPError as error:
            self._done(exchange)
            raise ProxyError(f"The target {self.base} could not be reached: {_reason(error)}") from None
        try:
            answer_headers = [(name.lower(), value) for name, value in answer.headers.multi_items()]
            returned = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in returned_answer_headers(answer_headers)
            ]
            if exchange.operation_id is None:
                await self._stream(exchange, answer, answer_headers, returned, send)
                return
            try:
                # The bytes as sent (compressed if they were): ``aread`` would decode them.
                raw = b"".join([chunk async for chunk in answer.aiter_raw()])
            except httpx.HTTPError as error:
                raise ProxyError(f"The target {self.base} broke off its answer: {_reason(error)}") from None
        finally:
            await answer.aclose()
        exchange = _answered(
            exchange, answer.status_code, answer_headers, decoded(answer.status_code, answer_headers, raw), self.clock()
        )
        if self.settings.strict:
            broken = self._judge(exchange)
            if broken:
                first = broken[0]
                raise ContractBroken(
                    f"The target's answer ({answer.status_code}) broke the contract: [{first.fact}] {first.title}: "
                    f"{first.actual} ({len(broken)} violation(s); request {request_id}, see GET /__mock/violations)"
                )
            await self._send(send, answer.status_code, returned, raw)
        else:
            await self._send(send, answer.status_code, returned, raw)
            self._judge(exchange)
        self._done(exchange)

    async def _stream(
        self,
        exchange: Exchange,
        answer: httpx.Response,
        answer_headers: list[tuple[str, str]],
        returned: list[tuple[bytes, bytes]],
        send: Send,
    ) -> None:
        """Pass a non-API answer through chunk by chunk (kept whole only to record an image)."""
        keep = self.recorder is not None and self.recorder.wants_image(exchange.path, answer.status_code)
        kept: list[bytes] = []
        await send({"type": "http.response.start", "status": answer.status_code, "headers": returned})
        try:
            async for chunk in answer.aiter_raw():
                if keep:
                    kept.append(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError:
            pass  # the target broke off: end the answer here (the client sees a short body)
        await send({"type": "http.response.body", "body": b""})
        body = decoded(answer.status_code, answer_headers, b"".join(kept)) if keep else b""
        self._done(_answered(exchange, answer.status_code, answer_headers, body, self.clock()))

    @staticmethod
    async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _judge(self, exchange: Exchange) -> list[Violation]:
        """Check the exchange, log what it broke; the target's violations."""
        judgement = self.checker.judge(exchange)
        task_id = exchange.task_id
        found: list[Violation] = []
        for side, violations in (("request", judgement.request), ("answer", judgement.answer)):
            for violation in violations:
                entry = Violation.of(violation, side=side, request_id=exchange.request_id, task_id=task_id)
                self.log.add(entry)
                if side == "answer":
                    found.append(entry)
        if exchange.operation_id is not None:
            self.operations_seen[exchange.label] = self.operations_seen.get(exchange.label, False) or bool(found)
        return found

    def _done(self, exchange: Exchange) -> None:
        self.exchanges += 1
        if self.recorder is not None:
            self.recorder.record(exchange)


def _answered(exchange: Exchange, status: int, headers: list[tuple[str, str]], body: bytes, at: float) -> Exchange:
    return Exchange(
        request_id=exchange.request_id,
        method=exchange.method,
        path=exchange.path,
        query=exchange.query,
        request_headers=exchange.request_headers,
        request_body=exchange.request_body,
        status=status,
        answer_headers=tuple(headers),
        answer_body=body,
        at=at,
    )


def _task_id_of(delivery: Exchange) -> str | None:
    body = delivery.request_json()
    return str(body["id"]) if isinstance(body, dict) and isinstance(body.get("id"), str) else None


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text[:300]


def create_proxy_app(settings: ProxySettings, **kwargs: Any) -> ProxyApp:
    """The proxy for ``settings`` (keyword arguments as ``ProxyApp``'s)."""
    return ProxyApp(settings, **kwargs)
