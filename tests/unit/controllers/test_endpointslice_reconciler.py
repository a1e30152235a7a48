"""The EndpointSlice reconciler as tables: what the slices say, and how few writes it takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.controllers.svcobjects import (
    FakeSlices,
    node,
    node_lookup,
    pod,
    service,
)

from kubesvc.controllers.endpointslice.reconciler import SlicePlan, reconcile

Obj = dict[str, Any]
WEB = {"app": "web"}
Summary = list[tuple[tuple[tuple[str, int], ...], list[tuple[str, bool, bool, bool]]]]


def converge(svc: Obj, pods: list[Obj], store: FakeSlices | None = None, **kw: Any) -> FakeSlices:
    """Reconcile and apply until the plan is empty (at most 5 rounds)."""
    store = store or FakeSlices()
    for _ in range(5):
        plan = reconcile(svc, pods, store.list(), **kw)
        if plan.empty:
            return store
        store.apply(plan.create, plan.update, plan.delete)
    raise AssertionError("reconcile did not converge")


def summary(store: FakeSlices) -> Summary:
    """Per slice: its (port name, port) list and (address, ready, serving, terminating)s."""
    out: Summary = []
    for s in store.items.values():
        ports = tuple((p["name"], p["port"]) for p in s["ports"])
        eps = sorted(
            (
                e["addresses"][0],
                e["conditions"]["ready"],
                e["conditions"]["serving"],
                e["conditions"]["terminating"],
            )
            for e in s["endpoints"]
        )
        out.append((ports, eps))
    return sorted(out)


NAMED = [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]
WEB_PORT = [{"name": "web", "containerPort": 8080, "protocol": "TCP"}]
ALT_PORT = [{"name": "web", "containerPort": 9090, "protocol": "TCP"}]

CASES = [
    pytest.param(service(selector=WEB), [], [((), [])], id="no pods: one placeholder slice"),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1"), pod("b", "10.0.0.2")],
        [((("", 8080),), [("10.0.0.1", True, True, False), ("10.0.0.2", True, True, False)])],
        id="two ready pods: one slice, unnamed port named empty",
    ),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1", ready=False)],
        [((("", 8080),), [("10.0.0.1", False, False, False)])],
        id="not ready pod: ready and serving false",
    ),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1", deleting=True)],
        [((("", 8080),), [("10.0.0.1", False, True, True)])],
        id="terminating ready pod: serving, terminating, not ready",
    ),
    pytest.param(
        service(selector=WEB, publish_not_ready=True),
        [pod("a", "10.0.0.1", ready=False), pod("b", "10.0.0.2", deleting=True)],
        [((("", 8080),), [("10.0.0.1", True, False, False), ("10.0.0.2", True, True, True)])],
        id="publishNotReadyAddresses: everything ready",
    ),
    pytest.param(
        service(selector=WEB),
        [
            pod("noip", None),
            pod("done", "10.0.0.2", phase="Succeeded"),
            pod("failed", "10.0.0.3", phase="Failed"),
            pod("other", "10.0.0.4", labels={"app": "db"}),
            pod("elsewhere", "10.0.0.5", namespace="other"),
        ],
        [((), [])],
        id="pods without IP, terminal, unselected or in another namespace: placeholder",
    ),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1", labels={"app": "web", "tier": "x"})],
        [((("", 8080),), [("10.0.0.1", True, True, False)])],
        id="extra pod labels still match",
    ),
    pytest.param(
        service(selector={"app": "web", "tier": "x"}),
        [pod("a", "10.0.0.1")],
        [((), [])],
        id="a pod lacking one selector pair is not selected",
    ),
    pytest.param(
        service(selector=WEB, ports=NAMED),
        [
            pod("a", "10.0.0.1", ports=WEB_PORT),
            pod("b", "10.0.0.2", ports=ALT_PORT),
            pod("c", "10.0.0.3"),
        ],
        [
            ((), [("10.0.0.3", True, True, False)]),
            ((("http", 8080),), [("10.0.0.1", True, True, False)]),
            ((("http", 9090),), [("10.0.0.2", True, True, False)]),
        ],
        id="named targetPort resolved per pod; slices grouped by port list",
    ),
    pytest.param(
        service(
            selector=WEB,
            ports=[{"name": "dns", "port": 53, "targetPort": "dns", "protocol": "UDP"}],
        ),
        [pod("a", "10.0.0.1", ports=[{"name": "dns", "containerPort": 53, "protocol": "TCP"}])],
        [((), [("10.0.0.1", True, True, False)])],
        id="named port must match the protocol too",
    ),
    pytest.param(
        service(
            selector=WEB,
            ports=[
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "admin", "port": 81, "targetPort": "admin", "protocol": "TCP"},
            ],
        ),
        [pod("a", "10.0.0.1", ports=[{"name": "admin", "containerPort": 9000}])],
        [((("admin", 9000), ("http", 8080)), [("10.0.0.1", True, True, False)])],
        id="two ports, one named, both resolved",
    ),
    pytest.param(
        service(selector=WEB, cluster_ip="None", ports=[]),
        [pod("a", "10.0.0.1")],
        [((), [("10.0.0.1", True, True, False)])],
        id="headless without ports: endpoints without ports",
    ),
    pytest.param(
        service(selector=WEB, families=["IPv6"], cluster_ip="fd00::10"),
        [pod("a", ips=["10.0.0.1", "fd00::1"])],
        [((("", 8080),), [("fd00::1", True, True, False)])],
        id="IPv6 Service: IPv6 slice with the pod's IPv6 address",
    ),
    pytest.param(
        service(selector=WEB, families=["IPv6"], cluster_ip="fd00::10"),
        [pod("a", "10.0.0.1")],
        [((), [])],
        id="IPv6 Service, IPv4-only pod: placeholder",
    ),
]


@pytest.mark.parametrize(("svc", "pods", "expected"), CASES)
def test_what_the_slices_say(svc: Obj, pods: list[Obj], expected: Summary) -> None:
    assert summary(converge(svc, pods)) == expected


def test_services_that_get_no_slices() -> None:
    pods = [pod("a", "10.0.0.1")]
    assert reconcile(service(selector=None), pods, []) == SlicePlan()
    assert reconcile(service(selector={}), pods, []) == SlicePlan()
    external = service(selector=WEB, svc_type="ExternalName", cluster_ip="")
    assert reconcile(external, pods, []) == SlicePlan()


def test_a_new_slice_names_and_labels_its_service() -> None:
    svc = service(selector=WEB, labels={"team": "a", "kubernetes.io/service-name": "evil"})
    (created,) = reconcile(svc, [pod("a", "10.0.0.1")], []).create
    meta = created["metadata"]
    assert meta["generateName"] == "web-"
    assert meta["namespace"] == "default"
    assert meta["labels"] == {
        "team": "a",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": "uid-svc-web",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert created["addressType"] == "IPv4"
    (ep,) = created["endpoints"]
    assert ep["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}
    assert "hostname" not in ep and "nodeName" not in ep and "zone" not in ep


def test_headless_service_slices_carry_the_headless_label() -> None:
    svc = service(selector=WEB, cluster_ip="None")
    (created,) = reconcile(svc, [], []).create
    assert created["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert created["ports"] == [] and created["endpoints"] == []


@pytest.mark.parametrize(
    ("hostname", "subdomain", "expected"),
    [
        pytest.param("db-0", "web", "db-0", id="subdomain names the Service"),
        pytest.param("db-0", "other", None, id="subdomain names another Service"),
        pytest.param("", "web", None, id="no hostname"),
    ],
)
def test_hostname(hostname: str, subdomain: str, expected: str | None) -> None:
    p = pod("a", "10.0.0.1", hostname=hostname, subdomain=subdomain)
    (created,) = reconcile(service(selector=WEB), [p], []).create
    assert created["endpoints"][0].get("hostname") == expected


@pytest.mark.parametrize(
    ("publish", "nodes", "expected_addresses", "missing"),
    [
        pytest.param(False, [node("n1", "zone-a")], {"10.0.0.1": "zone-a"}, (), id="zone"),
        pytest.param(False, [node("n1")], {"10.0.0.1": None}, (), id="node without zone"),
        pytest.param(False, [], {}, ("n1",), id="missing node: pod left out and reported"),
        pytest.param(True, [], {"10.0.0.1": None}, (), id="missing node kept when publishing"),
    ],
)
def test_nodes(
    publish: bool, nodes: list[Obj], expected_addresses: dict[str, str | None], missing: tuple[str]
) -> None:
    svc = service(selector=WEB, publish_not_ready=publish)
    plan = reconcile(svc, [pod("a", "10.0.0.1", node="n1")], [], node_lookup=node_lookup(*nodes))
    got = {e["addresses"][0]: e.get("zone") for s in plan.create for e in s.get("endpoints") or []}
    assert got == expected_addresses
    assert plan.missing_nodes == missing
    for s in plan.create:
        for e in s["endpoints"]:
            assert e["nodeName"] == "n1"


def test_slices_hold_at_most_max_per_slice() -> None:
    pods = [pod(f"p{i}", f"10.0.0.{i}") for i in range(1, 8)]
    store = converge(service(selector=WEB), pods, max_per_slice=3)
    assert sorted(len(s["endpoints"]) for s in store.items.values()) == [1, 3, 3]
    assert len(store.endpoints()) == 7


def test_trigger_time_annotation() -> None:
    t = datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=UTC)
    (created,) = reconcile(service(selector=WEB), [], [], trigger_time=t).create
    annotations = created["metadata"]["annotations"]
    assert annotations == {
        "endpoints.kubernetes.io/last-change-trigger-time": "2024-05-06T07:08:09.12Z"
    }


def test_slices_of_another_owner_or_address_type_are_deleted() -> None:
    svc = service(selector=WEB)
    store = converge(svc, [pod("a", "10.0.0.1")])
    (mine,) = store.list()
    foreign = {**mine, "metadata": {**mine["metadata"], "name": "web-old", "ownerReferences": []}}
    v6 = {**mine, "addressType": "IPv6", "metadata": {**mine["metadata"], "name": "web-v6"}}
    plan = reconcile(svc, [pod("a", "10.0.0.1")], [mine, foreign, v6])
    assert sorted(s["metadata"]["name"] for s in plan.delete) == ["web-old", "web-v6"]
    assert not plan.create and not plan.update


def test_no_creates_while_the_service_is_being_deleted() -> None:
    plan = reconcile(service(selector=WEB, deleting=True), [pod("a", "10.0.0.1")], [])
    assert plan.create == ()


# -- churn: how the existing slices are changed ------------------------------------------------
def pods_named(*names: str, ready: bool = True) -> list[Obj]:
    return [pod(n, f"10.0.0.{int(n[1:])}", ready=ready) for n in names]


CHURN = [
    pytest.param(
        pods_named("p1", "p2"),
        pods_named("p1", "p2", ready=False),
        (0, 1, 0),
        id="readiness flip updates the slice in place",
    ),
    pytest.param(pods_named("p1", "p2"), pods_named("p1"), (0, 1, 0), id="pod gone: update"),
    pytest.param(
        pods_named("p1", "p2"), pods_named("p1", "p2", "p3"), (0, 1, 0), id="new pod joins a slice"
    ),
    pytest.param(
        pods_named("p1"),
        [],
        (0, 1, 0),
        id="last pod gone: the slice becomes the placeholder (update, not create+delete)",
    ),
    pytest.param([], pods_named("p1"), (0, 1, 0), id="first pod: the placeholder is reused"),
    pytest.param(pods_named("p1", "p2"), pods_named("p1", "p2"), (0, 0, 0), id="no change"),
    pytest.param(
        pods_named("p1", "p2", "p3"),
        pods_named("p1", "p2", "p3", "p4", "p5"),
        (1, 0, 0),
        id="a full slice stays, the rest goes to a new one",
    ),
    pytest.param(
        pods_named("p1", "p2", "p3", "p4", "p5", "p6"),
        pods_named("p1", "p3", "p5"),
        (0, 2, 0),
        id="removals from two slices: both updated, nothing created",
    ),
]


@pytest.mark.parametrize(("before", "after", "writes"), CHURN)
def test_churn(before: list[Obj], after: list[Obj], writes: tuple[int, int, int]) -> None:
    svc = service(selector=WEB)
    store = converge(svc, before, max_per_slice=3)
    plan = reconcile(svc, after, store.list(), max_per_slice=3)
    assert (len(plan.create), len(plan.update), len(plan.delete)) == writes
    store.apply(plan.create, plan.update, plan.delete)
    assert reconcile(svc, after, store.list(), max_per_slice=3).empty
    expected = summary(converge(svc, after, max_per_slice=3))
    assert sorted(e for _, eps in summary(store) for e in eps) == sorted(
        e for _, eps in expected for e in eps
    )


def test_service_label_change_relabels_slices_without_touching_endpoints() -> None:
    svc = service(selector=WEB)
    store = converge(svc, pods_named("p1"))
    relabelled = service(selector=WEB, labels={"team": "b"})
    plan = reconcile(relabelled, pods_named("p1"), store.list())
    (updated,) = plan.update
    assert updated["metadata"]["labels"]["team"] == "b"
    assert updated["endpoints"] == store.list()[0]["endpoints"]


def test_pod_resource_version_changes_do_not_update() -> None:
    svc = service(selector=WEB)
    store = converge(svc, [pod("p1", "10.0.0.1", rv="1")])
    assert reconcile(svc, [pod("p1", "10.0.0.1", rv="7")], store.list()).empty


def test_the_reconciler_does_not_change_its_inputs() -> None:
    import copy

    svc = service(selector=WEB)
    store = converge(svc, pods_named("p1", "p2"))
    existing = store.list()
    frozen = copy.deepcopy(existing)
    reconcile(svc, pods_named("p2", "p3"), existing, trigger_time=datetime.now(UTC))
    assert existing == frozen
