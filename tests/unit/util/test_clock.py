"""FakeClock: timers run in deadline order as time is advanced; sleeps wake; RealClock basics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from kubesvc.util.clock import FAKE_EPOCH, FakeClock, RealClock


def test_advance_moves_both_faces_together() -> None:
    clock = FakeClock(monotonic=100.0)
    clock.advance(2.5)
    assert clock.monotonic() == 102.5
    assert clock.now() == FAKE_EPOCH + timedelta(seconds=2.5)


def test_timers_run_in_deadline_order_with_the_clock_at_their_deadline() -> None:
    clock = FakeClock()
    seen: list[tuple[str, float]] = []
    clock.call_later(3, lambda: seen.append(("c", clock.monotonic())))
    clock.call_later(1, lambda: seen.append(("a", clock.monotonic())))
    clock.call_later(1, lambda: seen.append(("b", clock.monotonic())))
    clock.advance(0.5)
    assert seen == []
    clock.advance(10)
    assert seen == [("a", 1.0), ("b", 1.0), ("c", 3.0)]
    assert clock.monotonic() == 10.5


def test_a_cancelled_timer_never_runs() -> None:
    clock = FakeClock()
    seen: list[int] = []
    handle = clock.call_later(1, lambda: seen.append(1))
    assert clock.pending == 1
    handle.cancel()
    assert clock.pending == 0
    clock.advance(5)
    assert seen == []


def test_a_timer_scheduled_by_a_timer_runs_in_the_same_advance_if_due() -> None:
    clock = FakeClock()
    seen: list[float] = []
    clock.call_later(1, lambda: clock.call_later(1, lambda: seen.append(clock.monotonic())))
    clock.advance(3)
    assert seen == [2.0]


def test_zero_delay_timers_run_on_the_next_advance() -> None:
    clock = FakeClock()
    seen: list[int] = []
    clock.call_later(0, lambda: seen.append(1))
    assert seen == []
    clock.advance(0)
    assert seen == [1]


def test_the_clock_cannot_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        FakeClock().advance(-1)


async def test_sleep_returns_only_once_advanced_past_its_deadline() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5))
    await clock.wait_for_timers(1)
    assert clock.next_deadline() == 5.0
    clock.advance(4)
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(1)
    await task


async def test_a_cancelled_sleep_leaves_no_timer_behind() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5))
    await clock.wait_for_timers(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending == 0


async def test_real_clock_timer_and_sleep() -> None:
    clock = RealClock()
    fired = asyncio.Event()
    clock.call_later(0, fired.set)
    await asyncio.wait_for(fired.wait(), 5)
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before
    assert clock.now().tzinfo is not None
