"""The provider's two hot operations, create a task and query it, as plain ASGI apps.

Every request to the mock goes through one of these two, so they skip Starlette's
request objects, routing and middleware (``app.MockApp`` sends them here directly) and do
each step once: one pass over the headers, one read of the body, one schema check, one
render. The behaviour is the one documented in the README; the same functions also serve
the other methods Starlette routes here (HEAD on a task).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from evolink_spec import CREATE_OPERATION, TASK_OPERATION as QUERY_OPERATION

from .bodies import check_content_type, check_declared_length, parse_json, too_large
from .context import MockContext
from .errors import ApiError, FileNotFound, InternalError, InvalidRequest, SpecifiedError, TaskNotFound
from .idempotency import fingerprint
from .middleware import (
    FAULT_KEY,
    JOURNALLED_KEY,
    KEY_STATE,
    NOTE_KEY,
    TRANSPORT_KEY,
    break_connection,
    record_call,
    transport_of,
)
from .outcomes import failure_for
from .preferences import NO_PREFERENCES, WITHOUT_TASK, Preferences, parse_prefer
from .rules import Call, Decision
from .tasks import CANONICAL_MODEL, MODEL_ALIASES, creation_body, detail_body, render_json
from .validation import authorization_of, bearer_key, check_task_id

log = logging.getLogger("mock_server")

JSON_HEADERS = [(b"content-type", b"application/json")]

Answer = tuple[int, bytes, dict[str, str] | None]


class Incoming:
    """One request as the handlers see it: the headers they use, read in one pass."""

    __slots__ = (
        "scope",
        "receive",
        "content_type",
        "content_length",
        "prefer",
        "host",
        "idempotency_key",
        "state",
    )

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.content_type: str | None = None
        self.content_length: str | None = None
        self.prefer: list[str] | None = None
        self.host: str | None = None
        self.idempotency_key: str | None = None
        self.state: dict[str, Any] = scope.setdefault("state", {})
        for name, value in scope["headers"]:
            if name == b"content-type":
                self.content_type = value.decode("latin-1")
            elif name == b"content-length":
                self.content_length = value.decode("latin-1")
            elif name == b"prefer":
                self.prefer = [*(self.prefer or []), value.decode("latin-1")]
            elif name == b"host":
                self.host = value.decode("latin-1")
            elif name == b"idempotency-key":
                self.idempotency_key = value.decode("latin-1")

    def headers(self) -> dict[str, str]:
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in self.scope["headers"]}

    def base_url(self) -> str:
        scope = self.scope
        host = self.host
        if host is None:
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"

    async def body(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] != "http.request":
                # The client left before its body arrived whole: nothing is created from a part.
                self.state["mock_body"] = b"".join(chunks)
                self.state[NOTE_KEY] = {**self.state.get(NOTE_KEY, {}), "incomplete_body": True}
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self.state["mock_body"] = raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return raw


def files_base(mock: MockContext, base_url: Callable[[], str]) -> str:
    public = mock.settings.public_url
    return public.rstrip("/") if public else base_url().rstrip("/")


async def apply_preferences(values: list[str] | None, operation: str, mock: MockContext) -> Preferences:
    """Read ``Prefer`` and wait its ``delay-ms``; a non-200 ``code=`` then answers with the
    spec's example, carrying ``Preference-Applied`` and the headers that status carries."""
    if not values:
        return NO_PREFERENCES
    preferences = parse_prefer(values)
    forced = preferences.code if preferences.code != 200 else None
    examples = mock.examples[operation]
    if forced is not None and forced not in examples:
        documented = ", ".join(str(code) for code in [200, *sorted(examples)])
        raise InvalidRequest(
            f"Prefer code={forced} is not documented for this operation; documented: {documented}", param="Prefer"
        )
    if preferences.delay_ms:
        await mock.delays.sleep(preferences.delay_ms / 1000)
    if forced is not None:
        raise SpecifiedError(forced, examples[forced], headers=preferences.forced_headers())
    return preferences


def example_for(mock: MockContext, operation: str | None, status: int) -> dict[str, Any]:
    if operation is not None and status in mock.examples[operation]:
        return mock.examples[operation][status]
    for by_status in mock.examples.values():
        if status in by_status:
            return by_status[status]
    return {"error": {"code": "error", "message": "Error", "type": InternalError.type}}


async def intercept(mock: MockContext, call: Call, operation: str | None, state: dict[str, Any]) -> Decision:
    """Apply the failure rules to this call: latency, then an answer or a broken connection.
    ``state`` is the scope's state, where the journal and the fault layer read the outcome."""
    decision = mock.rules.evaluate(call)
    if not decision.rules:
        return decision
    state[NOTE_KEY] = {"rules": decision.rules}
    if decision.latency_ms:
        await mock.delays.sleep(decision.latency_ms / 1000)
    if decision.fault is not None:
        state[FAULT_KEY] = decision.fault
        if decision.fault in ("reset", "empty"):
            raise BrokenConnectionError()
    if decision.respond is not None:
        respond = decision.respond
        headers = {"Retry-After": str(respond.retry_after)} if respond.retry_after is not None else None
        if call.route == "image" and respond.status == 404:
            raise FileNotFound(respond.message, headers=headers)
        example = example_for(mock, operation, respond.status)
        raise SpecifiedError(respond.status, example, message=respond.message, headers=headers)
    return decision


class BrokenConnectionError(Exception):
    """A rule breaks this call's connection before anything is answered."""


def _call(mock: MockContext, route: str, method: str, key: str | None, prompt: str | None, incoming: Incoming) -> Call:
    headers = incoming.headers() if mock.rules.needs_headers else {}
    return Call(route, method, key, prompt, headers)


def _authorized_key(mock: MockContext, incoming: Incoming) -> str:
    """The request's API key: one Authorization header (two are refused as ambiguous) with
    a Bearer key. The journal records the key decided here."""
    key = bearer_key(authorization_of(incoming.scope["headers"]))
    incoming.state[KEY_STATE] = key
    accounts = mock.accounts
    if accounts.specs or accounts.unknown_keys != "allow":
        accounts.authorize(key)
        accounts.check_rate(key, mock.clock.now())
    return key


def _extra_values(mock: MockContext) -> dict[str, tuple[str, ...]]:
    """Values accepted beyond the spec's enums, for the 400 that lists what is accepted."""
    return {"model": mock.settings.extra_models} if mock.settings.extra_models else {}


def _extra_model(mock: MockContext, model: object) -> bool:
    if not isinstance(model, str) or model == CANONICAL_MODEL or model in MODEL_ALIASES:
        return False
    return mock.settings.any_model or model in mock.settings.extra_models


def _replay(mock: MockContext, key: str, incoming: Incoming, digest: bytes, preferences: Preferences) -> Answer | None:
    """The first answer again, for a create retried with the same ``Idempotency-Key`` and
    body; None when this create makes a new task (the key is then held for it)."""

    def alive(task_id: str) -> bool:
        try:
            mock.store.get_task(task_id, key)
        except TaskNotFound:
            return False
        return True

    task_id = mock.idempotency.claim(key, incoming.idempotency_key, digest, alive)
    if task_id is None:
        return None
    task = mock.store.get_task(task_id, key)
    incoming.state[NOTE_KEY] = {**incoming.state.get(NOTE_KEY, {}), "task_id": task.id, "replayed": True}
    body = render_json({**creation_body(task), "idempotency_replayed": True})
    return 200, body, preferences.applied_header(WITHOUT_TASK)


async def create_image_generation(mock: MockContext, incoming: Incoming) -> Answer:
    preferences = await apply_preferences(incoming.prefer, CREATE_OPERATION, mock)
    key = _authorized_key(mock, incoming)
    limit = mock.settings.max_body_bytes
    check_content_type(incoming.content_type)
    check_declared_length(incoming.content_length, limit)
    raw = await incoming.body(limit)
    payload = parse_json(raw)
    prompt = payload.get("prompt") if isinstance(payload, dict) else None
    call = _call(mock, "create", "POST", key, prompt if isinstance(prompt, str) else None, incoming)
    decision = await intercept(mock, call, CREATE_OPERATION, incoming.state)
    callback_url = payload.get("callback_url") if isinstance(payload, dict) else None
    policy = mock.callbacks.policy
    checked = payload
    if callback_url is not None and policy.exempt_from_spec(callback_url):
        # An allowed host (--allow-callback-host) may take http, which the spec's pattern refuses.
        checked = {k: v for k, v in checked.items() if k != "callback_url"}
    if isinstance(checked, dict) and _extra_model(mock, checked.get("model")):
        # A model accepted by --extra-model/--any-model is checked as the spec's own model.
        checked = {**checked, "model": CANONICAL_MODEL}
    mock.validator.validate_body(CREATE_OPERATION, checked, extra_values=_extra_values(mock))
    idempotency_key = incoming.idempotency_key
    digest = fingerprint(payload, raw) if idempotency_key else b""
    replayed = _replay(mock, key, incoming, digest, preferences)
    if replayed is not None:
        return replayed
    try:
        target = await policy.check_at_creation(callback_url) if callback_url is not None else None
        model = MODEL_ALIASES.get(payload["model"], payload["model"])
        mock.accounts.check_model(key, model)
        now = mock.clock.now()
        mock.accounts.reserve(key, mock.factory.credits, now)
        outcome = preferences.outcome.merged_over(decision.outcome) if decision.rules else preferences.outcome
        task = mock.factory.create_task(
            key=key,
            model=model,
            now=now,
            size=payload.get("size"),
            callback_url=callback_url,
            duration=outcome.duration,
            failure=failure_for(outcome.error) if outcome.error is not None else None,
            stuck=bool(outcome.stuck),
            wall=mock.clock.wall(),
        )
        mock.store.create_task(task, now)
        mock.idempotency.remember(key, idempotency_key, digest, task.id)
    except BaseException:
        mock.idempotency.release(key, idempotency_key)  # refused (or cancelled): the key is free again
        raise
    if target is not None:
        mock.callbacks.schedule(task, target, files_base(mock, incoming.base_url), decision.callback)
    if task.plan.failure is not None:
        mock.accounts.refund_at(key, task.credits, task.plan.finished_at)
    incoming.state[NOTE_KEY] = {**incoming.state.get(NOTE_KEY, {}), "task_id": task.id}
    return 200, render_json(creation_body(task)), preferences.applied_header()


async def get_task_detail(mock: MockContext, incoming: Incoming) -> Answer:
    preferences = await apply_preferences(incoming.prefer, QUERY_OPERATION, mock)
    key = _authorized_key(mock, incoming)
    if mock.rules.rules:
        await intercept(
            mock, _call(mock, "query", incoming.scope["method"], key, None, incoming), QUERY_OPERATION, incoming.state
        )
    task_id: str = incoming.scope["path_params"]["task_id"]
    check_task_id(task_id)
    task = mock.store.get_task(task_id, key)
    now = mock.clock.now()
    mock.callbacks.polled(task, now)
    body = render_json(detail_body(task, now, lambda: files_base(mock, incoming.base_url)))
    return 200, body, preferences.applied_header(WITHOUT_TASK)


Handler = Callable[[MockContext, Incoming], Awaitable[Answer]]


class Operation:
    """One operation as an ASGI app: runs its handler, renders errors in the envelope,
    breaks the connection when a rule says so, and journals the call."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        mock: MockContext = scope["app"].state.mock
        incoming = Incoming(scope, receive)
        state = incoming.state
        state[JOURNALLED_KEY] = True
        status: int | None
        headers: dict[str, str] | None
        try:
            status, body, headers = await self.handler(mock, incoming)
        except ApiError as error:
            status, body, headers = error.status, error.render(), error.headers
        except BrokenConnectionError:
            status, body, headers = None, b"", None
        except ClientDisconnect:  # nobody is left to answer
            record_call(mock, scope, state.get("mock_body", b""), None, started)
            return
        except Exception:  # the one error boundary of this app, as Starlette's ServerErrorMiddleware is
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status, body, headers = 500, InternalError().render(), None
        fault = state.get(FAULT_KEY)
        try:
            raw_headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
            if headers:
                raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            if fault is None:
                await send({"type": "http.response.start", "status": status, "headers": raw_headers})
                await send({"type": "http.response.body", "body": body})
            else:
                transport = scope.get(TRANSPORT_KEY) or transport_of(send)
                if fault == "truncate" and status is not None:
                    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
                    await send(
                        {"type": "http.response.body", "body": body[: max(1, len(body) // 2)], "more_body": True}
                    )
                await break_connection(transport, fault)
        finally:
            record_call(mock, scope, state.get("mock_body", b""), status, started)


create_operation = Operation(create_image_generation)
query_operation = Operation(get_task_detail)
