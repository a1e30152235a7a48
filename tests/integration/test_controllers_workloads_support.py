"""Support for the workload controller integration tests (no tests here).

``running(api, names)`` runs a ``ControllerManager`` with the named
controllers against the in-process API server; nodes and pod readiness are
set through the API as a node agent would (there is none in these tests).
Deleting a pod bound to a node only marks it (graceful deletion); with
``node_agent`` (the default) ``finishing_terminating_pods`` removes such pods
with grace 0 at once, as a node agent does once their containers stopped.
Every wait is bounded polling of the API, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from tests.integration.conftest import Api

from kubesvc.api import errors
from kubesvc.client.errors import ClientError
from kubesvc.client.factory import InformerFactory
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.reflector import InformerSettings
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.controllers.context import ControllerContext, ControllerSettings
from kubesvc.controllers.manager import ControllerManager
from kubesvc.util.backoff import BackoffPolicy

T = TypeVar("T")
Obj = dict[str, Any]

PODS = resolve(("v1", "Pod"))
NODES = resolve(("v1", "Node"))
RCS = resolve(("v1", "ReplicationController"))
RSS = resolve(("apps/v1", "ReplicaSet"))
DEPLOYMENTS = resolve(("apps/v1", "Deployment"))
DAEMONSETS = resolve(("apps/v1", "DaemonSet"))
EVENTS = resolve(("v1", "Event"))
CONFIGMAPS = resolve(("v1", "ConfigMap"))


@contextlib.asynccontextmanager
async def running(
    api: Api, names: list[str], *, node_agent: bool = True
) -> AsyncIterator[ApiClient]:
    """The named controllers running against ``api``; yields a client for the test."""
    client = ApiClient(ClientConfig(api.base), field_manager="kubesvc-controller-manager")
    settings = InformerSettings(backoff=BackoffPolicy(initial=0.01, cap=0.05))
    factory = InformerFactory(client, settings=settings)
    ctx = ControllerContext(client, factory, ControllerSettings(workers=2))
    manager = ControllerManager(ctx, names)
    stop = asyncio.Event()
    task = asyncio.create_task(manager.run(stop))
    try:
        await asyncio.wait_for(manager.ready.wait(), 10)
        if node_agent:
            async with finishing_terminating_pods(client):
                yield client
        else:
            yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.close()


@contextlib.asynccontextmanager
async def finishing_terminating_pods(client: ApiClient) -> AsyncIterator[None]:
    """While inside, every pod marked for deletion on a node is removed (grace 0)."""

    async def finish() -> None:
        while True:
            try:
                async for _, pod in client.watch(PODS):
                    meta = pod["metadata"]
                    if not meta.get("deletionTimestamp") or not pod["spec"].get("nodeName"):
                        continue
                    with contextlib.suppress(errors.NotFound, errors.Conflict):
                        await client.delete(
                            PODS,
                            meta["namespace"],
                            meta["name"],
                            grace_period_seconds=0,
                            uid=meta["uid"],
                        )
            except (errors.StatusError, ClientError):
                await asyncio.sleep(0.05)

    task = asyncio.create_task(finish())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str = "condition", seconds: float = 10
) -> T:
    """Poll ``check`` until it returns something truthy (at most ``seconds``)."""
    deadline = asyncio.get_running_loop().time() + seconds
    last: T | None = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} not reached in {seconds} s (last: {last!r})")


async def make_node(
    client: ApiClient,
    name: str,
    *,
    labels: dict[str, str] | None = None,
    taints: list[Obj] | None = None,
    ready: bool = True,
    unschedulable: bool = False,
) -> Obj:
    node: Obj = {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}
    node["metadata"]["labels"].update(labels or {})
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    node["spec"] = spec
    created = await client.create(NODES, node)
    created["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "KubeletReady" if ready else "KubeletNotReady",
            }
        ]
    }
    return await client.update_status(NODES, created)


async def set_pod_ready(
    client: ApiClient, namespace: str, name: str, ip: str, *, ready: bool = True
) -> Obj:
    """Running with ``ip``, Ready as asked: what a node agent reports."""
    for _ in range(10):
        pod = await client.get(PODS, namespace, name)
        pod["status"] = {
            **(pod.get("status") or {}),
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"},
                {"type": "ContainersReady", "status": "True" if ready else "False"},
            ],
        }
        try:
            return await client.update_status(PODS, pod)
        except errors.Conflict:
            continue
    raise AssertionError(f"could not update pod {name}")


async def pods_of(client: ApiClient, namespace: str, selector: str) -> list[Obj]:
    listed = await client.list(PODS, namespace, label_selector=selector)
    return list(listed["items"])


def container(image: str = "registry.example/web:1", **extra: Any) -> Obj:
    return {"name": "web", "image": image, **extra}


def pod_template(labels: dict[str, str], image: str = "registry.example/web:1") -> Obj:
    return {"metadata": {"labels": labels}, "spec": {"containers": [container(image)]}}


async def events_for(client: ApiClient, namespace: str, name: str) -> list[Obj]:
    listed = await client.list(EVENTS, namespace, field_selector=f"involvedObject.name={name}")
    return list(listed["items"])
