"""The provider's API: create a task, query it, fetch its images, and the spec itself.

Each handler reads its inputs, calls the store, and renders; errors are raised as
``ApiError`` and rendered by the one handler in ``app.py``.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .context import MockContext
from .errors import FileNotFound, InvalidRequest, PayloadTooLarge, SpecifiedError, TaskNotFound
from .images import render_png
from .lifecycle import Failure, Status
from .middleware import BrokenConnection
from .outcomes import TaskOutcome, failure_for
from .preferences import Preferences, parse_prefer
from .rules import Call, Decision
from .spec import bundle_bytes
from .tasks import MODEL_ALIASES, creation_body, detail_body, render_json
from .validation import bearer_key, check_task_id

CREATE_OPERATION = "createImageGeneration"
QUERY_OPERATION = "getTaskDetail"
_IMAGE_NAME = re.compile(r"^(task-unified-[A-Za-z0-9-]{1,100})_(\d{1,3})\.png$")


def context(request: Request) -> MockContext:
    mock: MockContext = request.app.state.mock
    return mock


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON, as the provider answers (clients grep ``"status":"completed"``)."""
    content = render_json(body)
    return Response(content, status_code=status, headers=headers, media_type="application/json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, refusing wrong content types, oversize and bad JSON."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        shown = media_type or "none"
        raise InvalidRequest(f"Content-Type must be application/json, got {shown}", param="Content-Type")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body too large: {declared} bytes, at most {limit} allowed")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body too large: more than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidRequest("Request body is required: a JSON object", param="body")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InvalidRequest("Request body is not valid UTF-8 JSON", param="body") from None
    except json.JSONDecodeError as error:
        raise InvalidRequest(f"Request body is not valid JSON: {error}", param="body") from None
    except (ValueError, RecursionError) as error:
        raise InvalidRequest(f"Request body is not valid JSON: {error}", param="body") from None


def files_base(request: Request, mock: MockContext) -> str:
    if mock.settings.public_url:
        return mock.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def _prefer(request: Request, operation: str, mock: MockContext) -> Preferences:
    """Read ``Prefer``; a non-200 ``code=`` answers at once with the spec's example."""
    preferences = parse_prefer(request.headers.getlist("prefer"))
    if preferences.code is not None and preferences.code != 200:
        examples = mock.examples[operation]
        if preferences.code not in examples:
            documented = ", ".join(str(code) for code in [200, *sorted(examples)])
            raise InvalidRequest(
                f"Prefer code={preferences.code} is not documented for this operation; documented: {documented}",
                param="Prefer",
            )
        raise SpecifiedError(preferences.code, examples[preferences.code])
    return preferences


async def _intercept(request: Request, mock: MockContext, call: Call, operation: str | None) -> Decision:
    """Apply the failure rules to this call: latency, then an answer or a broken connection."""
    decision = mock.rules.evaluate(call)
    if not decision.rules:
        return decision
    request.state.mock_note = {"rules": decision.rules}
    if decision.latency_ms:
        await asyncio.sleep(decision.latency_ms / 1000)
    if decision.fault in ("reset", "empty"):
        request.state.mock_fault = decision.fault
        raise BrokenConnection()
    if decision.fault == "truncate":
        request.state.mock_fault = "truncate"
    if decision.respond is not None:
        respond = decision.respond
        headers = {"Retry-After": str(respond.retry_after)} if respond.retry_after is not None else None
        if call.route == "image" and respond.status == 404:
            raise FileNotFound(respond.message, headers=headers)
        example = _example(mock, operation, respond.status)
        raise SpecifiedError(respond.status, example, message=respond.message, headers=headers)
    return decision


def _example(mock: MockContext, operation: str | None, status: int) -> dict[str, Any]:
    if operation is not None and status in mock.examples[operation]:
        return mock.examples[operation][status]
    for by_status in mock.examples.values():
        if status in by_status:
            return by_status[status]
    return {"error": {"code": "error", "message": "Error", "type": "api_error"}}


async def _delay(preferences: Preferences) -> None:
    if preferences.delay_ms:
        await asyncio.sleep(preferences.delay_ms / 1000)


async def _authorized_key(request: Request, mock: MockContext) -> str:
    key = bearer_key(request.headers.get("authorization"))
    mock.accounts.authorize(key)
    mock.accounts.check_rate(key, mock.clock.now())
    return key


def _without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != name}


def _outcome_failure(outcome: TaskOutcome) -> Failure | None:
    return failure_for(outcome.error) if outcome.error is not None else None


async def create_image_generation(request: Request) -> Response:
    mock = context(request)
    preferences = _prefer(request, CREATE_OPERATION, mock)
    await _delay(preferences)
    key = await _authorized_key(request, mock)
    payload = await read_json(request, mock.settings.max_body_bytes)
    prompt = payload.get("prompt") if isinstance(payload, dict) else None
    call = Call("create", request.method, key, prompt if isinstance(prompt, str) else None, request.headers)
    decision = await _intercept(request, mock, call, CREATE_OPERATION)
    callback_url = payload.get("callback_url") if isinstance(payload, dict) else None
    # An allowed host (--allow-callback-host) may take http, which the spec's pattern refuses.
    exempt = mock.callbacks.policy.exempt_from_spec(callback_url)
    mock.validator.validate_body(CREATE_OPERATION, _without(payload, "callback_url") if exempt else payload)
    target = await mock.callbacks.policy.check_at_creation(callback_url) if callback_url is not None else None
    model = MODEL_ALIASES.get(payload["model"], payload["model"])
    mock.accounts.check_model(key, model)
    now = mock.clock.now()
    mock.accounts.reserve(key, mock.settings.credits_per_task, now)
    outcome = preferences.outcome.merged_over(decision.outcome)
    task = mock.factory.create_task(
        key=key,
        model=model,
        now=now,
        size=payload.get("size"),
        callback_url=payload.get("callback_url"),
        duration=outcome.duration,
        failure=_outcome_failure(outcome),
        stuck=bool(outcome.stuck),
    )
    mock.store.create_task(task, now)
    if target is not None:
        mock.callbacks.schedule(task, target, files_base(request, mock), decision.callback)
    if task.plan.failure is not None:
        mock.accounts.refund_at(key, task.credits, task.plan.finished_at)
    request.state.mock_note = {**getattr(request.state, "mock_note", {}), "task_id": task.id}
    headers = {"Preference-Applied": ", ".join(preferences.applied)} if preferences.applied else None
    return json_response(creation_body(task), headers=headers)


async def get_task_detail(request: Request) -> Response:
    mock = context(request)
    preferences = _prefer(request, QUERY_OPERATION, mock)
    await _delay(preferences)
    key = await _authorized_key(request, mock)
    await _intercept(request, mock, Call("query", request.method, key, None, request.headers), QUERY_OPERATION)
    task_id: str = request.path_params["task_id"]
    check_task_id(task_id)
    task = mock.store.get_task(task_id, key)
    now = mock.clock.now()
    mock.callbacks.polled(task, now)
    return json_response(detail_body(task, now, files_base(request, mock)))


async def get_result_image(request: Request) -> Response:
    """A result link: the PNG while the link lives (24 h of mock time), then 404."""
    mock = context(request)
    await _intercept(request, mock, Call("image", request.method, None, None, request.headers), None)
    match = _IMAGE_NAME.match(request.path_params["name"])
    if match is None:
        raise FileNotFound()
    task_id, index = match.group(1), int(match.group(2))
    try:
        task = mock.store.get_task(task_id)
    except TaskNotFound:
        raise FileNotFound() from None
    now = mock.clock.now()
    if (
        task.view(now).status is not Status.COMPLETED
        or index >= task.plan.image_count
        or now >= task.plan.finished_at + mock.settings.result_ttl
    ):
        raise FileNotFound()
    png = await run_in_threadpool(render_png, f"{mock.random.seed}:{task_id}_{index}", task.size)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


async def openapi_document(request: Request) -> Response:
    return Response(bundle_bytes(), media_type="application/json")


routes = [
    Route("/v1/images/generations", create_image_generation, methods=["POST"]),
    Route("/v1/tasks/{task_id}", get_task_detail, methods=["GET"]),
    Route("/files/images/{name}", get_result_image, methods=["GET"]),
    Route("/openapi.json", openapi_document, methods=["GET"]),
]
