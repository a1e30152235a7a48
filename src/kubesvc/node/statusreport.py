"""A pod's status as the node agent reports it: when to write, what, and not too often.

The pod worker marks the status ``changed`` whenever its ``PodRecord`` moves;
``run`` writes ``podstatus.compute`` to ``pods/status`` when it differs from
what was last sent. Writes can be held back for a bounded time (``hold``:
while a pod starts, or while its end stops containers and the sandbox), so
that a pod that starts promptly is reported in one write rather than one per
step. The informer's echoes of our own writes do not trigger a write; a status
that another writer changed (the node lifecycle controller marking pods not
ready while this node was away) is sent again after ``RECHECK`` seconds, so
that an echo still on its way is not taken for one. Conditions other writers
own (readiness gates, DisruptionTarget) are kept from the API's copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubesvc.api.errors import NotFound, StatusError
from kubesvc.client.errors import ClientError
from kubesvc.node import podstatus

if TYPE_CHECKING:
    from kubesvc.node.podworker import PodWorker

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
STATUS_SETTLE = 0.01
"""A burst of changes within this many seconds goes out as one status write."""
RECHECK = 1.0
"""When the informer shows a status other than the one stored by our last write, it is
compared again this much later (seconds) before ours is sent again: an event that was on
its way before that write arrives in between and is no sign of another writer."""


class StatusReporter:
    def __init__(self, worker: PodWorker) -> None:
        self.worker = worker
        self.dirty = asyncio.Event()
        self._open = asyncio.Event()
        """Writes may go out: cleared during a ``hold`` (each bounded by a timer)."""
        self._hold_timer: asyncio.TimerHandle | None = None
        self._last_sent: Obj | None = None
        self._acked: Obj | None = None
        """The status as the API stored our last write."""
        self._old_status: Obj = dict(worker.pod.get("status") or {})
        self._recheck: asyncio.TimerHandle | None = None
        self._sending = asyncio.Lock()

    def changed(self) -> None:
        self.dirty.set()

    def observe(self, pod: Obj) -> None:
        """A new version of the pod: if its status is not what our last write stored,
        look again in ``RECHECK`` seconds."""
        if self._acked is not None and pod.get("status") != self._acked and self._recheck is None:
            self._recheck = asyncio.get_running_loop().call_later(RECHECK, self._recheck_status)

    def _recheck_status(self) -> None:
        self._recheck = None
        if self._acked is not None and self.worker.pod.get("status") != self._acked:
            self._last_sent = None
            self.dirty.set()

    def closing(self) -> None:
        """The worker ends: let the last write out."""
        self.release()
        if self._recheck is not None:
            self._recheck.cancel()
        self.dirty.set()

    async def run(self, done: asyncio.Event) -> None:
        """Write whenever changed (and not held), until ``done`` and nothing is left."""
        while True:
            await self.dirty.wait()
            await self._open.wait()
            await asyncio.sleep(STATUS_SETTLE)  # let a burst of changes settle into one write
            if not self._open.is_set():
                continue  # held again meanwhile (the end began)
            self.dirty.clear()
            await self.send()
            if done.is_set() and not self.dirty.is_set():
                return

    def hold(self, seconds: float, until: Callable[[], None]) -> None:
        """Hold writes back; ``until`` lets them out after ``seconds`` at the latest."""
        self._open.clear()
        if self._hold_timer is not None:
            self._hold_timer.cancel()
        self._hold_timer = asyncio.get_running_loop().call_later(seconds, until)

    def release(self) -> None:
        self._open.set()
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None

    async def flush(self) -> None:
        """Write now (the end of a deleted pod, before it is removed)."""
        self.dirty.clear()
        await self.send()

    async def send(self) -> None:
        async with self._sending:  # the writer and the end's flush: one after the other
            await self._send_now()

    async def _send_now(self) -> None:
        w = self.worker
        if w.stop.vanished:
            return
        status = podstatus.compute(
            w.pod, w.record, now=w.host.clock.now().timestamp(), old_status=self._previous()
        )
        if status == self._last_sent:
            return
        try:
            stored = await w.host.patch_status(w.pod, status)
        except NotFound:
            return
        except (StatusError, ClientError) as exc:
            logger.warning("pod status not sent pod=%s error=%s", w.key, exc)
            w.host.clock.call_later(1.0, self.dirty.set)
            return
        self._last_sent = status
        self._old_status = status
        self._acked = stored.get("status")

    def _previous(self) -> Obj:
        """What we last wrote, plus the conditions other writers own as the API has them
        now (readiness gates, DisruptionTarget): those must survive our next write."""
        ours = self._old_status
        own = {c.get("type") for c in ours.get("conditions") or [] if isinstance(c, dict)}
        others = [
            c
            for c in (self.worker.pod.get("status") or {}).get("conditions") or []
            if isinstance(c, dict) and c.get("type") not in own
        ]
        if not others:
            return ours
        return {**ours, "conditions": others + list(ours.get("conditions") or [])}
