"""The provider's API through the real ASGI stack; every answer is checked against the bundle."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import VirtualClock
from mock_server.images import png_dimensions
from tests.conftest import AUTH, CREATE, KEY, START, body

pytestmark = pytest.mark.anyio

TASK_ID = re.compile(r"^task-unified-(\d+)-[a-z0-9]{8}$")


async def create(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **overrides: object
) -> dict[str, Any]:
    response = await client.post(CREATE, json=body(**overrides), headers=headers or AUTH)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def poll(client: httpx.AsyncClient, task_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.get(f"/v1/tasks/{task_id}", headers=headers or AUTH)


async def test_create__answers_the_task_in_its_first_state(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    task = response.json()
    match = TASK_ID.match(task["id"])
    assert match is not None
    assert int(match.group(1)) == int(START)
    assert task["created"] == int(START) + 1
    assert {k: v for k, v in task.items() if k not in ("id", "created")} == {
        "model": "nano-banana-beta",
        "object": "image.generation.task",
        "progress": 0,
        "status": "pending",
        "task_info": {"can_cancel": True, "estimated_time": 45},
        "type": "image",
        "usage": {"billing_rule": "per_call", "credits_reserved": 1.6, "user_group": "default"},
    }


async def test_create__answers_compact_json(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers=AUTH)
    assert b'"status":"pending"' in response.content
    assert b", " not in response.content and b": " not in response.content


async def test_create__maps_the_legacy_model_name(client: httpx.AsyncClient) -> None:
    task = await create(client, model="gemini-2.5-flash-image")
    assert task["model"] == "nano-banana-beta"
    assert (await poll(client, task["id"])).json()["model"] == "nano-banana-beta"


async def test_create__accepts_members_and_headers_real_clients_send(client: httpx.AsyncClient) -> None:
    extra = {"seed": 42, "nsfw_check": True, "n": 1, "quality": "high", "mask_url": "https://x.test/m.png"}
    headers = {**AUTH, "X-EvoLink-Source": "sdk", "Idempotency-Key": "abc-123"}
    response = await client.post(CREATE, json={**body(), **extra}, headers=headers)
    assert response.status_code == 200


async def test_create__accepts_every_documented_member(app_factory, client_factory) -> None:
    # A loopback receiver, allowed explicitly: no test resolves or reaches a public name.
    async with client_factory(app_factory(allow_callback_hosts=("127.0.0.1",))) as http:
        task = await create(
            http,
            size="16:9",
            image_urls=[f"https://img.test/{i}.{ext}" for i, ext in enumerate(["jpeg", "jpg", "png", "webp", "PNG"])],
            callback_url="https://127.0.0.1:9/done",
        )
    assert task["status"] == "pending"


async def test_ids__are_unique_and_replay_with_the_seed(app_factory: Callable[..., Starlette], client_factory) -> None:
    async def ids() -> list[str]:
        async with client_factory(app_factory(seed=99)) as http:
            return [(await create(http))["id"] for _ in range(5)]

    first = await ids()
    assert len(set(first)) == 5
    assert first == await ids()


@pytest.mark.parametrize(
    ("payload", "param", "message"),
    [
        ({"prompt": "x"}, "model", "Missing required parameter: 'model'"),
        ({"model": "nano-banana-beta"}, "prompt", "Missing required parameter: 'prompt'"),
        (body(model="dall-e-3"), "model", "Supported values are: nano-banana-beta, gemini-2.5-flash-image"),
        (body(prompt="x" * 2001), "prompt", "'prompt' is too long: 2001 characters, at most 2000 allowed"),
        (body(prompt=12), "prompt", "expected string, got integer"),
        (body(model=["nano-banana-beta"]), "model", "expected string, got array"),
        (body(size="5:4"), "size", "Invalid value for 'size': '5:4'"),
        (body(image_urls=[f"https://x.test/{i}.png" for i in range(6)]), "image_urls", "at most 5 allowed"),
        (body(image_urls=["https://x.test/a.gif"]), "image_urls[0]", ".jpeg, .jpg, .png or .webp"),
        (body(image_urls=["https://x.test/a.png", "ftp x.png"]), "image_urls[1]", "not a valid uri"),
        (body(image_urls="https://x.test/a.png"), "image_urls", "expected array, got string"),
        (body(callback_url="http://hooks.example.com/done"), "callback_url", "callback URLs must use https"),
        (body(callback_url="https://x.test/" + "a" * 2040), "callback_url", "at most 2048 allowed"),
        (body(callback_url="https://bad host/x"), "callback_url", "not a valid uri"),
        (body(callback_url=None, size=None) | {"size": None}, "size", "expected string, got null"),
    ],
)
async def test_create__refuses_invalid_bodies_naming_the_field(
    client: httpx.AsyncClient, payload: object, param: str, message: str
) -> None:
    response = await client.post(CREATE, json=payload, headers=AUTH)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"], error["param"]) == ("invalid_request", "invalid_request_error", param)
    assert message in error["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[]", "Request body must be a JSON object, got array"),
        (b'"text"', "must be a JSON object, got string"),
        (b"null", "must be a JSON object, got null"),
        (b"42", "must be a JSON object, got integer"),
        (b"{bad json", "Request body is not valid JSON"),
        (b"", "Request body is required"),
        (b"   ", "Request body is required"),
        (b'{"model": "nano-banana-beta", "prompt": NaN}', "NaN is not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "Request body is not valid JSON"),
    ],
)
async def test_create__refuses_bodies_that_are_not_json_objects(
    client: httpx.AsyncClient, content: bytes, message: str
) -> None:
    response = await client.post(CREATE, content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_create__refuses_other_content_types(client: httpx.AsyncClient, content_type: str | None) -> None:
    headers = dict(AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post(CREATE, content=json.dumps(body()).encode(), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Content-Type"


async def test_create__accepts_json_with_a_charset(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json; charset=utf-8"}
    response = await client.post(CREATE, content=json.dumps(body()).encode(), headers=headers)
    assert response.status_code == 200


async def test_create__refuses_a_declared_oversize_body_with_413(client: httpx.AsyncClient) -> None:
    big = json.dumps(body(prompt="x" * (1024 * 1024))).encode()
    response = await client.post(CREATE, content=big, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


async def test_create__refuses_an_oversize_streamed_body_with_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = await client.post(CREATE, content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_create__honours_a_configured_body_limit(app_factory, client_factory) -> None:
    async with client_factory(app_factory(max_body_bytes=100)) as http:
        response = await http.post(CREATE, json=body(prompt="x" * 200), headers=AUTH)
        assert response.status_code == 413
        assert (await http.post(CREATE, json=body(prompt="ok"), headers=AUTH)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic c2stdGVzdA==", "Bearer two words", "sk-test-owner", "Token sk-test"],
)
async def test_auth__missing_or_malformed_bearer_answers_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for response in (
        await client.post(CREATE, json=body(), headers=headers),
        await client.get("/v1/tasks/task-unified-1-abcdefgh", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["type"] == "authentication_error"


async def test_auth__is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, content=b"{bad", headers={"Content-Type": "application/json"})
    assert response.status_code == 401


async def test_auth__scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.post(CREATE, json=body(), headers={"Authorization": f"bearer {KEY}"})
    assert response.status_code == 200


async def test_lifecycle__reads_as_a_story(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    task = await create(client)
    first = (await poll(client, task["id"])).json()
    assert (first["status"], first["progress"], "results" in first) == ("pending", 0, False)

    clock.advance(1.0)
    started = (await poll(client, task["id"])).json()
    assert started["status"] == "processing"
    assert started["task_info"] == {"can_cancel": True, "estimated_time": 45}

    clock.advance(4.0)
    middle = (await poll(client, task["id"])).json()
    assert middle["status"] == "processing"
    assert started["progress"] < middle["progress"] < 100
    assert "results" not in middle and "error" not in middle

    clock.advance(5.0)
    done = (await poll(client, task["id"])).json()
    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["task_info"] == {"can_cancel": False}
    assert done["duration"] == 10
    assert len(done["results"]) == 1
    assert done["result_data"] == [{"url": done["results"][0]}]
    assert done["usage"] == {"billing_rule": "per_call", "credits_used": 1.6, "user_group": "default"}
    assert "error" not in done


async def test_lifecycle__progress_never_decreases_over_many_polls(
    client: httpx.AsyncClient, clock: VirtualClock
) -> None:
    task = await create(client)
    seen = []
    for _ in range(25):
        answer = (await poll(client, task["id"])).json()
        seen.append((answer["status"], answer["progress"]))
        clock.advance(0.5)
    progress = [p for _, p in seen]
    assert progress == sorted(progress)
    assert seen[-1] == ("completed", 100)


async def test_task_duration__is_configurable(app_factory, client_factory, clock: VirtualClock) -> None:
    async with client_factory(app_factory(task_duration=2)) as http:
        task = await create(http)
        clock.advance(1.99)
        assert (await poll(http, task["id"])).json()["status"] == "processing"
        clock.advance(0.01)
        assert (await poll(http, task["id"])).json()["status"] == "completed"


async def test_query__another_key_cannot_see_the_task(client: httpx.AsyncClient) -> None:
    task = await create(client)
    response = await poll(client, task["id"], headers={"Authorization": "Bearer sk-someone-else"})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "task_not_found",
        "message": f"Task not found: {task['id']}",
        "type": "invalid_request_error",
        "param": "task_id",
    }


@pytest.mark.parametrize("task_id", ["abc", "task-123", "TASK-UNIFIED-1-abcdefgh", "%C3%A5I"])
async def test_query__malformed_id_answers_400_invalid_task_id(client: httpx.AsyncClient, task_id: str) -> None:
    response = await poll(client, task_id)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_task_id",
        "message": "Invalid task ID format: must start with task-unified-",
        "type": "invalid_request_error",
        "param": "task_id",
    }


async def test_query__unknown_id_answers_404(client: httpx.AsyncClient) -> None:
    response = await poll(client, "task-unified-1790000000-zzzzzzzz")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "task_not_found"


async def test_query__hostile_ids_are_refused_cleanly(client: httpx.AsyncClient) -> None:
    for task_id in ["%00", "..%2F..%2Fetc%2Fpasswd", "task-unified-%0d%0aX:1", "%F0%9F%8D%8C"]:
        response = await poll(client, task_id)
        assert response.status_code in (400, 404)
        assert "error" in response.json()


@pytest.mark.parametrize(
    ("size", "dimensions"),
    [
        (None, (1024, 1024)),
        ("auto", (1024, 1024)),
        ("1:1", (1024, 1024)),
        ("16:9", (1344, 768)),
        ("9:16", (768, 1344)),
        ("2:3", (832, 1248)),
        ("3:2", (1248, 832)),
        ("4:3", (1184, 864)),
        ("3:4", (864, 1184)),
    ],
)
async def test_results__are_pngs_at_the_requested_ratio(
    client: httpx.AsyncClient, clock: VirtualClock, size: str | None, dimensions: tuple[int, int]
) -> None:
    task = await create(client, size=size)
    clock.advance(10)
    link = (await poll(client, task["id"])).json()["results"][0]
    assert link.startswith("http://localhost/files/images/")
    image = await client.get(link)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert png_dimensions(image.content) == dimensions


async def test_results__links_expire_after_24_hours(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    task = await create(client)
    clock.advance(10)
    link = (await poll(client, task["id"])).json()["results"][0]
    clock.advance(86_400 - 1)
    assert (await client.get(link)).status_code == 200
    clock.advance(1)
    expired = await client.get(link)
    assert expired.status_code == 404
    assert expired.json()["error"]["code"] == "file_not_found"


async def test_results__links_do_not_exist_before_completion(client: httpx.AsyncClient) -> None:
    task = await create(client)
    for name in [f"{task['id']}_0.png", f"{task['id']}_1.png", "nothing.png", "task-unified-1-aaaaaaaa_0.png"]:
        response = await client.get(f"/files/images/{name}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "file_not_found"
        assert "expired" not in response.json()["error"]["message"]


def _link_of(app: Starlette, task_id: str) -> str:
    """A task's result link as its owner will receive it (read from the store: the API
    shows links only once the task has completed)."""
    name: str = app.state.mock.store.get_task(task_id).image_names()[0]
    return "/files/images/" + name


async def test_results__a_pending_tasks_link_says_not_ready_yet(
    app: Starlette, client: httpx.AsyncClient, clock: VirtualClock
) -> None:
    task = await create(client)
    for advance in (0.0, 5.0):  # pending, then processing
        clock.advance(advance)
        response = await client.get(_link_of(app, task["id"]))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "file_not_found"
        assert "not ready yet" in response.json()["error"]["message"]
        assert "expired" not in response.json()["error"]["message"]
    clock.advance(5.0)
    assert (await client.get(_link_of(app, task["id"]))).status_code == 200


async def test_results__a_failed_tasks_link_says_it_failed(
    app: Starlette, client: httpx.AsyncClient, clock: VirtualClock
) -> None:
    created = await client.post(CREATE, json=body(), headers={**AUTH, "Prefer": "task-error=service_error"})
    clock.advance(10)
    response = await client.get(_link_of(app, created.json()["id"]))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "File not found: the task failed, so it has no result images"


async def test_results__an_expired_link_says_expired(
    app_factory: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    clock: VirtualClock,
) -> None:
    # The task must outlive its link to tell "expired" apart from "no such link": with the
    # default retention both end at the same moment, and the task's 404 comes first.
    async with client_factory(app_factory(retention=2 * 86_400)) as client:
        task = await create(client)
        clock.advance(10)
        link = (await poll(client, task["id"])).json()["results"][0]
        clock.advance(86_400)
        assert "expired" in (await client.get(link)).json()["error"]["message"]


async def test_results__links_are_stable_across_polls(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    task = await create(client)
    clock.advance(10)
    first = (await poll(client, task["id"])).json()
    clock.advance(100)
    again = (await poll(client, task["id"])).json()
    assert again["results"] == first["results"]
    assert again["result_data"] == first["result_data"]


async def test_results__links_cannot_be_predicted_from_the_seed(
    app_factory, client_factory, clock: VirtualClock
) -> None:
    # Issue 10: knowing the printed seed, key B predicted key A's task ids and fetched their
    # images through links made of the id alone. Ids still replay with the seed; links must not.
    from mock_server.randomness import SeededRandom

    app = app_factory(seed=99)
    predicted = SeededRandom(99)
    async with client_factory(app) as http:
        ids = [(await create(http))["id"] for _ in range(3)]
        assert ids == [f"task-unified-{int(START)}-{predicted.token(8)}" for _ in ids]
        clock.advance(10)
        links = [(await poll(http, task_id)).json()["results"][0] for task_id in ids]
        for task_id, link in zip(ids, links, strict=True):
            assert (await http.get(link)).status_code == 200
            for guess in (f"{task_id}_0.png", f"{task_id}_0-{'0' * 32}.png", link.rsplit("/", 1)[1].upper()):
                response = await http.get(f"/files/images/{guess}")
                assert response.status_code == 404, guess
                assert response.json()["error"]["message"] == "File not found: no result image has this link"
            assert task_id in link
            token = link.rsplit("-", 1)[1].removesuffix(".png")
            assert len(token) == 32 and token not in "".join(ids)
    async with client_factory(app_factory(seed=99)) as http:  # the same seed, the same requests
        replayed = [(await create(http))["id"] for _ in range(3)]
        clock.advance(10)
        assert [task_id.rsplit("-", 1)[1] for task_id in replayed] == [task_id.rsplit("-", 1)[1] for task_id in ids]
        new_links = [(await poll(http, task_id)).json()["results"][0] for task_id in replayed]
        assert {link.rsplit("-", 1)[1] for link in new_links}.isdisjoint(link.rsplit("-", 1)[1] for link in links)


async def test_results__a_link_is_another_tasks_only_with_its_own_token(
    app: Starlette, client: httpx.AsyncClient, clock: VirtualClock
) -> None:
    first, second = await create(client), await create(client)
    clock.advance(10)
    link = (await poll(client, first["id"])).json()["results"][0]
    swapped = link.replace(first["id"], second["id"])
    assert (await client.get(swapped)).status_code == 404
    assert (await client.get(link)).status_code == 200


async def test_results__use_the_public_url_when_set(app_factory, client_factory, clock: VirtualClock) -> None:
    async with client_factory(app_factory(public_url="https://mock.example.com/")) as http:
        task = await create(http)
        clock.advance(10)
        link = (await poll(http, task["id"])).json()["results"][0]
        assert link.startswith("https://mock.example.com/files/images/")


async def test_unknown_path__answers_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    for path in ["/", "/v1/images", "/v1/tasks/", "/v1/images/generations/", "/v2/tasks/x"]:
        response = await client.get(path, headers=AUTH)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", CREATE, "POST"),
        ("DELETE", CREATE, "POST"),
        ("PUT", CREATE, "POST"),
        ("POST", "/v1/tasks/task-unified-1-abcdefgh", "GET, HEAD"),
        ("DELETE", "/v1/tasks/x", "GET, HEAD"),
    ],
)
async def test_wrong_method__answers_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_openapi_json__serves_the_bundle(client: httpx.AsyncClient) -> None:
    from evolink_spec import load_bundle

    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == load_bundle()


async def test_server__keeps_serving_after_bad_input(client: httpx.AsyncClient) -> None:
    for content in [b"{", b"[]", b"\x00" * 10]:
        await client.post(CREATE, content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert (await client.post(CREATE, json=body(), headers=AUTH)).status_code == 200


async def test_idempotency_key__a_retried_create_answers_the_same_task(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-42"}
    first = await client.post(CREATE, json=body(), headers=headers)
    again = await client.post(CREATE, json=body(), headers=headers)
    other_key = await client.post(
        CREATE, json=body(), headers={"Authorization": "Bearer sk-other", "Idempotency-Key": "order-42"}
    )
    assert again.json() == {**first.json(), "idempotency_replayed": True}
    assert other_key.json()["id"] != first.json()["id"]
    assert "idempotency_replayed" not in first.json()
    assert (await client.get("/__mock/tasks")).json()["count"] == 2


async def test_double_slashes__are_merged_as_front_proxies_do(client: httpx.AsyncClient) -> None:
    task = (await client.post("http://localhost//v1/images/generations", json=body(), headers=AUTH)).json()
    assert (await client.get(f"http://localhost/v1//tasks/{task['id']}", headers=AUTH)).json()["id"] == task["id"]


async def test_extra_models__are_accepted_and_echoed_when_asked(
    app_factory, client_factory, clock: VirtualClock
) -> None:
    async with client_factory(app_factory(extra_models=("nano-banana-pro",))) as http:
        task = await create(http, model="nano-banana-pro")
        assert task["model"] == "nano-banana-pro"
        refused = await http.post(CREATE, json=body(model="dall-e-3"), headers=AUTH)
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "model"
        message = refused.json()["error"]["message"]
        assert message.split("Supported values are: ")[1].startswith("nano-banana-beta, gemini-2.5-flash-image, ")
        assert message.endswith(", z-image-turbo, nano-banana-pro")  # the family, then the extra names
        refused = await http.post(CREATE, json=body(model="nano-banana-pro", prompt="x" * 2001), headers=AUTH)
        assert refused.json()["error"]["param"] == "prompt"
    async with client_factory(app_factory(any_model=True)) as http:
        assert (await create(http, model="gpt-image-2"))["model"] == "gpt-image-2"
        clock.advance(10)


async def test_every_provider_call__is_journalled_once_whatever_answers_it(client: httpx.AsyncClient) -> None:
    task = await create(client)
    await poll(client, task["id"])
    await client.get(CREATE, headers=AUTH)
    await client.get("/no/such/path")
    await client.get("/files/images/nothing.png")
    await client.post(CREATE, content=b"{", headers={**AUTH, "Content-Type": "application/json"})
    journal = (await client.get("/__mock/requests")).json()["requests"]
    assert [(entry["method"], entry["status"]) for entry in journal] == [
        ("POST", 200),
        ("GET", 200),
        ("GET", 405),
        ("GET", 404),
        ("GET", 404),
        ("POST", 400),
    ]


async def test_provider_paths__head_answers_like_get_and_other_methods_405_with_allow(app: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        created = await http.post(CREATE, json=body(), headers=AUTH)
        task_path = f"/v1/tasks/{created.json()['id']}"
        head = await http.head(task_path, headers=AUTH)
        assert (head.status_code, head.headers["content-type"]) == (200, "application/json")
        answers = {
            ("GET", CREATE): "POST",
            ("POST", task_path): "GET, HEAD",
            ("DELETE", "/openapi.json"): "GET, HEAD",
            ("PUT", "/files/images/x.png"): "GET, HEAD",
        }
        for (method, path), allowed in answers.items():
            refused = await http.request(method, path, headers=AUTH)
            assert (refused.status_code, refused.headers["allow"]) == (405, allowed)
            assert refused.json()["error"]["message"] == f"Method {method} not allowed on {path}; allowed: {allowed}"
