"""The admin API under /__mock/."""

from __future__ import annotations

import httpx
import pytest

from mock_server import VirtualClock
from tests.conftest import AUTH, CREATE, START, body
from tests.support.servers import running

pytestmark = pytest.mark.anyio


async def test_clock__reports_and_advances_virtual_time(client: httpx.AsyncClient) -> None:
    assert (await client.get("/__mock/clock")).json() == {"now": START, "kind": "virtual", "speed": 1.0}
    response = await client.post("/__mock/clock/advance", json={"seconds": 12.5})
    assert response.status_code == 200
    assert response.json()["now"] == START + 12.5
    assert (await client.get("/__mock/clock")).json()["now"] == START + 12.5


async def test_clock_advance__finishes_tasks(client: httpx.AsyncClient) -> None:
    task = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    await client.post("/__mock/clock/advance", json={"seconds": 10})
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=AUTH)).json()["status"] == "completed"


@pytest.mark.parametrize(
    "payload",
    [{}, {"seconds": "5"}, {"seconds": -1}, {"seconds": True}, {"seconds": None}, [5], {"seconds": 1e20}],
)
async def test_clock_advance__refuses_bad_bodies(client: httpx.AsyncClient, payload: object) -> None:
    response = await client.post("/__mock/clock/advance", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "seconds"
    assert (await client.get("/__mock/clock")).json()["now"] == START


async def test_clock_advance__refuses_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/__mock/clock/advance", content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


async def test_tasks__lists_every_task_with_owner_and_plan(client: httpx.AsyncClient) -> None:
    mine = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    theirs = (await client.post(CREATE, json=body(), headers={"Authorization": "Bearer sk-other"})).json()
    listing = (await client.get("/__mock/tasks")).json()
    assert listing["count"] == 2
    assert [entry["task"]["id"] for entry in listing["tasks"]] == [mine["id"], theirs["id"]]
    first = listing["tasks"][0]
    assert first["key"] == "sk-test-owner"
    assert first["plan"] == {
        "created_at": START,
        "started_at": START + 1.0,
        "finished_at": START + 10.0,
        "outcome": "completed",
        "error_code": None,
    }
    only_theirs = (await client.get("/__mock/tasks", params={"key": "sk-other"})).json()
    assert [entry["task"]["id"] for entry in only_theirs["tasks"]] == [theirs["id"]]


async def test_task__is_visible_to_the_admin_whoever_owns_it(client: httpx.AsyncClient) -> None:
    task = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    response = await client.get(f"/__mock/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json()["task"]["id"] == task["id"]
    assert (await client.get("/__mock/tasks/task-unified-1-nothere0")).status_code == 404


async def test_reset__forgets_tasks_and_replays_ids(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    first = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    assert (await client.post("/__mock/reset")).json() == {"reset": True}
    assert (await client.get("/__mock/tasks")).json()["count"] == 0
    assert (await client.get(f"/v1/tasks/{first['id']}", headers=AUTH)).status_code == 404
    again = (await client.post(CREATE, json=body(), headers=AUTH)).json()
    assert again["id"] == first["id"]


async def test_health__says_what_the_mock_runs_with(client: httpx.AsyncClient) -> None:
    health = (await client.get("/__mock/health")).json()
    assert health == {
        "status": "ok",
        "service": "nanobanana-mock",
        "unknown_keys": "allow",
        "seed": 7,
        "clock": "virtual",
        "speed": 1.0,
        "task_duration": None,  # each model's own
        "tasks": 0,
    }


async def test_admin__wrong_method_answers_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/__mock/reset")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "127.9.9.9", "[::1]:8000", "a.localhost"]
)
async def test_guard__answers_a_loopback_host(client: httpx.AsyncClient, host: str) -> None:
    assert (await client.get("/__mock/requests", headers={"Host": host})).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "10.0.0.1", "[::2]"])
async def test_guard__refuses_a_foreign_host_dns_rebinding(client: httpx.AsyncClient, host: str) -> None:
    """A page whose domain was rebound to 127.0.0.1 sends its own domain as Host."""
    await client.post(CREATE, json=body(), headers=AUTH)
    for method, path in (("GET", "/__mock/requests"), ("GET", "/__mock/tasks"), ("POST", "/__mock/reset")):
        answer = await client.request(method, path, headers={"Host": host})
        assert answer.status_code == 403, (method, path)
        assert answer.json()["error"]["code"] == "admin_forbidden"
        assert "loopback Host" in answer.json()["error"]["message"]
    assert (await client.get("/__mock/tasks")).json()["count"] == 1
    assert (
        await client.get(CREATE.replace("images/generations", "tasks/x"), headers={**AUTH, "Host": host})
    ).status_code == 400


async def test_guard__answers_the_public_url_host(app_factory, client_factory) -> None:
    async with client_factory(app_factory(public_url="https://mock.example.test:9443/")) as http:
        assert (await http.get("/__mock/tasks", headers={"Host": "mock.example.test:9443"})).status_code == 200
        assert (await http.get("/__mock/tasks", headers={"Host": "other.example.test"})).status_code == 403


async def test_guard__with_a_token_any_host_will_do(app_factory, client_factory) -> None:
    async with client_factory(app_factory(admin_token="s3cret")) as http:
        token = {"X-Mock-Admin-Token": "s3cret", "Host": "mock.internal:8000"}
        assert (await http.get("/__mock/tasks", headers=token)).status_code == 200
        assert (await http.get("/__mock/tasks", headers={"Host": "mock.internal:8000"})).status_code == 401


async def test_guard__refuses_two_admin_tokens(app_factory, client_factory) -> None:
    async with client_factory(app_factory(admin_token="s3cret")) as http:
        two = [("X-Mock-Admin-Token", "wrong"), ("X-Mock-Admin-Token", "s3cret")]
        answer = await http.get("/__mock/tasks", headers=two)
        assert answer.status_code == 401 and answer.json()["error"]["message"].startswith("Ambiguous")
        both = [("Authorization", "Bearer s3cret"), ("Authorization", "Bearer s3cret")]
        assert (await http.get("/__mock/tasks", headers=both)).status_code == 401
        assert (await http.get("/__mock/tasks", headers={"Authorization": "Bearer s3cret"})).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:9999"},
        {"Origin": "https://localhost"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"},
    ],
)
async def test_guard__refuses_state_changes_from_other_origins_csrf(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """A cross-site form POST (CORS-simple: text/plain, no preflight) must not wipe the mock."""
    await client.post(CREATE, json=body(), headers=AUTH)
    simple = {**headers, "Content-Type": "text/plain"}
    for path in ("/__mock/reset", "/__mock/clock/advance", "/__mock/rules"):
        answer = await client.post(path, content=b"x", headers=simple)
        assert answer.status_code == 403, path
        assert answer.json()["error"]["code"] == "admin_forbidden"
    assert (await client.delete("/__mock/requests", headers=headers)).status_code == 403
    assert (await client.get("/__mock/tasks")).json()["count"] == 1
    assert (await client.get("/__mock/tasks", headers=headers)).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"}])
async def test_guard__lets_own_origin_and_tools_change_state(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await client.post(CREATE, json=body(), headers=AUTH)
    assert (await client.post("/__mock/reset", headers=headers)).status_code == 200
    assert (await client.get("/__mock/tasks")).json()["count"] == 0


def test_guard__refuses_a_rebound_host_over_a_real_socket() -> None:
    with running("--clock", "virtual") as url, httpx.Client(base_url=url, timeout=10) as http:
        assert http.post(CREATE, json=body(), headers=AUTH).status_code == 200
        assert http.get("/__mock/requests", headers={"Host": "rebound.example:80"}).status_code == 403
        forged = http.post("/__mock/reset", headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
        assert forged.status_code == 403
        listing = http.get("/__mock/tasks").json()
        assert listing["count"] == 1


async def test_tasks__pages_newest_first_with_a_cursor(client: httpx.AsyncClient) -> None:
    created = [(await client.post(CREATE, json=body(), headers=AUTH)).json()["id"] for _ in range(5)]
    first = (await client.get("/__mock/tasks", params={"limit": 2})).json()
    assert [t["task"]["id"] for t in first["tasks"]] == created[3:]
    second = (await client.get("/__mock/tasks", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [t["task"]["id"] for t in second["tasks"]] == created[1:3]
    # a task created meanwhile does not shift the pages
    await client.post(CREATE, json=body(), headers=AUTH)
    third = (await client.get("/__mock/tasks", params={"limit": 2, "cursor": second["next_cursor"]})).json()
    assert [t["task"]["id"] for t in third["tasks"]] == created[:1]
    assert third["next_cursor"] is None
    bad = await client.get("/__mock/tasks", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "cursor"


async def test_tasks__answers_at_most_100_by_default(client: httpx.AsyncClient) -> None:
    for _ in range(101):
        await client.post(CREATE, json=body(), headers=AUTH)
    listing = (await client.get("/__mock/tasks")).json()
    assert listing["count"] == 100 and listing["next_cursor"] is not None
    rest = (await client.get("/__mock/tasks", params={"cursor": listing["next_cursor"]})).json()
    assert rest["count"] == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        # a model a lone surrogate names (accepted by --any-model) once made a task, then a 500
        ('{"model":"\\ud800","prompt":"x"}', 400),
        ('{"model":"nano-banana-beta","prompt":"x","seed":18446744073709551616}', 200),
    ],
)
async def test_tasks__every_listing_answers_after_hostile_creates(
    app_factory, client_factory, raw: str, status: int
) -> None:
    async with client_factory(app_factory(any_model=True)) as http:
        created = await http.post(CREATE, content=raw.encode(), headers={**AUTH, "Content-Type": "application/json"})
        assert created.status_code == status, created.text
        for path in ("/__mock/tasks", "/__mock/requests", "/__mock/callbacks"):
            answer = await http.get(path)
            assert answer.status_code == 200, path
            answer.json()
