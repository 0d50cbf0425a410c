"""``Idempotency-Key``: a retry replays the first task; a key reused for another body, or
while its first request is still running, is refused rather than silently replayed."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from mock_server.errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidRequest
from mock_server.idempotency import MAX_KEY_LENGTH, IdempotencyKeys, fingerprint
from tests.conftest import AUTH, CREATE, body

pytestmark = pytest.mark.anyio


def always(task_id: str) -> bool:
    return True


def test_fingerprint__is_the_json_value_not_its_spelling() -> None:
    one = {"model": "nano-banana-beta", "prompt": "a cat", "size": "1:1"}
    other = {"size": "1:1", "prompt": "a cat", "model": "nano-banana-beta"}
    assert fingerprint(one, b"") == fingerprint(other, b"x")
    assert fingerprint(one, b"") != fingerprint({**one, "prompt": "a dog"}, b"")
    assert fingerprint({"seed": 2**64}, b"") != fingerprint({"seed": 2**64 + 1}, b"")
    assert fingerprint({"x": "\ud800"}, b"") != fingerprint({"x": "\ud801"}, b"")


def test_fingerprint__falls_back_to_the_bytes_when_too_deep_to_encode() -> None:
    deep: object = []
    for _ in range(100_000):
        deep = [deep]
    assert fingerprint(deep, b"[[...]]") == fingerprint(deep, b"[[...]]")
    assert fingerprint(deep, b"[[...]]") != fingerprint(deep, b"[ [...]]")


def test_claim__replays_refuses_or_holds() -> None:
    keys = IdempotencyKeys()
    assert keys.claim("sk-a", "k1", b"one", always) is None  # held for the task this request makes
    with pytest.raises(IdempotencyKeyInUse):
        keys.claim("sk-a", "k1", b"one", always)
    keys.remember("sk-a", "k1", b"one", "task-unified-1-aaaaaaaa")
    assert keys.claim("sk-a", "k1", b"one", always) == "task-unified-1-aaaaaaaa"
    with pytest.raises(IdempotencyKeyReused) as raised:
        keys.claim("sk-a", "k1", b"two", always)
    assert (raised.value.status, raised.value.param) == (422, "Idempotency-Key")
    assert keys.claim("sk-b", "k1", b"two", always) is None  # another API key, another namespace


def test_claim__a_key_whose_task_is_gone_starts_afresh() -> None:
    keys = IdempotencyKeys()
    keys.claim("sk-a", "k1", b"one", always)
    keys.remember("sk-a", "k1", b"one", "task-unified-1-aaaaaaaa")
    assert keys.claim("sk-a", "k1", b"two", lambda task_id: False) is None


def test_release__frees_a_held_key_but_never_a_remembered_one() -> None:
    keys = IdempotencyKeys()
    keys.claim("sk-a", "k1", b"one", always)
    keys.release("sk-a", "k1")
    assert keys.claim("sk-a", "k1", b"two", always) is None
    keys.remember("sk-a", "k1", b"two", "task-unified-1-aaaaaaaa")
    keys.release("sk-a", "k1")
    assert keys.claim("sk-a", "k1", b"two", always) == "task-unified-1-aaaaaaaa"


def test_claim__refuses_a_key_too_long_to_remember() -> None:
    with pytest.raises(InvalidRequest) as raised:
        IdempotencyKeys().claim("sk-a", "k" * (MAX_KEY_LENGTH + 1), b"", always)
    assert raised.value.param == "Idempotency-Key"
    assert IdempotencyKeys().claim("sk-a", "k" * MAX_KEY_LENGTH, b"", always) is None


def test_keys__are_bounded_oldest_first() -> None:
    keys = IdempotencyKeys(capacity=2)
    for name in ("k1", "k2", "k3"):
        keys.claim("sk-a", name, b"", always)
        keys.remember("sk-a", name, b"", f"task-{name}")
    assert keys.claim("sk-a", "k1", b"other", always) is None  # forgotten: a fresh key
    assert keys.claim("sk-a", "k3", b"", always) == "task-k3"


async def tasks_count(client: httpx.AsyncClient) -> int:
    count: int = (await client.get("/__mock/tasks")).json()["count"]
    return count


async def test_reused_with_another_body__answers_422_and_makes_nothing(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    first = await client.post(CREATE, json=body(prompt="a cat"), headers=headers)
    assert first.status_code == 200
    reused = await client.post(CREATE, json=body(prompt="a dog"), headers=headers)
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert (error["code"], error["type"], error["param"]) == (
        "idempotency_key_reused",
        "invalid_request_error",
        "Idempotency-Key",
    )
    assert "order-42" in error["message"] and "different request body" in error["message"]
    assert await tasks_count(client) == 1
    again = await client.post(CREATE, json=body(prompt="a cat"), headers=headers)
    assert again.json() == {**first.json(), "idempotency_replayed": True}


async def test_same_json_value__replays_whatever_its_spelling(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-43", "Content-Type": "application/json"}
    first = await client.post(CREATE, content=b'{"model":"nano-banana-beta","prompt":"a cat"}', headers=headers)
    again = await client.post(CREATE, content=b'{ "prompt": "a cat",\n "model": "nano-banana-beta" }', headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["idempotency_replayed"] is True


async def test_replay__says_what_preferences_it_applied(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-44"}
    await client.post(CREATE, json=body(), headers=headers)
    again = await client.post(CREATE, json=body(), headers={**headers, "Prefer": "code=200, task-stuck"})
    assert again.headers["preference-applied"] == "code=200"  # no task made: task-stuck not applied


async def test_too_long_a_key__is_refused_before_anything_is_made(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers={**AUTH, "Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert await tasks_count(client) == 0


async def test_a_refused_create__frees_its_key(app_factory, client_factory) -> None:
    async with client_factory(app_factory({"accounts": {"sk-test-owner": {"models": []}}})) as http:
        headers = {**AUTH, "Idempotency-Key": "order-45"}
        refused = await http.post(CREATE, json=body(), headers=headers)
        assert refused.status_code == 403  # refused after the key was claimed
        again = await http.post(CREATE, json=body(prompt="another"), headers=headers)
        assert again.status_code == 403  # not 409 (held) nor 422 (reused): nothing was made


async def test_a_key_whose_task_expired__starts_afresh(app_factory, client_factory, clock) -> None:
    async with client_factory(app_factory(retention=60)) as http:
        headers = {**AUTH, "Idempotency-Key": "order-46"}
        first = (await http.post(CREATE, json=body(prompt="a cat"), headers=headers)).json()
        clock.advance(10 + 60)
        await http.post(CREATE, json=body(), headers=AUTH)  # any create purges what expired
        fresh = await http.post(CREATE, json=body(prompt="a dog"), headers=headers)
        assert fresh.status_code == 200
        assert fresh.json()["id"] != first["id"]
        assert "idempotency_replayed" not in fresh.json()


async def test_while_the_first_request_runs__a_retry_answers_409(app_factory, client_factory) -> None:
    app = app_factory(allow_callback_hosts=("127.0.0.1",))
    policy = app.state.mock.callbacks.policy
    release, entered = asyncio.Event(), asyncio.Event()
    check = policy.check_at_creation

    async def held(url: str) -> object:  # the first create waits here, its key claimed
        entered.set()
        await release.wait()
        return await check(url)

    policy.check_at_creation = held
    headers = {**AUTH, "Idempotency-Key": "order-47"}
    payload = json.dumps(body(callback_url="https://127.0.0.1:9/done")).encode()
    async with client_factory(app) as http:

        async def first() -> httpx.Response:
            answer: httpx.Response = await http.post(
                CREATE, content=payload, headers={**headers, "Content-Type": "application/json"}
            )
            return answer

        running = asyncio.create_task(first())
        await entered.wait()
        retry = await http.post(CREATE, content=payload, headers={**headers, "Content-Type": "application/json"})
        release.set()
        done = await running
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "idempotency_key_in_use"
    assert done.status_code == 200
