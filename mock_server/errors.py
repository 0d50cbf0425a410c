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

Code, type and default message of the documented statuses are the spec's examples, read
from ``evolink_spec`` (``example=`` on the class); 405, 409, 413 and 422 are statuses the
spec does not list, answered in the same envelope with the type of a documented sibling.
The store and validation raise these; one handler in ``app.py`` renders them.
"""

from __future__ import annotations

import json
from typing import Any

from evolink_spec import CREATE, TASK, ErrorExample


class ApiError(Exception):
    status: int = CREATE.errors[500].status
    code: str = CREATE.errors[500].code
    type: str = CREATE.errors[500].type
    default_message: str = CREATE.errors[500].message

    def __init_subclass__(cls, example: ErrorExample | None = None, **kwargs: Any) -> None:
        """``class X(ApiError, example=...)``: status, code, type and message are the spec's example."""
        super().__init_subclass__(**kwargs)
        if example is not None:
            cls.status, cls.code, cls.type = example.status, example.code, example.type
            cls.default_message = example.message

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
        self.type = str(error.get("type", ApiError.type))
        super().__init__(message or str(error.get("message", "")), param=error.get("param"), headers=headers)


class InvalidRequest(ApiError, example=CREATE.errors[400]):
    pass


class InvalidTaskId(ApiError, example=TASK.errors[400]):
    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("param", TASK.errors[400].param)
        super().__init__(message, **kwargs)


class Unauthorized(ApiError, example=CREATE.errors[401]):
    pass


class InsufficientQuota(ApiError, example=CREATE.errors[402]):
    pass


class ModelAccessDenied(ApiError, example=CREATE.errors[403]):
    @classmethod
    def for_model(cls, model: str) -> ModelAccessDenied:
        return cls(f"Token does not have access to model: {model}")


class AdminForbidden(ApiError):
    """An admin call refused for where it came from (``admin_guard.AdminGuard``)."""

    status = 403
    code = "admin_forbidden"
    type = InvalidRequest.type
    default_message = "This admin call is not allowed from here"


class NotFound(ApiError):
    status = TASK.errors[404].status
    code = "not_found"
    type = TASK.errors[404].type
    default_message = "Not found"


class TaskNotFound(NotFound):
    code = TASK.errors[404].code
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
    type = InvalidRequest.type
    default_message = "Method not allowed"


class IdempotencyKeyInUse(ApiError):
    status = 409
    code = "idempotency_key_in_use"
    type = InvalidRequest.type
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
    type = InvalidRequest.type
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
    type = InvalidRequest.type
    default_message = "Request body too large"


class RateLimited(ApiError, example=CREATE.errors[429]):
    pass


class InternalError(ApiError):
    pass


class RequestTimeout(ApiError):
    status = 408
    code = "request_timeout"
    type = InvalidRequest.type
    default_message = "The request did not arrive in time"


class UriTooLong(ApiError):
    status = 414
    code = "uri_too_long"
    type = InvalidRequest.type
    default_message = "Request line too long"


class HeaderFieldsTooLarge(ApiError):
    status = 431
    code = "request_header_fields_too_large"
    type = InvalidRequest.type
    default_message = "Request header fields too large"


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    type = ApiError.type
    default_message = "Too many connections, please try again later"


DOCUMENTED: dict[int, type[ApiError]] = {
    cls.status: cls for cls in (InvalidRequest, Unauthorized, InsufficientQuota, ModelAccessDenied, RateLimited)
} | {500: InternalError}
"""The seed's example answer for each status it documents, by status."""
