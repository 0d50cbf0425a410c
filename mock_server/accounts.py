"""Per-key state, as in production: credits, model access and rate limits.

Keys not listed in the config behave as unlimited accounts (or are refused with 401 when
the config says ``unknown_keys: reject``). Each create reserves the task's credits; a
task that fails gives them back when it fails (mock time); a stuck task keeps them.
Rate limits count every API call of the key (creates and polls) in a sliding window of
60 mock seconds; a refused call does not count, and its 429 carries ``Retry-After``:
the whole seconds until the oldest counted call leaves the window.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from .errors import InsufficientQuota, ModelAccessDenied, RateLimited, Unauthorized

RATE_WINDOW = 60.0


@dataclass(frozen=True)
class AccountSpec:
    """One key's account as configured. ``None`` means unlimited / every model."""

    credits: float | None = None
    models: tuple[str, ...] | None = None
    rate_limit_per_minute: int | None = None


class _AccountState:
    __slots__ = ("spent", "calls", "refunds")

    def __init__(self) -> None:
        self.spent = 0.0
        self.calls: deque[float] = deque()
        self.refunds: list[tuple[float, float]] = []


class Accounts:
    def __init__(self, specs: dict[str, AccountSpec] | None = None, *, unknown_keys: str = "allow") -> None:
        if unknown_keys not in ("allow", "reject"):
            raise ValueError("unknown_keys must be 'allow' or 'reject'")
        self.specs = dict(specs or {})
        self.unknown_keys = unknown_keys
        self._state: dict[str, _AccountState] = {}

    def _spec(self, key: str) -> AccountSpec | None:
        return self.specs.get(key)

    def _of(self, key: str) -> _AccountState:
        state = self._state.get(key)
        if state is None:
            state = self._state[key] = _AccountState()
        return state

    def authorize(self, key: str) -> None:
        if self.unknown_keys == "reject" and key not in self.specs:
            raise Unauthorized()

    def check_rate(self, key: str, now: float) -> None:
        spec = self._spec(key)
        if spec is None or spec.rate_limit_per_minute is None:
            return
        calls = self._of(key).calls
        while calls and calls[0] <= now - RATE_WINDOW:
            calls.popleft()
        if len(calls) >= spec.rate_limit_per_minute:
            wait = max(1, math.ceil(calls[0] + RATE_WINDOW - now)) if calls else int(RATE_WINDOW)
            raise RateLimited(headers={"Retry-After": str(wait)})
        calls.append(now)

    def check_model(self, key: str, model: str) -> None:
        spec = self._spec(key)
        if spec is not None and spec.models is not None and model not in spec.models:
            raise ModelAccessDenied.for_model(model)

    def balance(self, key: str, now: float) -> float | None:
        spec = self._spec(key)
        if spec is None or spec.credits is None:
            return None
        state = self._of(key)
        while state.refunds and state.refunds[0][0] <= now:
            _, amount = heapq.heappop(state.refunds)
            state.spent -= amount
        return round(spec.credits - state.spent, 6)

    def reserve(self, key: str, amount: float, now: float) -> None:
        """Take ``amount`` credits for a new task, or refuse with 402."""
        balance = self.balance(key, now)
        if balance is None:
            return
        if balance + 1e-9 < amount:
            raise InsufficientQuota()
        self._of(key).spent += amount

    def refund_at(self, key: str, amount: float, when: float) -> None:
        """Give ``amount`` back at mock time ``when`` (a task that fails then)."""
        spec = self._spec(key)
        if spec is not None and spec.credits is not None:
            heapq.heappush(self._of(key).refunds, (when, amount))

    def reset(self) -> None:
        self._state.clear()

    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            key: {
                "credits": spec.credits,
                "balance": self.balance(key, now),
                "models": list(spec.models) if spec.models is not None else None,
                "rate_limit_per_minute": spec.rate_limit_per_minute,
            }
            for key, spec in self.specs.items()
        }
