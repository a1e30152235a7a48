"""The built-in LoadBalancer controller against a real API server: a pool of two addresses."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.test_controllers_endpoints_support import (
    NS,
    SERVICES,
    events_for,
    eventually,
    get_or_none,
    make_service,
    running,
    until_equal,
)

from kubesvc.client.rest import ApiClient
from kubesvc.controllers.context import ControllerSettings

POOL = ControllerSettings(lb_ip_pool=("192.168.50.1-192.168.50.2",))
LB = {"type": "LoadBalancer", "ports": [{"port": 80}]}


async def ingress(client: ApiClient, name: str) -> list[dict[str, str]]:
    svc = await get_or_none(client, SERVICES, name)
    if svc is None:
        return []
    return list(((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


async def ips(client: ApiClient, name: str) -> list[str]:
    return [i["ip"] for i in await ingress(client, name)]


async def reasons(client: ApiClient, name: str) -> list[tuple[str, str, str]]:
    return sorted(
        (e["type"], e["reason"], e["message"]) for e in await events_for(client, "Service", name)
    )


async def test_addresses_from_the_pool(api: Api) -> None:
    async with running(api, ["loadbalancer"], POOL) as client:
        await make_service(client, "one", LB)
        await until_equal(lambda: ips(client, "one"), ["192.168.50.1"], "first address")
        assert await ingress(client, "one") == [{"ip": "192.168.50.1", "ipMode": "VIP"}]
        await until_equal(
            lambda: reasons(client, "one"),
            [("Normal", "IPAllocated", 'Assigned IP ["192.168.50.1"]')],
            "IPAllocated event",
        )
        await make_service(client, "two", LB)
        await until_equal(lambda: ips(client, "two"), ["192.168.50.2"], "second address")

        # The pool is exhausted: the third Service says so in a Warning event.
        await make_service(client, "three", LB)
        failed = (
            "Warning",
            "AllocationFailed",
            'Failed to allocate IP for "default/three": no available IPs',
        )
        await until_equal(lambda: reasons(client, "three"), [failed], "AllocationFailed event")
        assert await ips(client, "three") == []

        # Deleting a Service frees its address for the one waiting.
        await client.delete(SERVICES, NS, "one")
        await until_equal(lambda: ips(client, "three"), ["192.168.50.1"], "freed address reused")

        # A type change away from LoadBalancer clears the status and frees the address.
        await client.patch(SERVICES, NS, "two", {"spec": {"type": "ClusterIP"}})
        await until_equal(lambda: ips(client, "two"), [], "status cleared")
        await make_service(client, "four", LB)
        await until_equal(lambda: ips(client, "four"), ["192.168.50.2"], "address reused")


async def test_requested_addresses_and_classes(api: Api) -> None:
    async with running(api, ["loadbalancer"], POOL) as client:
        wanted = {"metallb.universe.tf/loadBalancerIPs": "192.168.50.2"}
        await make_service(client, "pinned", LB, annotations=wanted)
        await until_equal(lambda: ips(client, "pinned"), ["192.168.50.2"], "requested address")

        outside = {"kube-vip.io/loadbalancerIPs": "10.9.9.9"}
        await make_service(client, "outside", LB, annotations=outside)
        failed = (
            "Warning",
            "AllocationFailed",
            'Failed to allocate IP for "default/outside": requested IP 10.9.9.9 is not in the '
            "address pool",
        )
        await until_equal(lambda: reasons(client, "outside"), [failed], "outside the pool")

        other = {**LB, "loadBalancerClass": "example.com/other"}
        await make_service(client, "foreign", other)
        ours = {**LB, "loadBalancerClass": "kubesvc.io/lb"}
        await make_service(client, "ours", ours)
        await until_equal(lambda: ips(client, "ours"), ["192.168.50.1"], "our class served")
        assert await ips(client, "foreign") == []
        assert await events_for(client, "Service", "foreign") == []


async def test_assignments_survive_a_controller_restart(api: Api) -> None:
    async with running(api, ["loadbalancer"], POOL) as client:
        await make_service(client, "a", LB)
        await make_service(client, "b", LB)

        async def both() -> bool:
            return bool(await ips(client, "a")) and bool(await ips(client, "b"))

        await eventually(both, "both assigned")
        before = (await ips(client, "a"), await ips(client, "b"))
    async with running(api, ["loadbalancer"], POOL) as client:
        await make_service(client, "c", LB)
        failed = (
            "Warning",
            "AllocationFailed",
            'Failed to allocate IP for "default/c": no available IPs',
        )
        await until_equal(lambda: reasons(client, "c"), [failed], "pool still full after restart")
        assert (await ips(client, "a"), await ips(client, "b")) == before
