"""The pytest plugin, used as a client developer would: only its fixtures and markers."""

from __future__ import annotations

import httpx
import pytest

from mock_server.testing import CallbackReceiver, MockHandle

pytest_plugins = ["pytester"]
CREATE = "/v1/images/generations"
BODY = {"model": "nano-banana-beta", "prompt": "a cat"}


def test_fixture__serves_a_mock_on_loopback_with_a_virtual_clock(nanobanana_mock: MockHandle) -> None:
    assert nanobanana_mock.base_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=nanobanana_mock.base_url, headers=nanobanana_mock.headers) as http:
        task = http.post(CREATE, json=BODY).json()
        assert http.get(f"/v1/tasks/{task['id']}").json()["status"] == "pending"
        nanobanana_mock.advance(10)
        assert http.get(f"/v1/tasks/{task['id']}").json()["status"] == "completed"
    assert [t["task"]["id"] for t in nanobanana_mock.tasks()] == [task["id"]]
    poll = f"/v1/tasks/{task['id']}"
    assert [r["path"] for r in nanobanana_mock.requests()] == [CREATE, poll, poll]


def test_fixture__each_test_starts_empty(nanobanana_mock: MockHandle) -> None:
    assert nanobanana_mock.tasks() == []
    assert nanobanana_mock.requests() == []


def test_prefer__shapes_the_next_create_server_side(nanobanana_mock: MockHandle) -> None:
    nanobanana_mock.prefer(code=429)
    nanobanana_mock.prefer(task_error="service_error", task_duration=2)
    with httpx.Client(base_url=nanobanana_mock.base_url, headers=nanobanana_mock.headers) as http:
        assert http.post(CREATE, json=BODY).status_code == 429
        task = http.post(CREATE, json=BODY).json()
        nanobanana_mock.advance(2)
        failed = http.get(f"/v1/tasks/{task['id']}").json()
        assert (failed["status"], failed["error"]["code"]) == ("failed", "service_error")
        assert http.post(CREATE, json=BODY).status_code == 200


def test_add_rule__remove_rule_and_reset(nanobanana_mock: MockHandle) -> None:
    rule_id = nanobanana_mock.add_rule(match={"route": "create"}, respond={"status": 429})
    nanobanana_mock.add_rule(match={"route": "create"}, respond={"status": 500})
    with httpx.Client(base_url=nanobanana_mock.base_url, headers=nanobanana_mock.headers) as http:
        assert http.post(CREATE, json=BODY).status_code == 429
        nanobanana_mock.remove_rule(rule_id)
        assert http.post(CREATE, json=BODY).status_code == 500
        nanobanana_mock.reset()
        assert http.post(CREATE, json=BODY).status_code == 200


def test_prefer_header__builds_the_header() -> None:
    assert MockHandle.prefer_header(task_error="service_error", task_stuck=True) == {
        "Prefer": "task-error=service_error, task-stuck"
    }


@pytest.mark.nanobanana_mock(task_duration=3, api_key="sk-mine", config={"accounts": {"sk-mine": {"credits": 1.6}}})
def test_marker__sets_duration_key_and_accounts(nanobanana_mock: MockHandle) -> None:
    assert nanobanana_mock.api_key == "sk-mine"
    with httpx.Client(base_url=nanobanana_mock.base_url, headers=nanobanana_mock.headers) as http:
        task = http.post(CREATE, json=BODY).json()
        assert http.post(CREATE, json=BODY).status_code == 402
        nanobanana_mock.advance(3)
        assert http.get(f"/v1/tasks/{task['id']}").json()["status"] == "completed"


@pytest.mark.nanobanana_mock(api_key="sk-mine")
def test_marker__api_key_is_the_only_key_accepted_as_with_serve_api_key(nanobanana_mock: MockHandle) -> None:
    with httpx.Client(base_url=nanobanana_mock.base_url) as http:
        assert http.post(CREATE, json=BODY, headers={"Authorization": "Bearer sk-mine"}).status_code == 200
        other = http.post(CREATE, json=BODY, headers={"Authorization": "Bearer sk-other"})
        assert (other.status_code, other.json()["error"]["code"]) == (401, "unauthorized")


@pytest.mark.nanobanana_mock(api_key=["sk-one", "sk-two"])
def test_marker__api_key_takes_a_list_the_handle_holds_the_first(nanobanana_mock: MockHandle) -> None:
    assert nanobanana_mock.api_key == "sk-one"
    with httpx.Client(base_url=nanobanana_mock.base_url) as http:
        for key, status in (("sk-one", 200), ("sk-two", 200), ("sk-three", 401)):
            assert http.post(CREATE, json=BODY, headers={"Authorization": f"Bearer {key}"}).status_code == status


def test_fixture__without_api_key_any_key_works(nanobanana_mock: MockHandle) -> None:
    with httpx.Client(base_url=nanobanana_mock.base_url) as http:
        assert http.post(CREATE, json=BODY, headers={"Authorization": "Bearer sk-whatever"}).status_code == 200


def test_callback_receiver__records_and_fails_on_command(nanobanana_callback_receiver: CallbackReceiver) -> None:
    receiver = nanobanana_callback_receiver
    receiver.fail_next(1, status=503)
    with httpx.Client() as http:
        assert http.post(receiver.url, json={"n": 1}).status_code == 503
        assert http.post(receiver.url, json={"n": 2}).status_code == 200
    deliveries = receiver.wait_for(2)
    assert [d.json() for d in deliveries] == [{"n": 1}, {"n": 2}]
    assert [d.answered for d in deliveries] == [503, 200]


def test_callback_receiver__wait_for_waits_until_the_attached_mock_has_journalled_each_delivery() -> None:
    receiver = CallbackReceiver()
    reads: list[int] = []

    def journal() -> list[dict[str, object]]:
        reads.append(1)
        entry: dict[str, object] = {"kind": "attempt", "result": "failed", "url": receiver.url}
        return [entry] if len(reads) >= 3 else []  # the mock journals the answer a moment later

    receiver.attach(journal)
    try:
        with httpx.Client() as http:
            http.post(receiver.url, json={"n": 1})
        assert len(receiver.wait_for(1)) == 1
        assert len(reads) == 3
        elsewhere = {"kind": "attempt", "result": "failed", "url": "http://127.0.0.1:1/webhook"}
        receiver._journals[:] = [lambda: [elsewhere]]
        with pytest.raises(AssertionError, match="finished handling 0"):
            receiver.wait_for(1, timeout=0.05)
    finally:
        receiver.close()


def test_ini_options__apply_to_every_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nnanobanana_mock_task_duration = 4\nnanobanana_mock_seed = 9\n")
    pytester.makepyfile(
        """
        import httpx

        def test_it(nanobanana_mock):
            health = httpx.get(nanobanana_mock.base_url + "/__mock/health").json()
            assert (health["task_duration"], health["seed"], health["clock"]) == (4.0, 9, "virtual")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_marker__refuses_unknown_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.nanobanana_mock(colour="red")
        def test_it(nanobanana_mock):
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert "unknown option 'colour'" in result.stdout.str()


def test_callbacks__reach_the_receiver_fixture_end_to_end(
    nanobanana_mock: MockHandle, nanobanana_callback_receiver: CallbackReceiver
) -> None:
    receiver = nanobanana_callback_receiver
    receiver.fail_next(1)
    with httpx.Client(base_url=nanobanana_mock.base_url, headers=nanobanana_mock.headers) as http:
        task = http.post(CREATE, json={**BODY, "callback_url": receiver.url}).json()
        nanobanana_mock.advance(10)
        receiver.wait_for(1)
        nanobanana_mock.advance(1)
        deliveries = receiver.wait_for(2)
        polled = http.get(f"/v1/tasks/{task['id']}").content
    assert [d.answered for d in deliveries] == [500, 200]
    assert deliveries[1].body == polled
    assert deliveries[1].headers["Content-Type"] == "application/json"
    assert [a["status"] for a in nanobanana_mock.callbacks(task["id"])] == [500, 200]
