"""The pod garbage collector: force-deletes pods no node agent will ever finish
(kube-controller-manager's pod-garbage-collector; registered as ``pod-garbage-collector``).

Every ``pod_gc_period`` (on the injected clock) one pass over the cached pods
and nodes, in upstream's order; ``plan`` (pure) picks the pods:

1. terminated: beyond ``terminated_pod_gc_threshold`` finished pods
   (Succeeded/Failed), the surplus goes: evicted ones first, then the oldest
   (the name breaks ties). A threshold of 0 turns this off.
2. terminating on an out-of-service node: a pod being deleted on a node that is
   not Ready and carries the ``node.kubernetes.io/out-of-service`` taint (an
   operator's word that the node is gone for good).
3. orphaned: a pod bound to a node missing from the cache. The node name is
   quarantined first (the node may be re-created, or the cache behind): once it
   has stayed missing for ``pod_gc_quarantine`` seconds and a GET of the Node
   answers NotFound, its pods are deleted, with the condition
   ``DisruptionTarget=True`` (reason ``DeletionByPodGC``, message "PodGC: node no
   longer exists").
4. unscheduled terminating: a pod being deleted that was never bound to a node.

Each deletion first marks a pod that has not finished ``Failed`` (a status
patch; no agent will ever report on it), then sends DELETE with
``gracePeriodSeconds=0`` and the pod's uid as precondition. Failures are
logged and left to the next pass, as upstream does. The next pass comes after
``pod_gc_period``, or when the first quarantine runs out if that is sooner.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.api import errors
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.workload import nodes as N
from kubesvc.controllers.workload import pods as P

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

PODS = resolve(("v1", "Pod"))
NODES = resolve(("v1", "Node"))
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"
ORPHAN_CONDITION = {
    "type": "DisruptionTarget",
    "status": "True",
    "reason": "DeletionByPodGC",
    "message": "PodGC: node no longer exists",
}
PASS_KEY = "pods"
"""The one key of the queue: a pass over every pod."""


# -- pure decisions ---------------------------------------------------------------------
@dataclass(frozen=True)
class GcPlan:
    terminated: list[Obj] = field(default_factory=list)
    out_of_service: list[Obj] = field(default_factory=list)
    unscheduled_terminating: list[Obj] = field(default_factory=list)
    quarantine: dict[str, float] = field(default_factory=dict)
    """Missing node name -> when it was first seen missing (monotonic seconds)."""
    expired: list[str] = field(default_factory=list)
    """Quarantined node names whose time is up: GET them; NotFound means orphans."""


def is_evicted(pod: Mapping[str, Any]) -> bool:
    return P.phase(pod) == "Failed" and P.status(pod).get("reason") == "Evicted"


def _gc_order(pod: Mapping[str, Any]) -> tuple[bool, datetime | str, str]:
    created = P.parse_time(P.meta(pod).get("creationTimestamp"))
    return (not is_evicted(pod), created or "", str(P.meta(pod).get("name") or ""))


def terminated_surplus(pods: Iterable[Obj], threshold: int) -> list[Obj]:
    """The finished pods beyond ``threshold``, in deletion order (0: none)."""
    if threshold <= 0:
        return []
    finished = [p for p in pods if P.is_terminal(p)]
    if len(finished) <= threshold:
        return []
    finished.sort(key=_gc_order)
    return finished[: len(finished) - threshold]


def plan(
    pods: Sequence[Obj],
    nodes: Mapping[str, Obj],
    quarantine: Mapping[str, float],
    now: float,
    *,
    threshold: int,
    quarantine_seconds: float,
) -> GcPlan:
    """One pass (see the module docstring) over ``pods`` and the nodes by name."""
    out_of_service: list[Obj] = []
    unscheduled: list[Obj] = []
    missing: dict[str, float] = {}
    for pod in pods:
        node_name = str(P.spec(pod).get("nodeName") or "")
        if node_name and node_name not in nodes:
            missing[node_name] = quarantine.get(node_name, now)
        if not P.is_being_deleted(pod):
            continue
        if not node_name:
            unscheduled.append(pod)
            continue
        node = nodes.get(node_name)
        if node is not None and not N.is_ready(node) and _has_taint(node, OUT_OF_SERVICE_TAINT):
            out_of_service.append(pod)
    expired = sorted(n for n, since in missing.items() if now - since >= quarantine_seconds)
    return GcPlan(
        terminated=terminated_surplus(pods, threshold),
        out_of_service=out_of_service,
        unscheduled_terminating=unscheduled,
        quarantine=missing,
        expired=expired,
    )


def orphans(pods: Iterable[Obj], gone: set[str]) -> list[Obj]:
    """The pods bound to a node in ``gone``."""
    return [p for p in pods if str(P.spec(p).get("nodeName") or "") in gone]


def _has_taint(node: Mapping[str, Any], key: str) -> bool:
    taints = P.spec(node).get("taints") or []
    return any(isinstance(t, dict) and t.get("key") == key for t in taints)


def next_pass_in(quarantine: Mapping[str, float], now: float, period: float, hold: float) -> float:
    """Seconds to the next pass: the period, or sooner when a quarantine runs out."""
    ends = [since + hold - now for since in quarantine.values()]
    return max(0.0, min([period, *ends]))


# -- the controller ---------------------------------------------------------------------
class PodGarbageCollector(QueueController):
    name = "pod-garbage-collector"
    workers = 1

    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.client
        self.settings = ctx.settings
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        super().__init__(informers=[self.pods, self.nodes], clock=ctx.clock)
        self.quarantine: dict[str, float] = {}
        self.enqueue_key(PASS_KEY)

    async def sync(self, key: str) -> None:
        try:
            await self.gc()
        finally:
            wait = next_pass_in(
                self.quarantine,
                self.clock.monotonic(),
                self.settings.pod_gc_period,
                self.settings.pod_gc_quarantine,
            )
            self.enqueue_after(PASS_KEY, wait)

    async def gc(self) -> None:
        """One pass over every pod (see the module docstring)."""
        pods = self.pods.list()
        nodes = {str(P.meta(n).get("name")): n for n in self.nodes.list()}
        decided = plan(
            pods,
            nodes,
            self.quarantine,
            self.clock.monotonic(),
            threshold=self.settings.terminated_pod_gc_threshold,
            quarantine_seconds=self.settings.pod_gc_quarantine,
        )
        self.quarantine = dict(decided.quarantine)
        for pod in decided.terminated + decided.out_of_service:
            await self.force_delete(pod)
        gone: set[str] = set()
        for name in decided.expired:
            if await self._node_gone(name):
                gone.add(name)
                self.quarantine.pop(name, None)
            else:
                # Only the cache missed it (or the lookup failed): another quarantine.
                self.quarantine[name] = self.clock.monotonic()
        for pod in orphans(pods, gone):
            await self.force_delete(pod, ORPHAN_CONDITION)
        for pod in decided.unscheduled_terminating:
            await self.force_delete(pod)

    async def _node_gone(self, name: str) -> bool:
        try:
            await self.api.get(NODES, "", name)
        except errors.NotFound:
            return True
        except (errors.StatusError, ClientError) as exc:
            logger.warning("node lookup failed node=%s error=%s", name, exc)
        return False

    async def force_delete(self, pod: Obj, cond: Mapping[str, str] | None = None) -> None:
        """Mark ``pod`` Failed (with ``cond``) unless finished, then delete it with grace 0."""
        meta = P.meta(pod)
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        logger.info("force-deleting pod pod=%s/%s", namespace, name)
        try:
            if not P.is_terminal(pod):
                status: Obj = {"phase": "Failed"}
                if cond is not None:
                    stamp = P.format_time(self.clock.now())
                    status["conditions"] = [{**cond, "lastTransitionTime": stamp}]
                await self.api.patch(
                    PODS,
                    namespace,
                    name,
                    {"status": status},
                    patch_type="strategic",
                    subresource="status",
                )
            await self.api.delete(
                PODS, namespace, name, grace_period_seconds=0, uid=str(meta.get("uid") or "")
            )
        except (errors.NotFound, errors.Conflict):
            return
        except (errors.StatusError, ClientError) as exc:
            logger.warning("pod not deleted pod=%s/%s error=%s", namespace, name, exc)


registry.register(PodGarbageCollector.name, PodGarbageCollector)
