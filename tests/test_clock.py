"""Mock time: the real clock (sped up or not), the virtual clock, and the wall time clients see."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mock_server import clock as clock_module
from mock_server.clock import SystemClock, VirtualClock


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The wall clock, stopped: ``wall.elapse(s)`` moves it (no sleeping, no timing)."""
    state = SimpleNamespace(time=1_790_000_000.0, mono=500.0)

    def elapse(seconds: float) -> None:
        state.time += seconds
        state.mono += seconds

    state.elapse = elapse
    monkeypatch.setattr(clock_module, "time", SimpleNamespace(time=lambda: state.time, monotonic=lambda: state.mono))
    return state


def test_system_clock__a_sped_up_clock_runs_ahead_but_its_wall_time_does_not(wall: SimpleNamespace) -> None:
    clock = SystemClock(speed=10)
    wall.elapse(60)
    assert clock.now() == 1_790_000_000.0 + 600
    assert clock.wall() == 1_790_000_000.0 + 60


def test_system_clock__an_advance_moves_both_times(wall: SimpleNamespace) -> None:
    clock = SystemClock(speed=10)
    clock.advance(3600)
    wall.elapse(1)
    assert (clock.now(), clock.wall()) == (1_790_000_000.0 + 3610, 1_790_000_000.0 + 3601)


def test_virtual_clock__has_one_time() -> None:
    clock = VirtualClock(100)
    clock.advance(5)
    assert clock.now() == clock.wall() == 105


def test_virtual_clock__only_moves_forward() -> None:
    with pytest.raises(ValueError, match="only moves forward"):
        VirtualClock(0).advance(-1)


@pytest.mark.anyio
async def test_create__a_sped_up_mock_answers_created_on_the_wall_clock(wall: SimpleNamespace) -> None:
    import httpx

    from mock_server import Settings, create_app
    from tests.conftest import AUTH, CREATE, body

    clock = SystemClock(speed=10)
    wall.elapse(100)  # mock time is now 900 s ahead of the wall clock
    app = create_app(Settings(seed=1, speed=10), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        task = (await http.post(CREATE, json=body(), headers=AUTH)).json()
    assert task["created"] == 1_790_000_000 + 100 + 1
    assert task["id"].startswith("task-unified-1790000100-")


def test_virtual_clock__reset_goes_back_to_where_it_started() -> None:
    clock = VirtualClock(100)
    clock.advance(50)
    clock.reset()
    assert clock.now() == 100


def test_system_clock__reset_leaves_time_running(wall: SimpleNamespace) -> None:
    clock = SystemClock()
    clock.advance(60)
    clock.reset()
    assert clock.now() == 1_790_000_000.0 + 60


@pytest.mark.anyio
async def test_admin_reset__rewinds_a_virtual_clock_so_a_run_replays_exactly() -> None:
    import httpx

    from mock_server import Settings, create_app
    from tests.conftest import AUTH, CREATE, START, body

    app = create_app(Settings(seed=1, clock="virtual"), clock=VirtualClock(START))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        first = (await http.post(CREATE, json=body(), headers=AUTH)).json()
        await http.post("/__mock/clock/advance", json={"seconds": 3600})
        assert (await http.post("/__mock/reset")).status_code == 200
        assert (await http.get("/__mock/clock")).json()["now"] == START
        replayed = (await http.post(CREATE, json=body(), headers=AUTH)).json()
    assert replayed == first


@pytest.mark.anyio
async def test_admin_advance__one_advance_over_a_finish_a_refund_a_rate_window_and_retention() -> None:
    """What is not a scheduled action (progress, refunds, rate windows, retention) is a function
    of the time read: one long advance leaves it where continuous time would."""
    import httpx

    from mock_server import Settings, create_app
    from mock_server.config import parse_config
    from tests.conftest import CREATE, START, body

    config = parse_config({"accounts": {"sk-lim": {"credits": 1.6, "rate_limit_per_minute": 2}}})
    app = create_app(Settings(seed=1, clock="virtual", retention=100), config=config, clock=VirtualClock(START))
    auth = {"Authorization": "Bearer sk-lim"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        task = (await http.post(CREATE, json=body(), headers={**auth, "Prefer": "task-error=service_error"})).json()
        assert (await http.get(f"/v1/tasks/{task['id']}", headers=auth)).json()["status"] == "pending"
        limited = await http.get(f"/v1/tasks/{task['id']}", headers=auth)
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "60")
        await http.post("/__mock/clock/advance", json={"seconds": 60})  # finish at +10, refund, window empties
        failed = (await http.get(f"/v1/tasks/{task['id']}", headers=auth)).json()
        assert (failed["status"], failed["error"]["code"]) == ("failed", "service_error")
        assert (await http.get("/__mock/accounts")).json()["accounts"]["sk-lim"]["balance"] == 1.6
        await http.post("/__mock/clock/advance", json={"seconds": 50})  # retention ends at +110
        assert (await http.get(f"/v1/tasks/{task['id']}", headers=auth)).status_code == 404
