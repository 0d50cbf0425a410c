"""Every error answer of the mock, in the provider's envelope.

    ApiError                      {"error": {"code", "message", "type"[, "param"]}}
    ├── InvalidRequest        400 invalid_request / invalid_request_error
    ├── InvalidTaskId         400 invalid_task_id / invalid_request_error, param task_id
    ├── Unauthorized          401 unauthorized / authentication_error
    ├── InsufficientQuota     402 insufficient_quota / insufficient_quota
    ├── ModelAccessDenied     403 model_access_denied / invalid_request_error
    ├── AdminForbidden        403 admin_forbidden (an admin call from a web page or a foreign Host)
    ├── NotFound              404 not_found / invalid_request_error
    │   ├── TaskNotFound      404 task_not_found, param task_id
    │   └── FileNotFound      404 file_not_found (no such result link, not ready yet, or expired)
    ├── MethodNotAllowed      405 method_not_allowed, with an Allow header
    ├── IdempotencyKeyInUse   409 idempotency_key_in_use (its first request is still running)
    ├── PayloadTooLarge       413 request_too_large
    ├── IdempotencyKeyReused  422 idempotency_key_reused (the key came with another body)
    ├── RateLimited           429 rate_limit_exceeded / rate_limit_error, with Retry-After
    ├── InternalError         500 internal_error / api_error
    └── (connection level, answered by ``connections.py`` with Connection: close)
        ├── RequestTimeout            408 request_timeout
        ├── UriTooLong                414 uri_too_long
        ├── HeaderFieldsTooLarge      431 request_header_fields_too_large
        └── ServiceUnavailable        503 service_unavailable / api_error, with Retry-After

Code, type and default message of the documented statuses are the seed's examples; 405,
409, 413 and 422 are statuses the spec does not list, answered in the same envelope.
The store and validation raise these; one handler in ``app.py`` renders them.
"""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    type: str = "api_error"
    default_message: str = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "type": self.type}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}

    def render(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()


class SpecifiedError(ApiError):
    """An answer given exactly as the spec's example for its status (``Prefer: code=``, rules)."""

    def __init__(
        self, status: int, example: dict[str, Any], *, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        error = example.get("error", {})
        self.status = status
        self.code = str(error.get("code", "error"))
        self.type = str(error.get("type", "api_error"))
        super().__init__(message or str(error.get("message", "")), param=error.get("param"), headers=headers)


class InvalidRequest(ApiError):
    status = 400
    code = "invalid_request"
    type = "invalid_request_error"
    default_message = "Invalid request parameters"


class InvalidTaskId(ApiError):
    status = 400
    code = "invalid_task_id"
    type = "invalid_request_error"
    default_message = "Invalid task ID format: must start with task-unified-"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("param", "task_id")
        super().__init__(message, **kwargs)


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    type = "authentication_error"
    default_message = "Invalid or expired token"


class InsufficientQuota(ApiError):
    status = 402
    code = "insufficient_quota"
    type = "insufficient_quota"
    default_message = "Insufficient quota. Please top up your account."


class ModelAccessDenied(ApiError):
    status = 403
    code = "model_access_denied"
    type = "invalid_request_error"
    default_message = "Token does not have access to model: nano-banana-beta"

    @classmethod
    def for_model(cls, model: str) -> ModelAccessDenied:
        return cls(f"Token does not have access to model: {model}")


class AdminForbidden(ApiError):
    """An admin call refused for where it came from (``admin_guard.AdminGuard``)."""

    status = 403
    code = "admin_forbidden"
    type = "invalid_request_error"
    default_message = "This admin call is not allowed from here"


class NotFound(ApiError):
    status = 404
    code = "not_found"
    type = "invalid_request_error"
    default_message = "Not found"


class TaskNotFound(NotFound):
    code = "task_not_found"
    default_message = "Task not found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task not found: {task_id}", param="task_id")


class FileNotFound(NotFound):
    code = "file_not_found"
    default_message = "File not found or expired: result links are valid for 24 hours"

    @classmethod
    def unknown(cls) -> FileNotFound:
        return cls("File not found: no result image has this link")

    @classmethod
    def not_ready(cls) -> FileNotFound:
        return cls("File not ready yet: the task has not completed; its result links work once it has")

    @classmethod
    def task_failed(cls) -> FileNotFound:
        return cls("File not found: the task failed, so it has no result images")

    @classmethod
    def expired(cls) -> FileNotFound:
        return cls("File expired: result links are valid for 24 hours after the task completes")


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    type = "invalid_request_error"
    default_message = "Method not allowed"


class IdempotencyKeyInUse(ApiError):
    status = 409
    code = "idempotency_key_in_use"
    type = "invalid_request_error"
    default_message = "A request with this Idempotency-Key is still being handled"

    @classmethod
    def for_key(cls, key: str) -> IdempotencyKeyInUse:
        return cls(
            f"A request with Idempotency-Key '{key}' is still being handled; retry once it has answered",
            param="Idempotency-Key",
        )


class IdempotencyKeyReused(ApiError):
    status = 422
    code = "idempotency_key_reused"
    type = "invalid_request_error"
    default_message = "This Idempotency-Key was already used with a different request body"

    @classmethod
    def for_key(cls, key: str) -> IdempotencyKeyReused:
        return cls(
            f"Idempotency-Key '{key}' was already used with a different request body: send the same body to get "
            "the first answer again, or a new key for a new request",
            param="Idempotency-Key",
        )


class PayloadTooLarge(ApiError):
    status = 413
    code = "request_too_large"
    type = "invalid_request_error"
    default_message = "Request body too large"


class RateLimited(ApiError):
    status = 429
    code = "rate_limit_exceeded"
    type = "rate_limit_error"
    default_message = "Too many requests, please try again later"


class InternalError(ApiError):
    pass


class RequestTimeout(ApiError):
    status = 408
    code = "request_timeout"
    type = "invalid_request_error"
    default_message = "The request did not arrive in time"


class UriTooLong(ApiError):
    status = 414
    code = "uri_too_long"
    type = "invalid_request_error"
    default_message = "Request line too long"


class HeaderFieldsTooLarge(ApiError):
    status = 431
    code = "request_header_fields_too_large"
    type = "invalid_request_error"
    default_message = "Request header fields too large"


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    type = "api_error"
    default_message = "Too many connections, please try again later"


DOCUMENTED: dict[int, type[ApiError]] = {
    cls.status: cls for cls in (InvalidRequest, Unauthorized, InsufficientQuota, ModelAccessDenied, RateLimited)
} | {500: InternalError}
"""The seed's example answer for each status it documents, by status."""
