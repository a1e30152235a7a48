"""The Endpoints reconciler: subsets, repacking, truncation, labels and no-op detection."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.controllers.svcobjects import endpoints, pod, service

from kubesvc.controllers.endpoints import (
    NOTHING,
    reconcile_endpoints,
    repack_subsets,
    truncate_subsets,
)

Obj = dict[str, Any]
WEB = {"app": "web"}


def ips(subset: Obj, field: str = "addresses") -> list[str]:
    return [a["ip"] for a in subset.get(field) or []]


def shape(subsets: list[Obj]) -> list[tuple[list[tuple[str, int]], list[str], list[str]]]:
    """Per subset: (name, port)s, ready IPs, not-ready IPs."""
    return [
        (
            [(p.get("name", ""), p["port"]) for p in s.get("ports") or []],
            ips(s),
            ips(s, "notReadyAddresses"),
        )
        for s in subsets
    ]


def subsets_for(svc: Obj, pods: list[Obj]) -> list[Obj]:
    plan = reconcile_endpoints(svc, pods, None)
    assert plan.endpoints is not None
    return list(plan.endpoints["subsets"])


TWO_PORTS = [
    {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
    {"name": "admin", "port": 81, "targetPort": "admin", "protocol": "TCP"},
]

CASES = [
    pytest.param(service(selector=WEB), [], [], id="no pods: no subsets"),
    pytest.param(
        service(selector=WEB),
        [pod("b", "10.0.0.2"), pod("a", "10.0.0.1")],
        [([("", 8080)], ["10.0.0.1", "10.0.0.2"], [])],
        id="ready pods, sorted by IP",
    ),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)],
        [([("", 8080)], ["10.0.0.1"], ["10.0.0.2"])],
        id="not ready pod in notReadyAddresses",
    ),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1", deleting=True), pod("b", "10.0.0.2")],
        [([("", 8080)], ["10.0.0.2"], [])],
        id="terminating pod leaves at once",
    ),
    pytest.param(
        service(selector=WEB, publish_not_ready=True),
        [pod("a", "10.0.0.1", deleting=True), pod("b", "10.0.0.2", ready=False)],
        [([("", 8080)], ["10.0.0.1", "10.0.0.2"], [])],
        id="publishNotReadyAddresses: all ready, terminating kept",
    ),
    pytest.param(
        service(selector=WEB, ports=TWO_PORTS),
        [
            pod("a", "10.0.0.1", ports=[{"name": "admin", "containerPort": 9000}]),
            pod("b", "10.0.0.2", ports=[{"name": "admin", "containerPort": 9000}]),
            pod("c", "10.0.0.3"),
        ],
        [
            ([("admin", 9000)], ["10.0.0.1", "10.0.0.2"], []),
            ([("http", 8080)], ["10.0.0.1", "10.0.0.2", "10.0.0.3"], []),
        ],
        id="one subset per distinct address set: a port only some pods serve",
    ),
    pytest.param(
        service(selector=WEB, cluster_ip="None", ports=[]),
        [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)],
        [([], ["10.0.0.1"], ["10.0.0.2"])],
        id="headless without ports: port-less subset",
    ),
    pytest.param(
        service(selector=WEB, ports=[]),
        [pod("a", "10.0.0.1")],
        [],
        id="no ports and not headless: nothing",
    ),
    pytest.param(
        service(selector=WEB),
        [pod("a", "10.0.0.1", phase="Succeeded"), pod("b", None)],
        [],
        id="terminal pods and pods without IP: nothing",
    ),
    pytest.param(
        service(selector=WEB, families=["IPv6"], cluster_ip="fd00::10"),
        [pod("a", ips=["10.0.0.1", "fd00::1"]), pod("b", "10.0.0.2")],
        [([("", 8080)], ["fd00::1"], [])],
        id="the primary family's pod IP; pods without one are skipped",
    ),
]


@pytest.mark.parametrize(("svc", "pods", "expected"), CASES)
def test_subsets(svc: Obj, pods: list[Obj], expected: list[Any]) -> None:
    assert shape(subsets_for(svc, pods)) == expected


def test_an_address_names_its_pod_node_and_hostname() -> None:
    p = pod("a", "10.0.0.1", node="n1", hostname="a", subdomain="web")
    (subset,) = subsets_for(service(selector=WEB), [p])
    assert subset["addresses"] == [
        {
            "ip": "10.0.0.1",
            "hostname": "a",
            "nodeName": "n1",
            "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"},
        }
    ]
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("subsets", "expected"),
    [
        pytest.param(
            [
                {"addresses": [{"ip": "10.0.0.2"}], "ports": [{"name": "a", "port": 1}]},
                {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "a", "port": 1}]},
            ],
            [([("a", 1)], ["10.0.0.1", "10.0.0.2"], [])],
            id="same port: merged and sorted",
        ),
        pytest.param(
            [
                {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "a", "port": 1}]},
                {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "b", "port": 2}]},
            ],
            [([("a", 1), ("b", 2)], ["10.0.0.1"], [])],
            id="same addresses: ports merged",
        ),
        pytest.param(
            [
                {"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "a", "port": 1}]},
                {"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "a", "port": 1}]},
            ],
            [([("a", 1)], [], ["10.0.0.1"])],
            id="not ready wins over ready",
        ),
    ],
)
def test_repack(subsets: list[Obj], expected: list[Any]) -> None:
    assert shape(repack_subsets(subsets)) == expected


def addrs(prefix: str, n: int) -> list[Obj]:
    return [{"ip": f"{prefix}.{i // 250}.{i % 250}"} for i in range(n)]


@pytest.mark.parametrize(
    ("sizes", "capacity", "expected"),
    [
        pytest.param([(3, 2)], 10, [(3, 2)], id="under capacity: untouched"),
        pytest.param([(3, 4)], 5, [(3, 2)], id="ready kept, not ready trimmed"),
        pytest.param([(6, 4)], 5, [(5, 0)], id="too many ready: not ready all dropped"),
        pytest.param(
            [(6, 0), (2, 0)], 4, [(3, 0), (1, 0)], id="ready shared out per subset, rounded up"
        ),
        pytest.param(
            [(1, 5), (1, 3)], 6, [(1, 3), (1, 1)], id="not ready shared out in what is left"
        ),
    ],
)
def test_truncate(
    sizes: list[tuple[int, int]], capacity: int, expected: list[tuple[int, int]]
) -> None:
    subsets = [
        {"addresses": addrs(f"10.{i}", r), "notReadyAddresses": addrs(f"11.{i}", nr)}
        for i, (r, nr) in enumerate(sizes)
    ]
    out, truncated = truncate_subsets(subsets, capacity)
    got = [(len(s.get("addresses") or []), len(s.get("notReadyAddresses") or [])) for s in out]
    assert got == expected
    assert truncated == (sizes != expected)


def test_over_capacity_is_annotated() -> None:
    pods = [pod(f"p{i}", f"10.0.{i // 200}.{i % 200}") for i in range(5)]
    plan = reconcile_endpoints(service(selector=WEB), pods, None, max_capacity=3)
    assert plan.endpoints is not None
    assert plan.endpoints["metadata"]["annotations"] == {
        "endpoints.kubernetes.io/over-capacity": "truncated"
    }
    assert sum(len(s["addresses"]) for s in plan.endpoints["subsets"]) == 3


def test_new_endpoints_carry_the_service_labels_and_trigger_time() -> None:
    svc = service(selector=WEB, labels={"team": "a"})
    t = datetime(2024, 1, 1, tzinfo=UTC)
    plan = reconcile_endpoints(svc, [], None, trigger_time=t)
    assert plan.action == "create"
    assert plan.endpoints is not None
    assert plan.endpoints["metadata"] == {
        "name": "web",
        "namespace": "default",
        "labels": {"team": "a"},
        "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2024-01-01T00:00:00Z"},
    }


def test_headless_endpoints_are_labelled() -> None:
    plan = reconcile_endpoints(service(selector=WEB, cluster_ip="None"), [], None)
    assert plan.endpoints is not None
    assert plan.endpoints["metadata"]["labels"] == {"service.kubernetes.io/headless": ""}


def written(svc: Obj, pods: list[Obj]) -> Obj:
    plan = reconcile_endpoints(svc, pods, None)
    assert plan.endpoints is not None
    ep = copy.deepcopy(plan.endpoints)
    ep["metadata"].update(uid="uid-ep", resourceVersion="5")
    return ep


def test_no_write_when_nothing_changed() -> None:
    svc = service(selector=WEB, cluster_ip="None")
    pods = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)]
    current = written(svc, pods)
    assert reconcile_endpoints(svc, pods, current) == NOTHING
    # A pod's resourceVersion recorded in the reference does not matter.
    current["subsets"][0]["addresses"][0]["targetRef"]["resourceVersion"] = "77"
    assert reconcile_endpoints(svc, pods, current) == NOTHING


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda svc, pods: pods[1]["status"]["conditions"][0].update(status="True"), id="ready"
        ),
        pytest.param(lambda svc, pods: pods.pop(), id="pod gone"),
        pytest.param(lambda svc, pods: svc["metadata"].update(labels={"x": "y"}), id="labels"),
    ],
)
def test_an_update_when_something_changed(change: Any) -> None:
    svc = service(selector=WEB)
    pods = [pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)]
    current = written(svc, pods)
    change(svc, pods)
    plan = reconcile_endpoints(svc, pods, current)
    assert plan.action == "update"
    assert plan.endpoints is not None
    assert plan.endpoints["metadata"]["resourceVersion"] == "5"


def test_a_wrong_capacity_annotation_is_removed() -> None:
    svc = service(selector=WEB)
    current = written(svc, [])
    current["metadata"]["annotations"] = {"endpoints.kubernetes.io/over-capacity": "truncated"}
    plan = reconcile_endpoints(svc, [], current)
    assert plan.endpoints is not None
    assert "annotations" not in plan.endpoints["metadata"]


def test_selector_less_and_external_name_services_are_left_alone() -> None:
    user = endpoints(subsets=[{"addresses": [{"ip": "1.2.3.4"}], "ports": [{"port": 80}]}])
    assert reconcile_endpoints(service(selector=None), [], user) == NOTHING
    external = service(selector=WEB, svc_type="ExternalName", cluster_ip="")
    assert reconcile_endpoints(external, [pod("a")], None) == NOTHING
