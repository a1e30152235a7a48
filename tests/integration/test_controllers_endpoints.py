"""Endpoints, EndpointSlice and mirroring controllers against a real API server.

Pods are created directly and marked Ready through the status subresource; the
controllers run in a ``ControllerManager`` over HTTP. Each check polls the API
with a deadline.
"""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.test_controllers_endpoints_support import (
    ENDPOINTS,
    NS,
    PODS,
    SERVICES,
    endpoints_view,
    eventually,
    get_or_none,
    make_pod,
    make_service,
    running,
    set_pod_status,
    slices_of,
    slices_view,
    until_equal,
)

from kubesvc.client.rest import ApiClient

ENDPOINT_CONTROLLERS = ["endpoints", "endpointslice", "endpointslicemirroring"]
WEB = {"app": "web"}
SPEC = {"selector": WEB, "ports": [{"port": 80, "targetPort": 8080}]}


async def views(client: ApiClient, name: str = "web") -> tuple[object, object]:
    return await endpoints_view(client, name), await slices_view(client, name)


async def test_endpoints_and_slices_follow_the_pods(api: Api) -> None:
    async with running(api, ENDPOINT_CONTROLLERS) as client:
        await make_service(client, "web", SPEC)
        # No pods yet: an empty Endpoints object and one placeholder slice.
        await until_equal(lambda: views(client), (([], []), []), "empty endpoints")
        (placeholder,) = await slices_of(client, "web")
        assert placeholder["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
            "endpointslice-controller.k8s.io"
        )
        assert not placeholder.get("ports") and not placeholder.get("endpoints")

        await make_pod(client, "a", WEB)
        await make_pod(client, "b", WEB)
        await make_pod(client, "other", {"app": "db"})
        # Pods without an IP are not endpoints yet.
        await set_pod_status(client, "a", "10.244.0.11", ready=True)
        await set_pod_status(client, "b", "10.244.0.12", ready=True)
        await set_pod_status(client, "other", "10.244.0.13", ready=True)
        both = (
            (["10.244.0.11", "10.244.0.12"], []),
            [("10.244.0.11", True, True, False), ("10.244.0.12", True, True, False)],
        )
        await until_equal(lambda: views(client), both, "two ready pods")
        (one,) = await slices_of(client, "web")
        assert one["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
        assert one["metadata"]["name"] == placeholder["metadata"]["name"], "placeholder reused"

        # Readiness flip: b moves to notReadyAddresses and its slice endpoint turns not ready.
        await set_pod_status(client, "b", "10.244.0.12", ready=False)
        flipped = (
            (["10.244.0.11"], ["10.244.0.12"]),
            [("10.244.0.11", True, True, False), ("10.244.0.12", False, False, False)],
        )
        await until_equal(lambda: views(client), flipped, "b not ready")

        # Scale up, then delete a pod.
        await make_pod(client, "c", WEB)
        await set_pod_status(client, "c", "10.244.0.14", ready=True)
        await client.delete(PODS, NS, "a", grace_period_seconds=0)
        after = (
            (["10.244.0.14"], ["10.244.0.12"]),
            [("10.244.0.12", False, False, False), ("10.244.0.14", True, True, False)],
        )
        await until_equal(lambda: views(client), after, "a gone, c in")

        # Selector change: the other pod is selected instead.
        await client.patch(SERVICES, NS, "web", {"spec": {"selector": {"app": "db"}}})
        moved = ((["10.244.0.13"], []), [("10.244.0.13", True, True, False)])
        await until_equal(lambda: views(client), moved, "selector moved")

        # The Service goes: so do its Endpoints and slices.
        await client.delete(SERVICES, NS, "web")

        async def gone() -> bool:
            return await get_or_none(client, ENDPOINTS, "web") is None and not await slices_of(
                client, "web"
            )

        await eventually(gone, "endpoints of a deleted Service removed")


async def test_named_ports_hostnames_and_labels(api: Api) -> None:
    async with running(api, ENDPOINT_CONTROLLERS) as client:
        spec = {
            "selector": WEB,
            "clusterIP": "None",
            "ports": [{"name": "http", "port": 80, "targetPort": "web"}],
        }
        await make_service(client, "web", spec, labels={"team": "a"})
        await make_pod(
            client,
            "a",
            WEB,
            ports=[{"name": "web", "containerPort": 8080}],
            hostname="a",
            subdomain="web",
        )
        await make_pod(client, "b", WEB, ports=[{"name": "web", "containerPort": 9090}])
        await set_pod_status(client, "a", "10.244.1.1", ready=True)
        await set_pod_status(client, "b", "10.244.1.2", ready=True)

        async def two_slices() -> list[tuple[int, list[str], str | None]] | None:
            slices = await slices_of(client, "web")
            got = sorted(
                (
                    s["ports"][0]["port"],
                    [a for e in s["endpoints"] for a in e["addresses"]],
                    s["endpoints"][0].get("hostname"),
                )
                for s in slices
                if s.get("ports") and s.get("endpoints")
            )
            return got if len(got) == 2 else None

        got = await eventually(two_slices, "one slice per resolved port")
        assert got == [(8080, ["10.244.1.1"], "a"), (9090, ["10.244.1.2"], None)]
        for s in await slices_of(client, "web"):
            assert s["metadata"]["labels"]["team"] == "a"
            assert s["metadata"]["labels"]["service.kubernetes.io/headless"] == ""

        async def endpoints_ready() -> dict[str, object] | None:
            ep = await get_or_none(client, ENDPOINTS, "web")
            if ep is None or len(ep.get("subsets") or []) != 2:
                return None
            return ep

        ep = await eventually(endpoints_ready, "two subsets")
        assert ep["metadata"]["labels"] == {"team": "a", "service.kubernetes.io/headless": ""}
        by_port = {s["ports"][0]["port"]: s["addresses"] for s in ep["subsets"]}
        assert by_port[8080][0]["hostname"] == "a"
        assert by_port[8080][0]["targetRef"]["name"] == "a"
        assert "hostname" not in by_port[9090][0]


async def test_a_selector_less_service_is_mirrored(api: Api) -> None:
    async with running(api, ENDPOINT_CONTROLLERS) as client:
        # The seed's external service: no selector, Endpoints written by hand.
        await make_service(client, "external", {"ports": [{"name": "db", "port": 5432}]})
        hand_written = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "external"},
            "subsets": [
                {
                    "addresses": [{"ip": "192.168.10.5"}, {"ip": "192.168.10.6"}],
                    "ports": [{"name": "db", "port": 5432}],
                }
            ],
        }
        await client.create(ENDPOINTS, hand_written, namespace=NS)
        mirror = "endpointslicemirroring-controller.k8s.io"

        async def mirrored() -> list[tuple[str, bool]]:
            return sorted(
                (a, e["conditions"]["ready"])
                for s in await slices_of(client, "external", mirror)
                for e in s.get("endpoints") or []
                for a in e["addresses"]
            )

        await until_equal(
            mirrored, [("192.168.10.5", True), ("192.168.10.6", True)], "mirrored slice"
        )
        (s,) = await slices_of(client, "external", mirror)
        assert s["ports"] == [{"name": "db", "port": 5432, "protocol": "TCP"}]
        assert s["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"

        # The user edits the Endpoints: the mirror follows; the controllers never touch it.
        hand_written = await client.get(ENDPOINTS, NS, "external")
        hand_written["subsets"][0]["addresses"] = [{"ip": "192.168.10.7"}]
        await client.update(ENDPOINTS, hand_written, namespace=NS)
        await until_equal(mirrored, [("192.168.10.7", True)], "mirror follows the edit")
        assert await endpoints_view(client, "external") == (["192.168.10.7"], [])
        assert not await slices_of(client, "external", "endpointslice-controller.k8s.io")

        # The kubernetes Service's Endpoints carry skip-mirror: no mirrored slice.
        assert not await slices_of(client, "kubernetes", mirror)

        # Deleting the Endpoints deletes the mirrored slice.
        await client.delete(ENDPOINTS, NS, "external")
        await until_equal(mirrored, [], "mirror removed")


async def test_pods_readied_before_the_controllers_start_are_found(api: Api) -> None:
    async with running(api, []) as client:
        await make_service(client, "web", SPEC)
        await make_pod(client, "a", WEB)
        await set_pod_status(client, "a", "10.244.2.1", ready=True)
    async with running(api, ENDPOINT_CONTROLLERS) as client:
        want = ((["10.244.2.1"], []), [("10.244.2.1", True, True, False)])
        await until_equal(lambda: views(client), want, "cold start")


async def test_a_selector_matching_no_pods_gets_one_event(api: Api) -> None:
    async with running(api, ["endpointslice"]) as client:
        await make_service(
            client, "lonely", {"selector": {"app": "nobody"}, "ports": [{"port": 80}]}
        )

        async def events() -> list[dict[str, object]] | None:
            page = await client.list(
                ("v1", "Event"), namespace=NS, field_selector="involvedObject.name=lonely"
            )
            found = [e for e in page["items"] if e.get("reason") == "SelectorMatchesNoPods"]
            return found or None

        (event,) = await eventually(events, "SelectorMatchesNoPods event")
        assert "app=nobody" in str(event["message"])
        assert event["type"] == "Normal"
        assert event.get("count", 1) == 1
