"""The contract suite's budget: paid tasks, pace, time and 429 backoff, on a fake clock, no network."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import BaseAdapter

from contract_tests._budget import Budget, Limits
from contract_tests._failures import BudgetExhausted
from contract_tests._options import RunOptions
from contract_tests._targets import limits_for
from contract_tests._transport import GuardAdapter, may_create_task

BASE = "https://api.example.test"
CREATE = f"{BASE}/v1/images/generations"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def budget(**limits: object) -> tuple[Budget, FakeTime]:
    fake = FakeTime()
    return Budget(Limits(**limits), clock=fake.clock, sleep=fake.sleep), fake  # type: ignore[arg-type]


class Answers(BaseAdapter):
    """An adapter that answers from a list of (status, headers), recording what was sent."""

    def __init__(self, *answers: tuple[int, dict[str, str]] | type[Exception]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: object, **kwargs: object) -> requests.Response:
        self.sent.append(f"{request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, type):
            raise answer("fake failure")
        response = requests.Response()
        response.status_code, headers = answer
        response.headers.update(headers)
        response._content = b"{}"
        response._content_consumed = True
        response.request = request
        return response

    def close(self) -> None:
        pass


def send(adapter: GuardAdapter, method: str, url: str) -> requests.Response:
    return adapter.send(requests.Request(method, url).prepare())


@pytest.mark.parametrize(
    ("method", "url", "paid"),
    [
        ("POST", CREATE, True),
        ("PUT", CREATE + "/", True),
        ("GET", CREATE, False),
        ("POST", f"{BASE}/v1/tasks/task-unified-1-abcdefgh", False),
        ("POST", f"{BASE}/proxy/v1/images/generations", True),
    ],
)
def test_may_create_task__any_method_but_reads_on_the_create_path(method: str, url: str, paid: bool) -> None:
    assert may_create_task(method, url) is paid


def test_budget__counts_accepted_creates_and_refuses_past_the_limit() -> None:
    spent, _ = budget(max_paid_tasks=2)
    inner = Answers((200, {}), (400, {}), (200, {}))
    guard = GuardAdapter(inner, spent)
    assert [send(guard, "POST", CREATE).status_code for _ in range(3)] == [200, 400, 200]
    assert spent.paid_tasks == 2
    with pytest.raises(BudgetExhausted, match="2 of 2 tasks"):
        send(guard, "POST", CREATE)
    assert len(inner.sent) == 3
    inner.answers.append((404, {}))
    assert send(guard, "GET", f"{BASE}/v1/tasks/x").status_code == 404  # reads stay free


def test_budget__a_create_whose_answer_never_came_counts_as_paid() -> None:
    spent, _ = budget(max_paid_tasks=1)
    guard = GuardAdapter(Answers(requests.exceptions.ReadTimeout), spent)
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(guard, "POST", CREATE)
    assert spent.paid_tasks == 1
    assert spent.paid_left() == 0


def test_budget__a_refused_connection_costs_nothing() -> None:
    spent, _ = budget(max_paid_tasks=1)
    guard = GuardAdapter(Answers(requests.exceptions.ConnectionError), spent)
    with pytest.raises(requests.exceptions.ConnectionError):
        send(guard, "POST", CREATE)
    assert spent.paid_tasks == 0
    assert spent.paid_left() == 1


def test_budget__paces_requests_under_the_rate() -> None:
    spent, fake = budget(max_rate=2.0)
    guard = GuardAdapter(Answers(*[(404, {})] * 3), spent)
    for _ in range(3):
        send(guard, "GET", f"{BASE}/v1/tasks/x")
    assert fake.slept == [0.5, 0.5]
    assert spent.requests == 3


def test_budget__retries_429_after_retry_after_then_backoff() -> None:
    spent, fake = budget()
    inner = Answers((429, {"Retry-After": "3"}), (429, {}), (200, {}))
    answer = send(GuardAdapter(inner, spent), "GET", f"{BASE}/v1/tasks/x")
    assert answer.status_code == 200
    assert fake.slept == [3.0, 2.0]
    assert spent.throttled == 2


def test_budget__hands_back_the_429_when_retries_run_out() -> None:
    spent, fake = budget(max_429_retries=2)
    inner = Answers(*[(429, {})] * 3)
    assert send(GuardAdapter(inner, spent), "GET", f"{BASE}/v1/tasks/x").status_code == 429
    assert fake.slept == [1.0, 2.0]


def test_budget__a_throttled_create_is_not_paid() -> None:
    spent, _ = budget(max_paid_tasks=1)
    send(GuardAdapter(Answers((429, {"Retry-After": "1"}), (402, {})), spent), "POST", CREATE)
    assert spent.paid_tasks == 0


def test_budget__stops_when_time_is_up() -> None:
    spent, fake = budget(max_seconds=60)
    guard = GuardAdapter(Answers((404, {})), spent)
    send(guard, "GET", f"{BASE}/v1/tasks/x")
    fake.now += 61
    with pytest.raises(BudgetExhausted, match="time budget"):
        send(guard, "GET", f"{BASE}/v1/tasks/x")
    with pytest.raises(BudgetExhausted):
        spent.wait(1)


def test_budget__gives_up_on_a_retry_after_beyond_the_time_left() -> None:
    spent, fake = budget(max_seconds=10)
    assert send(GuardAdapter(Answers((429, {"Retry-After": "30"})), spent), "GET", f"{BASE}/x").status_code == 429
    assert fake.slept == []


@pytest.mark.parametrize(
    ("url", "options", "expected"),
    [
        ("https://api.evolink.ai", RunOptions(), Limits(2, 2.0, 900.0)),
        ("https://api.evolink.ai", RunOptions(max_paid_tasks=0, max_rate=0.5), Limits(0, 0.5, 900.0)),
        ("http://127.0.0.1:8000", RunOptions(), Limits(None, None, 900.0)),
        ("https://localhost:8443", RunOptions(max_paid_tasks=3, max_minutes=2), Limits(3, None, 120.0)),
    ],
)
def test_limits_for__every_limit_off_loopback_only_asked_ones_on_it(
    url: str, options: RunOptions, expected: Limits
) -> None:
    assert limits_for(url, options) == expected
