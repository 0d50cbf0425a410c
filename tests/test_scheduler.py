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


# -- the stepped advance --------------------------------------------------------------------


async def test_stepped_advance__runs_each_entry_at_its_own_time_and_what_it_books_on_the_way() -> None:
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran: list[tuple[str, float]] = []

    def chain() -> None:
        ran.append(("chain", clock.now()))
        scheduler.call_at(clock.now() + 1, lambda: ran.append(("booked", clock.now())))

    scheduler.call_at(3, lambda: ran.append(("c", clock.now())))
    scheduler.call_at(1, chain)
    scheduler.call_at(10.5, lambda: ran.append(("later", clock.now())))
    assert await scheduler.advance(10) == 10
    assert ran == [("chain", 1), ("booked", 2), ("c", 3)]
    assert clock.now() == 10
    scheduler.close()


async def test_stepped_advance__waits_for_the_work_a_step_started_before_time_moves() -> None:
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran: list[float] = []

    async def work() -> None:
        started = clock.now()
        await asyncio.sleep(0.05)  # real time: a receiver answering
        scheduler.call_at(started + 1, lambda: ran.append(clock.now()))

    scheduler.call_at(1, lambda: scheduler.track(asyncio.get_running_loop().create_task(work())))
    await scheduler.advance(60)
    assert ran == [2.0]
    scheduler.close()


async def test_stepped_advance__work_waiting_for_time_is_woken_by_its_own_timer() -> None:
    """A hanging exchange: its timeout (a timer that wakes it) is the next step."""
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock, settle=0.05)
    ran: list[tuple[str, float]] = []

    async def hanging() -> None:
        ran.append(("start", clock.now()))
        timeout: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        scheduler.call_at(clock.now() + 10, lambda: timeout.set_result(None), wakes=asyncio.current_task())
        await timeout
        ran.append(("timed out", clock.now()))
        scheduler.call_at(clock.now() + 1, lambda: ran.append(("retry", clock.now())))

    scheduler.call_at(1, lambda: scheduler.track(asyncio.get_running_loop().create_task(hanging())))
    await scheduler.advance(60)
    assert ran == [("start", 1), ("timed out", 11), ("retry", 12)]
    scheduler.close()


async def test_stepped_advance__work_in_flight_when_it_begins_ends_before_time_moves() -> None:
    """What a plain jump started (an attempt whose answer is on its way) sees no time it did not live through."""
    clock = VirtualClock(0)
    scheduler = ClockScheduler(clock)
    ran: list[float] = []
    answered = asyncio.Event()

    async def in_flight() -> None:
        await answered.wait()
        scheduler.call_at(clock.now() + 1, lambda: ran.append(clock.now()))

    scheduler.track(asyncio.get_running_loop().create_task(in_flight()))
    asyncio.get_running_loop().call_later(0.05, answered.set)
    await scheduler.advance(1)
    assert ran == [1.0]
    scheduler.close()


async def test_stepped_advance__moves_a_real_clock_by_the_amount_asked() -> None:
    clock = SystemClock()
    scheduler = ClockScheduler(clock)
    ran: list[float] = []
    start = clock.now()
    scheduler.call_at(start + 100, lambda: ran.append(clock.now() - start))
    await scheduler.advance(3600)
    assert ran and 100 <= ran[0] < 101
    assert 3600 <= clock.now() - start < 3601
    scheduler.close()
