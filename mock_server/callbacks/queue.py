"""The callback delivery queue: POST a finished task to its ``callback_url``, as the provider does.

When a task reaches ``completed`` or ``failed`` (its plan's ``finished_at``, in mock time),
or is cancelled through the admin API, the queue POSTs the task-query JSON to the task's
``callback_url``: the same bytes its owner's poll would get at that moment. Each attempt
has 10 s of mock time; a 2xx answer ends the delivery; anything else (another status, a
redirect, a timeout, a refused or reset connection, a TLS failure, an address the safety
rules refuse) is a failure, followed by at most 3 retries 1 s, 2 s and 4 s after each
failure. Every attempt is journalled. A delivery's state (``delivery.py``) changes only
along its transitions table.

A rule's ``callback`` behaviour (``behaviour.py``) can make a delivery late
(``delay``), repeat it after success (``duplicates``, sent one after another, each once),
drop it (journalled as ``dropped``), or hold it until the owner has polled the finished
task (``after_poll``, journalled as ``held``).

Times come from the mock's clock through a ``ClockScheduler``: a virtual clock releases
attempts when advanced; a real one fires asyncio timers. Attempts run as asyncio tasks
and never block a request. ``aclose()`` (at shutdown) gives attempts in flight a short
grace, then abandons them and everything still scheduled, journalling each as
``abandoned``. ``reset()`` cancels everything and forgets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from ..clock import Clock
from ..scheduler import SETTLE, ClockScheduler
from ..tasks import Task, detail_body, render_json
from .behaviour import NO_BEHAVIOUR, CallbackBehaviour
from .delivery import (
    ABANDONED,
    DELIVERED,
    DROPPED,
    FAILED,
    HELD,
    IN_FLIGHT,
    SCHEDULED,
    WAITING,
    CallbackDelivery,
    DeliveryState,
)
from .journal import CallbackEntry, CallbackJournal
from .safety import CallbackPolicy, CallbackTarget
from .wire import describe, post_json

log = logging.getLogger("mock_server.callbacks")

ATTEMPT_TIMEOUT = 10.0
RETRY_DELAYS = (1.0, 2.0, 4.0)
SHUTDOWN_GRACE = 1.0


class CallbackQueue:
    """Schedules, sends, retries and journals task callbacks.

    Args:
        clock: the mock's clock; every schedule and timeout is in its time.
        policy: where callbacks may go (checked again before every attempt).
        capacity: journal entries kept, and finished deliveries remembered.
        ca_file: a PEM file of extra CAs to trust for https receivers.
        settle: real seconds a stepped advance waits for an attempt before taking it to
            be hanging (``ClockScheduler.advance``).
    """

    def __init__(
        self,
        clock: Clock,
        policy: CallbackPolicy | None = None,
        *,
        capacity: int = 10_000,
        ca_file: str | None = None,
        timeout: float = ATTEMPT_TIMEOUT,
        retry_delays: Iterable[float] = RETRY_DELAYS,
        settle: float = SETTLE,
    ) -> None:
        self.clock = clock
        self.policy = policy or CallbackPolicy()
        self.journal = CallbackJournal(capacity)
        self.capacity = capacity
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.ca_file = ca_file
        self.settle = settle
        self.scheduler = ClockScheduler(clock, settle=settle)
        # With a CA file, load it now so a bad one shows at start; else on the first https attempt.
        self._tls: ssl.SSLContext | None = self._new_tls_context() if ca_file else None
        self._deliveries: dict[str, CallbackDelivery] = {}
        # Ids of deliveries in a final state, oldest first: what _forget_old may drop, found
        # without looking at the (possibly tens of thousands of) deliveries still pending.
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._running: dict[asyncio.Task[None], CallbackDelivery] = {}
        self._closing = False

    # -- what the routes call ------------------------------------------------------------

    def schedule(
        self, task: Task, target: CallbackTarget, base: str, behaviour: CallbackBehaviour | None = None
    ) -> CallbackDelivery:
        """Deliver ``task``'s callback once it finishes (never, while it is stuck)."""
        delivery = CallbackDelivery(task, target, base.rstrip("/"), behaviour or NO_BEHAVIOUR)
        self._deliveries[task.id] = delivery
        self._forget_old()
        self._plan_first(delivery)
        return delivery

    def task_ended(self, task: Task) -> None:
        """``task``'s plan changed (an admin cancel): its callback goes at the new end."""
        delivery = self._deliveries.get(task.id)
        if delivery is not None and delivery.state in (WAITING, SCHEDULED) and delivery.attempts == 0:
            self._plan_first(delivery)

    def polled(self, task: Task, now: float) -> None:
        """The owner polled ``task`` at ``now``: releases a delivery held until then."""
        delivery = self._deliveries.get(task.id)
        if delivery is None or delivery.polled or not task.view(now).finished:
            return
        delivery.polled = True
        if delivery.state is HELD:
            self._schedule(delivery, now, "attempt")

    async def advance(self, seconds: float) -> float:
        """Move mock time ``seconds`` forward, each attempt and retry falling due on the way
        running at its own time (``ClockScheduler.advance``); returns the new time."""
        return await self.scheduler.advance(seconds)

    def delivery(self, task_id: str) -> CallbackDelivery | None:
        return self._deliveries.get(task_id)

    def deliveries(self) -> list[CallbackDelivery]:
        return list(self._deliveries.values())

    # -- lifecycle -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every delivery and the journal; attempts in flight are cancelled unjournalled."""
        self.scheduler.clear()
        for running in self._running:
            running.cancel()
        self._running.clear()
        for delivery in self._deliveries.values():
            if not delivery.state.final:
                delivery.move(ABANDONED)  # an attempt in flight sees it and stops
        self._deliveries.clear()
        self._finished.clear()
        self.journal.clear()

    async def aclose(self, grace: float = SHUTDOWN_GRACE) -> int:
        """Shut down: attempts in flight get ``grace`` real seconds to finish; then they and
        every delivery still waiting are abandoned (journalled). Returns how many were.
        The queue stays usable: an app served again delivers the callbacks of new tasks."""
        self._closing = True
        self.scheduler.close()
        pending: set[asyncio.Task[None]] = set()
        if self._running:
            _, pending = await asyncio.wait(list(self._running), timeout=grace)
        abandoned = 0
        for running in pending:
            delivery = self._running[running]
            running.cancel()
            self._abandon(delivery, in_flight=True)
            abandoned += 1
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for delivery in self._deliveries.values():
            if delivery.state in (WAITING, SCHEDULED, HELD):
                self._abandon(delivery)
                abandoned += 1
        if abandoned:
            log.info("%d callback deliveries abandoned at shutdown", abandoned)
        # Ready for another run of the same app (a test server started again): callbacks of
        # tasks created from now on are delivered as usual.
        self.scheduler = ClockScheduler(self.clock, settle=self.settle)
        self._closing = False
        return abandoned

    # -- scheduling ----------------------------------------------------------------------

    def _plan_first(self, delivery: CallbackDelivery) -> None:
        if delivery.timer is not None:
            delivery.timer.cancel()
        plan = delivery.task.plan
        if not plan.finishes:
            delivery.move(WAITING)
            delivery.due, delivery.timer = None, None
            return
        self._schedule(delivery, plan.finished_at + delivery.behaviour.delay, "attempt")

    def _schedule(self, delivery: CallbackDelivery, when: float, kind: str) -> None:
        delivery.move(SCHEDULED)
        delivery.due, delivery.kind = when, kind
        if self._closing:
            self._abandon(delivery)
            return
        delivery.timer = self.scheduler.call_at(when, lambda: self._due(delivery))

    def _abandon(self, delivery: CallbackDelivery, *, in_flight: bool = False) -> None:
        """Journal a delivery given up at shutdown: the attempt in flight, or the one it waited for."""
        if delivery.state is WAITING:
            attempt = None
        elif delivery.kind == "attempt":
            attempt = delivery.attempts + (0 if in_flight else 1)
        else:
            attempt = delivery.duplicates + (0 if in_flight else 1)
        kind = "held" if delivery.state is HELD else delivery.kind
        self._finish(delivery, ABANDONED)
        self._record(delivery, kind=kind, attempt=attempt, scheduled=delivery.due, result="abandoned", error="shutdown")

    def _due(self, delivery: CallbackDelivery) -> None:
        delivery.timer = None
        if delivery.state is not SCHEDULED or self._deliveries.get(delivery.task.id) is not delivery:
            return
        if delivery.kind == "attempt" and delivery.attempts == 0:
            if delivery.behaviour.drop:
                self._finish(delivery, DROPPED)
                self._record(delivery, kind="dropped", attempt=None, scheduled=delivery.due, result="dropped")
                return
            if delivery.behaviour.after_poll and not delivery.polled:
                delivery.move(HELD)
                self._record(
                    delivery, kind="held", attempt=None, scheduled=delivery.due, result="held", next_={"action": "poll"}
                )
                return
        delivery.move(IN_FLIGHT)
        running = asyncio.get_running_loop().create_task(self._attempt(delivery))
        self._running[running] = delivery
        running.add_done_callback(self._running_done)
        self.scheduler.track(running)

    def _running_done(self, running: asyncio.Task[None]) -> None:
        self._running.pop(running, None)
        if not running.cancelled() and running.exception() is not None:
            log.error("callback attempt crashed", exc_info=running.exception())

    def _forget_old(self) -> None:
        """Remember about ``capacity`` deliveries: past it, the oldest finished go (never one
        still pending). Costs O(1) per delivery forgotten, whatever the number pending."""
        finished = self._finished
        while len(self._deliveries) > self.capacity and finished:
            task_id, _ = finished.popitem(last=False)
            del self._deliveries[task_id]

    def _finish(self, delivery: CallbackDelivery, state: DeliveryState) -> None:
        """Put ``delivery`` in a final state."""
        delivery.move(state)
        if self._deliveries.get(delivery.task.id) is delivery:
            self._finished[delivery.task.id] = None

    # -- one attempt ---------------------------------------------------------------------

    async def _attempt(self, delivery: CallbackDelivery) -> None:
        scheduled = delivery.due
        kind = delivery.kind
        start = self.clock.now()
        if kind == "attempt":
            delivery.attempts += 1
            attempt = delivery.attempts
        else:
            delivery.duplicates += 1
            attempt = delivery.duplicates
        body = render_json(detail_body(delivery.task, start, delivery.base))
        status, error = await self._exchange(delivery.target, body, start)
        if delivery.state is not IN_FLIGHT:
            return  # reset or abandoned meanwhile
        end = self.clock.now()
        # The next step counts from when this attempt was due plus the time it took (at most
        # the timeout), not from when its answer happened to be read: lateness of the loop
        # or of a test's clock never pushes the schedule back.
        done_at = (start if scheduled is None else scheduled) + min(max(0.0, end - start), self.timeout)
        ok = status is not None and 200 <= status < 300
        duplicates_left = delivery.behaviour.duplicates - delivery.duplicates
        if kind == "duplicate" or ok:
            if duplicates_left > 0:
                next_: dict[str, Any] = {"action": "duplicate", "at": done_at}
            else:
                next_ = {"action": "none"}
            result = "delivered" if ok else "failed"
        elif delivery.attempts <= len(self.retry_delays):
            wait = self.retry_delays[delivery.attempts - 1]
            next_ = {"action": "retry", "at": done_at + wait, "in": wait}
            result = "failed"
        else:
            next_ = {"action": "gave_up"}
            result = "failed"
        self._record(
            delivery,
            kind=kind,
            attempt=attempt,
            scheduled=scheduled,
            start=start,
            end=end,
            status=status,
            error=error,
            result=result,
            next_=next_,
        )
        if next_["action"] in ("retry", "duplicate"):
            self._schedule(delivery, next_["at"], "attempt" if next_["action"] == "retry" else "duplicate")
        elif kind == "duplicate" or ok:
            self._finish(delivery, DELIVERED)
        else:
            self._finish(delivery, FAILED)

    async def _exchange(self, target: CallbackTarget, body: bytes, start: float) -> tuple[int | None, str | None]:
        """Send ``body``; the answer's status, or why there is none. Races the send against
        ``timeout`` seconds of mock time (so a virtual clock times it out when advanced past)."""
        loop = asyncio.get_running_loop()
        sending = loop.create_task(self._send(target, body))
        deadline: asyncio.Future[None] = loop.create_future()

        def expire() -> None:
            if not deadline.done():
                deadline.set_result(None)

        timer = self.scheduler.call_at(start + self.timeout, expire, wakes=asyncio.current_task())
        try:
            await asyncio.wait((sending, deadline), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            deadline.cancel()
            if not sending.done():
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
        if sending.cancelled():
            return None, f"timeout: no answer within {self.timeout:g} s"
        return sending.result()

    async def _send(self, target: CallbackTarget, body: bytes) -> tuple[int | None, str | None]:
        try:
            addresses = await self.policy.resolve(target)
            tls = await self._tls_context() if target.scheme == "https" else None
            answer = await post_json(target, addresses, body, tls=tls)
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as error:
            return None, describe(error)
        except Exception as error:  # a bug here must fail the attempt, not stall the delivery
            log.exception("callback attempt to %s failed unexpectedly", target.url)
            return None, describe(error)
        if 300 <= answer.status < 400:
            shown = f" to {answer.location[:200]}" if answer.location else ""
            return answer.status, f"redirect{shown} not followed"
        return answer.status, None

    async def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            # Loading the system's CA store takes ~20 ms: not on the event loop.
            self._tls = await asyncio.to_thread(self._new_tls_context)
        return self._tls

    def _new_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_file:
            try:
                context.load_verify_locations(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as error:
                raise ValueError(f"--callback-ca-file {self.ca_file}: cannot load a CA from it: {error}") from None
        return context

    def _record(
        self,
        delivery: CallbackDelivery,
        *,
        kind: str,
        attempt: int | None,
        scheduled: float | None,
        result: str,
        start: float | None = None,
        end: float | None = None,
        status: int | None = None,
        error: str | None = None,
        next_: dict[str, Any] | None = None,
    ) -> None:
        start = self.clock.now() if start is None else start
        self.journal.record(
            CallbackEntry(
                task_id=delivery.task.id,
                url=delivery.target.url,
                kind=kind,
                attempt=attempt,
                scheduled_at=scheduled,
                time=start,
                late_ms=None if scheduled is None else round((start - scheduled) * 1000, 3),
                duration_ms=None if end is None else round((end - start) * 1000, 3),
                status=status,
                error=error,
                result=result,
                next=next_ or {"action": "none"},
            )
        )
