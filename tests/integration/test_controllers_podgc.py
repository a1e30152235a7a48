"""The pod garbage collector against a real API server, on a fake clock.

No node agent runs: pods bound to a node that does not exist are what the
collector is for, and a namespace holding such pods is deleted only thanks to it.
"""

from __future__ import annotations

import asyncio
import dataclasses

from tests.integration.conftest import Api
from tests.integration.test_controllers_nodelifecycle import (
    SETTINGS,
    advance_until,
    fake_time_controllers,
)
from tests.integration.test_controllers_workloads_support import (
    NODES,
    PODS,
    Obj,
    eventually,
    make_node,
)

from kubesvc.api import errors
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.controllers.podgc import PodGarbageCollector

NAMESPACES = resolve(("v1", "Namespace"))


def pod(name: str, node: str = "", namespace: str = "default", **meta: object) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "x"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": namespace, **meta}, "spec": spec}


async def with_phase(client: ApiClient, name: str, phase: str, reason: str = "") -> None:
    current = await client.get(PODS, "default", name)
    current["status"] = {"phase": phase, **({"reason": reason} if reason else {})}
    await client.update_status(PODS, current)


async def names(client: ApiClient, namespace: str = "default") -> list[str]:
    return sorted(p["metadata"]["name"] for p in (await client.list(PODS, namespace))["items"])


async def test_orphaned_pods_are_failed_and_removed_after_the_quarantine(api: Api) -> None:
    async with fake_time_controllers(api, ["pod-garbage-collector"]) as (client, _, clock):
        await make_node(client, "here")
        await client.create(PODS, pod("orphan", node="gone"))
        await with_phase(client, "orphan", "Running")
        await client.create(PODS, pod("kept", node="here"))
        await client.create(PODS, pod("pending"))
        start = clock.monotonic()
        watch = client.watch(PODS, "default", name="orphan", resource_version="0")
        seen: list[tuple[str, Obj]] = []

        async def collect() -> None:
            async for event in watch:
                seen.append(event)  # noqa: PERF401 (events are wanted as they come)

        collector = asyncio.create_task(collect())

        async def orphan_gone() -> bool:
            return await names(client) == ["kept", "pending"]

        await advance_until(clock, orphan_gone, "the orphan removed")
        assert clock.monotonic() - start >= SETTINGS.pod_gc_quarantine

        async def deleted_seen() -> bool:
            return any(kind == "DELETED" for kind, _ in seen)

        await eventually(deleted_seen, "the DELETED event")
        collector.cancel()
        await asyncio.gather(collector, return_exceptions=True)
        failed = [o for kind, o in seen if kind == "MODIFIED"][-1]
        assert failed["status"]["phase"] == "Failed"
        [condition] = [c for c in failed["status"]["conditions"] if c["type"] == "DisruptionTarget"]
        assert (condition["status"], condition["reason"], condition["message"]) == (
            "True",
            "DeletionByPodGC",
            "PodGC: node no longer exists",
        )


async def test_a_node_back_before_the_quarantine_ends_keeps_its_pods(api: Api) -> None:
    async with fake_time_controllers(api, ["pod-garbage-collector"]) as (client, manager, clock):
        [gc] = [c for c in manager.controllers if isinstance(c, PodGarbageCollector)]
        await client.create(PODS, pod("early", node="late"))
        await client.create(PODS, pod("control", node="never"))

        async def quarantined() -> bool:
            return "late" in gc.quarantine

        await advance_until(clock, quarantined, "the missing node quarantined")
        clock.advance(SETTINGS.pod_gc_quarantine / 2)
        await make_node(client, "late")

        async def control_gone() -> list[str] | None:
            left = await names(client)
            return left if "control" not in left else None

        assert await advance_until(clock, control_gone, "the orphan on 'never' removed") == [
            "early"
        ]


async def test_finished_pods_beyond_the_threshold_go_oldest_first(api: Api) -> None:
    settings = dataclasses.replace(SETTINGS, terminated_pod_gc_threshold=2)
    async with fake_time_controllers(api, ["pod-garbage-collector"], settings) as (
        client,
        _,
        clock,
    ):
        for name, phase, reason in [
            ("a-done", "Succeeded", ""),
            ("b-failed", "Failed", ""),
            ("c-done", "Succeeded", ""),
            ("d-evicted", "Failed", "Evicted"),
            ("e-running", "Running", ""),
        ]:
            await client.create(PODS, pod(name, node="n1"))
            await with_phase(client, name, phase, reason)

        async def trimmed() -> list[str] | None:
            left = await names(client)
            return left if len(left) == 3 else None

        left = await advance_until(clock, trimmed, "two finished pods removed")
        assert left == ["b-failed", "c-done", "e-running"]


async def test_terminating_pods_on_an_out_of_service_node_are_removed(api: Api) -> None:
    async with fake_time_controllers(api, ["pod-garbage-collector"]) as (client, _, clock):
        taint = {"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}
        await make_node(client, "dead", ready=False, taints=[taint])
        await make_node(client, "busy", ready=False)
        await client.create(PODS, pod("stuck", node="dead"))
        await client.create(PODS, pod("waits", node="busy"))
        for name in ("stuck", "waits"):
            marked = await client.delete(PODS, "default", name)
            assert marked["metadata"]["deletionGracePeriodSeconds"] == 30

        async def stuck_gone() -> list[str] | None:
            left = await names(client)
            return left if left == ["waits"] else None

        await advance_until(clock, stuck_gone, "the pod on the out-of-service node removed")


async def test_a_namespace_with_pods_on_a_vanished_node_is_deleted(api: Api) -> None:
    stop = asyncio.Event()
    lifecycle = asyncio.create_task(api.server.lifecycle.run(stop))
    try:
        async with fake_time_controllers(api, ["pod-garbage-collector"]) as (client, _, clock):
            await client.create(NAMESPACES, {"metadata": {"name": "old"}})
            await make_node(client, "gone")
            await client.create(PODS, pod("p", node="gone", namespace="old"), namespace="old")
            await client.delete(NODES, "", "gone")
            await client.delete(NAMESPACES, "", "old")

            async def namespace_gone() -> bool:
                try:
                    await client.get(NAMESPACES, "", "old")
                except errors.NotFound:
                    return True
                return False

            await advance_until(clock, namespace_gone, "the namespace removed", step=0.5)
    finally:
        stop.set()
        await asyncio.wait_for(lifecycle, 10)
