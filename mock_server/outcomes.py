"""The business failure codes of a failed task, each with a realistic message, and what a
request can ask of the task it creates (fail, take longer, never finish).

The codes are the spec's (``evolink_spec.BUSINESS_CODES``); the messages and which codes a
caller can fix are the mock's, checked at import to cover exactly the spec's codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from evolink_spec import BUSINESS_CODES, SpecMismatch

from .lifecycle import Failure

# Caller-fixable codes fail as soon as processing would start (progress 0, as the
# provider's example shows); the others fail at the end of the task's duration.
CALLER_FIXABLE: dict[str, str] = {
    "content_policy_violation": "The request was rejected by the content safety policy. Rephrase the prompt and retry.",
    "invalid_parameters": "The task parameters are invalid for this model.",
    "image_processing_error": "A reference image could not be downloaded or decoded.",
    "image_dimension_mismatch": "The reference images' dimensions do not suit the requested size.",
    "request_cancelled": "The task was cancelled before it finished.",
}
RETRYABLE: dict[str, str] = {
    "generation_failed_no_content": "The model returned no image for this prompt. Please try again.",
    "service_error": "The generation service failed while processing the task. Please retry later.",
    "generation_timeout": "Generation took too long and was stopped. Please retry later.",
    "resource_exhausted": "The generation service is out of capacity. Please retry later.",
    "quota_exceeded": "The upstream quota for this model is exhausted. Please retry later.",
    "service_unavailable": "The generation service is temporarily unavailable. Please retry later.",
    "resource_not_found": "A resource the task needs was not found upstream. Please retry later.",
    "unknown_error": "An unknown error occurred while processing the task.",
}
FAILURE_MESSAGES: dict[str, str] = CALLER_FIXABLE | RETRYABLE
FAILURE_CODES: tuple[str, ...] = BUSINESS_CODES
CANCELLED = "request_cancelled"
"""The code of a task an admin cancel ends."""


def check_codes(codes: tuple[str, ...]) -> None:
    """``SpecMismatch`` unless the messages cover exactly the spec's business ``codes``."""
    if set(FAILURE_MESSAGES) != set(codes):
        raise SpecMismatch(f"outcomes.py has messages for {sorted(FAILURE_MESSAGES)}, the spec's codes are {codes}")
    if CANCELLED not in codes:
        raise SpecMismatch(f"the spec has no business code {CANCELLED!r}")


check_codes(FAILURE_CODES)


def failure_for(code: str, message: str | None = None) -> Failure:
    """The failure for a documented business ``code``; ``KeyError`` for any other."""
    return Failure(code, message or FAILURE_MESSAGES[code])


@dataclass(frozen=True)
class TaskOutcome:
    """What a preference or a rule asks of the task a create makes. Unset fields keep the default."""

    error: str | None = None
    duration: float | None = None
    stuck: bool | None = None

    def merged_over(self, base: TaskOutcome) -> TaskOutcome:
        """This outcome, with ``base`` filling what this one leaves unset."""
        return TaskOutcome(
            error=self.error if self.error is not None else base.error,
            duration=self.duration if self.duration is not None else base.duration,
            stuck=self.stuck if self.stuck is not None else base.stuck,
        )
