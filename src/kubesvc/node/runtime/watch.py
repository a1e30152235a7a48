"""Seeing processes end without blocking the event loop: container exits and deadlines.

``ExitWatches`` observes each container's wrapper ending once and shares the
status with every waiter. The exit is seen through a pidfd (Linux 5.3+) on the
event loop, for children of this agent and adopted processes alike; where
pidfds are not available, /proc is looked at ten times a second. The PID is
paired with its start time (``procfs``), so a reused PID never stands for the
container. What to do once the wrapper has ended (kill what is left, reap,
read the exit file) is the runtime's ``finish``; whatever it raises, every
waiter still gets a status.

``within`` waits on a future until a deadline on the injected clock, so that
tests move time forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubesvc.node.runtime import procfs
from kubesvc.node.runtime.base import ContainerHandle, ExitStatus
from kubesvc.node.runtime.wrapper import exit_status
from kubesvc.util.clock import Clock

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How often /proc is looked at where there are no pidfds."""


@dataclass
class _Watch:
    """One container's exit, observed once and shared by every waiter."""

    future: asyncio.Future[ExitStatus]
    pidfd: int = -1
    timer: asyncio.TimerHandle | None = None


class ExitWatches:
    """One watch per container ID, made on first use and kept (its status stays the answer)."""

    def __init__(self, finish: Callable[[ContainerHandle], ExitStatus], clock: Clock) -> None:
        """``finish(handle)`` runs once the wrapper has ended and returns the status to report;
        ``clock`` stamps the status reported when ``finish`` fails."""
        self._finish = finish
        self._clock = clock
        self._watches: dict[str, _Watch] = {}

    def exited(self, container_id: str) -> bool:
        """A watch of this container has seen it end (False when it was never watched)."""
        watch = self._watches.get(container_id)
        return watch is not None and watch.future.done()

    def watch(self, handle: ContainerHandle) -> asyncio.Future[ExitStatus]:
        """The container's exit status, once it has ended (the same future on every call)."""
        watch = self._watches.get(handle.container_id)
        if watch is not None:
            return watch.future
        loop = asyncio.get_running_loop()
        watch = _Watch(loop.create_future())
        self._watches[handle.container_id] = watch
        pidfd = -1
        if handle.pid > 0:
            try:
                pidfd = os.pidfd_open(handle.pid)
            except ProcessLookupError:
                pidfd = -1
            except OSError as e:
                if e.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL):
                    raise
                self._poll(handle, watch)
                return watch.future
        if pidfd < 0 or not procfs.is_same(handle.pid, handle.start_ticks):
            if pidfd >= 0:
                os.close(pidfd)
            self._complete(handle, watch)
            return watch.future
        watch.pidfd = pidfd
        loop.add_reader(pidfd, self._complete, handle, watch)
        return watch.future

    def forget(self, container_id: str) -> None:
        """Drop a removed container's watch (stop watching it if it still runs)."""
        watch = self._watches.pop(container_id, None)
        if watch is None:
            return
        if watch.pidfd >= 0:
            asyncio.get_running_loop().remove_reader(watch.pidfd)
            os.close(watch.pidfd)
            watch.pidfd = -1
        if watch.timer is not None:
            watch.timer.cancel()

    def _poll(self, handle: ContainerHandle, watch: _Watch) -> None:
        """Without pidfds: look at /proc every ``POLL_SECONDS``."""
        if procfs.is_alive(handle.pid, handle.start_ticks):
            loop = asyncio.get_running_loop()
            watch.timer = loop.call_later(POLL_SECONDS, self._poll, handle, watch)
        else:
            self._complete(handle, watch)

    def _complete(self, handle: ContainerHandle, watch: _Watch) -> None:
        if watch.pidfd >= 0:
            asyncio.get_running_loop().remove_reader(watch.pidfd)
            os.close(watch.pidfd)
            watch.pidfd = -1
        if watch.timer is not None:
            watch.timer.cancel()
        if watch.future.done():
            return
        try:
            status = self._finish(handle)
        except Exception:  # every waiter must get a status, whatever failed around it
            log.exception("container exit handling failed id=%s", handle.container_id)
            status = exit_status(None, None, False, self._clock.now().timestamp())
        watch.future.set_result(status)


async def within(clock: Clock, future: asyncio.Future[Any], seconds: float) -> bool:
    """Wait until ``future`` is done or ``seconds`` have passed on ``clock``, whichever
    comes first; whether it is done. ``future`` itself is never cancelled."""
    expired: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timer = clock.call_later(seconds, functools.partial(set_done, expired))
    try:
        await asyncio.wait((future, expired), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        expired.cancel()
    return future.done()


def set_done(future: asyncio.Future[None]) -> None:
    """Complete ``future`` unless it already is (a timer's or reader's callback)."""
    if not future.done():
        future.set_result(None)
