"""Everything one running mock owns, built once by ``create_app()`` and kept on ``app.state``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, SystemClock, VirtualClock
from .randomness import SeededRandom
from .settings import Settings
from .spec import load_bundle
from .store import InMemoryTaskStore, TaskStore
from .tasks import TaskFactory
from .validation import RequestValidator


@dataclass
class MockContext:
    settings: Settings
    clock: Clock
    store: TaskStore
    random: SeededRandom
    factory: TaskFactory
    validator: RequestValidator
    bundle: dict[str, Any] = field(repr=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        store: TaskStore | None = None,
    ) -> MockContext:
        if clock is None:
            clock = VirtualClock() if settings.clock == "virtual" else SystemClock(settings.speed)
        seed = settings.seed if settings.seed is not None else int.from_bytes(os.urandom(4), "big")
        random = SeededRandom(seed)
        bundle = load_bundle()
        return cls(
            settings=settings,
            clock=clock,
            store=store or InMemoryTaskStore(retention=settings.retention, max_tasks=settings.max_tasks),
            random=random,
            factory=TaskFactory(
                random,
                duration=settings.task_duration,
                estimated_time=settings.estimated_time,
                credits=settings.credits_per_task,
            ),
            validator=RequestValidator(bundle),
            bundle=bundle,
        )

    def reset(self) -> None:
        """Forget every task and replay the random source from its seed."""
        self.store.reset()
        self.random.reseed()
