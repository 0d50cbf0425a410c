"""The clock-driven scheduler: virtual time releases entries on advance, real time on timers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mock_server import SystemClock, VirtualClock
from mock_server.scheduler import ClockScheduler

pytestmark = pytest.mark.anyio


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_virtual__runs_nothing_until_advanced_then_everything_due_in_time_order() -> None:
    clock = VirtualClock(100)
    scheduler = ClockScheduler(clock)
    ran: list[str] = []
    scheduler.call_at(102, lambda: ran.append("b"))
    scheduler.call_at(101, lambda: ran.append("a"))
    scheduler.call_at(110, lambda: ran.append("c"))
    await asyncio.sleep(0.02)
    assert ran == []
    clock.advance(2)
    await settle()
    assert ran == ["a", "b"]
    clock.advance(7.9)
    await settle()
    assert ran == ["a", "b"]
    clock.advance(0.1)
    await settle()
    assert ran == ["a", "b", "c"]
    assert len(scheduler) == 0
    scheduler.close()


async def test_virtual__an_entry_already_due_runs_on_the_next_loop_turn() -> None:
    clock = VirtualClock(100)
    scheduler = ClockScheduler(clock)
    ran: list[int] = []
    scheduler.call_at(99, lambda: ran.append(1))
    scheduler.call_at(100, lambda: ran.append(2))
    await settle()
    assert ran == [1, 2]
    scheduler.close()


async def test_cancel__drops_the_entry() -> None:
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran: list[int] = []
    timer = scheduler.call_at(1, lambda: ran.append(1))
    scheduler.call_at(2, lambda: ran.append(2))
    timer.cancel()
    clock.advance(5)
    await settle()
    assert ran == [2]
    scheduler.close()


async def test_advance__from_another_thread_is_handed_to_the_loop() -> None:
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran = asyncio.Event()
    scheduler.call_at(1, ran.set)
    await asyncio.to_thread(clock.advance, 1)
    await asyncio.wait_for(ran.wait(), 2)
    scheduler.close()


async def test_real__fires_on_time_scaled_by_speed() -> None:
    clock = SystemClock(speed=10)
    scheduler = ClockScheduler(clock)
    loop = asyncio.get_running_loop()
    fired: asyncio.Future[float] = loop.create_future()
    began = loop.time()
    scheduler.call_at(clock.now() + 1.0, lambda: fired.set_result(loop.time()))  # 1 mock s = 0.1 real s
    elapsed = await asyncio.wait_for(fired, 2) - began
    assert 0.095 <= elapsed < 0.3
    scheduler.close()


async def test_real__an_advance_releases_what_it_jumps_over_at_once() -> None:
    clock = SystemClock()
    scheduler = ClockScheduler(clock)
    fired = asyncio.Event()
    scheduler.call_at(clock.now() + 3600, fired.set)
    await asyncio.sleep(0.01)
    assert not fired.is_set()
    clock.advance(3600)
    await asyncio.wait_for(fired.wait(), 0.5)
    scheduler.close()


async def test_an_action_that_raises_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran: list[int] = []

    def broken() -> None:
        raise RuntimeError("boom")

    scheduler.call_at(1, broken)
    scheduler.call_at(1, lambda: ran.append(1))
    with caplog.at_level(logging.ERROR, logger="mock_server.callbacks"):
        clock.advance(1)
        await settle()
    assert ran == [1]
    assert "scheduled action failed" in caplog.text
    scheduler.close()


async def test_close__drops_entries_and_stops_listening() -> None:
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran: list[int] = []
    scheduler.call_at(1, lambda: ran.append(1))
    scheduler.close()
    clock.advance(5)
    await settle()
    assert ran == []
    assert clock._listeners == []
