"""The pod garbage collector's pure decisions: which pods go, and when to look again."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.controllers.podgc import next_pass_in, orphans, plan, terminated_surplus

Obj = dict[str, Any]


def pod(
    name: str,
    *,
    node: str = "n1",
    phase: str = "Running",
    reason: str = "",
    created: str = "2024-05-01T10:00:00Z",
    deleting: bool = False,
) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T12:00:30Z"
    status: Obj = {"phase": phase}
    if reason:
        status["reason"] = reason
    spec: Obj = {"nodeName": node} if node else {}
    return {"metadata": meta, "spec": spec, "status": status}


def node(name: str, *, ready: bool = True, out_of_service: bool = False) -> Obj:
    spec: Obj = {}
    if out_of_service:
        spec["taints"] = [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}]
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return {"metadata": {"name": name}, "spec": spec, "status": status}


def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


@pytest.mark.parametrize(
    ("pods", "threshold", "expected"),
    [
        pytest.param(
            [pod("a", phase="Succeeded"), pod("b", phase="Failed")], 2, [], id="at-threshold"
        ),
        pytest.param(
            [
                pod("new", phase="Succeeded", created="2024-05-01T11:00:00Z"),
                pod("old", phase="Failed", created="2024-05-01T09:00:00Z"),
                pod("mid", phase="Succeeded"),
                pod("run", phase="Running", created="2024-05-01T08:00:00Z"),
            ],
            1,
            ["old", "mid"],
            id="oldest-first-running-never",
        ),
        pytest.param(
            [
                pod("old", phase="Succeeded", created="2024-05-01T09:00:00Z"),
                pod("evicted", phase="Failed", reason="Evicted", created="2024-05-01T11:00:00Z"),
            ],
            1,
            ["evicted"],
            id="evicted-first",
        ),
        pytest.param(
            [pod("b", phase="Succeeded"), pod("a", phase="Succeeded")], 1, ["a"], id="name-ties"
        ),
        pytest.param([pod("a", phase="Succeeded")], 0, [], id="zero-turns-it-off"),
    ],
)
def test_terminated_surplus(pods: list[Obj], threshold: int, expected: list[str]) -> None:
    assert names(terminated_surplus(pods, threshold)) == expected


NODES = {
    "n1": node("n1"),
    "down": node("down", ready=False, out_of_service=True),
    "flaky": node("flaky", ready=False),
    "sunny": node("sunny", out_of_service=True),
}


@pytest.mark.parametrize(
    ("pods", "field", "expected"),
    [
        pytest.param(
            [
                pod("a", node="down", deleting=True),
                pod("b", node="down"),
                pod("c", node="flaky", deleting=True),
                pod("d", node="sunny", deleting=True),
            ],
            "out_of_service",
            ["a"],
            id="terminating-on-out-of-service-not-ready-node",
        ),
        pytest.param(
            [pod("a", node="", deleting=True), pod("b", node=""), pod("c", deleting=True)],
            "unscheduled_terminating",
            ["a"],
            id="unscheduled-terminating",
        ),
    ],
)
def test_plan_picks(pods: list[Obj], field: str, expected: list[str]) -> None:
    got = plan(pods, NODES, {}, 100.0, threshold=0, quarantine_seconds=40.0)
    assert names(getattr(got, field)) == expected


@pytest.mark.parametrize(
    ("quarantine", "now", "kept", "expired"),
    [
        pytest.param({}, 100.0, {"ghost": 100.0}, [], id="first-seen-missing"),
        pytest.param({"ghost": 70.0}, 100.0, {"ghost": 70.0}, [], id="still-quarantined"),
        pytest.param({"ghost": 60.0}, 100.0, {"ghost": 60.0}, ["ghost"], id="quarantine-over"),
        pytest.param({"n1": 10.0}, 100.0, {"ghost": 100.0}, [], id="node-back-forgotten"),
    ],
)
def test_plan_quarantines_missing_nodes(
    quarantine: dict[str, float], now: float, kept: dict[str, float], expired: list[str]
) -> None:
    pods = [pod("a", node="ghost"), pod("b", node="n1"), pod("c", node="")]
    got = plan(pods, NODES, quarantine, now, threshold=0, quarantine_seconds=40.0)
    assert (got.quarantine, got.expired) == (kept, expired)


def test_orphans_are_the_pods_of_gone_nodes() -> None:
    pods = [pod("a", node="ghost"), pod("b", node="n1"), pod("c", node="")]
    assert names(orphans(pods, {"ghost"})) == ["a"]


@pytest.mark.parametrize(
    ("quarantine", "now", "expected"),
    [
        pytest.param({}, 100.0, 20.0, id="the-period"),
        pytest.param({"ghost": 90.0}, 100.0, 20.0, id="quarantine-ends-later"),
        pytest.param({"ghost": 70.0}, 100.0, 10.0, id="quarantine-ends-sooner"),
        pytest.param({"ghost": 10.0}, 100.0, 0.0, id="overdue"),
    ],
)
def test_next_pass_in(quarantine: dict[str, float], now: float, expected: float) -> None:
    assert next_pass_in(quarantine, now, 20.0, 40.0) == expected
