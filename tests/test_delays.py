"""Artificial delays that shutdown cuts short (mock_server/delays.py)."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.delays import Delays

pytestmark = pytest.mark.anyio


async def test_cut_short__ends_the_delays_in_progress_and_skips_later_ones() -> None:
    delays = Delays()
    waiting = [asyncio.ensure_future(delays.sleep(3600)) for _ in range(3)]
    await asyncio.sleep(0)
    assert len(delays) == 3
    delays.cut_short()
    await asyncio.wait_for(asyncio.gather(*waiting), 10)  # a bound, not a measurement
    assert len(delays) == 0
    await asyncio.wait_for(delays.sleep(3600), 10)


async def test_a_delay_runs_its_course_when_nothing_cuts_it() -> None:
    delays = Delays()
    await asyncio.wait_for(delays.sleep(0.001), 10)
    assert len(delays) == 0 and not delays.cut
