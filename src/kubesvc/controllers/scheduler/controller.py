"""The scheduler: binds pending pods to nodes through ``pods/binding``.

Handlers enqueue pods that need a node; a node that appears or changes, and
a placed pod that goes away, requeue the pods that did not fit last time.
``sync`` (the scheduling cycle) decides with ``decide.schedule`` over the
cached nodes and pods plus the pods it has *assumed* (bound or being bound,
but not yet seen bound in the cache), so two quick decisions never ignore each
other (upstream's assume cache). Then:

* a node: the pod is assumed there at once and a *binding cycle* runs beside
  the next decisions (as upstream binds in a goroutine): POST a ``Binding``,
  then an Event ``Scheduled`` ("Successfully assigned ns/pod to node") and the
  ``PodScheduled=True`` condition (skipped when the cache already shows it). A
  binding that fails un-assumes the pod; an error other than NotFound/Conflict
  requeues it with the controller's per-key back-off, as a failed sync would.
  At most ``MAX_BINDING`` cycles are in flight; the scheduling cycle waits for
  a free one before it decides.
* none: an Event ``FailedScheduling`` (Warning) with upstream's message, the
  ``PodScheduled=False``/``Unschedulable`` condition, and a retry after
  ``RETRY_UNSCHEDULABLE`` seconds unless a cluster change comes first.

One worker: decisions are made in sequence, as upstream's scheduling cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubesvc.api import errors
from kubesvc.client.cache import object_key, split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.scheduler import decide as D
from kubesvc.controllers.workload import nodes as N
from kubesvc.controllers.workload import pods as P

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS = resolve(("v1", "Pod"))
NODES = resolve(("v1", "Node"))
SCHEDULER_NAME = "default-scheduler"
RETRY_UNSCHEDULABLE = 60.0
"""Upstream flushes unschedulable pods back after at most 5 minutes; cluster events sooner."""
MAX_BINDING = 16
"""Binding cycles in flight at once (each holds one API connection while it writes)."""


class Scheduler(QueueController):
    name = "scheduler"
    workers = 1

    def __init__(self, ctx: ControllerContext, scheduler_name: str = SCHEDULER_NAME) -> None:
        self.api = ctx.client
        self.scheduler_name = scheduler_name
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        super().__init__(informers=[self.pods, self.nodes], workers=1, clock=ctx.clock)
        self.recorder = ctx.recorder(scheduler_name)
        self.assumed: dict[str, Obj] = {}
        """Pods bound or being bound by us that the cache still shows without a node
        (key -> the pod as bound)."""
        self.unschedulable: set[str] = set()
        self.binding: set[asyncio.Task[None]] = set()
        """Binding cycles in flight (their pods are in ``assumed``)."""
        self._binding_slots = asyncio.Semaphore(MAX_BINDING)
        self.pods.add_handlers(
            on_add=self._pod_seen,
            on_update=lambda old, new: self._pod_seen(new),
            on_delete=self._pod_gone,
        )
        self.nodes.add_handlers(
            on_add=lambda node: self._retry_unschedulable(),
            on_update=self._node_updated,
        )

    # -- handlers ----------------------------------------------------------------
    def _pod_seen(self, pod: Obj) -> None:
        key = object_key(pod)
        if P.spec(pod).get("nodeName"):
            self.assumed.pop(key, None)
            self.unschedulable.discard(key)
            return
        if D.needs_scheduling(pod, self.scheduler_name) and key not in self.assumed:
            self.enqueue_key(key)

    def _pod_gone(self, pod: Obj) -> None:
        key = object_key(pod)
        self.assumed.pop(key, None)
        self.unschedulable.discard(key)
        if P.spec(pod).get("nodeName"):
            self._retry_unschedulable()

    def _node_updated(self, old: Obj, cur: Obj) -> None:
        def facts(n: Obj) -> tuple[Any, ...]:
            return (
                P.labels(n),
                P.spec(n).get("taints"),
                P.spec(n).get("unschedulable"),
                N.ready_status(n),
            )

        if facts(old) != facts(cur):
            self._retry_unschedulable()

    def _retry_unschedulable(self) -> None:
        for key in sorted(self.unschedulable):
            self.enqueue_key(key)

    # -- sync --------------------------------------------------------------------
    def placed_pods(self) -> list[Obj]:
        pods = [p for p in self.pods.list() if object_key(p) not in self.assumed]
        return pods + list(self.assumed.values())

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await super().run(stop)
        finally:
            for task in list(self.binding):
                task.cancel()
            for task in list(self.binding):
                with contextlib.suppress(BaseException):
                    await task

    async def process(self, key: str) -> None:
        """As ``QueueController.process``, but a key handed to a binding cycle keeps its
        back-off until that cycle succeeds (its failure requeues it rate-limited)."""
        try:
            await self.sync(key)
        except Exception as exc:
            self.handle_error(key, exc)
        else:
            if key not in self.assumed:
                self.queue.forget(key)

    async def sync(self, key: str) -> None:
        await self._binding_slots.acquire()  # decide only once the binding can start
        launched = False
        try:
            launched = await self._schedule(key)
        finally:
            if not launched:
                self._binding_slots.release()

    async def _schedule(self, key: str) -> bool:
        """Decide for ``key``; True when a binding cycle was started (it holds the slot)."""
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None or key in self.assumed or not D.needs_scheduling(pod, self.scheduler_name):
            self.unschedulable.discard(key)
            return False
        decision = D.schedule(pod, self.nodes.list(), self.placed_pods())
        if decision.node is None:
            self.unschedulable.add(key)
            await self.recorder.warning(pod, "FailedScheduling", decision.message)
            await self._set_condition(pod, "False", "Unschedulable", decision.message)
            self.enqueue_after(key, RETRY_UNSCHEDULABLE)
            return False
        self.unschedulable.discard(key)
        bound = dict(pod)
        bound["spec"] = {**P.spec(pod), "nodeName": decision.node}
        self.assumed[key] = bound
        task = asyncio.ensure_future(self._binding_cycle(key, pod, decision.node))
        self.binding.add(task)
        task.add_done_callback(self._binding_done)
        return True

    def _binding_done(self, task: asyncio.Task[None]) -> None:
        self.binding.discard(task)
        self._binding_slots.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error("binding cycle failed", exc_info=task.exception())

    async def _binding_cycle(self, key: str, pod: Obj, node: str) -> None:
        """Bind ``pod`` (assumed on ``node``), then record the Event and the condition."""
        try:
            bound = await self._bind(pod, node)
        except Exception as exc:
            self._forget(key, pod)
            self.handle_error(key, exc)
            return
        if not bound:
            self._forget(key, pod)
            self.queue.forget(key)
            return
        self.queue.forget(key)
        namespace, name = split_key(key)
        await self.recorder.normal(
            pod, "Scheduled", f"Successfully assigned {namespace}/{name} to {node}"
        )
        latest = self.pods.get(namespace, name)
        if latest is None or P.meta(latest).get("uid") != P.meta(pod).get("uid"):
            latest = pod
        await self._set_condition(latest, "True", "", "")

    def _forget(self, key: str, pod: Obj) -> None:
        """Drop the assumption made for ``pod`` (not a newer one of the same name)."""
        assumed = self.assumed.get(key)
        if assumed is not None and P.meta(assumed).get("uid") == P.meta(pod).get("uid"):
            del self.assumed[key]

    async def _bind(self, pod: Obj, node: str) -> bool:
        meta = P.meta(pod)
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        path = PODS.url_path(meta["namespace"], meta["name"]) + "/binding"
        try:
            # ApiClient has no subresource create; pods/binding is the one POST subresource.
            await self.api._request(
                "POST", path, params={"fieldManager": self.api.field_manager}, body=binding
            )
        except (errors.NotFound, errors.Conflict) as exc:
            logger.info("binding skipped pod=%s/%s error=%s", meta["namespace"], meta["name"], exc)
            return False
        return True

    async def _set_condition(self, pod: Obj, status: str, reason: str, message: str) -> None:
        cond: Obj = {
            "type": "PodScheduled",
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": P.format_time(self.clock.now()),
        }
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        current = next(
            (c for c in P.status(pod).get("conditions") or [] if c.get("type") == "PodScheduled"),
            None,
        )
        if current is not None:
            same = (current.get("status"), current.get("reason"), current.get("message"))
            if same == (status, reason or None, message or None):
                return
            if current.get("status") == status:
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
        meta = P.meta(pod)
        try:
            await self.api.patch(
                PODS,
                meta["namespace"],
                meta["name"],
                {"status": {"conditions": [cond]}},
                patch_type="strategic",
                subresource="status",
            )
        except (errors.StatusError, ClientError) as exc:
            logger.info(
                "pod condition not written pod=%s/%s error=%s", meta["namespace"], meta["name"], exc
            )
