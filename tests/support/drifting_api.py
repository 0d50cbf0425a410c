"""A small stand-in for the EvoLink task API, faithful by default, with one drift per instance.

It is not the mock: a separate Starlette service written from the documented facts (the
bundle's request schema, the provider's notes), so the contract suite is proven against a
target it does not share code with. ``StandIn(drift=NAME)`` breaks one documented fact;
``DRIFTS`` lists them with the fact the suite must report broken. Tasks run on the wall
clock (``task_seconds``, 1 s by default); callbacks are delivered as documented (10 s
timeout, retries 1 s, 2 s, 4 s after each failure, no redirects), to hosts on
``allow_callback_hosts`` too.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import re
import secrets
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from evolink_spec import load_bundle

OWNER = "sk-standin-owner"
OTHER = "sk-standin-other"
CANONICAL = "nano-banana-beta"
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
ATTEMPT_TIMEOUT = 10.0
RETRY_DELAYS = (1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Drift:
    name: str
    fact: str
    """The catalogue fact the suite must report broken."""
    note: str
    suite: str = "edges"
    """Which part of the suite shows it: ``edges`` (with auth), ``lifecycle`` or ``callbacks``."""


DRIFTS = {
    drift.name: drift
    for drift in (
        Drift("prompt_limit_low", "create.prompt.max-length[nano-banana-beta]", "prompts over 1000 characters refused"),
        Drift(
            "prompt_limit_high", "create.prompt.max-length[nano-banana-beta]", "prompts up to 4000 characters accepted"
        ),
        Drift("alias_refused", "create.model.accepted[gemini-2.5-flash-image]", "the legacy name is refused"),
        Drift("alias_not_mapped", "create.model.alias[gemini-2.5-flash-image]", "the legacy name answered as itself"),
        Drift("size_missing", "create.size.accepted[nano-banana-beta/9:16]", "size 9:16 refused"),
        Drift("size_any", "create.size.refused-unknown[nano-banana-beta]", "any size accepted"),
        Drift("images_max_low", "create.image_urls.max-items[nano-banana-beta]", "at most 3 reference images"),
        Drift("images_max_high", "create.image_urls.max-items[nano-banana-beta]", "any number of reference images"),
        Drift("webp_refused", "create.image_urls.format[webp]", ".webp reference images refused"),
        Drift("gif_accepted", "create.image_urls.format-refused[gif]", "any reference image format accepted"),
        Drift("upper_case_ext_refused", "create.image_urls.format[PNG]", "upper-case extensions refused"),
        Drift("unknown_members_refused", "create.unknown-member[seed]", "body members outside the schema refused"),
        Drift("client_header_refused", "create.client-header[Idempotency-Key]", "an Idempotency-Key header refused"),
        Drift("required_prompt_missing_ok", "create.required[prompt]", "a create without prompt accepted"),
        Drift("callback_http_accepted", "create.callback_url.https", "http callback URLs accepted"),
        Drift("callback_length_low", "create.callback_url.max-length", "callback URLs over 1024 characters refused"),
        Drift("callback_length_high", "create.callback_url.max-length", "callback URLs of any length accepted"),
        Drift("callback_numeric_loopback", "create.callback_url.private-host[2130706433]", "integer IPv4 not refused"),
        Drift("callback_short_loopback", "create.callback_url.private-host[127.1]", "short IPv4 forms not refused"),
        Drift("callback_ipv6_loopback", "create.callback_url.private-host[[::1]]", "IPv6 loopback not refused"),
        Drift(
            "callback_mapped_loopback",
            "create.callback_url.private-host[[::ffff:127.0.0.1]]",
            "IPv4-mapped not refused",
        ),
        Drift(
            "callback_localhost_name", "create.callback_url.private-host[localhost]", "the name localhost not refused"
        ),
        Drift("callback_private_ranges", "create.callback_url.private-host[10.0.0.1]", "only loopback refused"),
        Drift("callback_link_local", "create.callback_url.private-host[169.254.169.254]", "link-local not refused"),
        Drift("created_stale", "task.created-plausible", "created an hour in the past, id to match"),
        Drift("created_millis", "task.created-plausible", "created in milliseconds"),
        Drift("id_upper_case", "task.id-form", "ids end in upper-case letters"),
        Drift("malformed_id_404", "task.id-form", "an id without the prefix answered 404"),
        Drift("made_up_key_accepted", "auth.made-up-key-401", "any Bearer key accepted"),
        Drift("no_key_query", "auth.no-key-401", "a query without a key is answered"),
        Drift("foreign_task_visible", "task.foreign-key-404", "every key sees every task"),
        Drift("blip_regression", "lifecycle.order", "progress drops for 0.4 s mid-run", "lifecycle"),
        Drift("callback_early", "callback.after-terminal", "callback sent while processing", "callbacks"),
        Drift("callback_body_differs", "callback.body-equals-poll", "callback body without usage", "callbacks"),
        Drift("callback_form_post", "callback.json-post", "callback sent as a form", "callbacks"),
        Drift("callback_no_retry", "callback.retry-delays", "no retry after a failure", "callbacks"),
        Drift("callback_fixed_retry", "callback.retry-delays", "retries every 1 s", "callbacks"),
        Drift("callback_five_attempts", "callback.max-attempts", "a fifth attempt", "callbacks"),
        Drift("callback_after_success", "callback.stop-after-2xx", "one more attempt after a 2xx", "callbacks"),
        Drift("callback_follows_redirect", "callback.no-redirect", "redirects followed", "callbacks"),
        Drift("callback_long_timeout", "callback.attempt-timeout", "attempts time out after 30 s", "callbacks"),
    )
}


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png()


def _error(status: int, code: str, message: str, kind: str, **extra: Any) -> Response:
    return _json({"error": {"code": code, "message": message, "type": kind, **extra}}, status)


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, separators=(",", ":")), status, media_type="application/json")


def _invalid(message: str, param: str = "body") -> Response:
    return _error(400, "invalid_request", message, "invalid_request_error", param=param)


def _host_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


@dataclass
class Task:
    id: str
    key: str
    created: int
    model: str
    started: float
    callback_url: str | None = None


@dataclass
class StandIn:
    """The service; ``app`` is its ASGI app."""

    drift: str | None = None
    task_seconds: float = 1.0
    allow_callback_hosts: tuple[str, ...] = ()
    tasks: dict[str, Task] = field(default_factory=dict)
    now: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.drift is not None and self.drift not in DRIFTS:
            raise ValueError(f"unknown drift {self.drift!r}")
        schema = copy.deepcopy(load_bundle()["components"]["schemas"]["ImageGenerationRequest"])
        properties = schema["properties"]
        drift = self.drift
        if drift == "prompt_limit_low":
            properties["prompt"]["maxLength"] = 1000
        elif drift == "prompt_limit_high":
            properties["prompt"]["maxLength"] = 4000
        elif drift == "alias_refused":
            properties["model"]["enum"] = [CANONICAL]
        elif drift == "size_missing":
            properties["size"]["enum"] = [size for size in properties["size"]["enum"] if size != "9:16"]
        elif drift == "size_any":
            del properties["size"]["enum"]
        elif drift == "images_max_low":
            properties["image_urls"]["maxItems"] = 3
        elif drift == "images_max_high":
            del properties["image_urls"]["maxItems"]
        elif drift == "webp_refused":
            properties["image_urls"]["items"]["pattern"] = r"^[^?#]*\.([Jj][Pp][Ee]?[Gg]|[Pp][Nn][Gg])([?#].*)?$"
        elif drift == "gif_accepted":
            del properties["image_urls"]["items"]["pattern"]
        elif drift == "upper_case_ext_refused":
            properties["image_urls"]["items"]["pattern"] = r"^[^?#]*\.(jpe?g|png|webp)([?#].*)?$"
        elif drift == "unknown_members_refused":
            schema["additionalProperties"] = False
        elif drift == "required_prompt_missing_ok":
            schema["required"] = ["model"]
        elif drift == "callback_http_accepted":
            properties["callback_url"]["pattern"] = "^[Hh][Tt][Tt][Pp][Ss]?://"
        elif drift == "callback_length_low":
            properties["callback_url"]["maxLength"] = 1024
        elif drift == "callback_length_high":
            del properties["callback_url"]["maxLength"]
        checker = jsonschema.FormatChecker()
        checker.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI.match(value)))
        self.validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
        self.background: set[asyncio.Task[None]] = set()
        self.app = Starlette(
            routes=[
                Route("/v1/images/generations", self.create, methods=["POST"]),
                Route("/v1/tasks/{task_id:path}", self.query, methods=["GET"]),
                Route("/files/{name}", self.file, methods=["GET"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    # -- errors of routing --

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return _error(404, "not_found", f"no route {request.url.path}", "invalid_request_error")

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        allowed = "POST" if request.url.path.startswith("/v1/images/") else "GET"
        response = _error(405, "method_not_allowed", f"use {allowed}", "invalid_request_error")
        response.headers["Allow"] = allowed
        return response

    # -- auth --

    def _key(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        match = re.fullmatch(r"Bearer (\S+)", header.strip())
        if match is None:
            if self.drift == "no_key_query" and request.method == "GET" and not header:
                return OWNER
            return None
        key = match.group(1)
        if self.drift == "made_up_key_accepted":
            return key
        if self.drift == "foreign_task_visible" and key == OTHER:
            return OWNER
        return key if key in (OWNER, OTHER) else None

    # -- create --

    async def create(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return _error(401, "unauthorized", "a valid Bearer key is required", "authentication_error")
        if self.drift == "client_header_refused" and "idempotency-key" in request.headers:
            return _invalid("Idempotency-Key is not supported", "Idempotency-Key")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _invalid("the body is not JSON")
        checked = body
        callback = body.get("callback_url") if isinstance(body, dict) else None
        if isinstance(callback, str) and (urlsplit(callback).hostname or "").lower() in self.allow_callback_hosts:
            checked = {**body, "callback_url": "https://allowed.invalid/hook"}
        errors = sorted(self.validator.iter_errors(checked), key=lambda error: list(error.absolute_path))
        if errors:
            error = errors[0]
            return _invalid(error.message[:200], ".".join(str(part) for part in error.absolute_path) or "body")
        if callback is not None:
            refused = self._callback_refusal(callback)
            if refused:
                return _invalid(refused, "callback_url")
        now = self.now()
        created = int(now)
        suffix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
        if self.drift == "id_upper_case":
            suffix = suffix.upper().replace("0", "A").replace("1", "B")
        stamp = created
        if self.drift == "created_stale":
            stamp = created = created - 3600
        task_id = f"task-unified-{stamp}-{suffix}"
        if self.drift == "created_millis":
            created = int(now * 1000)
        model = body.get("model", CANONICAL)
        if model != CANONICAL and self.drift != "alias_not_mapped":
            model = CANONICAL
        task = Task(task_id, key, created, model, now, callback)
        self.tasks[task_id] = task
        if callback is not None:
            self._spawn(self._deliver(task, str(request.base_url).rstrip("/")))
        return _json(self._render(task, str(request.base_url).rstrip("/"), now))

    def _callback_refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in self.allow_callback_hosts:
            return None
        if parts.scheme.lower() != "https" and self.drift != "callback_http_accepted":
            return "callback URLs must use https"
        if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
            return None if self.drift == "callback_localhost_name" else "callback host is loopback"
        if self.drift == "callback_short_loopback" and host.count(".") < 3 and host[:1].isdigit():
            return None
        if self.drift == "callback_numeric_loopback" and "." not in host and ":" not in host:
            return None
        address = _host_address(host)
        if address is None:
            return None
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                if self.drift == "callback_mapped_loopback":
                    return None
                address = address.ipv4_mapped
            elif address.is_loopback and self.drift == "callback_ipv6_loopback":
                return None
        if address.is_loopback or address.is_unspecified:
            return "callback host is loopback"
        if address.is_link_local:
            return None if self.drift == "callback_link_local" else "callback host is link-local"
        if address.is_private or not address.is_global:
            return None if self.drift == "callback_private_ranges" else "callback host is private"
        return None

    # -- the task --

    def _state(self, task: Task, now: float) -> tuple[str, int]:
        elapsed = now - task.started
        if elapsed >= self.task_seconds:
            return "completed", 100
        if elapsed < self.task_seconds / 10:
            return "pending", 0
        progress = min(99, max(1, int(100 * elapsed / self.task_seconds)))
        if self.drift == "blip_regression" and 0.45 <= elapsed / self.task_seconds < 0.6:
            progress = 5
        return "processing", progress

    def _render(self, task: Task, base: str, now: float) -> dict[str, Any]:
        status, progress = self._state(task, now)
        body: dict[str, Any] = {
            "created": task.created,
            "id": task.id,
            "model": task.model,
            "object": "image.generation.task",
            "progress": progress,
            "status": status,
            "task_info": {"can_cancel": status not in ("completed", "failed"), "estimated_time": 45},
            "type": "image",
            "usage": {"billing_rule": "per_call", "credits_reserved": 1.6, "user_group": "default"},
        }
        if status == "completed":
            body["results"] = [f"{base}/files/{task.id}.png"]
        return body

    async def query(self, request: Request) -> Response:
        key = self._key(request)
        if key is None:
            return _error(401, "unauthorized", "a valid Bearer key is required", "authentication_error")
        task_id = request.path_params["task_id"]
        if not task_id.startswith("task-unified-") and self.drift != "malformed_id_404":
            return _error(
                400,
                "invalid_task_id",
                "task_id must start with task-unified-",
                "invalid_request_error",
                param="task_id",
            )
        task = self.tasks.get(task_id)
        if task is None or task.key != key:
            return _error(404, "task_not_found", f"no task {task_id}", "invalid_request_error")
        return _json(self._render(task, str(request.base_url).rstrip("/"), self.now()))

    async def file(self, request: Request) -> Response:
        return Response(PNG, media_type="image/png")

    # -- callbacks --

    def _spawn(self, work: Any) -> None:
        job = asyncio.get_running_loop().create_task(work)
        self.background.add(job)
        job.add_done_callback(self.background.discard)

    async def _deliver(self, task: Task, base: str) -> None:
        early = self.drift == "callback_early"
        wait = self.task_seconds * (0.5 if early else 1.0) - (self.now() - task.started)
        await asyncio.sleep(max(0.0, wait) + 0.05)
        delays = list(RETRY_DELAYS)
        attempts = 4
        if self.drift == "callback_no_retry":
            attempts = 1
        elif self.drift == "callback_fixed_retry":
            delays = [1.0, 1.0, 1.0]
        elif self.drift == "callback_five_attempts":
            attempts, delays = 5, [*delays, 8.0]
        timeout = 30.0 if self.drift == "callback_long_timeout" else ATTEMPT_TIMEOUT
        follow = self.drift == "callback_follows_redirect"
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=follow) as client:
            for attempt in range(attempts):
                body = self._render(task, base, self.now())
                if self.drift == "callback_body_differs":
                    body.pop("usage", None)
                try:
                    if self.drift == "callback_form_post":
                        answer = await client.post(str(task.callback_url), data={"task": json.dumps(body)})
                    else:
                        content = json.dumps(body, separators=(",", ":"))
                        headers = {"Content-Type": "application/json"}
                        answer = await client.post(str(task.callback_url), content=content, headers=headers)
                    ok = 200 <= answer.status_code < 300
                except httpx.HTTPError:
                    ok = False
                if ok:
                    if self.drift == "callback_after_success":
                        await asyncio.sleep(1.0)
                        try:
                            await client.post(str(task.callback_url), content=json.dumps(body))
                        except httpx.HTTPError:
                            pass
                    return
                if attempt < attempts - 1:
                    await asyncio.sleep(delays[attempt])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free loopback port, in a thread of this process; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="stand-in", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the stand-in did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
