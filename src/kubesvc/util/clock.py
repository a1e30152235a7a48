"""Time, injected: the ``Clock`` protocol, the real clock and a fake one for tests.

Everything that waits, backs off, expires or stamps a time takes a ``Clock``
instead of calling ``time``/``asyncio`` directly, so tests move time forward
explicitly (``FakeClock.advance``) and never sleep.

A clock has two faces that move together: a monotonic one (seconds, for
deadlines and durations) and a wall one (an aware UTC ``datetime``, for
timestamps written into objects). Timers (``call_later``) and ``sleep`` run on
the monotonic face.

``FakeClock`` never moves by itself. ``advance(seconds)`` runs every due timer
in deadline order (ties in the order they were scheduled), with the clock set
to each timer's deadline while its callback runs, then settles at the target.
Timers scheduled with a delay of zero or less are due at the next ``advance``
(``advance(0)`` runs them). Callbacks run synchronously inside ``advance``; a
coroutine woken by a timer (``sleep``) resumes at its next chance to run, so a
test awaits something (``asyncio.sleep(0)``, an event) after advancing.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def now(self) -> datetime:
        """The wall time, timezone-aware, in UTC."""
        ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` on the event loop once ``delay`` seconds have passed."""
        ...

    async def sleep(self, delay: float) -> None:
        """Return once ``delay`` seconds have passed (at once for ``delay <= 0``)."""
        ...


class RealClock:
    """The process's clocks and the running event loop's timers."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))


FAKE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[[], object]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to (see the module docstring)."""

    def __init__(self, start: datetime = FAKE_EPOCH, monotonic: float = 0.0) -> None:
        self._start_wall = start
        self._start_mono = monotonic
        self._mono = monotonic
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()
        self._scheduled: list[asyncio.Future[None]] = []

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._start_wall + timedelta(seconds=self._mono - self._start_mono)

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        timer = _FakeTimer(self._mono + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer))
        waiters, self._scheduled = self._scheduled, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        return timer

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_later(delay, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        """Move both faces forward by ``seconds``, running the timers that fall due."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards ({seconds})")
        target = self._mono + seconds
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._mono = max(self._mono, deadline)
            timer.callback()
        self._mono = target

    @property
    def pending(self) -> int:
        """Timers scheduled and neither run nor cancelled."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    def next_deadline(self) -> float | None:
        """The monotonic time the next live timer is due, if any."""
        live = [t.deadline for _, _, t in self._timers if not t.cancelled]
        return min(live) if live else None

    async def wait_for_timers(self, count: int = 1) -> None:
        """Wait (without time passing) until at least ``count`` timers are pending.

        Lets a test advance the clock only once the code under test is asleep.
        """
        while self.pending < count:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._scheduled.append(fut)
            await fut
