"""Support for the endpoints and LoadBalancer controller integration tests (no tests here).

``running(api, names, settings)`` runs a ``ControllerManager`` with the named
controllers against the in-process API server through a real ``ApiClient``.
Pods are created directly and made Ready through the status subresource, as a
node agent would. Every wait is bounded polling of the API, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from tests.integration.conftest import Api

from kubesvc.api import errors
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
SERVICES = resolve(("v1", "Service"))
ENDPOINTS = resolve(("v1", "Endpoints"))
SLICES = resolve(("discovery.k8s.io/v1", "EndpointSlice"))
EVENTS = resolve(("v1", "Event"))
NS = "default"


@contextlib.asynccontextmanager
async def running(
    api: Api, names: list[str], settings: ControllerSettings | None = None
) -> AsyncIterator[ApiClient]:
    """The named controllers running against ``api``; yields a client for the test."""
    client = ApiClient(ClientConfig(api.base), field_manager="test")
    informer_settings = InformerSettings(backoff=BackoffPolicy(initial=0.01, cap=0.05))
    factory = InformerFactory(client, settings=informer_settings)
    ctx = ControllerContext(client, factory, settings or ControllerSettings(workers=2))
    manager = ControllerManager(ctx, names)
    stop = asyncio.Event()
    task = asyncio.create_task(manager.run(stop))
    try:
        await asyncio.wait_for(manager.ready.wait(), 10)
        yield client
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.close()


DEADLINE = 10.0


async def eventually(check: Callable[[], Awaitable[T | None]], what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy (at most ``DEADLINE`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    last: T | None = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} not reached in {DEADLINE} s (last: {last!r})")


async def until_equal(get: Callable[[], Awaitable[T]], want: T, what: str = "value") -> None:
    """Poll ``get`` until it returns ``want`` (bounded)."""
    seen: list[T] = []

    async def check() -> bool:
        seen.append(await get())
        return seen[-1] == want

    try:
        await eventually(check, what)
    except AssertionError:
        raise AssertionError(f"{what}: wanted {want!r}, last saw {seen[-1]!r}") from None


async def make_service(client: ApiClient, name: str, spec: Obj, **meta: Any) -> Obj:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta}, "spec": spec}
    return await client.create(SERVICES, body, namespace=NS)


async def make_pod(
    client: ApiClient,
    name: str,
    labels: dict[str, str],
    *,
    ports: list[Obj] | None = None,
    hostname: str = "",
    subdomain: str = "",
) -> Obj:
    container: Obj = {"name": "app", "image": "example/app:1"}
    if ports:
        container["ports"] = ports
    spec: Obj = {"containers": [container]}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}}
    body["spec"] = spec
    return await client.create(PODS, body, namespace=NS)


async def set_pod_status(client: ApiClient, name: str, ip: str, ready: bool) -> None:
    """What a node agent reports: Running, the pod IP, and the Ready condition."""
    status = {
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    await client.patch(PODS, NS, name, {"status": status}, subresource="status")


async def get_or_none(client: ApiClient, resource: Any, name: str) -> Obj | None:
    try:
        return await client.get(resource, NS, name)
    except errors.NotFound:
        return None


async def endpoints_view(client: ApiClient, name: str) -> tuple[list[str], list[str]] | None:
    """(ready IPs, not-ready IPs) of the Endpoints ``name``, sorted; None if absent."""
    ep = await get_or_none(client, ENDPOINTS, name)
    if ep is None:
        return None
    ready: list[str] = []
    not_ready: list[str] = []
    for s in ep.get("subsets") or []:
        ready += [a["ip"] for a in s.get("addresses") or []]
        not_ready += [a["ip"] for a in s.get("notReadyAddresses") or []]
    return sorted(ready), sorted(not_ready)


async def slices_of(client: ApiClient, service: str, managed_by: str = "") -> list[Obj]:
    selector = f"kubernetes.io/service-name={service}"
    if managed_by:
        selector += f",endpointslice.kubernetes.io/managed-by={managed_by}"
    listed = await client.list(SLICES, NS, label_selector=selector)
    return list(listed.get("items") or [])


async def slices_view(client: ApiClient, service: str) -> list[tuple[str, bool, bool, bool]]:
    """Every (address, ready, serving, terminating) in the Service's slices, sorted."""
    out = []
    for s in await slices_of(client, service):
        for e in s.get("endpoints") or []:
            c = e.get("conditions") or {}
            out += [
                (a, c.get("ready"), c.get("serving"), c.get("terminating")) for a in e["addresses"]
            ]
    return sorted(out)


async def events_for(client: ApiClient, kind: str, name: str) -> list[Obj]:
    listed = await client.list(
        EVENTS, NS, field_selector=f"involvedObject.kind={kind},involvedObject.name={name}"
    )
    return list(listed.get("items") or [])
