"""Runs a set of controllers over one client and one shared informer factory.

``ControllerManager.run(stop)`` builds the selected controllers, starts the
informers they asked for, runs every controller in one task group, sets
``ready`` once every controller is ready (their caches synced), and stops them
all when ``stop`` is set. A controller that crashes is logged and restarted
after a pause; it never takes the others down.
"""

from __future__ import annotations

import asyncio
import logging

from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext

logger = logging.getLogger(__name__)

RESTART_DELAY = 1.0


class ControllerManager:
    def __init__(self, ctx: ControllerContext, names: list[str] | None = None) -> None:
        self.ctx = ctx
        self.names = names if names is not None else registry.names()
        self.ready = asyncio.Event()
        self.controllers: list[registry.Controller] = []

    async def run(self, stop: asyncio.Event) -> None:
        self.controllers = [registry.factory(n)(self.ctx) for n in self.names]
        self.ctx.informers.start()
        try:
            async with asyncio.TaskGroup() as tg:
                for c in self.controllers:
                    tg.create_task(self._supervise(c, stop))
                tg.create_task(self._signal_ready(stop))
        finally:
            await self.ctx.informers.shutdown()

    async def _signal_ready(self, stop: asyncio.Event) -> None:
        for c in self.controllers:
            waiter = asyncio.ensure_future(c.ready.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
            if stop.is_set():
                return
        self.ready.set()

    async def _supervise(self, controller: registry.Controller, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await controller.run(stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("controller crashed name=%s", controller.name)
            try:
                await asyncio.wait_for(stop.wait(), RESTART_DELAY)
            except TimeoutError:
                pass
