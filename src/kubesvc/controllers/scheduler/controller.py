"""The scheduler: binds pending pods to nodes through ``pods/binding``, one at a time.

Handlers enqueue pods that need a node; a node that appears or changes, and
a placed pod that goes away, requeue the pods that did not fit last time.
``sync`` decides with ``decide.schedule`` over the cached nodes and pods plus
the pods it has *assumed* (bound, but not yet seen bound in the cache), so
two quick decisions never ignore each other (upstream's assume cache). Then:

* a node: POST a ``Binding``, an Event ``Scheduled`` ("Successfully assigned
  ns/pod to node") and the ``PodScheduled=True`` condition;
* none: an Event ``FailedScheduling`` (Warning) with upstream's message, the
  ``PodScheduled=False``/``Unschedulable`` condition, and a retry after
  ``RETRY_UNSCHEDULABLE`` seconds unless a cluster change comes first.

One worker: decisions are made in sequence, as upstream's scheduling cycle.
"""

from __future__ import annotations

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
        """Pods bound by us that the cache still shows without a node (key -> bound pod)."""
        self.unschedulable: set[str] = set()
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

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None or key in self.assumed or not D.needs_scheduling(pod, self.scheduler_name):
            self.unschedulable.discard(key)
            return
        decision = D.schedule(pod, self.nodes.list(), self.placed_pods())
        if decision.node is None:
            self.unschedulable.add(key)
            await self.recorder.warning(pod, "FailedScheduling", decision.message)
            await self._set_condition(pod, "False", "Unschedulable", decision.message)
            self.enqueue_after(key, RETRY_UNSCHEDULABLE)
            return
        self.unschedulable.discard(key)
        if not await self._bind(pod, decision.node):
            return
        bound = dict(pod)
        bound["spec"] = {**P.spec(pod), "nodeName": decision.node}
        seen = self.pods.get(namespace, name)
        if seen is not None and not P.spec(seen).get("nodeName"):
            self.assumed[key] = bound
        await self.recorder.normal(
            pod, "Scheduled", f"Successfully assigned {namespace}/{name} to {decision.node}"
        )
        await self._set_condition(pod, "True", "", "")

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
