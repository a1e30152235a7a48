"""The keyed work queue controllers take their work from (client-go semantics).

Theory of operation. A key is in at most one of three places:

* ``queue``: waiting for a worker, in FIFO order (fair: a key added once
  waits its turn behind keys added before it);
* ``processing``: handed to a worker by ``get()``, until it calls ``done()``;
* the delay heap (via the clock's timers): ``add_after`` / ``add_rate_limited``.

``dirty`` is the set of keys that need processing. Adding a key already dirty
does nothing (repeated adds collapse: *stingy*). Adding a key that is being
processed marks it dirty but does not queue it; ``done()`` queues it then, so
one key is never processed by two workers at once and a change that arrived
during processing is processed again afterwards.

``add_after(key, delay)`` keeps, per key, the earliest pending deadline. The
rate-limited variants ask a ``RateLimiter`` for the delay; ``forget(key)``
resets its back-off after a success.

``shutdown()`` stops accepting adds and cancels pending delays; ``get()``
still hands out the keys already queued and then raises ``ShutDown``.
Everything runs on one event loop and needs no locks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from kubesvc.client.ratelimit import ExponentialRateLimiter, RateLimiter
from kubesvc.util.clock import Clock, RealClock, TimerHandle

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """``get()`` on a queue that was shut down and has nothing left."""


class WorkQueue(Generic[K]):
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limiter: RateLimiter | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self.clock: Clock = clock or RealClock()
        self.rate_limiter: RateLimiter = rate_limiter or ExponentialRateLimiter()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, tuple[float, TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False

    # -- adding ------------------------------------------------------------------
    def add(self, key: K) -> None:
        """Mark ``key`` as needing processing (see the module docstring)."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed (now if ``delay <= 0``)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self.clock.monotonic() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        handle = self.clock.call_later(delay, lambda: self._ready(key))
        self._waiting[key] = (ready_at, handle)

    def _ready(self, key: K) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> None:
        """Add ``key`` after the rate limiter's delay for it (one more failure)."""
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset ``key``'s back-off (call after it was processed successfully)."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    # -- taking ------------------------------------------------------------------
    async def get(self) -> K:
        """The next key to process; the caller must call ``done(key)`` afterwards."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut in self._getters:
                    self._getters.remove(fut)
                elif fut.done() and not fut.cancelled() and self._queue:
                    self._wake_one()  # pass the wake-up we consumed to another getter
                raise
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        """Finish processing ``key``; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    # -- state -------------------------------------------------------------------
    def shutdown(self) -> None:
        """Refuse new keys, drop pending delays and wake every waiting ``get()``."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys queued and not yet handed out (client-go's ``Len``)."""
        return len(self._queue)

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    @property
    def waiting(self) -> int:
        """Keys held back by ``add_after`` that are not yet queued."""
        return len(self._waiting)
