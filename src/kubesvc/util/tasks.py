"""Running a coroutine until a stop event is set.

Loops that block on the network (a watch, a queue) cannot poll a stop flag
while they wait, so the owner races them against ``stop.wait()`` and cancels
the loser. Errors from the work propagate; a stop cancels the work cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def until_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """Run ``work`` until it finishes (its result) or ``stop`` is set (``None``)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if task.cancelled():
        return None
    return task.result()
