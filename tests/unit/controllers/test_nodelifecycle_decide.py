"""The node lifecycle controller's pure decisions: heartbeats, staleness, conditions, taints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesvc.controllers.nodelifecycle import (
    NodeHealth,
    desired_taints,
    observe,
    pod_not_ready,
    time_left,
    unknown_conditions,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 11, 59, 0, tzinfo=UTC)
T2 = datetime(2024, 5, 1, 11, 59, 30, tzinfo=UTC)


def node(*conditions: Obj, taints: list[Obj] | None = None, unschedulable: bool = False) -> Obj:
    spec: Obj = {}
    if taints is not None:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": "n1", "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": spec,
        "status": {"conditions": list(conditions)},
    }


def ready(status: str = "True", beat: str = "2024-05-01T11:59:00Z") -> Obj:
    return {"type": "Ready", "status": status, "lastHeartbeatTime": beat, "reason": "KubeletReady"}


def lease(renew: datetime) -> Obj:
    return {"spec": {"renewTime": renew.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}


@pytest.mark.parametrize(
    ("prev", "obj", "lease_obj", "expected"),
    [
        pytest.param(
            None,
            node(ready()),
            None,
            NodeHealth(100.0, "2024-05-01T11:59:00Z", None),
            id="first-sight-is-a-probe",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:59:00Z", None),
            node(ready()),
            None,
            NodeHealth(10.0, "2024-05-01T11:59:00Z", None),
            id="nothing-new",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:58:00Z", None),
            node(ready()),
            None,
            NodeHealth(100.0, "2024-05-01T11:59:00Z", None),
            id="status-heartbeat",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:59:00Z", T1),
            node(ready()),
            lease(T2),
            NodeHealth(100.0, "2024-05-01T11:59:00Z", T2),
            id="lease-renewed",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:59:00Z", None),
            node(ready()),
            lease(T1),
            NodeHealth(100.0, "2024-05-01T11:59:00Z", T1),
            id="lease-appears",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:59:00Z", T2),
            node(ready()),
            lease(T2),
            NodeHealth(10.0, "2024-05-01T11:59:00Z", T2),
            id="lease-unchanged",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:59:00Z", T2),
            node(ready()),
            lease(T1),
            NodeHealth(10.0, "2024-05-01T11:59:00Z", T2),
            id="older-lease-is-no-heartbeat",
        ),
        pytest.param(
            NodeHealth(10.0, "2024-05-01T11:59:00Z", None),
            node(ready(status="Unknown")),
            None,
            NodeHealth(10.0, "2024-05-01T11:59:00Z", None),
            id="a-status-change-without-heartbeat-is-none",
        ),
    ],
)
def test_observe(
    prev: NodeHealth | None, obj: Obj, lease_obj: Obj | None, expected: NodeHealth
) -> None:
    assert observe(prev, obj, lease_obj, 100.0) == expected


@pytest.mark.parametrize(
    ("probe", "obj", "now", "left"),
    [
        pytest.param(0.0, node(ready()), 10.0, 40.0, id="fresh"),
        pytest.param(0.0, node(ready()), 50.0, 0.0, id="exactly-at-grace"),
        pytest.param(0.0, node(ready()), 75.0, -25.0, id="silent"),
        pytest.param(0.0, node(), 50.0, 10.0, id="never-posted-gets-startup-grace"),
        pytest.param(0.0, node(), 61.0, -1.0, id="never-posted-past-startup-grace"),
        pytest.param(30.0, node(ready("Unknown")), 75.0, 5.0, id="counted-from-the-last-probe"),
    ],
)
def test_time_left(probe: float, obj: Obj, now: float, left: float) -> None:
    health = NodeHealth(probe, "", None)
    assert time_left(health, obj, now, grace=50.0, startup_grace=60.0) == left


def test_unknown_conditions_of_a_silent_node() -> None:
    pressure = {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"}
    network = {"type": "NetworkUnavailable", "status": "False"}
    got = unknown_conditions(node(ready(), pressure, network), NOW)
    assert got == [
        {
            "type": "Ready",
            "status": "Unknown",
            "lastHeartbeatTime": "2024-05-01T11:59:00Z",
            "lastTransitionTime": "2024-05-01T12:00:00Z",
            "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.",
        },
        {
            "type": "MemoryPressure",
            "status": "Unknown",
            "lastTransitionTime": "2024-05-01T12:00:00Z",
            "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.",
        },
        network,
        {
            "type": "DiskPressure",
            "status": "Unknown",
            "lastHeartbeatTime": "2024-05-01T10:00:00Z",
            "lastTransitionTime": "2024-05-01T12:00:00Z",
            "reason": "NodeStatusNeverUpdated",
            "message": "Kubelet never posted node status.",
        },
        {
            "type": "PIDPressure",
            "status": "Unknown",
            "lastHeartbeatTime": "2024-05-01T10:00:00Z",
            "lastTransitionTime": "2024-05-01T12:00:00Z",
            "reason": "NodeStatusNeverUpdated",
            "message": "Kubelet never posted node status.",
        },
    ]
    assert unknown_conditions(node(*got), NOW) is None, "already Unknown: nothing to write"


UNREACHABLE_NS = ("node.kubernetes.io/unreachable", "NoSchedule")
UNREACHABLE_NE = ("node.kubernetes.io/unreachable", "NoExecute")
NOT_READY_NS = ("node.kubernetes.io/not-ready", "NoSchedule")
NOT_READY_NE = ("node.kubernetes.io/not-ready", "NoExecute")


def taint(key: str, effect: str, **extra: str) -> Obj:
    return {"key": key, "effect": effect, **extra}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(node(ready()), None, id="ready-untainted"),
        pytest.param(node(), None, id="no-conditions-yet"),
        pytest.param(node(ready("Unknown")), [UNREACHABLE_NS, UNREACHABLE_NE], id="unreachable"),
        pytest.param(node(ready("False")), [NOT_READY_NS, NOT_READY_NE], id="not-ready"),
        pytest.param(
            node(ready("False"), taints=[taint(*UNREACHABLE_NS), taint(*UNREACHABLE_NE)]),
            [NOT_READY_NS, NOT_READY_NE],
            id="unreachable-swapped-for-not-ready",
        ),
        pytest.param(
            node(ready(), taints=[taint(*UNREACHABLE_NS), taint("team", "NoSchedule")]),
            [("team", "NoSchedule")],
            id="back-ready-keeps-foreign-taints",
        ),
        pytest.param(
            node(ready(), {"type": "DiskPressure", "status": "True"}),
            [("node.kubernetes.io/disk-pressure", "NoSchedule")],
            id="pressure",
        ),
        pytest.param(
            node(ready(), {"type": "NetworkUnavailable", "status": "True"}),
            [("node.kubernetes.io/network-unavailable", "NoSchedule")],
            id="network",
        ),
        pytest.param(
            node(ready(), unschedulable=True),
            [("node.kubernetes.io/unschedulable", "NoSchedule")],
            id="cordoned",
        ),
        pytest.param(
            node(ready(), taints=[taint("node.kubernetes.io/unschedulable", "NoSchedule")]),
            [],
            id="uncordoned",
        ),
        pytest.param(
            node(ready("Unknown"), taints=[taint(*UNREACHABLE_NS), taint(*UNREACHABLE_NE)]),
            None,
            id="already-right",
        ),
    ],
)
def test_desired_taints(obj: Obj, expected: list[tuple[str, str]] | None) -> None:
    got = desired_taints(obj, NOW)
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert [(t["key"], t["effect"]) for t in got] == expected
    before = {(t["key"], t["effect"]) for t in obj["spec"].get("taints") or []}
    for t in got:
        added = (t["key"], t["effect"]) not in before
        assert ("timeAdded" in t) == added
        if added:
            assert t["timeAdded"] == "2024-05-01T12:00:00Z"


@pytest.mark.parametrize(
    ("conditions", "changed"),
    [
        pytest.param(
            [{"type": "Ready", "status": "True", "reason": "r", "message": "m"}],
            [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "r",
                    "message": "m",
                    "lastTransitionTime": "2024-05-01T12:00:00Z",
                }
            ],
            id="ready-turns-false",
        ),
        pytest.param([{"type": "Ready", "status": "False"}], None, id="already-not-ready"),
        pytest.param([], None, id="no-ready-condition"),
    ],
)
def test_pod_not_ready(conditions: list[Obj], changed: list[Obj] | None) -> None:
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": conditions}}
    got = pod_not_ready(pod, NOW)
    if changed is None:
        assert got is None
    else:
        assert got is not None and got["status"]["conditions"] == changed
        assert pod["status"]["conditions"] == conditions, "the cached pod is not touched"
