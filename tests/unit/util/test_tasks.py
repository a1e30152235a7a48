"""until_stopped: the work's result, None on stop, errors propagate, nothing left running."""

from __future__ import annotations

import asyncio

import pytest

from kubesvc.util.tasks import until_stopped


async def test_returns_the_result_of_work_that_finishes() -> None:
    async def work() -> int:
        return 7

    assert await until_stopped(work(), asyncio.Event()) == 7


async def test_a_stop_cancels_the_work_and_returns_none() -> None:
    cancelled = asyncio.Event()

    async def work() -> int:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    stop = asyncio.Event()
    runner = asyncio.create_task(until_stopped(work(), stop))
    await asyncio.sleep(0)
    stop.set()
    assert await runner is None
    assert cancelled.is_set()


async def test_errors_of_the_work_propagate() -> None:
    async def work() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await until_stopped(work(), asyncio.Event())


async def test_an_already_set_stop_cancels_blocked_work() -> None:
    stop = asyncio.Event()
    stop.set()

    async def work() -> int:
        await asyncio.Event().wait()
        return 1

    assert await until_stopped(work(), stop) is None
