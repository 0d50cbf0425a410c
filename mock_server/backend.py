"""The mock's backend (moto style): one object that owns every operation and every state change.

``MockBackend`` holds the parts (task store, accounts, idempotency keys, failure rules,
request journal, callback queue, clock, random source, request validator, the catalogue of
models served) and runs each
operation's business steps in one fixed order: the HTTP layer (``mock_server/http/``) reads
the request, calls one method here, and renders what it returns. Nothing here knows HTTP:
``tests/test_backend.py`` drives it without a server.

A create, in order (``create_image_generation``): the key's account and rate window, the
body (read through the caller's ``read_body``, which refuses a wrong content type, oversize
or bad JSON), the failure rules, the schema of the body's model (and the pixel rules a schema
cannot state), the ``Idempotency-Key`` (a retry answers the first task), the ``callback_url``
safety check, the model access, the model's credits reserved, the task made by the model's
plan (result size and count, estimate, duration) and stored, its callback scheduled, a
planned failure's refund.
Credits are booked only here: reserved by a create, given back by ``_book_refund`` (a task
planned to fail, at its end; a cancel, at once).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from evolink_spec import CREATE_OPERATION, TASK_OPERATION, bundle_bytes, facts, load_bundle

from .accounts import Accounts, AccountSpec
from .callbacks import CallbackDelivery, CallbackPolicy, CallbackQueue
from .catalogue import Catalogue, Served, default_duration
from .clock import Clock, SystemClock, VirtualClock
from .config import MockConfig
from .delays import Delays
from .errors import FileNotFound, InternalError, InvalidRequest, NotFound, SpecifiedError, TaskNotFound
from .idempotency import IdempotencyKeys, fingerprint
from .images import parse_image_name, render_png, token_matches
from .journal import JournalEntry, RawHeaders, RequestJournal
from .lifecycle import Status
from .outcomes import TaskOutcome, failure_for
from .randomness import SeededRandom
from .rules import Decision, Rule, RuleBook, RuleCall, RuleError
from .settings import Settings
from .store import InMemoryTaskStore, TaskStore
from .tasks import Task, TaskFactory, cancel
from .validation import RequestValidator, check_task_id

NO_HEADERS: Mapping[str, str] = {}


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


class BrokenConnectionError(Exception):
    """A rule breaks this call's connection (``reset`` or ``empty``) before anything is answered."""


@dataclass(slots=True)
class CallRecord:
    """What the backend tells the request journal and the fault layer about one call: the
    API key it decided on, the note it adds (rules that acted, task made or replayed,
    incomplete body) and the connection fault a rule chose. Filled in as the call goes, so
    a refused call still reports how far it got."""

    key: str | None = None
    note: dict[str, Any] | None = None
    fault: str | None = None

    def add_note(self, **items: Any) -> None:
        self.note = {**(self.note or {}), **items}


@dataclass(slots=True)
class CreateRequest:
    """A create as the backend needs it. ``read_body(limit)`` reads and parses the body
    (``(raw bytes, JSON value)``), refusing a wrong content type, more than ``limit``
    bytes or bad JSON; it is called after the key is authorized, so a refused key never
    has its body read. ``headers()`` is called only when a rule matches on headers;
    ``base_url()`` only when result links need it."""

    key: str
    read_body: Callable[[int], Awaitable[tuple[bytes, Any]]]
    idempotency_key: str | None = None
    outcome: TaskOutcome = field(default_factory=TaskOutcome)
    headers: Callable[[], Mapping[str, str]] = lambda: NO_HEADERS
    base_url: Callable[[], str] = lambda: "http://127.0.0.1"


@dataclass(slots=True)
class Created:
    task: Task
    replayed: bool = False
    """True when an ``Idempotency-Key`` retry answers the task its first request made."""


@dataclass
class MockBackend:
    settings: Settings
    config: MockConfig
    clock: Clock
    store: TaskStore
    random: SeededRandom
    factory: TaskFactory
    validator: RequestValidator
    catalogue: Catalogue
    """The models served: the documented family, and the names the settings add."""
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
    ) -> MockBackend:
        config = config or MockConfig()
        if clock is None:
            clock = VirtualClock() if settings.clock == "virtual" else SystemClock(settings.speed)
        seed = settings.seed if settings.seed is not None else int.from_bytes(os.urandom(4), "big")
        random = SeededRandom(seed)
        bundle = load_bundle()
        examples = documented_errors(bundle)
        statuses = frozenset(status for by_status in examples.values() for status in by_status)
        catalogue = Catalogue(
            facts().family, facts().default_model, extra_models=settings.extra_models, any_model=settings.any_model
        )
        seed_model = catalogue.seed.answer
        return cls(
            settings=settings,
            config=config,
            clock=clock,
            store=store
            if store is not None
            else InMemoryTaskStore(retention=settings.retention, max_tasks=settings.max_tasks, clock=clock),
            random=random,
            # What a task gets when its create does not say: the seed model's (a create says).
            factory=TaskFactory(
                random,
                duration=settings.task_duration
                if settings.task_duration is not None
                else default_duration(seed_model.estimated_time),
                estimated_time=settings.estimated_time
                if settings.estimated_time is not None
                else seed_model.estimated_time,
                credits=settings.credits_per_task
                if settings.credits_per_task is not None
                else seed_model.credits_reserved,
            ),
            catalogue=catalogue,
            validator=RequestValidator.shared(bundle),
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

    # -- the steps every provider operation shares ------------------------------------------

    def authorize(self, key: str, record: CallRecord) -> str:
        """The key's account: refused (401) when unknown keys are rejected, 429 past its rate
        window (a refused call does not count). The journal records the key decided here."""
        record.key = key
        accounts = self.accounts
        if accounts.specs or accounts.unknown_keys != "allow":
            accounts.authorize(key)
            accounts.check_rate(key, self.clock.now())
        return key

    def example_for(self, operation: str | None, status: int) -> dict[str, Any]:
        """The spec's example error body for ``status`` (of ``operation`` when it documents it)."""
        if operation is not None and status in self.examples[operation]:
            return self.examples[operation][status]
        for by_status in self.examples.values():
            if status in by_status:
                return by_status[status]
        return {"error": {"code": "error", "message": "Error", "type": InternalError.type}}

    async def apply_rules(self, call: RuleCall, operation: str | None, record: CallRecord) -> Decision:
        """The failure rules on this call: latency, then an answer or a broken connection
        (``truncate`` is left in ``record.fault`` for the HTTP layer, which cuts the answer)."""
        decision = self.rules.evaluate(call)
        if not decision.rules:
            return decision
        record.note = {"rules": decision.rules}
        if decision.latency_ms:
            await self.delays.sleep(decision.latency_ms / 1000)
        if decision.fault is not None:
            record.fault = decision.fault
            if decision.fault in ("reset", "empty"):
                raise BrokenConnectionError()
        if decision.respond is not None:
            respond = decision.respond
            headers = {"Retry-After": str(respond.retry_after)} if respond.retry_after is not None else None
            if call.route == "image" and respond.status == 404:
                raise FileNotFound(respond.message, headers=headers)
            example = self.example_for(operation, respond.status)
            raise SpecifiedError(respond.status, example, message=respond.message, headers=headers)
        return decision

    def files_base(self, base_url: Callable[[], str]) -> str:
        """Where result links start: ``--public-url``, else the URL the request came to."""
        public = self.settings.public_url
        return public.rstrip("/") if public else base_url().rstrip("/")

    def _rule_headers(self, headers: Callable[[], Mapping[str, str]]) -> Mapping[str, str]:
        return headers() if self.rules.needs_headers else NO_HEADERS

    def _book_refund(self, task: Task, when: float) -> None:
        """The one place credits come back: a task that fails (planned, or cancelled) at ``when``."""
        self.accounts.refund_at(task.key, task.credits, when)

    # -- provider operations (one per spec operation) -------------------------------------

    async def create_image_generation(self, request: CreateRequest, record: CallRecord) -> Created:
        """``POST /v1/images/generations``: a new task (or the first one again, for a retry
        with the same ``Idempotency-Key`` and body). The steps, in order, are in the module
        docstring; each refusal raises its ``ApiError``."""
        key = self.authorize(request.key, record)
        raw, payload = await request.read_body(self.settings.max_body_bytes)
        prompt = payload.get("prompt") if isinstance(payload, dict) else None
        call = RuleCall(
            "create", "POST", key, prompt if isinstance(prompt, str) else None, self._rule_headers(request.headers)
        )
        decision = await self.apply_rules(call, CREATE_OPERATION, record)
        callback_url = payload.get("callback_url") if isinstance(payload, dict) else None
        served, checked = self._validate_create(payload, callback_url)
        idempotency_key = request.idempotency_key
        digest = fingerprint(payload, raw) if idempotency_key else b""
        replayed = self._replay(key, idempotency_key, digest)
        if replayed is not None:
            record.add_note(task_id=replayed.id, replayed=True)
            return Created(replayed, replayed=True)
        policy = self.callbacks.policy
        try:
            target = await policy.check_at_creation(callback_url) if callback_url is not None else None
            plan = self.catalogue.plan(served, checked)
            model = served.name
            self.accounts.check_model(key, model)
            now = self.clock.now()
            settings = self.settings
            credits = plan.credits if settings.credits_per_task is None else settings.credits_per_task
            self.accounts.reserve(key, credits, now)
            outcome = request.outcome.merged_over(decision.outcome) if decision.rules else request.outcome
            duration = served.duration if settings.task_duration is None else settings.task_duration
            task = self.factory.new_task(
                key=key,
                model=model,
                now=now,
                size=plan.size,
                callback_url=callback_url,
                duration=duration if outcome.duration is None else outcome.duration,
                failure=failure_for(outcome.error) if outcome.error is not None else None,
                stuck=bool(outcome.stuck),
                wall=self.clock.wall(),
                image_count=len(plan.images),
                estimated_time=plan.estimated_time if settings.estimated_time is None else settings.estimated_time,
                credits=credits,
            )
            self.store.create_task(task, now)
            self.idempotency.remember(key, idempotency_key, digest, task.id)
        except BaseException:
            self.idempotency.release(key, idempotency_key)  # refused (or cancelled): the key is free again
            raise
        if target is not None:
            self.callbacks.schedule(task, target, self.files_base(request.base_url), decision.callback)
        if task.plan.failure is not None:
            self._book_refund(task, task.plan.finished_at)
        record.add_note(task_id=task.id)
        return Created(task)

    def _validate_create(self, payload: Any, callback_url: Any) -> tuple[Served, dict[str, Any]]:
        """The body checked by its model's contract (the schema, then the rules a schema cannot
        state), with the values the settings accept beyond it: how the model is served, and the
        body as checked (an extra model's under the seed model's name)."""
        checked = payload
        if callback_url is not None and self.callbacks.policy.exempt_from_spec(callback_url):
            # An allowed host (--allow-callback-host) may take http, which the spec's pattern refuses.
            checked = {k: v for k, v in checked.items() if k != "callback_url"}
        served = self.catalogue.lookup(checked.get("model")) if isinstance(checked, dict) else None
        if served is not None and served.extra:
            # A model accepted by --extra-model/--any-model is checked as the seed's own model.
            checked = {**checked, "model": served.contract.name}
        extra = self.catalogue.extra_models
        self.validator.validate_body(CREATE_OPERATION, checked, extra_values={"model": extra} if extra else {})
        if served is None or not isinstance(checked, dict):
            raise InvalidRequest("Invalid request body", param="body")  # the schema refuses these first
        problem = served.contract.size_problem(checked)
        if problem is not None:
            raise InvalidRequest(problem, param="size")
        return served, checked

    def _replay(self, key: str, idempotency_key: str | None, digest: bytes) -> Task | None:
        """The first task again, for a create retried with the same ``Idempotency-Key`` and
        body; None when this create makes a new task (the key is then held for it)."""

        def alive(task_id: str) -> bool:
            try:
                self.store.get_task(task_id, key)
            except TaskNotFound:
                return False
            return True

        task_id = self.idempotency.claim(key, idempotency_key, digest, alive)
        return None if task_id is None else self.store.get_task(task_id, key)

    async def get_task_detail(
        self,
        key: str,
        task_id: str,
        record: CallRecord,
        *,
        method: str = "GET",
        headers: Callable[[], Mapping[str, str]] = lambda: NO_HEADERS,
    ) -> tuple[Task, float]:
        """``GET /v1/tasks/{task_id}``: the key's task and the mock time it is seen at (a poll
        also tells the callback queue, for callbacks that wait for one)."""
        self.authorize(key, record)
        if self.rules.rules:
            call = RuleCall("query", method, key, None, self._rule_headers(headers))
            await self.apply_rules(call, TASK_OPERATION, record)
        check_task_id(task_id)
        task = self.store.get_task(task_id, key)
        now = self.clock.now()
        self.callbacks.polled(task, now)
        return task, now

    async def get_result_image(
        self,
        name: str,
        record: CallRecord,
        *,
        method: str = "GET",
        headers: Callable[[], Mapping[str, str]] = lambda: NO_HEADERS,
    ) -> bytes:
        """A result link: the PNG while the link lives (24 h of mock time), then 404. A link
        whose token is not its task's is unknown, whatever the task's state: nothing about a
        task is told to whoever did not receive its link."""
        await self.apply_rules(RuleCall("image", method, None, None, self._rule_headers(headers)), None, record)
        parsed = parse_image_name(name)
        if parsed is None:
            raise FileNotFound.unknown()
        task_id, index, token = parsed
        try:
            task = self.store.get_task(task_id)
        except TaskNotFound:
            raise FileNotFound.unknown() from None
        if not token_matches(token, task.link_token) or index >= task.plan.image_count:
            raise FileNotFound.unknown()
        now = self.clock.now()
        status = task.view(now).status
        if status is Status.FAILED:
            raise FileNotFound.task_failed()
        if status is not Status.COMPLETED:
            raise FileNotFound.not_ready()
        if now >= task.plan.finished_at + self.settings.result_ttl:
            raise FileNotFound.expired()
        # A few microseconds (images.py keeps the pixels per size): no thread pool needed.
        return render_png(f"{self.random.seed}:{task_id}_{index}", task.size)

    def openapi_document(self) -> bytes:
        """The spec bundle this mock serves, as JSON."""
        return bundle_bytes()

    def record_request(
        self,
        request: tuple[str, str, bytes, RawHeaders, bytes],
        status: int | None,
        elapsed_ms: float,
        record: CallRecord,
    ) -> None:
        """The request journal's one entry for a provider call: ``request`` is its method,
        path, query, headers and body; a broken connection (``reset``, ``empty``) has no status."""
        method, path, query, headers, body = request
        fault = record.fault
        status = None if fault in ("reset", "empty") else status
        entry = JournalEntry(
            self.clock.now(), method, path, query, headers, body, status, fault, elapsed_ms, record.note
        )
        self.journal.record(entry, key=record.key)

    # -- admin operations (/__mock/) ------------------------------------------------------

    def health(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "status": "ok",
            "service": "nanobanana-mock",
            "unknown_keys": self.accounts.unknown_keys,
            "seed": self.random.seed,
            "clock": self.clock.kind,
            "speed": settings.speed,
            "task_duration": settings.task_duration,
            "tasks": len(self.store),
        }

    def clock_state(self) -> dict[str, Any]:
        return {"now": self.clock.now(), "kind": self.clock.kind, "speed": self.settings.speed}

    async def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Mock time ``seconds`` later, stepped: every callback attempt and retry falling
        due on the way runs at its own time."""
        await self.callbacks.advance(seconds)
        return self.clock_state()

    def tasks(self) -> Iterator[Task]:
        """Every live task, oldest first, whoever owns it."""
        return self.store.tasks()

    def task(self, task_id: str) -> Task:
        """One task, whoever owns it (``TaskNotFound`` if unknown)."""
        return self.store.get_task(task_id)

    def cancel_task(self, task_id: str) -> Task:
        """End an unfinished task now: failed with ``request_cancelled``, its credits given
        back (unless a planned failure booked them already), its callback told."""
        task = self.store.get_task(task_id)
        now = self.clock.now()
        state = task.view(now)
        if state.finished:
            message = f"Task {task.id} has already {state.status.value}: only an unfinished task can be cancelled"
            raise InvalidRequest(message, param="task_id")
        refund = task.plan.failure is None  # a task planned to fail has its refund booked already
        cancel(task, now)
        if refund:
            self._book_refund(task, now)
        self.callbacks.task_ended(task)
        return task

    def task_callbacks(self, task_id: str) -> tuple[CallbackDelivery | None, list[dict[str, Any]]]:
        """One task's callback delivery (None if it has none) and its attempts."""
        delivery = self.callbacks.delivery(task_id)
        entries = self.callbacks.journal.entries(task_id=task_id)
        if delivery is None and not entries:
            self.store.get_task(task_id)  # 404 for an unknown task; a known one simply has no callback
        return delivery, entries

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

    def callback_page(
        self, task_id: str | None, *, limit: int, before: int | None, scan: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the callback journal (``CallbackJournal.page``)."""
        return self.callbacks.journal.page(task_id, limit=limit, before=before, scan=scan)

    def request_page(self, **filters: Any) -> tuple[list[JournalEntry], int | None]:
        """A page of the request journal (``RequestJournal.page``: its filters and paging)."""
        return self.journal.page(**filters)

    def rule_list(self) -> list[Rule]:
        return list(self.rules.rules)

    def add_rules(self, items: list[Any]) -> list[Rule]:
        """Add every rule, or none (``InvalidRequest`` naming what is wrong)."""
        try:
            return self.rules.add(items)
        except RuleError as error:
            raise InvalidRequest(f"Invalid rule: {error}", param="rules") from None

    def clear_rules(self) -> None:
        self.rules.clear()

    def delete_rule(self, rule_id: str) -> None:
        if not self.rules.remove(rule_id):
            raise NotFound(f"No rule {rule_id}", param="rule_id")

    def clear_requests(self) -> None:
        self.journal.clear()

    def accounts_state(self) -> dict[str, Any]:
        return {"accounts": self.accounts.snapshot(self.clock.now()), "unknown_keys": self.accounts.unknown_keys}
