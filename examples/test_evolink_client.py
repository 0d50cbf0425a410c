"""The reference client's tests, written only with the nanobanana-mock pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from evolink_client import AsyncEvoLinkClient, EvoLinkClient, EvoLinkError, Policy, TaskFailed, TaskTimeout
from webhook import WebhookHandler

from mock_server.outcomes import CALLER_FIXABLE, FAILURE_CODES
from mock_server.testing import CallbackReceiver, MockHandle


class Sleeper:
    """Waiting moves the mock's virtual clock, and is recorded."""

    def __init__(self, mock: MockHandle) -> None:
        self.mock = mock
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.mock.advance(seconds)


@pytest.fixture
def sleeper(nanobanana_mock: MockHandle) -> Sleeper:
    return Sleeper(nanobanana_mock)


@pytest.fixture
def client(nanobanana_mock: MockHandle, sleeper: Sleeper) -> Iterator[EvoLinkClient]:
    client = EvoLinkClient(nanobanana_mock.api_key, nanobanana_mock.base_url, sleep=sleeper)
    yield client
    client.http.close()


def test_happy_path__creates_polls_and_downloads(client: EvoLinkClient, nanobanana_mock: MockHandle) -> None:
    links = client.generate("a cat in the grass", size="16:9")
    assert len(links) == 1
    image = httpx.get(links[0])
    assert image.headers["content-type"] == "image/png"
    paths = [entry["path"] for entry in nanobanana_mock.requests()]
    assert paths[0] == "/v1/images/generations"
    assert 2 <= paths.count(paths[1]) <= 6


def test_polling__slows_down_and_stops_at_the_end(client: EvoLinkClient, sleeper: Sleeper) -> None:
    client.generate("a cat")
    assert sleeper.slept == sorted(sleeper.slept)
    assert sleeper.slept[0] == 2.0


def test_429__backs_off_as_retry_after_says(
    client: EvoLinkClient, nanobanana_mock: MockHandle, sleeper: Sleeper
) -> None:
    nanobanana_mock.add_rule(match={"route": "create"}, respond={"status": 429, "retry_after": 7}, times=2)
    task = client.create("a cat")
    assert task["status"] == "pending"
    assert sleeper.slept == [7.0, 7.0]
    assert [entry["status"] for entry in nanobanana_mock.requests()] == [429, 429, 200]


def test_402__gives_up_at_once(client: EvoLinkClient, nanobanana_mock: MockHandle) -> None:
    nanobanana_mock.prefer(code=402, times=None)
    with pytest.raises(EvoLinkError) as raised:
        client.create("a cat")
    assert (raised.value.status, raised.value.code) == (402, "insufficient_quota")
    assert len(nanobanana_mock.requests()) == 1


@pytest.mark.nanobanana_mock(config={"accounts": {"sk-test": {"credits": 1.6}}})
def test_402__from_a_spent_balance(client: EvoLinkClient, nanobanana_mock: MockHandle) -> None:
    client.create("first")
    with pytest.raises(EvoLinkError, match="insufficient_quota"):
        client.create("second")


def test_500__is_retried_then_succeeds(client: EvoLinkClient, nanobanana_mock: MockHandle) -> None:
    nanobanana_mock.prefer(code=500, times=2)
    assert client.create("a cat")["status"] == "pending"
    assert [entry["status"] for entry in nanobanana_mock.requests()] == [500, 500, 200]


def test_500__forever_gives_up_after_the_retries(client: EvoLinkClient, nanobanana_mock: MockHandle) -> None:
    nanobanana_mock.prefer(code=500, times=None)
    with pytest.raises(EvoLinkError, match="internal_error"):
        client.create("a cat")
    assert len(nanobanana_mock.requests()) == 1 + Policy().max_retries


@pytest.mark.parametrize("code", FAILURE_CODES)
def test_failed_task__each_code_is_reported_and_classified(
    client: EvoLinkClient, nanobanana_mock: MockHandle, code: str
) -> None:
    nanobanana_mock.prefer(task_error=code)
    with pytest.raises(TaskFailed) as raised:
        client.generate("a cat")
    assert raised.value.code == code
    assert raised.value.retryable == (code not in CALLER_FIXABLE)
    assert len([e for e in nanobanana_mock.requests() if e["method"] == "POST"]) == 1


def test_stuck_task__times_out(nanobanana_mock: MockHandle, sleeper: Sleeper) -> None:
    nanobanana_mock.prefer(task_stuck=True)
    client = EvoLinkClient(nanobanana_mock.api_key, nanobanana_mock.base_url, sleep=sleeper, policy=Policy(timeout=60))
    with client.http, pytest.raises(TaskTimeout):
        client.generate("a cat")
    assert sum(sleeper.slept) < 80


@pytest.mark.anyio
async def test_async_client__happy_path(nanobanana_mock: MockHandle) -> None:
    async def advance(seconds: float) -> None:
        nanobanana_mock.advance(seconds)

    client = AsyncEvoLinkClient(nanobanana_mock.api_key, nanobanana_mock.base_url, sleep=advance)
    try:
        task = await client.create("a cat")
        done = await client.wait(task["id"])
        assert done["status"] == "completed"
    finally:
        await client.aclose()


def test_webhook__handles_duplicate_deliveries_once(
    client: EvoLinkClient, nanobanana_mock: MockHandle, nanobanana_callback_receiver: CallbackReceiver
) -> None:
    nanobanana_mock.add_rule(match={"route": "create"}, callback={"duplicates": 1})
    task = client.create("a cat", callback_url=nanobanana_callback_receiver.url)
    nanobanana_mock.advance(10)
    deliveries = nanobanana_callback_receiver.wait_for(2)
    handler = WebhookHandler()
    answers = [handler.handle(delivery.body) for delivery in deliveries]
    assert answers == [200, 200]
    assert list(handler.finished) == [task["id"]]
    assert handler.duplicates == 1
    assert handler.finished[task["id"]]["status"] == "completed"
