"""A small reference client for EvoLink's Nano Banana task API (sync and async, on httpx).

It shows the behaviours a well-made client needs, which the tests beside it prove against
the mock: create a task, poll it with a sensible interval until it finishes, back off on
429 (honouring ``Retry-After``), retry 500s a few times, never retry 400/401/402/403, and
tell a caller-fixable task failure from one worth retrying later.

``sleep`` is injectable, so tests can make waiting move the mock's virtual clock instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://api.evolink.ai"
CALLER_FIXABLE = frozenset(
    {
        "content_policy_violation",
        "invalid_parameters",
        "image_processing_error",
        "image_dimension_mismatch",
        "request_cancelled",
    }
)
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class EvoLinkError(Exception):
    """An error answer: ``status`` is the HTTP status, ``code`` the envelope's code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES


class TaskFailed(Exception):
    """The task ended ``failed``; ``retryable`` says whether trying again later may work."""

    def __init__(self, task: dict[str, Any]) -> None:
        error = task.get("error") or {}
        self.task = task
        self.code = str(error.get("code", "unknown_error"))
        self.message = str(error.get("message", ""))
        super().__init__(f"task {task.get('id')} failed: {self.code}: {self.message}")

    @property
    def retryable(self) -> bool:
        return self.code not in CALLER_FIXABLE


class TaskTimeout(Exception):
    """The task did not finish before the caller's deadline."""


@dataclass(frozen=True)
class Policy:
    poll_interval: float = 2.0
    max_poll_interval: float = 10.0
    max_retries: int = 4
    backoff: float = 1.0
    timeout: float = 300.0


def _error(response: httpx.Response) -> EvoLinkError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    return EvoLinkError(
        response.status_code, str(error.get("code", "unknown")), str(error.get("message", response.text))
    )


def _retry_delay(response: httpx.Response | None, attempt: int, policy: Policy) -> float:
    header = response.headers.get("retry-after") if response is not None else None
    if header is not None and header.isdigit():
        return float(header)
    return float(min(policy.max_poll_interval, policy.backoff * 2**attempt))


class EvoLinkClient:
    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        policy: Policy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.sleep = sleep
        self.http = http or httpx.Client(base_url=base_url, timeout=30)
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        for attempt in range(self.policy.max_retries + 1):
            response: httpx.Response | None = None
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == self.policy.max_retries or method != "GET":
                    raise
            else:
                if response.status_code == 200:
                    result: dict[str, Any] = response.json()
                    return result
                error = _error(response)
                if not error.retryable or attempt == self.policy.max_retries:
                    raise error
            self.sleep(_retry_delay(response, attempt, self.policy))
        raise AssertionError("unreachable")

    def create(self, prompt: str, **options: Any) -> dict[str, Any]:
        return self._request(
            "POST", "/v1/images/generations", json={"model": "nano-banana-beta", "prompt": prompt, **options}
        )

    def get(self, task_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/tasks/{task_id}")

    def wait(self, task_id: str) -> dict[str, Any]:
        """Poll until the task finishes: its result links, or ``TaskFailed`` / ``TaskTimeout``."""
        waited = 0.0
        interval = self.policy.poll_interval
        while True:
            task = self.get(task_id)
            if task["status"] == "completed":
                return task
            if task["status"] == "failed":
                raise TaskFailed(task)
            if waited >= self.policy.timeout:
                raise TaskTimeout(f"task {task_id} still {task['status']} after {waited:g} s")
            self.sleep(interval)
            waited += interval
            interval = min(self.policy.max_poll_interval, interval * 1.5)

    def generate(self, prompt: str, **options: Any) -> list[str]:
        """Create a task and wait for its result links."""
        return list(self.wait(self.create(prompt, **options)["id"])["results"])


class AsyncEvoLinkClient:
    """The same client for asyncio."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        policy: Policy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.sleep = sleep
        self.http = http or httpx.AsyncClient(base_url=base_url, timeout=30)
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        for attempt in range(self.policy.max_retries + 1):
            response = await self.http.request(method, path, **kwargs)
            if response.status_code == 200:
                result: dict[str, Any] = response.json()
                return result
            error = _error(response)
            if not error.retryable or attempt == self.policy.max_retries:
                raise error
            await self.sleep(_retry_delay(response, attempt, self.policy))
        raise AssertionError("unreachable")

    async def create(self, prompt: str, **options: Any) -> dict[str, Any]:
        body = {"model": "nano-banana-beta", "prompt": prompt, **options}
        return await self._request("POST", "/v1/images/generations", json=body)

    async def wait(self, task_id: str) -> dict[str, Any]:
        waited = 0.0
        interval = self.policy.poll_interval
        while True:
            task = await self._request("GET", f"/v1/tasks/{task_id}")
            if task["status"] == "completed":
                return task
            if task["status"] == "failed":
                raise TaskFailed(task)
            if waited >= self.policy.timeout:
                raise TaskTimeout(f"task {task_id} still {task['status']} after {waited:g} s")
            await self.sleep(interval)
            waited += interval
            interval = min(self.policy.max_poll_interval, interval * 1.5)

    async def aclose(self) -> None:
        await self.http.aclose()
