"""Work queue semantics (client-go's): stingy, one worker per key, delays, back-off, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from kubesvc.client.ratelimit import ExponentialRateLimiter
from kubesvc.client.workqueue import ShutDown, WorkQueue
from kubesvc.util.clock import FakeClock


def make(base: float = 1.0, cap: float = 8.0) -> tuple[WorkQueue[str], FakeClock]:
    clock = FakeClock()
    return WorkQueue(clock=clock, rate_limiter=ExponentialRateLimiter(base, cap)), clock


async def drain(q: WorkQueue[str]) -> list[str]:
    """Take every queued key (marking each done)."""
    out = []
    while len(q):
        key = await q.get()
        q.done(key)
        out.append(key)
    return out


async def test_keys_come_out_in_the_order_added_and_repeats_collapse() -> None:
    q, _ = make()
    for key in ["a", "b", "a", "c", "b"]:
        q.add(key)
    assert len(q) == 3
    assert await drain(q) == ["a", "b", "c"]


async def test_a_key_added_while_processing_is_held_back_until_done() -> None:
    q, _ = make()
    q.add("a")
    key = await q.get()
    q.add("a")
    assert len(q) == 0, "a second worker must not get a key being processed"
    assert q.processing == {"a"}
    q.done(key)
    assert len(q) == 1
    assert await q.get() == "a"


async def test_a_key_done_without_being_re_added_is_not_processed_again() -> None:
    q, _ = make()
    q.add("a")
    q.done(await q.get())
    assert len(q) == 0
    assert q.processing == frozenset()


async def test_two_workers_never_hold_the_same_key() -> None:
    q, _ = make()
    q.add("a")
    q.add("b")
    first = await q.get()
    q.add(first)
    second = await q.get()
    assert {first, second} == {"a", "b"}
    assert len(q) == 0


async def test_get_waits_for_an_add() -> None:
    q, _ = make()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("x")
    assert await getter == "x"


async def test_a_cancelled_getter_does_not_swallow_a_key() -> None:
    q, _ = make()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("x")  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == "x"


@pytest.mark.parametrize(
    ("adds", "ready_at"),
    [
        pytest.param([("a", 5.0)], {"a": 5.0}, id="one-delay"),
        pytest.param([("a", 10.0), ("a", 5.0)], {"a": 5.0}, id="earlier-deadline-wins"),
        pytest.param([("a", 5.0), ("a", 10.0)], {"a": 5.0}, id="later-deadline-ignored"),
        pytest.param([("a", 0.0)], {"a": 0.0}, id="zero-delay-is-now"),
        pytest.param([("a", -1.0)], {"a": 0.0}, id="negative-delay-is-now"),
        pytest.param([("a", 3.0), ("b", 1.0)], {"b": 1.0, "a": 3.0}, id="independent-keys"),
    ],
)
async def test_add_after(adds: list[tuple[str, float]], ready_at: dict[str, float]) -> None:
    q, clock = make()
    for key, delay in adds:
        q.add_after(key, delay)
    seen: dict[str, float] = {}
    for _ in range(12):
        for key in await drain(q):
            seen[key] = clock.monotonic()
        clock.advance(0.5)
    assert seen == ready_at
    assert q.waiting == 0


async def test_a_delayed_key_already_queued_is_not_queued_twice() -> None:
    q, clock = make()
    q.add_after("a", 1)
    q.add("a")
    clock.advance(1)
    assert await drain(q) == ["a"]


async def test_rate_limited_requeue_backs_off_per_key_until_forgotten() -> None:
    q, clock = make(base=1, cap=4)
    delays = []
    for _ in range(4):
        q.add_rate_limited("a")
        start = clock.monotonic()
        while not len(q):
            clock.advance(0.5)
        delays.append(clock.monotonic() - start)
        q.done(await q.get())
    assert delays == [1, 2, 4, 4]
    assert q.num_requeues("a") == 4
    q.forget("a")
    assert q.num_requeues("a") == 0


async def test_shutdown_wakes_waiting_getters() -> None:
    q, _ = make()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.shutdown()
    with pytest.raises(ShutDown):
        await getter


async def test_after_shutdown_queued_keys_drain_then_get_raises() -> None:
    q, clock = make()
    q.add("a")
    q.add_after("b", 1)
    q.shutdown()
    q.add("c")
    assert q.shutting_down
    assert clock.pending == 0, "pending delays are dropped"
    assert await q.get() == "a"
    with pytest.raises(ShutDown):
        await q.get()
