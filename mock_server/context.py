"""Everything one running mock owns, built once by ``create_app()`` and kept on ``app.state``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from evolink_spec import facts, load_bundle

from .accounts import Accounts, AccountSpec
from .callbacks import CallbackPolicy, CallbackQueue
from .catalogue import default_duration
from .clock import Clock, SystemClock, VirtualClock
from .config import MockConfig
from .delays import Delays
from .idempotency import IdempotencyKeys
from .journal import RequestJournal
from .randomness import SeededRandom
from .rules import RuleBook
from .settings import Settings
from .store import InMemoryTaskStore, TaskStore
from .tasks import TaskFactory
from .validation import RequestValidator

_SEED = facts().model(facts().default_model)
"""The seed's model: what a task gets when its create does not say."""


def documented_errors(bundle: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """The example error body of each documented status, by operationId (from the bundle)."""
    errors: dict[str, dict[int, dict[str, Any]]] = {}
    for item in bundle["paths"].values():
        for operation in item.values():
            examples = errors.setdefault(operation["operationId"], {})
            for status, response in operation["responses"].items():
                example = response.get("content", {}).get("application/json", {}).get("example")
                if status.isdigit() and int(status) >= 400 and example is not None:
                    examples[int(status)] = example
    return errors


def _accounts(settings: Settings, config: MockConfig) -> Accounts:
    """The config's accounts; ``--api-key`` adds unlimited ones and makes other keys invalid."""
    if not settings.api_keys:
        return Accounts(config.accounts, unknown_keys=config.unknown_keys)
    specs = {key: AccountSpec() for key in settings.api_keys} | config.accounts
    return Accounts(specs, unknown_keys="reject")


@dataclass
class MockContext:
    settings: Settings
    config: MockConfig
    clock: Clock
    store: TaskStore
    random: SeededRandom
    factory: TaskFactory
    validator: RequestValidator
    accounts: Accounts
    rules: RuleBook
    journal: RequestJournal
    callbacks: CallbackQueue
    idempotency: IdempotencyKeys
    examples: dict[str, dict[int, dict[str, Any]]] = field(repr=False)
    bundle: dict[str, Any] = field(repr=False)
    delays: Delays = field(default_factory=Delays, repr=False)
    """Artificial delays in progress, which shutdown cuts short."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        config: MockConfig | None = None,
        clock: Clock | None = None,
        store: TaskStore | None = None,
    ) -> MockContext:
        config = config or MockConfig()
        if clock is None:
            clock = VirtualClock() if settings.clock == "virtual" else SystemClock(settings.speed)
        seed = settings.seed if settings.seed is not None else int.from_bytes(os.urandom(4), "big")
        random = SeededRandom(seed)
        bundle = load_bundle()
        examples = documented_errors(bundle)
        statuses = frozenset(status for by_status in examples.values() for status in by_status)
        return cls(
            settings=settings,
            config=config,
            clock=clock,
            store=store
            if store is not None
            else InMemoryTaskStore(retention=settings.retention, max_tasks=settings.max_tasks, clock=clock),
            random=random,
            factory=TaskFactory(
                random,
                duration=settings.task_duration
                if settings.task_duration is not None
                else default_duration(_SEED.answer.estimated_time),
                estimated_time=settings.estimated_time
                if settings.estimated_time is not None
                else _SEED.answer.estimated_time,
                credits=settings.credits_per_task
                if settings.credits_per_task is not None
                else _SEED.answer.credits_reserved,
            ),
            validator=RequestValidator(bundle),
            accounts=_accounts(settings, config),
            rules=RuleBook(config.rules, seed=seed, statuses=statuses),
            journal=RequestJournal(settings.journal_capacity, settings.journal_max_bytes),
            idempotency=IdempotencyKeys(),
            callbacks=CallbackQueue(
                clock,
                CallbackPolicy(settings.allow_callback_hosts),
                capacity=settings.journal_capacity,
                ca_file=settings.callback_ca_file,
            ),
            examples=examples,
            bundle=bundle,
        )

    def reset(self) -> None:
        """Back to the start: no tasks, an empty journal, configured rules with fresh
        counters, balances as configured, the random sources replayed from the seed, and a
        virtual clock back where it started (a real clock keeps running)."""
        self.store.reset()
        self.random.reseed()
        self.journal.clear()
        self.rules.reset()
        self.accounts.reset()
        self.callbacks.reset()
        self.idempotency.reset()
        self.clock.reset()
