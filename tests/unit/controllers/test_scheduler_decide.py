"""The scheduler's decisions: filters in upstream's order, spreading, FitError messages."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.controllers.scheduler import decide as D

Obj = dict[str, Any]


def node(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    taints: list[Obj] | None = None,
    ready: str = "True",
    unschedulable: bool = False,
) -> Obj:
    spec: Obj = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


def pod(
    name: str,
    *,
    on: str = "",
    owner: str = "",
    host_port: int = 0,
    host_ip: str = "",
    protocol: str = "TCP",
    selector: dict[str, str] | None = None,
    tolerations: list[Obj] | None = None,
    phase: str = "Running",
) -> Obj:
    port: Obj = {"containerPort": 80, "protocol": protocol}
    if host_port:
        port["hostPort"] = host_port
    if host_ip:
        port["hostIP"] = host_ip
    spec: Obj = {"containers": [{"name": "c", "image": "x", "ports": [port]}]}
    if on:
        spec["nodeName"] = on
    if selector:
        spec["nodeSelector"] = selector
    if tolerations:
        spec["tolerations"] = tolerations
    meta: Obj = {"name": name, "namespace": "default"}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "uid": owner, "controller": True}]
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


@pytest.mark.parametrize(
    ("incoming", "nodes", "placed", "want"),
    [
        pytest.param(
            pod("p", owner="rs"),
            [node("a"), node("b")],
            [pod("x", on="a", owner="rs")],
            "b",
            id="spreads-replicas",
        ),
        pytest.param(
            pod("p", owner="rs"),
            [node("a"), node("b")],
            [
                pod("x", on="a", owner="rs"),
                pod("y", on="b", owner="rs"),
                pod("z", on="b", owner="other"),
            ],
            "a",
            id="then-fewest-pods",
        ),
        pytest.param(pod("p"), [node("b"), node("a")], [], "a", id="ties-by-name"),
        pytest.param(
            pod("p", host_port=80),
            [node("a"), node("b")],
            [pod("x", on="a", host_port=80)],
            "b",
            id="host-port-conflict",
        ),
        pytest.param(
            pod("p", host_port=80, protocol="UDP"),
            [node("a")],
            [pod("x", on="a", host_port=80)],
            "a",
            id="other-protocol-fits",
        ),
        pytest.param(
            pod("p", host_port=80, host_ip="10.0.0.2"),
            [node("a")],
            [pod("x", on="a", host_port=80, host_ip="10.0.0.1")],
            "a",
            id="other-host-ip-fits",
        ),
        pytest.param(
            pod("p", host_port=80),
            [node("a")],
            [pod("x", on="a", host_port=80, phase="Succeeded")],
            "a",
            id="finished-pods-free-their-ports",
        ),
        pytest.param(
            pod("p", selector={"disk": "ssd"}),
            [node("a"), node("b", labels={"disk": "ssd"})],
            [],
            "b",
            id="node-selector",
        ),
        pytest.param(
            pod(
                "p",
                tolerations=[
                    {
                        "key": "node.kubernetes.io/unschedulable",
                        "operator": "Exists",
                        "effect": "NoSchedule",
                    }
                ],
            ),
            [node("a", unschedulable=True)],
            [],
            "a",
            id="tolerated-cordon",
        ),
    ],
)
def test_schedule_picks(incoming: Obj, nodes: list[Obj], placed: list[Obj], want: str) -> None:
    assert D.schedule(incoming, nodes, placed) == D.Decision(want)


@pytest.mark.parametrize(
    ("incoming", "nodes", "placed", "message"),
    [
        pytest.param(pod("p"), [], [], "no nodes available to schedule pods", id="no-nodes"),
        pytest.param(
            pod("p", selector={"disk": "ssd"}),
            [
                node("a", unschedulable=True),
                node("b", ready="False"),
                node("c", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
                node("d"),
            ],
            [],
            "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint {dedicated: db}, 1 node(s) had untolerated taint "
            "{node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/4 "
            "nodes are available: 4 Preemption is not helpful for scheduling.",
            id="every-reason",
        ),
        pytest.param(
            pod("p", host_port=80),
            [node("a"), node("b", ready="Unknown")],
            [pod("x", on="a", host_port=80)],
            "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod "
            "ports, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. "
            "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming "
            "pod, 1 Preemption is not helpful for scheduling.",
            id="ports-and-unreachable",
        ),
    ],
)
def test_schedule_failures(
    incoming: Obj, nodes: list[Obj], placed: list[Obj], message: str
) -> None:
    assert D.schedule(incoming, nodes, placed) == D.Decision(None, message)


@pytest.mark.parametrize(
    ("p", "want"),
    [
        pytest.param(pod("p"), True, id="pending"),
        pytest.param(pod("p", on="a"), False, id="already-bound"),
        pytest.param(
            {**pod("p"), "spec": {"schedulerName": "other", "containers": []}},
            False,
            id="another-scheduler",
        ),
        pytest.param(pod("p", phase="Failed"), False, id="terminal"),
    ],
)
def test_needs_scheduling(p: Obj, want: bool) -> None:
    assert D.needs_scheduling(p, "default-scheduler") is want
