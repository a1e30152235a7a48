"""Mirroring hand-written Endpoints into EndpointSlices, as tables."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.controllers.svcobjects import FakeSlices, endpoints

from kubesvc.controllers.endpointslicemirroring import (
    canonical_ip,
    reconcile_mirroring,
    should_mirror,
)

Obj = dict[str, Any]
PORT = [{"name": "http", "port": 80, "protocol": "TCP"}]


def converge(ep: Obj, store: FakeSlices | None = None, **kw: Any) -> FakeSlices:
    store = store or FakeSlices()
    for _ in range(4):
        plan = reconcile_mirroring(ep, store.list(), **kw)
        if plan.empty:
            return store
        store.apply(plan.create, plan.update, plan.delete)
    raise AssertionError("mirroring did not converge")


def summary(store: FakeSlices) -> list[tuple[str, list[tuple[str, int]], list[tuple[str, bool]]]]:
    return sorted(
        (
            s["addressType"],
            [(p["name"], p["port"]) for p in s["ports"]],
            sorted((e["addresses"][0], e["conditions"]["ready"]) for e in s["endpoints"]),
        )
        for s in store.items.values()
    )


CASES = [
    pytest.param([], [], id="no subsets: no slices"),
    pytest.param(
        [{"addresses": [{"ip": "192.168.1.2"}, {"ip": "192.168.1.1"}], "ports": PORT}],
        [("IPv4", [("http", 80)], [("192.168.1.1", True), ("192.168.1.2", True)])],
        id="the seed's external service: one slice",
    ),
    pytest.param(
        [
            {
                "addresses": [{"ip": "10.0.0.1"}],
                "notReadyAddresses": [{"ip": "10.0.0.2"}],
                "ports": PORT,
            }
        ],
        [("IPv4", [("http", 80)], [("10.0.0.1", True), ("10.0.0.2", False)])],
        id="not ready addresses mirrored as not ready",
    ),
    pytest.param(
        [
            {"addresses": [{"ip": "10.0.0.1"}], "ports": PORT},
            {"addresses": [{"ip": "10.0.0.2"}], "ports": [{"port": 81, "protocol": "TCP"}]},
        ],
        [
            ("IPv4", [("", 81)], [("10.0.0.2", True)]),
            ("IPv4", [("http", 80)], [("10.0.0.1", True)]),
        ],
        id="one slice per subset; an unnamed port is named empty",
    ),
    pytest.param(
        [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "ports": PORT}],
        [
            ("IPv4", [("http", 80)], [("10.0.0.1", True)]),
            ("IPv6", [("http", 80)], [("fd00::1", True)]),
        ],
        id="one slice per address type",
    ),
    pytest.param(
        [{"addresses": [{"ip": "010.000.000.001"}, {"ip": "::ffff:10.0.0.2"}], "ports": PORT}],
        [("IPv4", [("http", 80)], [("10.0.0.1", True), ("10.0.0.2", True)])],
        id="addresses written canonically",
    ),
    pytest.param(
        [{"addresses": [{"ip": "not-an-ip"}, {"ip": "10.0.0.1"}], "ports": PORT}],
        [("IPv4", [("http", 80)], [("10.0.0.1", True)])],
        id="invalid address skipped",
    ),
]


@pytest.mark.parametrize(("subsets", "expected"), CASES)
def test_what_is_mirrored(subsets: list[Obj], expected: list[Any]) -> None:
    assert summary(converge(endpoints(subsets=subsets))) == expected


def test_mirrored_slices_name_their_source() -> None:
    ep = endpoints(
        subsets=[
            {"addresses": [{"ip": "10.0.0.1", "nodeName": "n1", "hostname": "h"}], "ports": PORT}
        ],
        labels={"team": "a"},
        annotations={
            "note": "x",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "endpoints.kubernetes.io/last-change-trigger-time": "2024-01-01T00:00:00Z",
        },
    )
    (created,) = reconcile_mirroring(ep, []).create
    meta = created["metadata"]
    assert meta["generateName"] == "web-"
    assert meta["labels"] == {
        "team": "a",
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io",
    }
    assert meta["annotations"] == {"note": "x"}
    assert meta["ownerReferences"][0]["kind"] == "Endpoints"
    assert meta["ownerReferences"][0]["uid"] == "uid-ep-web"
    assert created["endpoints"] == [
        {
            "addresses": ["10.0.0.1"],
            "conditions": {"ready": True},
            "hostname": "h",
            "nodeName": "n1",
        }
    ]


def test_counts_of_what_was_not_mirrored() -> None:
    ep = endpoints(
        subsets=[
            {
                "addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)] + [{"ip": "x"}],
                "ports": PORT,
            }
        ]
    )
    plan = reconcile_mirroring(ep, [], max_per_subset=3)
    assert plan.invalid_addresses == 0  # the invalid one was beyond the limit anyway
    assert plan.skipped_addresses == 3
    assert len(plan.create[0]["endpoints"]) == 3
    plan = reconcile_mirroring(ep, [])
    assert (plan.invalid_addresses, plan.skipped_addresses) == (1, 1)


@pytest.mark.parametrize(
    ("change", "writes"),
    [
        pytest.param(lambda ep: None, (0, 0, 0), id="unchanged: nothing"),
        pytest.param(
            lambda ep: ep["subsets"][0]["addresses"].append({"ip": "10.0.0.9"}),
            (0, 1, 0),
            id="address added: update",
        ),
        pytest.param(
            lambda ep: ep["metadata"].update(labels={"x": "y"}), (0, 1, 0), id="labels: update"
        ),
        pytest.param(
            lambda ep: ep["metadata"].update(annotations={"x": "y"}),
            (0, 1, 0),
            id="annotations: update",
        ),
        pytest.param(
            lambda ep: ep["subsets"][0].update(
                ports=[{"name": "h", "port": 8080, "protocol": "TCP"}]
            ),
            (0, 1, 0),
            id="ports changed: the old slice is reused",
        ),
        pytest.param(lambda ep: ep.update(subsets=[]), (0, 0, 1), id="emptied: delete"),
    ],
)
def test_changes(change: Any, writes: tuple[int, int, int]) -> None:
    ep = endpoints(subsets=[{"addresses": [{"ip": "10.0.0.1"}], "ports": PORT}])
    store = converge(ep)
    change(ep)
    plan = reconcile_mirroring(ep, store.list())
    assert (len(plan.create), len(plan.update), len(plan.delete)) == writes
    store.apply(plan.create, plan.update, plan.delete)
    assert reconcile_mirroring(ep, store.list()).empty


def test_extra_slices_of_a_group_are_deleted() -> None:
    ep = endpoints(subsets=[{"addresses": [{"ip": "10.0.0.1"}], "ports": PORT}])
    store = converge(ep)
    (one,) = store.list()
    twin = {**one, "metadata": {**one["metadata"], "name": "web-zzz"}}
    plan = reconcile_mirroring(ep, [one, twin])
    assert [s["metadata"]["name"] for s in plan.delete] == ["web-zzz"]


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        pytest.param({}, True, id="plain"),
        pytest.param(
            {"labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}}, False, id="skip"
        ),
        pytest.param(
            {"annotations": {"control-plane.alpha.kubernetes.io/leader": "{}"}},
            False,
            id="leader election record",
        ),
    ],
)
def test_should_mirror(meta: Obj, expected: bool) -> None:
    assert should_mirror(endpoints(**meta)) is expected
    assert should_mirror(None) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.1.2.3", ("10.1.2.3", "IPv4")),
        ("010.001.002.003", ("10.1.2.3", "IPv4")),
        ("10.1.2.256", None),
        ("fd00:0::1", ("fd00::1", "IPv6")),
        ("::ffff:1.2.3.4", ("1.2.3.4", "IPv4")),
        ("host.example", None),
        ("", None),
    ],
)
def test_canonical_ip(text: str, expected: tuple[str, str] | None) -> None:
    assert canonical_ip(text) == expected
