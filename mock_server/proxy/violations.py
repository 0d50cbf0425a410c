"""The violations the proxy found: kept (bounded), printed one line each, listed as JSON."""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from contract_tests._failures import ContractViolation

MAX_KEPT = 10_000
"""Violations kept for ``GET /__mock/violations`` and the report; the oldest go first."""


@dataclass(frozen=True)
class Violation:
    """One broken promise seen in one exchange.

    ``fact`` is the name of the contract suite's check that found it (``response_schema_conformance``,
    ``error_envelope``, ``lifecycle``...); ``side`` says whose message broke it: ``answer`` (the
    target) or ``request`` (the client)."""

    fact: str
    operation: str
    title: str
    expected: str
    actual: str
    severity: str
    side: str
    request_id: str
    task_id: str | None

    @classmethod
    def of(cls, found: ContractViolation, *, side: str, request_id: str, task_id: str | None) -> Violation:
        return cls(
            fact=found.check,
            operation=found.operation or "",
            title=found.title,
            expected=found.expected,
            actual=found.actual,
            severity=found.severity.value,
            side=side,
            request_id=request_id,
            task_id=task_id,
        )

    def line(self) -> str:
        """The warning line: everything on one line."""
        task = f", task {self.task_id}" if self.task_id else ""
        actual = " ".join(self.actual.split())
        return (
            f"nanobanana-mock proxy: violation [{self.fact}] {self.operation}: {self.title}. "
            f"Expected: {self.expected}. Actual: {actual} (request {self.request_id}{task})"
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class ViolationLog:
    """Every violation found, newest last, bounded; each one is printed as it is added."""

    def __init__(self, *, limit: int = MAX_KEPT, warn: Callable[[str], None] | None = None) -> None:
        self._kept: deque[Violation] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.total = 0
        self._warn = warn or _stderr

    def add(self, violation: Violation) -> None:
        with self._lock:
            self._kept.append(violation)
            self.total += 1
        self._warn(violation.line())

    def all(self) -> list[Violation]:
        with self._lock:
            return list(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.total = 0

    def as_json(self) -> dict[str, Any]:
        kept = self.all()
        return {"count": len(kept), "total": self.total, "violations": [v.as_json() for v in kept]}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
