"""QueueController: waits for caches, runs workers, retries with back-off, gives up, stops."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubesvc.api.errors import Conflict
from kubesvc.client.controller import QueueController
from kubesvc.client.informer import Informer
from kubesvc.util.clock import FakeClock


class NoSource:
    async def list(self, *, limit: int, continue_token: str) -> dict[str, Any]:
        raise AssertionError("not listed in these tests")

    def watch(self, *, resource_version: str, timeout_seconds: int) -> Any:
        raise AssertionError("not watched in these tests")


class Toy(QueueController):
    name = "toy"

    def __init__(self, failures: dict[str, int] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.failures = dict(failures or {})
        self.synced: list[str] = []
        self.gate: asyncio.Event | None = None
        self.active: set[str] = set()
        self.overlap = False

    async def sync(self, key: str) -> None:
        if key in self.active:
            self.overlap = True
        self.active.add(key)
        try:
            if self.gate is not None:
                await self.gate.wait()
            self.synced.append(key)
            if self.failures.get(key, 0) > 0:
                self.failures[key] -= 1
                raise RuntimeError(f"{key} failed")
        finally:
            self.active.discard(key)


async def test_a_successful_sync_resets_back_off() -> None:
    c = Toy(clock=FakeClock())
    c.queue.rate_limiter.when("a")
    await c.process("a")
    assert c.queue.num_requeues("a") == 0


@pytest.mark.parametrize(
    ("max_retries", "fail_times", "expected_syncs", "expected_delays"),
    [
        pytest.param(5, 2, 3, [1, 2], id="recovers"),
        pytest.param(3, 10, 4, [1, 2, 4], id="gives-up-after-max-retries"),
        pytest.param(0, 10, 1, [], id="no-retries"),
    ],
)
async def test_failures_are_retried_with_per_key_back_off(
    max_retries: int, fail_times: int, expected_syncs: int, expected_delays: list[float]
) -> None:
    clock = FakeClock()
    c = Toy({"a": fail_times}, clock=clock, max_retries=max_retries, backoff_base=1)
    c.queue.add("a")
    delays = []
    while True:
        while len(c.queue):
            key = await c.queue.get()
            await c.process(key)
            c.queue.done(key)
        deadline = clock.next_deadline()
        if deadline is None:
            break
        delays.append(deadline - clock.monotonic())
        clock.advance(deadline - clock.monotonic())
    assert len(c.synced) == expected_syncs
    assert delays == expected_delays
    assert c.queue.num_requeues("a") == 0, "forgotten on success or when dropped"


async def test_conflicts_are_retried_quietly(caplog: pytest.LogCaptureFixture) -> None:
    c = Toy(clock=FakeClock())

    async def conflict(key: str) -> None:
        raise Conflict("services", "web", "the object has been modified")

    c.sync = conflict  # type: ignore[method-assign]
    with caplog.at_level("INFO"):
        await c.process("ns/web")
    assert c.queue.waiting == 1
    assert [r.levelname for r in caplog.records] == ["INFO"]


async def test_run_waits_for_caches_then_processes_and_stops() -> None:
    informer = Informer(NoSource())
    c = Toy(informers=[informer], workers=2)
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    c.enqueue({"metadata": {"namespace": "ns", "name": "a"}})
    c.enqueue_key("b")
    for _ in range(10):
        await asyncio.sleep(0)
    assert not c.ready.is_set() and c.synced == [], "nothing runs before the caches sync"
    informer.replace([], "1")
    await asyncio.wait_for(c.ready.wait(), 5)
    for _ in range(50):
        if len(c.synced) == 2:
            break
        await asyncio.sleep(0)
    assert sorted(c.synced) == ["b", "ns/a"]
    stop.set()
    await asyncio.wait_for(task, 5)
    assert c.queue.shutting_down


async def test_one_key_is_never_synced_by_two_workers_at_once() -> None:
    c = Toy(workers=4)
    c.gate = asyncio.Event()
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    await asyncio.wait_for(c.ready.wait(), 5)
    c.enqueue_key("a")
    await asyncio.sleep(0)
    for _ in range(5):
        c.enqueue_key("a")  # arrives while "a" is being processed
        await asyncio.sleep(0)
    c.gate.set()
    for _ in range(50):
        if len(c.synced) == 2:
            break
        await asyncio.sleep(0)
    assert c.synced == ["a", "a"], "processed once more after the in-flight sync, not five times"
    assert not c.overlap
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_stop_before_caches_sync_returns() -> None:
    c = Toy(informers=[Informer(NoSource())])
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert not c.ready.is_set()
