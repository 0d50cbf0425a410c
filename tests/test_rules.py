"""Failure rules: matching, acting, retiring, determinism, and the admin API to change them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import VirtualClock
from mock_server.http.exchange import ConnectionFault
from mock_server.rules import RuleBook, RuleCall, RuleError
from tests.conftest import AUTH, CREATE, body

pytestmark = pytest.mark.anyio
CREATE_CALL = RuleCall("create", "POST", "k", "a cat", {})


def book(*rules: dict[str, Any], seed: int = 1) -> RuleBook:
    return RuleBook(list(rules), seed=seed)


def test_match__on_route_method_key_prompt_and_header() -> None:
    rules = book(
        {"match": {"route": "query"}, "respond": {"status": 500}},
        {"match": {"method": "get"}, "respond": {"status": 401}},
        {"match": {"key": "other"}, "respond": {"status": 402}},
        {"match": {"prompt_regex": "dog"}, "respond": {"status": 403}},
        {"match": {"headers": {"X-Client": "^v2"}}, "respond": {"status": 429}},
    )
    assert rules.evaluate(CREATE_CALL).respond is None
    assert rules.evaluate(RuleCall("query", "GET", "k")).respond.status == 500  # type: ignore[union-attr]
    assert rules.evaluate(RuleCall("create", "POST", "other")).respond.status == 402  # type: ignore[union-attr]
    assert rules.evaluate(RuleCall("create", "POST", "k", "hot dog")).respond.status == 403  # type: ignore[union-attr]
    assert rules.evaluate(RuleCall("create", "POST", "k", None, {"x-client": "v2.1"})).respond.status == 429  # type: ignore[union-attr]


def test_nth__acts_only_on_the_nth_matching_call() -> None:
    rules = book({"match": {"nth": 3}, "respond": {"status": 500}})
    answers = [rules.evaluate(CREATE_CALL).respond for _ in range(5)]
    assert [a is not None for a in answers] == [False, False, True, False, False]


def test_times__retires_the_rule() -> None:
    rules = book({"respond": {"status": 429}, "times": 2})
    assert [rules.evaluate(CREATE_CALL).respond is not None for _ in range(4)] == [True, True, False, False]
    assert rules.rules[0].retired


def test_probability__is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> list[bool]:
        rules = book({"match": {"probability": 0.3}, "respond": {"status": 500}}, seed=seed)
        return [rules.evaluate(CREATE_CALL).respond is not None for _ in range(200)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert 30 < sum(run(7)) < 90


def test_actions__latency_adds_up_and_the_first_answer_ends_the_check() -> None:
    rules = book(
        {"latency_ms": 100},
        {"latency_ms": 50, "task": {"error": "service_error"}},
        {"task": {"error": "unknown_error", "duration": 3}},
        {"respond": {"status": 500}},
        {"respond": {"status": 429}},
    )
    decision = rules.evaluate(CREATE_CALL)
    assert decision.latency_ms == 150
    assert (decision.outcome.error, decision.outcome.duration) == ("service_error", 3)
    assert decision.respond is not None and decision.respond.status == 500
    assert decision.rules == ["rule-1", "rule-2", "rule-3", "rule-4"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"match": {"route": "delete"}, "respond": {"status": 500}}, "rules[0].match.route: must be one of"),
        ({"respond": {"status": 418}}, "rules[0].respond.status: 418 is not a documented error status"),
        ({"match": {"prompt_regex": "("}}, "rules[0].match.prompt_regex: invalid regular expression"),
        ({"match": {"probability": 2}, "respond": {"status": 500}}, "rules[0].match.probability"),
        ({"match": {"colour": "red"}, "respond": {"status": 500}}, "unknown member 'colour'"),
        ({"fault": "explode"}, "rules[0].fault: must be one of reset, empty, truncate"),
        ({"task": {"error": "oops"}}, "rules[0].task.error: 'oops' is not a business error code"),
        ({"respond": {"status": 500}, "fault": "reset"}, "either responds or breaks the connection"),
        ({"match": {"route": "create"}}, "a rule must act"),
        ({"respond": {"status": 500}, "times": 0}, "rules[0].times: must be a whole number 1 or more"),
        ({"callback": {"duplicates": -1}}, "rules[0].callback.duplicates"),
        ("not a rule", "rules[0]: must be a mapping"),
    ],
)
def test_parse__names_what_is_wrong(rule: object, message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace("[", r"\[").replace("]", r"\]")):
        book(rule)  # type: ignore[arg-type]


@pytest.fixture
async def http(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    config = {
        "rules": [
            {"match": {"prompt_regex": "explode"}, "respond": {"status": 500}},
            {"match": {"prompt_regex": "policy"}, "task": {"error": "content_policy_violation"}},
            {"match": {"prompt_regex": "forever"}, "task": {"stuck": True}},
            {"match": {"prompt_regex": "hang up"}, "fault": "reset"},
        ]
    }
    async with client_factory(app_factory(config=config)) as client:
        yield client


async def test_http__respond_answers_the_documented_envelope(http: httpx.AsyncClient) -> None:
    response = await http.post(CREATE, json=body(prompt="please explode"), headers=AUTH)
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Internal server error", "type": "api_error"}
    }
    assert (await http.get("/__mock/tasks")).json()["count"] == 0


async def test_http__task_outcome_reaches_the_poll(http: httpx.AsyncClient, clock: VirtualClock) -> None:
    task = (await http.post(CREATE, json=body(prompt="policy test"), headers=AUTH)).json()
    clock.advance(10)
    polled = (await http.get(f"/v1/tasks/{task['id']}", headers=AUTH)).json()
    assert (polled["status"], polled["error"]["code"]) == ("failed", "content_policy_violation")
    stuck = (await http.post(CREATE, json=body(prompt="run forever"), headers=AUTH)).json()
    clock.advance(1000)
    assert (await http.get(f"/v1/tasks/{stuck['id']}", headers=AUTH)).json()["status"] == "processing"


async def test_http__fault_in_process_raises_a_connection_error(http: httpx.AsyncClient) -> None:
    with pytest.raises(ConnectionFault):
        await http.post(CREATE, json=body(prompt="hang up now"), headers=AUTH)
    assert (await http.post(CREATE, json=body(), headers=AUTH)).status_code == 200


async def test_admin__adds_lists_and_deletes_rules(http: httpx.AsyncClient) -> None:
    added = await http.post("/__mock/rules", json={"match": {"route": "query"}, "respond": {"status": 429}, "times": 1})
    assert added.status_code == 201
    rule_id = added.json()["rules"][0]["id"]
    listed = (await http.get("/__mock/rules")).json()["rules"]
    assert [rule["id"] for rule in listed][-1] == rule_id
    assert listed[-1]["acted"] == 0
    assert (await http.get("/v1/tasks/task-unified-1-abcdefgh", headers=AUTH)).status_code == 429
    assert (await http.get("/v1/tasks/task-unified-1-abcdefgh", headers=AUTH)).status_code == 404
    assert (await http.get("/__mock/rules")).json()["rules"][-1]["retired"] is True
    assert (await http.delete(f"/__mock/rules/{rule_id}")).json() == {"deleted": rule_id}
    assert (await http.delete(f"/__mock/rules/{rule_id}")).status_code == 404
    assert (await http.delete("/__mock/rules")).json() == {"rules": []}
    assert (await http.post(CREATE, json=body(prompt="explode"), headers=AUTH)).status_code == 200


async def test_admin__bad_rules_are_refused_and_leave_the_rules_untouched(http: httpx.AsyncClient) -> None:
    before = (await http.get("/__mock/rules")).json()
    for payload in (
        [{"respond": {"status": 500}}, {"respond": {"status": 999}}],
        {"match": {"route": "nowhere"}, "respond": {"status": 500}},
        "text",
        {"rules": "no"},
    ):
        response = await http.post("/__mock/rules", json=payload)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "rules"
    response = await http.post("/__mock/rules", content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert (await http.get("/__mock/rules")).json() == before


async def test_admin__refused_rules_use_up_no_rule_ids(http: httpx.AsyncClient) -> None:
    first = (await http.post("/__mock/rules", json={"latency_ms": 1})).json()["rules"][0]["id"]
    for _ in range(3):
        refused = await http.post("/__mock/rules", json=[{"latency_ms": 1}, {"respond": {"status": 999}}])
        assert refused.status_code == 400
    second = (await http.post("/__mock/rules", json={"latency_ms": 1})).json()["rules"][0]["id"]
    assert int(second.removeprefix("rule-")) == int(first.removeprefix("rule-")) + 1


async def test_admin__rules_accept_a_list_or_a_wrapper(http: httpx.AsyncClient) -> None:
    both = [{"latency_ms": 1}, {"latency_ms": 2}]
    assert len((await http.post("/__mock/rules", json=both)).json()["rules"]) == 2
    assert len((await http.post("/__mock/rules", json={"rules": both})).json()["rules"]) == 2


async def test_admin__405_lists_every_method(http: httpx.AsyncClient) -> None:
    response = await http.put("/__mock/rules")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST, DELETE"


async def test_reset__restores_configured_rules_and_counters(http: httpx.AsyncClient) -> None:
    await http.delete("/__mock/rules")
    await http.post("/__mock/rules", json={"latency_ms": 1})
    await http.post("/__mock/reset")
    rules = (await http.get("/__mock/rules")).json()["rules"]
    assert [rule["id"] for rule in rules] == ["rule-1", "rule-2", "rule-3", "rule-4"]
    assert all(rule["seen"] == 0 for rule in rules)


async def test_determinism__same_seed_same_requests_same_answers(
    app_factory: Callable[..., Starlette], client_factory: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    config = {"rules": [{"match": {"probability": 0.4}, "respond": {"status": 500}}]}

    async def statuses(seed: int) -> list[int]:
        async with client_factory(app_factory(config=config, seed=seed)) as client:
            return [(await client.post(CREATE, json=body(), headers=AUTH)).status_code for _ in range(40)]

    first = await statuses(21)
    assert first == await statuses(21)
    assert set(first) == {200, 500}


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/v1/images/generations", "post", s) for s in (400, 401, 402, 403, 429, 500)]
    + [("/v1/tasks/{task_id}", "get", s) for s in (400, 401, 404, 429, 500)],
)
async def test_http__every_documented_status_through_a_rule(
    app_factory: Callable[..., Starlette],
    client_factory: Callable[[Starlette], httpx.AsyncClient],
    path: str,
    method: str,
    status: int,
) -> None:
    from evolink_spec import load_bundle

    route = "create" if method == "post" else "query"
    config = {"rules": [{"match": {"route": route}, "respond": {"status": status}}]}
    expected = load_bundle()["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["example"]
    async with client_factory(app_factory(config=config)) as client:
        if method == "post":
            response = await client.post(CREATE, json=body(), headers=AUTH)
        else:
            response = await client.get("/v1/tasks/task-unified-1-abcdefgh", headers=AUTH)
    assert response.status_code == status
    assert response.json() == expected
