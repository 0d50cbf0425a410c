"""What the suite raises: a broken promise, and a budget that ran out.

    AssertionError
    └── schemathesis Failure
        └── ContractViolation     one promise of the docs or spec, broken by the target
    Exception
    └── BudgetExhausted           the run may not send this request (paid tasks, time)

``ContractViolation`` is a schemathesis ``Failure``: raised inside a check it is reported
like the built-in ones, and raised anywhere else pytest prints it as an assertion.
"""

from __future__ import annotations

from typing import Any

from schemathesis.core.failures import Failure, Severity


class ContractViolation(Failure):
    """A documented promise the target broke.

    Args:
        check: the name of the check that found it (``error_envelope``, ``lifecycle``...).
        operation: ``METHOD /path`` of the operation.
        title: one line naming the violation.
        expected: what the spec or the provider's docs say.
        actual: what the target did.
        request: the request that showed it, when it is not the case's own (a probe's).
    """

    code = "NB900"
    kind_title = "Contract violation"

    __slots__ = ("check", "expected", "actual", "request")

    def __init__(
        self,
        *,
        check: str,
        operation: str | None,
        title: str,
        expected: str,
        actual: str,
        severity: Severity = Severity.HIGH,
        request: Any = None,
    ) -> None:
        super().__init__(
            operation=operation,
            title=title,
            message=f"Expected: {expected}\nActual: {actual}",
            severity=severity,
        )
        self.check = check
        self.expected = expected
        self.actual = actual
        self.request = request

    @property
    def _unique_key(self) -> str:
        # Failures collapse by class and key in a set; one entry per check and title.
        return f"{self.check}|{self.title}"


class BudgetExhausted(Exception):
    """The run's budget forbids this request; the test that needs it is skipped with this reason."""
