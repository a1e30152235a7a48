"""The node lifecycle controller: a node whose agent goes quiet turns Unknown and is
tainted, and its pods stop being ready (kube-controller-manager's
node-lifecycle-controller, simplified; registered as ``node-lifecycle``).

Heartbeats. A node agent shows it is alive by renewing its Lease in
``kube-node-lease`` (``spec.renewTime``) and by posting status (the ``Ready``
condition's ``lastHeartbeatTime``). Those stamps come from the node's clock, so
they are never compared with ours: ``observe`` keeps the local (monotonic) time
at which either was last *seen to change*, the probe time, as upstream does. A
node seen for the first time counts as just probed (so a restarted controller
gives every node a full grace period). ``time_left`` says how long until the
node is stale: ``probe + grace - now``, grace being ``node_monitor_grace_period``,
or ``node_startup_grace_period`` while the node never posted a Ready condition.

One pass over a node (``sync``):

1. ``observe`` the cached Node and Lease.
2. Stale: ``unknown_conditions`` (pure) sets Ready, MemoryPressure, DiskPressure
   and PIDPressure to ``Unknown``, reason ``NodeStatusUnknown`` and message
   "Kubelet stopped posting node status." (``NodeStatusNeverUpdated``, "Kubelet
   never posted node status." for one the node never posted), written through
   ``nodes/status`` with the cached resourceVersion (a Conflict is retried).
   When that took Ready away from True: a ``NodeNotReady`` event on the node.
3. While Ready is ``Unknown``, each pod bound to the node whose Ready condition
   is True gets it set to False (upstream ``MarkPodsNotReady``: status only,
   reason and message untouched, ``lastTransitionTime`` now) and a Warning
   ``NodeNotReady`` "Node is not ready", so the EndpointSlice controller marks
   its endpoints not ready. (Upstream marks them once, at the transition, and
   retries failures; doing it on every pass also covers a controller restart.)
4. ``desired_taints`` (pure) brings the controller's taints in line with the
   conditions, as upstream's two tainting passes do: NoSchedule taints
   ``not-ready`` (Ready False), ``unreachable`` (Ready Unknown),
   ``memory-pressure``, ``disk-pressure``, ``pid-pressure``,
   ``network-unavailable`` (those conditions True) and ``unschedulable``
   (``spec.unschedulable``); NoExecute taints ``not-ready`` and ``unreachable``.
   Added taints carry ``timeAdded``; a node whose agent posts Ready=True again
   loses them. Other taints are never touched.
5. Come back once the node would turn stale, if that is sooner than the next tick.

A ticker enqueues every node each ``node_monitor_period`` (on the injected
clock); handlers only enqueue (a Node or its Lease changed). One worker.

Left out: taint-based eviction (upstream's NoExecute taint manager deletes pods
that do not tolerate the NoExecute taints once their ``tolerationSeconds`` run
out; here the pods stay, not ready), zone states and eviction rate limits, and
the ``NodeNotSchedulable``/``NodeSchedulable`` events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from kubesvc.api import errors
from kubesvc.api.patch.jsonvalue import deep_copy
from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.rest import resolve
from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.workload import nodes as N
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.informers import ensure_indexer
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

NODES = resolve(("v1", "Node"))
PODS = resolve(("v1", "Pod"))
LEASES = resolve(("coordination.k8s.io/v1", "Lease"))
LEASE_NAMESPACE = "kube-node-lease"
PODS_BY_NODE = "node-lifecycle/node-name"
EVENT_COMPONENT = "node-controller"

MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
"""The conditions a silent node's are set to Unknown (NetworkUnavailable is not the agent's)."""
STATUS_UNKNOWN = ("NodeStatusUnknown", "Kubelet stopped posting node status.")
NEVER_UPDATED = ("NodeStatusNeverUpdated", "Kubelet never posted node status.")

NO_SCHEDULE_TAINTS = {
    ("Ready", "False"): N.NOT_READY_TAINT,
    ("Ready", "Unknown"): N.UNREACHABLE_TAINT,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
}
"""Condition (type, status) -> the NoSchedule taint it brings (upstream's taint map)."""
NO_EXECUTE_TAINTS = {
    ("Ready", "False"): N.NOT_READY_TAINT,
    ("Ready", "Unknown"): N.UNREACHABLE_TAINT,
}
MANAGED_TAINTS = frozenset(
    {(key, N.NO_SCHEDULE) for key in NO_SCHEDULE_TAINTS.values()}
    | {(N.UNSCHEDULABLE_TAINT, N.NO_SCHEDULE)}
    | {(key, N.NO_EXECUTE) for key in NO_EXECUTE_TAINTS.values()}
)
"""(key, effect) of every taint this controller adds and removes."""


# -- pure decisions ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NodeHealth:
    """What was last seen of a node's heartbeats, and when (monotonic seconds)."""

    probe: float
    heartbeat: str
    """The Ready condition's ``lastHeartbeatTime`` last seen ("" when none)."""
    renewed: datetime | None
    """The Lease's ``renewTime`` last seen."""


def condition(node: Mapping[str, Any], kind: str) -> Obj | None:
    for cond in P.status(node).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def _heartbeat(node: Mapping[str, Any]) -> str:
    ready = condition(node, "Ready")
    return str((ready or {}).get("lastHeartbeatTime") or "")


def observe(
    prev: NodeHealth | None, node: Mapping[str, Any], lease: Mapping[str, Any] | None, now: float
) -> NodeHealth:
    """The node's health after looking at it at ``now``: the probe time moves when the
    Ready heartbeat differs from the one last seen or the Lease was renewed later."""
    beat = _heartbeat(node)
    renewed = P.parse_time(P.spec(lease).get("renewTime")) if lease is not None else None
    if prev is None:
        return NodeHealth(now, beat, renewed)
    probe = prev.probe
    if beat != prev.heartbeat:
        probe = now
    if renewed is not None and (prev.renewed is None or renewed > prev.renewed):
        probe = now
    else:
        renewed = prev.renewed
    return NodeHealth(probe, beat, renewed)


def time_left(
    health: NodeHealth,
    node: Mapping[str, Any],
    now: float,
    *,
    grace: float,
    startup_grace: float,
) -> float:
    """Seconds until the node counts as silent (<= 0: it is)."""
    period = grace if condition(node, "Ready") is not None else startup_grace
    return health.probe + period - now


def unknown_conditions(node: Mapping[str, Any], now: datetime) -> list[Obj] | None:
    """The conditions of a silent node (see the module docstring); None when unchanged."""
    conditions = [dict(c) for c in P.status(node).get("conditions") or [] if isinstance(c, dict)]
    stamp = P.format_time(now)
    changed = False
    for kind in MONITORED_CONDITIONS:
        current = next((c for c in conditions if c.get("type") == kind), None)
        if current is None:
            reason, message = NEVER_UPDATED
            conditions.append(
                {
                    "type": kind,
                    "status": "Unknown",
                    "lastHeartbeatTime": P.meta(node).get("creationTimestamp"),
                    "lastTransitionTime": stamp,
                    "reason": reason,
                    "message": message,
                }
            )
            changed = True
        elif current.get("status") != "Unknown":
            reason, message = STATUS_UNKNOWN
            current.update(
                status="Unknown", reason=reason, message=message, lastTransitionTime=stamp
            )
            changed = True
    return conditions if changed else None


def desired_taints(node: Mapping[str, Any], now: datetime) -> list[Obj] | None:
    """The node's taints with this controller's brought in line; None when unchanged."""
    wanted: list[tuple[str, str]] = []
    for cond in P.status(node).get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        pair = (str(cond.get("type")), str(cond.get("status")))
        if pair in NO_SCHEDULE_TAINTS:
            wanted.append((NO_SCHEDULE_TAINTS[pair], N.NO_SCHEDULE))
        if pair in NO_EXECUTE_TAINTS:
            wanted.append((NO_EXECUTE_TAINTS[pair], N.NO_EXECUTE))
    if P.spec(node).get("unschedulable"):
        wanted.append((N.UNSCHEDULABLE_TAINT, N.NO_SCHEDULE))
    current = [t for t in P.spec(node).get("taints") or [] if isinstance(t, dict)]
    have = {(t.get("key"), t.get("effect")) for t in current}
    kept = [
        t
        for t in current
        if (t.get("key"), t.get("effect")) not in MANAGED_TAINTS
        or (t.get("key"), t.get("effect")) in wanted
    ]
    added = [
        {"key": key, "effect": effect, "timeAdded": P.format_time(now)}
        for key, effect in dict.fromkeys(wanted)
        if (key, effect) not in have
    ]
    if not added and len(kept) == len(current):
        return None
    return kept + added


def pod_not_ready(pod: Mapping[str, Any], now: datetime) -> Obj | None:
    """``pod`` with its Ready condition False (None when it is not True now)."""
    if not P.is_ready(pod):
        return None
    changed: Obj = deep_copy(dict(pod))
    for cond in P.status(changed).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            cond["status"] = "False"
            cond["lastTransitionTime"] = P.format_time(now)
    return changed


def pods_by_node(pod: Obj) -> list[str]:
    name = P.spec(pod).get("nodeName")
    return [str(name)] if name else []


# -- the controller ---------------------------------------------------------------------
class NodeLifecycleController(QueueController):
    name = "node-lifecycle"
    workers = 1

    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.client
        self.settings = ctx.settings
        self.nodes = ctx.informers.informer(NODES)
        self.leases = ctx.informers.informer(LEASES, namespace=LEASE_NAMESPACE)
        self.pods = ctx.informers.informer(PODS)
        ensure_indexer(self.pods, PODS_BY_NODE, pods_by_node)
        super().__init__(informers=[self.nodes, self.leases, self.pods], clock=ctx.clock)
        self.recorder = ctx.recorder(EVENT_COMPONENT)
        self.health: dict[str, NodeHealth] = {}
        self.nodes.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.leases.add_handlers(
            on_add=self._lease_changed,
            on_update=lambda old, new: self._lease_changed(new),
        )

    def _lease_changed(self, lease: Obj) -> None:
        self.enqueue_key(str(P.meta(lease).get("name") or ""))

    async def run(self, stop: asyncio.Event) -> None:
        ticker = asyncio.ensure_future(self._tick(stop))
        try:
            await super().run(stop)
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)

    async def _tick(self, stop: asyncio.Event) -> None:
        """Every ``node_monitor_period``: every node is looked at again."""
        await until_stopped(self.wait_for_caches(), stop)
        while not stop.is_set():
            for node in self.nodes.list():
                self.enqueue(node)
            await until_stopped(self.clock.sleep(self.settings.node_monitor_period), stop)

    async def sync(self, key: str) -> None:
        _, name = split_key(key)
        node = self.nodes.get("", name)
        if node is None:
            self.health.pop(name, None)
            return
        now = self.clock.monotonic()
        health = observe(self.health.get(name), node, self.leases.get(LEASE_NAMESPACE, name), now)
        self.health[name] = health
        left = time_left(
            health,
            node,
            now,
            grace=self.settings.node_monitor_grace_period,
            startup_grace=self.settings.node_startup_grace_period,
        )
        if left <= 0:
            node = await self._went_silent(node, health)
        elif left < self.settings.node_monitor_period:
            self.enqueue_after(key, left)
        ready = condition(node, "Ready")
        if ready is not None and ready.get("status") == "Unknown":
            await self._mark_pods_not_ready(name)
        taints = desired_taints(node, self.clock.now())
        if taints is not None:
            await self.api.patch(
                NODES,
                "",
                name,
                {
                    "metadata": {"resourceVersion": P.meta(node).get("resourceVersion")},
                    "spec": {"taints": taints or None},
                },
            )

    async def _went_silent(self, node: Obj, health: NodeHealth) -> Obj:
        """Write the Unknown conditions (if not yet); the node as it now is."""
        conditions = unknown_conditions(node, self.clock.now())
        if conditions is None:
            return node
        name = str(P.meta(node).get("name"))
        was = N.ready_status(node) if condition(node, "Ready") is not None else ""
        changed = deep_copy(node)
        changed.setdefault("status", {})["conditions"] = conditions
        written = await self.api.update_status(NODES, changed)
        # Our own write is not a heartbeat.
        self.health[name] = replace(health, heartbeat=_heartbeat(written))
        logger.info("node stopped posting status node=%s", name)
        if was == "True":
            await self.recorder.normal(
                written, "NodeNotReady", f"Node {name} status is now: NodeNotReady"
            )
        return written

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        for pod in self.pods.cache.by_index(PODS_BY_NODE, node_name):
            changed = pod_not_ready(pod, self.clock.now())
            if changed is None:
                continue
            meta = P.meta(pod)
            try:
                await self.api.update_status(PODS, changed)
            except errors.NotFound:
                continue
            logger.info(
                "pod marked not ready pod=%s/%s node=%s",
                meta.get("namespace"),
                meta.get("name"),
                node_name,
            )
            await self.recorder.warning(changed, "NodeNotReady", "Node is not ready")


registry.register(NodeLifecycleController.name, NodeLifecycleController)
