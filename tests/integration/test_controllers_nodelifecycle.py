"""The node lifecycle controller against a real API server, on a fake clock.

The tests play the node agent: they create the Node and its Lease and renew
the Lease (or stop). Time is a ``FakeClock`` the tests move in small steps
(``advance_until``), so a 2 s grace period takes no real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    NODES,
    PODS,
    events_for,
    eventually,
    make_node,
    set_pod_ready,
)

from kubesvc.client.factory import InformerFactory
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.reflector import InformerSettings
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.controllers.context import ControllerContext, ControllerSettings
from kubesvc.controllers.manager import ControllerManager
from kubesvc.controllers.nodelifecycle import NodeLifecycleController
from kubesvc.util.backoff import BackoffPolicy
from kubesvc.util.clock import FakeClock

T = TypeVar("T")
Obj = dict[str, Any]

LEASES = resolve(("coordination.k8s.io/v1", "Lease"))
SERVICES = resolve(("v1", "Service"))
SLICES = resolve(("discovery.k8s.io/v1", "EndpointSlice"))
SETTINGS = ControllerSettings(
    workers=1,
    node_monitor_period=1.0,
    node_monitor_grace_period=2.0,
    node_startup_grace_period=3.0,
    pod_gc_period=1.0,
    pod_gc_quarantine=2.0,
)


@contextlib.asynccontextmanager
async def fake_time_controllers(
    api: Api, names: list[str], settings: ControllerSettings = SETTINGS
) -> AsyncIterator[tuple[ApiClient, ControllerManager, FakeClock]]:
    """The named controllers on a ``FakeClock`` (informers keep real time)."""
    client = ApiClient(ClientConfig(api.base), field_manager="kubesvc-controller-manager")
    factory = InformerFactory(
        client, settings=InformerSettings(backoff=BackoffPolicy(initial=0.01, cap=0.05))
    )
    clock = FakeClock()
    manager = ControllerManager(ControllerContext(client, factory, settings, clock), names)
    stop = asyncio.Event()
    task = asyncio.create_task(manager.run(stop))
    try:
        await asyncio.wait_for(manager.ready.wait(), 10)
        yield client, manager, clock
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.close()


async def advance_until(
    clock: FakeClock,
    check: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    step: float = 0.25,
    limit: float = 30.0,
) -> T:
    """Move the fake clock ``step`` at a time until ``check`` answers (at most ``limit``
    fake seconds; each step also lets real time pass for the API round trips)."""
    moved = 0.0
    last: T | None = None
    while moved <= limit:
        for _ in range(5):
            await asyncio.sleep(0.01)
            last = await check()
            if last:
                return last
        clock.advance(step)
        moved += step
    raise AssertionError(f"{what} not reached in {limit} fake seconds (last: {last!r})")


def controller(manager: ControllerManager) -> NodeLifecycleController:
    return next(c for c in manager.controllers if isinstance(c, NodeLifecycleController))


async def renew(client: ApiClient, clock: FakeClock, node: str) -> Obj:
    stamp = clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "metadata": {"name": node, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": stamp},
    }
    try:
        current = await client.get(LEASES, "kube-node-lease", node)
    except Exception:
        return await client.create(LEASES, body)
    current["spec"] = body["spec"]
    return await client.update(LEASES, current)


def cond(obj: Obj, kind: str) -> Obj:
    return next(c for c in obj["status"]["conditions"] if c["type"] == kind)


def taint_keys(node: Obj) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}


UNREACHABLE = {
    ("node.kubernetes.io/unreachable", "NoSchedule"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
}


async def test_a_silent_node_turns_unknown_and_its_pods_not_ready(api: Api) -> None:
    names = ["node-lifecycle", "endpointslice"]
    async with fake_time_controllers(api, names) as (client, _, clock):
        await make_node(
            client, "n1", taints=[{"key": "team", "value": "a", "effect": "NoSchedule"}]
        )
        await renew(client, clock, "n1")
        await client.create(
            SERVICES,
            {
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            },
        )
        await client.create(
            PODS,
            {
                "metadata": {"name": "web-1", "labels": {"app": "web"}},
                "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}]},
            },
        )
        await set_pod_ready(client, "default", "web-1", "10.1.0.5")

        async def endpoint_ready() -> bool | None:
            selector = "kubernetes.io/service-name=web"
            slices = (await client.list(SLICES, "default", label_selector=selector))["items"]
            eps = [e for s in slices for e in s.get("endpoints") or []]
            return eps[0]["conditions"]["ready"] if len(eps) == 1 else None

        async def endpoint_not_ready() -> bool:
            return await endpoint_ready() is False

        await eventually(endpoint_ready, "a ready endpoint")

        async def unknown() -> Obj | None:
            node = await client.get(NODES, "", "n1")
            return node if cond(node, "Ready")["status"] == "Unknown" else None

        node = await advance_until(clock, unknown, "Ready Unknown")
        ready = cond(node, "Ready")
        assert (ready["reason"], ready["message"]) == (
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
        never = cond(node, "MemoryPressure")
        assert (never["status"], never["reason"], never["message"]) == (
            "Unknown",
            "NodeStatusNeverUpdated",
            "Kubelet never posted node status.",
        )
        assert {c["type"] for c in node["status"]["conditions"]} == {
            "Ready",
            "MemoryPressure",
            "DiskPressure",
            "PIDPressure",
        }

        async def tainted() -> Obj | None:
            n = await client.get(NODES, "", "n1")
            return n if taint_keys(n) >= UNREACHABLE else None

        node = await advance_until(clock, tainted, "unreachable taints")
        assert ("team", "NoSchedule") in taint_keys(node), "other taints are kept"
        assert all(t.get("timeAdded") for t in node["spec"]["taints"] if t["key"] != "team")

        await advance_until(clock, endpoint_not_ready, "the endpoint not ready")
        pod = await client.get(PODS, "default", "web-1")
        assert cond(pod, "Ready")["status"] == "False"
        assert cond(pod, "ContainersReady")["status"] == "True", "only Ready is touched"
        pod_events = {
            (e["type"], e["reason"], e["message"])
            for e in await events_for(client, "default", "web-1")
        }
        assert ("Warning", "NodeNotReady", "Node is not ready") in pod_events
        node_events = await events_for(client, "default", "n1")
        assert ("NodeNotReady", "Node n1 status is now: NodeNotReady") in {
            (e["reason"], e["message"]) for e in node_events
        }

        # The agent comes back: it posts Ready=True with a fresh heartbeat.
        node = await client.get(NODES, "", "n1")
        ready = cond(node, "Ready")
        ready.update(
            status="True",
            reason="KubeletReady",
            message="kubelet is posting ready status",
            lastHeartbeatTime=clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        await client.update_status(NODES, node)
        await renew(client, clock, "n1")

        async def untainted() -> Obj | None:
            n = await client.get(NODES, "", "n1")
            return n if taint_keys(n) == {("team", "NoSchedule")} else None

        await advance_until(clock, untainted, "taints removed", limit=1.0)


async def test_a_renewed_lease_keeps_a_node_ready(api: Api) -> None:
    async with fake_time_controllers(api, ["node-lifecycle"]) as (client, manager, clock):
        await make_node(client, "alive")
        health = controller(manager).health

        for _ in range(8):  # 8 x 1 s of fake time: four times the grace period
            lease = await renew(client, clock, "alive")

            async def seen(stamp: str = lease["spec"]["renewTime"]) -> bool:
                h = health.get("alive")
                renewed = h.renewed if h is not None else None
                return renewed is not None and renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == stamp

            await eventually(seen, "the renewal observed")
            clock.advance(1.0)
        node = await client.get(NODES, "", "alive")
        assert cond(node, "Ready")["status"] == "True"
        assert not taint_keys(node)


async def test_conditions_the_agent_posts_become_taints(api: Api) -> None:
    async with fake_time_controllers(api, ["node-lifecycle"]) as (client, _, clock):
        await make_node(client, "sick", ready=False, unschedulable=True)
        node = await client.get(NODES, "", "sick")
        node["status"]["conditions"].append({"type": "DiskPressure", "status": "True"})
        await client.update_status(NODES, node)

        async def tainted() -> Obj | None:
            n = await client.get(NODES, "", "sick")
            return n if len(taint_keys(n)) == 4 else None

        node = await advance_until(clock, tainted, "condition taints", limit=1.0)
        assert taint_keys(node) == {
            ("node.kubernetes.io/not-ready", "NoSchedule"),
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        }
        assert cond(node, "Ready")["status"] == "False", "a posted condition is not overwritten"


async def test_a_node_that_never_posted_status_gets_the_startup_grace(api: Api) -> None:
    async with fake_time_controllers(api, ["node-lifecycle"]) as (client, _, clock):
        await client.create(NODES, {"metadata": {"name": "mute"}})
        start = clock.monotonic()

        async def unknown() -> Obj | None:
            node = await client.get(NODES, "", "mute")
            conds = (node.get("status") or {}).get("conditions") or []
            return node if conds else None

        node = await advance_until(clock, unknown, "conditions written")
        assert clock.monotonic() - start >= SETTINGS.node_startup_grace_period
        ready = cond(node, "Ready")
        assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusNeverUpdated")
        assert ready["lastHeartbeatTime"] == node["metadata"]["creationTimestamp"]
