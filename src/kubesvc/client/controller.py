"""``QueueController``: the worker loop every controller shares.

A controller subclasses it, registers informer handlers that call
``enqueue(obj)`` (or ``enqueue_key``/``enqueue_after``), and implements
``sync(key)``: read the caches, decide, write through the API. The base class
owns everything around that:

* ``run(stop)`` waits for the informers in ``self.informers`` to sync, sets
  ``ready``, runs ``workers`` workers until ``stop`` is set, then shuts the
  queue down and waits for the workers to finish the key in hand.
* A worker takes a key (never one another worker holds), calls ``sync``, and:
  on success forgets the key's back-off; on an error requeues it rate-limited
  (per-key exponential back-off) up to ``max_retries`` times, then drops it
  with an error in the log. A later change to the object enqueues it afresh.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kubesvc.api.errors import Conflict, StatusError
from kubesvc.client.cache import object_key
from kubesvc.client.errors import ClientError
from kubesvc.client.informer import Informer
from kubesvc.client.ratelimit import ExponentialRateLimiter
from kubesvc.client.workqueue import ShutDown, WorkQueue
from kubesvc.util.clock import Clock, RealClock
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)


class QueueController(abc.ABC):
    name: str = "controller"
    workers: int = 1
    max_retries: int = 15
    """client-go controllers commonly give up after 15 retries (~2.7 min at 5 ms doubling)."""

    def __init__(
        self,
        *,
        informers: Sequence[Informer] = (),
        workers: int | None = None,
        max_retries: int | None = None,
        clock: Clock | None = None,
        backoff_base: float = 0.005,
        backoff_cap: float = 1000.0,
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.informers = list(informers)
        if workers is not None:
            self.workers = workers
        if max_retries is not None:
            self.max_retries = max_retries
        self.queue: WorkQueue[str] = WorkQueue(
            clock=self.clock,
            rate_limiter=ExponentialRateLimiter(backoff_base, backoff_cap),
            name=self.name,
        )
        self.ready = asyncio.Event()

    @abc.abstractmethod
    async def sync(self, key: str) -> None:
        """Bring the world in line for ``key``; raise to be retried with back-off."""

    # -- enqueueing (what informer handlers call) -----------------------------------
    def enqueue(self, obj: Mapping[str, Any]) -> None:
        self.queue.add(object_key(obj))

    def enqueue_key(self, key: str) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: str, delay: float) -> None:
        self.queue.add_after(key, delay)

    # -- running -------------------------------------------------------------------
    async def wait_for_caches(self) -> None:
        await asyncio.gather(*(i.wait_for_sync() for i in self.informers))

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set (see the module docstring)."""
        synced = await until_stopped(self._synced(), stop)
        if not synced:
            self.queue.shutdown()
            return
        logger.info("controller started controller=%s workers=%d", self.name, self.workers)
        self.ready.set()
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.workers):
                    tg.create_task(self._worker(stop))
                await stop.wait()
                self.queue.shutdown()
        finally:
            self.queue.shutdown()
            logger.info("controller stopped controller=%s", self.name)

    async def _synced(self) -> bool:
        await self.wait_for_caches()
        return True

    async def _worker(self, stop: asyncio.Event) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                if stop.is_set():
                    return
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        """Sync one key and apply the retry policy (exposed for tests)."""
        try:
            await self.sync(key)
        except Exception as exc:
            self.handle_error(key, exc)
        else:
            self.queue.forget(key)

    def handle_error(self, key: str, exc: Exception) -> None:
        retries = self.queue.num_requeues(key)
        if retries < self.max_retries:
            level = logging.INFO if isinstance(exc, Conflict) else logging.WARNING
            logger.log(
                level,
                "sync failed, will retry controller=%s key=%s retries=%d error=%s",
                self.name,
                key,
                retries,
                exc,
                exc_info=not isinstance(exc, (StatusError, ClientError)),
            )
            self.queue.add_rate_limited(key)
            return
        logger.error(
            "sync failed too often, dropping key controller=%s key=%s retries=%d error=%s",
            self.name,
            key,
            retries,
            exc,
        )
        self.queue.forget(key)
