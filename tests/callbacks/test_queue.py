"""Callback delivery end to end: a real receiver on a loopback port, the mock on a virtual clock.

Each story advances the clock by known amounts and waits (briefly, bounded) for the
receiver or the journal to show the expected state.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from starlette.applications import Starlette

from mock_server import Settings, SystemClock, VirtualClock, create_app
from mock_server.app import mock_of
from mock_server.callbacks import CallbackBehaviour, CallbackPolicy, CallbackQueue
from mock_server.randomness import SeededRandom
from mock_server.tasks import TaskFactory, detail_body, render_json
from tests.conftest import AUTH, CREATE, START, body
from tests.support.receiver import Answer, Receiver

pytestmark = pytest.mark.anyio
FINISH = START + 10.0  # the default task duration
MakeReceiver = Callable[..., Awaitable[Receiver]]


async def until(check: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    """Wait (polling every 5 ms, at most ``timeout`` real seconds) until ``check()`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@pytest.fixture
async def receivers(clock: VirtualClock) -> AsyncIterator[MakeReceiver]:
    made: list[Receiver] = []

    async def make(*script: Answer, default: Answer = 200, tls: ssl.SSLContext | None = None) -> Receiver:
        receiver = await Receiver(clock.now, list(script), default, tls).start()
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        await receiver.close()


@pytest.fixture
async def callback_app(app_factory: Callable[..., Starlette]) -> AsyncIterator[Callable[..., Starlette]]:
    """Apps that may call the loopback receiver (the allow-list opt-in); closed after the test."""
    made: list[Starlette] = []

    def make(**changes: Any) -> Starlette:
        app = app_factory(**{"allow_callback_hosts": ("127.0.0.1",), **changes})
        made.append(app)
        return app

    yield make
    for app in made:
        await mock_of(app).callbacks.aclose(grace=0)


@pytest.fixture
async def http(
    callback_app: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory(callback_app()) as client:
        yield client


async def create(client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None, **extra: Any) -> str:
    response = await client.post(CREATE, json=body(callback_url=url, **extra), headers={**AUTH, **(headers or {})})
    assert response.status_code == 200, response.text
    task_id: str = response.json()["id"]
    return task_id


async def journal(client: httpx.AsyncClient, task_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await client.get("/__mock/callbacks", params={"task_id": task_id})).json()[
        "callbacks"
    ]
    return entries


async def journalled(client: httpx.AsyncClient, task_id: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The task's journal once it holds ``count`` entries."""
    found: list[dict[str, Any]] = []

    async def refresh() -> None:
        found[:] = await journal(client, task_id)

    deadline = asyncio.get_running_loop().time() + timeout
    await refresh()
    while len(found) < count:
        assert asyncio.get_running_loop().time() < deadline, f"journal of {task_id}: {found}"
        await asyncio.sleep(0.005)
        await refresh()
    return found


def gaps(receiver: Receiver) -> list[float]:
    times = [call.mock_time for call in receiver.calls]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


async def test_queue__delivers_a_finished_task_on_its_own(clock: VirtualClock, receivers: MakeReceiver) -> None:
    """The queue without the HTTP layer: a task, a target, a base URL for result links."""
    receiver = await receivers(204)
    policy = CallbackPolicy(["127.0.0.1"])
    queue = CallbackQueue(clock, policy)
    factory = TaskFactory(SeededRandom(1), duration=5, estimated_time=45, credits=1.6)
    task = factory.new_task(key="k", model="nano-banana-beta", now=clock.now(), callback_url=receiver.url)
    queue.schedule(task, policy.parse(receiver.url), "http://mock.test/")
    assert queue.delivery(task.id).state == "scheduled"  # type: ignore[union-attr]
    clock.advance(5)
    await until(lambda: len(queue.journal) == 1, "the attempt")
    assert receiver.calls[0].body == render_json(detail_body(task, clock.now(), "http://mock.test"))
    assert queue.delivery(task.id).state == "delivered"  # type: ignore[union-attr]
    assert await queue.aclose() == 0


async def test_delivery__a_2xx_receiver_gets_exactly_one_call_with_the_poll_body(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers(200)
    task_id = await create(http, receiver.url)
    clock.advance(9.9)
    await asyncio.sleep(0.05)
    assert receiver.calls == []
    clock.advance(0.1)
    await until(lambda: len(receiver.calls) == 1, "the callback")
    call = receiver.calls[0]
    assert (call.method, call.path, call.mock_time) == ("POST", "/hook", FINISH)
    assert call.headers["content-type"] == "application/json"
    poll = await http.get(f"/v1/tasks/{task_id}", headers=AUTH)
    assert call.body == poll.content  # byte for byte what the owner's poll answers
    assert call.json()["status"] == "completed"
    assert call.json()["results"][0].startswith("http://localhost/files/images/")
    [entry] = await journalled(http, task_id, 1)
    assert entry | {"id": 0} == {
        "id": 0,
        "task_id": task_id,
        "url": receiver.url,
        "kind": "attempt",
        "attempt": 1,
        "scheduled_at": FINISH,
        "time": FINISH,
        "late_ms": 0.0,
        "duration_ms": 0.0,
        "status": 200,
        "error": None,
        "result": "delivered",
        "next": {"action": "none"},
    }
    clock.advance(100)
    await asyncio.sleep(0.05)
    assert len(receiver.calls) == 1


async def test_delivery__a_receiver_failing_twice_gets_three_calls_1s_then_2s_apart(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers(500, 503)
    task_id = await create(http, receiver.url)
    clock.advance(10)
    first = (await journalled(http, task_id, 1))[0]
    assert (first["status"], first["result"], first["next"]) == (
        500,
        "failed",
        {"action": "retry", "at": FINISH + 1, "in": 1.0},
    )
    clock.advance(0.5)
    await asyncio.sleep(0.05)
    assert len(receiver.calls) == 1  # not due yet
    clock.advance(0.5)
    second = (await journalled(http, task_id, 2))[1]
    assert (second["attempt"], second["status"], second["next"]["at"]) == (2, 503, FINISH + 3)
    clock.advance(2)
    third = (await journalled(http, task_id, 3))[2]
    assert (third["attempt"], third["status"], third["result"]) == (3, 200, "delivered")
    assert gaps(receiver) == [1.0, 2.0]
    assert len({call.body for call in receiver.calls}) == 1


async def test_delivery__an_always_failing_receiver_gets_four_calls_then_nothing(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers(default=500)
    task_id = await create(http, receiver.url)
    for count, step in enumerate((10, 1, 2, 4), start=1):
        clock.advance(step)
        await journalled(http, task_id, count)
    clock.advance(1000)
    await asyncio.sleep(0.05)
    assert len(receiver.calls) == 4
    assert gaps(receiver) == [1.0, 2.0, 4.0]
    entries = await journal(http, task_id)
    assert [entry["next"]["action"] for entry in entries] == ["retry", "retry", "retry", "gave_up"]
    summary = (await http.get(f"/__mock/tasks/{task_id}/callbacks")).json()
    assert summary["delivery"]["state"] == "failed"
    assert summary["delivery"]["attempts"] == 4


async def test_delivery__a_hanging_receiver_times_out_after_10_mock_seconds(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers("hang", 200)
    task_id = await create(http, receiver.url)
    clock.advance(10)
    await until(lambda: len(receiver.calls) == 1, "the first call")
    clock.advance(9.9)
    await asyncio.sleep(0.05)
    assert await journal(http, task_id) == []  # still waiting for an answer
    assert (await http.get(f"/v1/tasks/{task_id}", headers=AUTH)).status_code == 200  # the API is not blocked
    clock.advance(0.1)
    [timeout] = await journalled(http, task_id, 1)
    assert (timeout["status"], timeout["error"], timeout["duration_ms"]) == (
        None,
        "timeout: no answer within 10 s",
        10_000.0,
    )
    assert timeout["next"] == {"action": "retry", "at": FINISH + 11, "in": 1.0}
    clock.advance(1)
    assert (await journalled(http, task_id, 2))[1]["result"] == "delivered"


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (302, 302, "redirect to https://elsewhere.example/hook not followed"),
        (404, 404, None),
        ("reset", None, "connection reset"),
        ("close", None, "connection closed before a complete answer"),
    ],
)
async def test_delivery__failures_of_every_kind_are_retried(
    http: httpx.AsyncClient,
    clock: VirtualClock,
    receivers: MakeReceiver,
    answer: Answer,
    status: int | None,
    error: str | None,
) -> None:
    receiver = await receivers(answer, 200)
    task_id = await create(http, receiver.url)
    clock.advance(10)
    first = (await journalled(http, task_id, 1))[0]
    assert (first["status"], first["error"], first["result"]) == (status, error, "failed")
    clock.advance(1)
    assert (await journalled(http, task_id, 2))[1]["result"] == "delivered"
    assert len(receiver.calls) == 2


async def test_delivery__a_refused_connection_is_a_failure(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    task_id = await create(http, "http://127.0.0.1:9/hook")  # discard port: nothing listens
    clock.advance(10)
    first = (await journalled(http, task_id, 1))[0]
    assert first["error"] == "connection refused"
    assert first["next"]["action"] == "retry"


async def test_delivery__the_admin_advance_releases_due_deliveries(
    http: httpx.AsyncClient, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    await create(http, receiver.url)
    await http.post("/__mock/clock/advance", json={"seconds": 10})
    await until(lambda: len(receiver.calls) == 1, "the callback")


async def test_delivery__a_failed_task_posts_its_error(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    task_id = await create(http, receiver.url, headers={"Prefer": "task-error=service_error"})
    clock.advance(10)
    await until(lambda: len(receiver.calls) == 1, "the callback")
    sent = receiver.calls[0].json()
    assert (sent["status"], sent["error"]["code"]) == ("failed", "service_error")
    assert receiver.calls[0].body == (await http.get(f"/v1/tasks/{task_id}", headers=AUTH)).content


async def test_delivery__result_links_use_the_public_url(
    callback_app: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    clock: VirtualClock,
    receivers: MakeReceiver,
) -> None:
    receiver = await receivers()
    async with client_factory(callback_app(public_url="https://mock.example/")) as client:
        await create(client, receiver.url)
        clock.advance(10)
        await until(lambda: len(receiver.calls) == 1, "the callback")
    assert receiver.calls[0].json()["results"][0].startswith("https://mock.example/files/images/")


async def test_queue__past_capacity_forgets_the_oldest_finished_deliveries_never_a_pending_one(
    clock: VirtualClock,
) -> None:
    policy = CallbackPolicy(["127.0.0.1"])
    queue = CallbackQueue(clock, policy, capacity=3)
    factory = TaskFactory(SeededRandom(1), duration=5, estimated_time=45, credits=1.6)
    target = policy.parse("http://127.0.0.1:9/hook")

    def add(*, stuck: bool = False, drop: bool = False) -> str:
        task = factory.new_task(key="k", model="nano-banana-beta", now=clock.now(), stuck=stuck)
        queue.schedule(task, target, "http://mock.test", CallbackBehaviour(drop=drop))
        return task.id

    dropped = [add(drop=True), add(drop=True)]
    await queue.advance(5)
    assert [queue.delivery(task_id).state for task_id in dropped] == ["dropped", "dropped"]  # type: ignore[union-attr]
    pending = [add(stuck=True), add(stuck=True)]
    assert [d.task.id for d in queue.deliveries()] == [dropped[1], *pending]  # the oldest finished went first
    pending += [add(stuck=True), add(stuck=True)]
    assert [d.task.id for d in queue.deliveries()] == pending  # over capacity, but nothing finished to forget
    await queue.aclose(grace=0)


# -- one advance, many events -----------------------------------------------------------------


def attempt_times(entries: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    return [(e["time"] - START, e["late_ms"], e["next"]["action"]) for e in entries]


async def test_queue__one_stepped_advance_runs_the_attempt_and_every_retry_at_its_own_time(
    clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers(default=500)
    policy = CallbackPolicy(["127.0.0.1"])
    queue = CallbackQueue(clock, policy)
    factory = TaskFactory(SeededRandom(1), duration=10, estimated_time=45, credits=1.6)
    task = factory.new_task(key="k", model="nano-banana-beta", now=clock.now(), callback_url=receiver.url)
    queue.schedule(task, policy.parse(receiver.url), "http://mock.test/")
    assert await queue.advance(60) == START + 60
    assert attempt_times(queue.journal.entries()) == [
        (10, 0.0, "retry"),
        (11, 0.0, "retry"),
        (13, 0.0, "retry"),
        (17, 0.0, "gave_up"),
    ]
    assert [call.mock_time - START for call in receiver.calls] == [10, 11, 13, 17]
    assert await queue.aclose() == 0


async def test_admin_advance__releases_every_retry_of_a_refused_connection_in_one_call(
    http: httpx.AsyncClient,
) -> None:
    task_id = await create(http, "http://127.0.0.1:9/hook")  # discard port: nothing listens
    answer = await http.post("/__mock/clock/advance", json={"seconds": 60})
    assert answer.json()["now"] == START + 60
    entries = await journal(http, task_id)  # complete when the advance answers: no waiting
    assert attempt_times(entries) == [(10, 0.0, "retry"), (11, 0.0, "retry"), (13, 0.0, "retry"), (17, 0.0, "gave_up")]
    assert {entry["error"] for entry in entries} == {"connection refused"}


async def test_admin_advance__times_out_a_hanging_receiver_and_retries_within_one_call(
    callback_app: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    receivers: MakeReceiver,
) -> None:
    receiver = await receivers(default="hang")
    app = callback_app()
    mock_of(app).callbacks.scheduler.settle = 0.1  # how long an unanswered attempt is given before time moves
    async with client_factory(app) as client:
        task_id = await create(client, receiver.url)
        await client.post("/__mock/clock/advance", json={"seconds": 60})
        entries = await journal(client, task_id)
    assert attempt_times(entries) == [(10, 0.0, "retry"), (21, 0.0, "retry"), (33, 0.0, "retry"), (47, 0.0, "gave_up")]
    timeouts = {(entry["error"], entry["duration_ms"]) for entry in entries}
    assert timeouts == {("timeout: no answer within 10 s", 10_000.0)}


async def test_admin_advance__runs_a_retry_then_its_duplicate_and_a_late_delivery_in_one_call(
    http: httpx.AsyncClient, receivers: MakeReceiver
) -> None:
    receiver = await receivers(500)
    await http.post("/__mock/rules", json={"match": {"route": "create"}, "callback": {"duplicates": 1}, "times": 1})
    retried = await create(http, receiver.url)
    await http.post("/__mock/rules", json={"match": {"route": "create"}, "callback": {"delay": 30}})
    late = await create(http, receiver.url, headers={"Prefer": "task-duration=5"})
    await http.post("/__mock/clock/advance", json={"seconds": 60})
    entries = (await http.get("/__mock/callbacks")).json()["callbacks"]
    assert [(e["task_id"], e["kind"], e["time"] - START, e["late_ms"], e["result"]) for e in entries] == [
        (retried, "attempt", 10, 0.0, "failed"),
        (retried, "attempt", 11, 0.0, "delivered"),
        (retried, "duplicate", 11, 0.0, "delivered"),
        (late, "attempt", 35, 0.0, "delivered"),
    ]


async def test_delivery__a_late_attempt_books_its_retry_from_when_it_was_due(
    http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    """A plain jump runs the attempt late; its retry still counts from the due time."""
    task_id = await create(http, "http://127.0.0.1:9/hook")
    clock.advance(15)
    first = (await journalled(http, task_id, 1))[0]
    assert (first["scheduled_at"], first["late_ms"]) == (FINISH, 5000.0)
    assert first["next"] == {"action": "retry", "at": FINISH + 1, "in": 1.0}


async def test_admin_advance__lets_an_attempt_in_flight_finish_before_time_moves(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    """The plugin's flaky story: an advance(1) sent while attempt 1's answer is on its way."""
    receiver = await receivers("slow", 200)
    task_id = await create(http, receiver.url)
    clock.advance(10)
    await until(lambda: len(receiver.calls) == 1, "attempt 1 to arrive")  # its answer comes 0.2 s later
    await http.post("/__mock/clock/advance", json={"seconds": 1})
    entries = await journal(http, task_id)
    assert [(e["time"] - START, e["status"], e["result"]) for e in entries] == [
        (10, 500, "failed"),
        (11, 200, "delivered"),
    ]


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_receiver_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


async def test_tls__a_receiver_with_a_test_ca_certificate_is_called_over_https(
    callback_app: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    clock: VirtualClock,
    receivers: MakeReceiver,
    ca: trustme.CA,
    tls_receiver_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    receiver = await receivers(tls=tls_receiver_context)
    assert receiver.url.startswith("https://127.0.0.1:")
    async with client_factory(callback_app(callback_ca_file=str(ca_file))) as client:
        task_id = await create(client, receiver.url)
        clock.advance(10)
        [entry] = await journalled(client, task_id, 1)
        assert (entry["status"], entry["result"]) == (200, "delivered")
        assert receiver.calls[0].body == (await client.get(f"/v1/tasks/{task_id}", headers=AUTH)).content


async def test_tls__an_untrusted_certificate_fails_and_retries(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver, tls_receiver_context: ssl.SSLContext
) -> None:
    receiver = await receivers(tls=tls_receiver_context)
    task_id = await create(http, receiver.url)
    clock.advance(10)
    first = (await journalled(http, task_id, 1))[0]
    assert first["error"].startswith("tls: certificate verify failed")
    assert first["next"]["action"] == "retry"
    assert receiver.calls == []


# -- cancel --------------------------------------------------------------------------------


async def test_cancel__a_stuck_task_fails_as_request_cancelled_and_calls_back_at_once(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    task_id = await create(http, receiver.url, headers={"Prefer": "task-stuck"})
    clock.advance(1000)
    await asyncio.sleep(0.05)
    assert receiver.calls == []
    before = (await http.get(f"/v1/tasks/{task_id}", headers=AUTH)).json()
    cancelled = await http.post(f"/__mock/tasks/{task_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["plan"]["error_code"] == "request_cancelled"
    await until(lambda: len(receiver.calls) == 1, "the callback")
    sent = receiver.calls[0].json()
    assert (sent["status"], sent["error"]["code"]) == ("failed", "request_cancelled")
    assert sent["progress"] == before["progress"]  # frozen where it was, never backwards
    assert receiver.calls[0].mock_time == START + 1000
    assert receiver.calls[0].body == (await http.get(f"/v1/tasks/{task_id}", headers=AUTH)).content


async def test_cancel__moves_a_pending_delivery_to_the_cancel_time(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    task_id = await create(http, receiver.url)
    clock.advance(0.5)
    assert (await http.post(f"/__mock/tasks/{task_id}/cancel")).status_code == 200
    await until(lambda: len(receiver.calls) == 1, "the callback")
    assert receiver.calls[0].json()["progress"] == 0
    clock.advance(20)
    await asyncio.sleep(0.05)
    assert len(receiver.calls) == 1


async def test_cancel__refuses_a_finished_task_and_unknown_ids(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    task_id = (await http.post(CREATE, json=body(), headers=AUTH)).json()["id"]
    clock.advance(10)
    refused = await http.post(f"/__mock/tasks/{task_id}/cancel")
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "task_id"
    assert "already completed" in refused.json()["error"]["message"]
    assert (await http.post("/__mock/tasks/task-unified-1-nothere0/cancel")).status_code == 404


# -- rule behaviours -------------------------------------------------------------------------


async def add_rule(client: httpx.AsyncClient, callback: dict[str, Any]) -> None:
    response = await client.post("/__mock/rules", json={"match": {"route": "create"}, "callback": callback})
    assert response.status_code == 201, response.text


async def test_rules__delay_makes_the_delivery_late(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    await add_rule(http, {"delay": 5})
    task_id = await create(http, receiver.url)
    clock.advance(10)
    await asyncio.sleep(0.05)
    assert receiver.calls == []
    clock.advance(5)
    [entry] = await journalled(http, task_id, 1)
    assert (entry["scheduled_at"], entry["result"]) == (FINISH + 5, "delivered")


async def test_rules__duplicates_send_the_same_body_again_after_success(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    await add_rule(http, {"duplicates": 2})
    task_id = await create(http, receiver.url)
    clock.advance(10)
    entries = await journalled(http, task_id, 3)
    assert [(e["kind"], e["attempt"], e["next"]["action"]) for e in entries] == [
        ("attempt", 1, "duplicate"),
        ("duplicate", 1, "duplicate"),
        ("duplicate", 2, "none"),
    ]
    assert len(receiver.calls) == 3
    assert len({call.body for call in receiver.calls}) == 1


async def test_rules__drop_never_delivers_and_journals_the_drop(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    await add_rule(http, {"drop": True})
    task_id = await create(http, receiver.url)
    clock.advance(100)
    [entry] = await journalled(http, task_id, 1)
    assert (entry["kind"], entry["result"], entry["status"], entry["time"]) == ("dropped", "dropped", None, START + 100)
    assert entry["scheduled_at"] == FINISH
    await asyncio.sleep(0.05)
    assert receiver.calls == []


async def test_rules__after_poll_holds_the_delivery_until_the_owner_polls_the_finished_task(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers()
    await add_rule(http, {"after_poll": True})
    task_id = await create(http, receiver.url)
    await http.get(f"/v1/tasks/{task_id}", headers=AUTH)  # a poll before the end does not count
    clock.advance(10)
    [held] = await journalled(http, task_id, 1)
    assert (held["kind"], held["next"]) == ("held", {"action": "poll"})
    await asyncio.sleep(0.05)
    assert receiver.calls == []
    clock.advance(3)
    poll = await http.get(f"/v1/tasks/{task_id}", headers=AUTH)
    await until(lambda: len(receiver.calls) == 1, "the callback")
    assert receiver.calls[0].body == poll.content
    delivered = (await journalled(http, task_id, 2))[1]
    assert (delivered["scheduled_at"], delivered["result"]) == (FINISH + 3, "delivered")


# -- journal, reset, shutdown ---------------------------------------------------------------


async def test_journal__lists_all_tasks_and_one_task(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers(500)
    first = await create(http, receiver.url)
    second = await create(http, receiver.url)
    plain = (await http.post(CREATE, json=body(), headers=AUTH)).json()["id"]
    clock.advance(10)
    await until(lambda: len(receiver.calls) == 2, "two callbacks")
    await journalled(http, second, 1)
    everything = (await http.get("/__mock/callbacks")).json()
    assert everything["count"] == 2
    assert {entry["task_id"] for entry in everything["callbacks"]} == {first, second}
    assert (await http.get("/__mock/callbacks", params={"limit": 1})).json()["count"] == 1
    one = (await http.get(f"/__mock/tasks/{first}/callbacks")).json()
    assert one["delivery"]["state"] == "scheduled"  # its retry
    assert one["delivery"]["next_at"] == FINISH + 1
    assert one["count"] == 1
    assert (await http.get(f"/__mock/tasks/{plain}/callbacks")).json() == {
        "task_id": plain,
        "delivery": None,
        "callbacks": [],
        "count": 0,
    }
    assert (await http.get("/__mock/tasks/task-unified-1-nothere0/callbacks")).status_code == 404


async def test_reset__forgets_deliveries_and_the_journal(
    http: httpx.AsyncClient, clock: VirtualClock, receivers: MakeReceiver
) -> None:
    receiver = await receivers(500)
    task_id = await create(http, receiver.url)
    clock.advance(10)
    await journalled(http, task_id, 1)
    await http.post("/__mock/reset")
    assert (await http.get("/__mock/callbacks")).json()["count"] == 0
    clock.advance(10)
    await asyncio.sleep(0.05)
    assert len(receiver.calls) == 1


async def test_shutdown__abandons_what_is_scheduled_and_in_flight(
    callback_app: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    clock: VirtualClock,
    receivers: MakeReceiver,
) -> None:
    hanging = await receivers("hang")
    app = callback_app()
    async with client_factory(app) as client:
        in_flight = await create(client, hanging.url)
        clock.advance(5)
        later = await create(client, hanging.url)
        clock.advance(5)
        await until(lambda: len(hanging.calls) == 1, "the hanging call")
        assert await mock_of(app).callbacks.aclose(grace=0.05) == 2
        entries = (await client.get("/__mock/callbacks")).json()["callbacks"]
    assert [(e["task_id"], e["attempt"], e["result"], e["error"]) for e in entries] == [
        (in_flight, 1, "abandoned", "shutdown"),
        (later, 1, "abandoned", "shutdown"),
    ]


# -- the real clock ----------------------------------------------------------------------------


@pytest.mark.slow
async def test_real_clock__retries_land_1s_and_2s_after_each_failure(
    client_factory: Callable[[Starlette], httpx.AsyncClient],
) -> None:
    clock = SystemClock()
    receiver = await Receiver(clock.now, [500, 500], 200).start()
    app = create_app(Settings(seed=7, allow_callback_hosts=("127.0.0.1",)), clock=clock)
    try:
        async with client_factory(app) as client:
            task_id = await create(client, receiver.url, headers={"Prefer": "task-duration=0.2"})
            entries = await journalled(client, task_id, 3, timeout=10)
    finally:
        await mock_of(app).callbacks.aclose(grace=0)
        await receiver.close()
    walls = [call.wall for call in receiver.calls]
    real_gaps = [later - earlier for earlier, later in zip(walls, walls[1:], strict=False)]
    assert real_gaps == [pytest.approx(1.0, abs=0.1), pytest.approx(2.0, abs=0.1)]
    assert [entry["result"] for entry in entries] == ["failed", "failed", "delivered"]
    assert all(0 <= entry["late_ms"] < 100 for entry in entries)
    assert entries[1]["scheduled_at"] == entries[0]["next"]["at"]


async def test_shutdown__the_same_app_served_again_delivers_new_callbacks(
    callback_app: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    clock: VirtualClock,
    receivers: MakeReceiver,
) -> None:
    receiver = await receivers()
    app = callback_app()
    await mock_of(app).callbacks.aclose(grace=0)
    async with client_factory(app) as client:
        await create(client, receiver.url)
        clock.advance(10)
        await until(lambda: len(receiver.calls) == 1, "the callback")
