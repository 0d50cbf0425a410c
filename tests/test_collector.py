"""The serving mock's garbage-collection policy: collections on a timer, bounded passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.collector import Collector


@pytest.fixture
def generations() -> Iterator[list[int]]:
    seen: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)


def test_step__young_passes_then_middle_then_full(generations: list[int]) -> None:
    collector = Collector(period=60.0, middle_every=3, full_every=6)
    done = [collector.step() for _ in range(12)]
    assert done == [0, 0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 2]
    assert generations == done


def test_start__turns_the_automatic_trigger_off_until_stop() -> None:
    assert gc.isenabled()
    collector = Collector(period=60.0)  # the timer never fires within the test
    collector.start()
    try:
        assert not gc.isenabled()
        with pytest.raises(RuntimeError, match="already running"):
            collector.start()
    finally:
        collector.stop()
        gc.unfreeze()
    assert gc.isenabled()
    collector.stop()  # stopping twice is harmless


@pytest.mark.parametrize("changes", [{"period": 0.0}, {"middle_every": 0}, {"full_every": 0}])
def test_collector__refuses_settings_that_never_collect(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Collector(**changes)
