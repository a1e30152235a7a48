"""The DaemonSet reconciler and the node predicates it shares with the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesvc.controllers.daemonset import reconcile as R
from kubesvc.controllers.workload import nodes as N

Obj = dict[str, Any]
NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def node(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    taints: list[Obj] | None = None,
    ready: str | None = "True",
    unschedulable: bool = False,
) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    status: Obj = {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec, "status": status}


def ds(
    *,
    selector: dict[str, str] | None = None,
    tolerations: list[Obj] | None = None,
    max_unavailable: Any = 1,
) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "agent:1"}]}
    if selector:
        spec["nodeSelector"] = selector
    if tolerations:
        spec["tolerations"] = tolerations
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-uid", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": spec},
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": max_unavailable},
            },
        },
    }


def daemon_pod(
    d: Obj,
    on: str,
    *,
    current: bool = True,
    ready: bool = True,
    phase: str = "Running",
    name: str = "",
) -> Obj:
    pod_hash = R.template_hash(d) if current else "old"
    status: Obj = {"phase": phase}
    if ready:
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}
        ]
    return {
        "metadata": {
            "name": name or f"agent-{on}",
            "namespace": "kube-system",
            "labels": {"app": "agent", R.HASH_LABEL: pod_hash},
            "creationTimestamp": "2024-01-01T00:00:00Z",
        },
        "spec": {"nodeName": on},
        "status": status,
    }


NO_SCHED = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
NO_EXEC = {"key": "evict", "effect": "NoExecute"}


@pytest.mark.parametrize(
    ("daemon", "n", "want"),
    [
        pytest.param(ds(), node("a"), (True, True), id="plain-node"),
        pytest.param(ds(selector={"role": "edge"}), node("a"), (False, False), id="selector-miss"),
        pytest.param(
            ds(selector={"role": "edge"}),
            node("a", labels={"role": "edge"}),
            (True, True),
            id="selector-hit",
        ),
        pytest.param(ds(), node("a", taints=[NO_SCHED]), (False, True), id="noschedule-keeps"),
        pytest.param(ds(), node("a", taints=[NO_EXEC]), (False, False), id="noexecute-evicts"),
        pytest.param(
            ds(tolerations=[{"key": "dedicated", "operator": "Exists"}]),
            node("a", taints=[NO_SCHED]),
            (True, True),
            id="tolerated",
        ),
        pytest.param(
            ds(), node("a", unschedulable=True), (True, True), id="cordoned-nodes-still-run-daemons"
        ),
        pytest.param(ds(), node("a", ready="False"), (False, True), id="not-ready-no-new-pod"),
    ],
)
def test_should_run(daemon: Obj, n: Obj, want: tuple[bool, bool]) -> None:
    assert R.should_run(daemon, n) == want


def test_placement_create_delete_and_status() -> None:
    d = ds(selector={"role": "edge"})
    nodes = [
        node("a", labels={"role": "edge"}),
        node("b", labels={"role": "edge"}),
        node("c"),
    ]
    pods = [
        daemon_pod(d, "a"),
        daemon_pod(d, "a", name="agent-a-dup"),
        daemon_pod(d, "c"),
        daemon_pod(d, "gone"),
    ]
    pods[1]["metadata"]["creationTimestamp"] = "2024-01-01T00:00:05Z"
    plan = R.reconcile(d, nodes, pods, NOW)
    assert plan.create == ["b"]
    assert sorted(p["metadata"]["name"] for p in plan.delete) == [
        "agent-a-dup",
        "agent-c",
        "agent-gone",
    ]
    assert plan.status == {
        "currentNumberScheduled": 1,
        "numberMisscheduled": 1,
        "desiredNumberScheduled": 2,
        "numberReady": 1,
        "numberAvailable": 1,
        "numberUnavailable": 1,
        "updatedNumberScheduled": 1,
        "observedGeneration": 1,
    }


@pytest.mark.parametrize(
    ("pods", "budget", "deleted"),
    [
        pytest.param(
            [("a", False, True), ("b", False, True), ("c", False, True)],
            1,
            ["agent-a"],
            id="one-at-a-time",
        ),
        pytest.param(
            [("a", False, True), ("b", False, True), ("c", False, True)],
            "50%",
            ["agent-a", "agent-b"],
            id="percent-rounds-up",
        ),
        pytest.param(
            [("a", True, False), ("b", False, True), ("c", False, True)],
            1,
            [],
            id="waits-for-the-new-pod",
        ),
        pytest.param(
            [("a", False, False), ("b", False, False), ("c", True, True)],
            1,
            ["agent-a", "agent-b"],
            id="unavailable-old-pods-replaced-at-once",
        ),
        pytest.param(
            [("b", False, True), ("c", False, True)],
            1,
            [],
            id="a-node-without-a-pod-counts-as-unavailable",
        ),
    ],
)
def test_rolling_update(
    pods: list[tuple[str, bool, bool]], budget: Any, deleted: list[str]
) -> None:
    d = ds(max_unavailable=budget)
    nodes = [node("a"), node("b"), node("c")]
    objs = [daemon_pod(d, n, current=cur, ready=rdy) for n, cur, rdy in pods]
    plan = R.reconcile(d, nodes, objs, NOW)
    assert sorted(p["metadata"]["name"] for p in plan.delete) == deleted


def test_a_daemon_pod_is_bound_and_tolerant() -> None:
    pod = R.daemon_pod(ds(), "node-1", "h4sh")
    assert pod["spec"]["nodeName"] == "node-1"
    assert pod["metadata"]["labels"] == {"app": "agent", R.HASH_LABEL: "h4sh"}
    assert pod["metadata"]["generateName"] == "agent-"
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}
    ]
    keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
    assert ("node.kubernetes.io/not-ready", "NoExecute") in keys


@pytest.mark.parametrize(
    ("toleration", "taint", "want"),
    [
        pytest.param(
            {"key": "k", "value": "v", "effect": "NoSchedule"},
            {"key": "k", "value": "v", "effect": "NoSchedule"},
            True,
            id="equal",
        ),
        pytest.param(
            {"key": "k", "value": "w"},
            {"key": "k", "value": "v", "effect": "NoSchedule"},
            False,
            id="value-differs",
        ),
        pytest.param(
            {"key": "k", "operator": "Exists"},
            {"key": "k", "value": "v", "effect": "NoExecute"},
            True,
            id="exists-any-effect",
        ),
        pytest.param(
            {"operator": "Exists"},
            {"key": "x", "effect": "NoSchedule"},
            True,
            id="empty-key-exists-matches-all",
        ),
        pytest.param(
            {"key": "k", "operator": "Exists", "effect": "NoExecute"},
            {"key": "k", "effect": "NoSchedule"},
            False,
            id="effect-differs",
        ),
    ],
)
def test_tolerates(toleration: Obj, taint: Obj, want: bool) -> None:
    assert N.tolerates(toleration, taint) is want


@pytest.mark.parametrize(
    ("pod_spec", "want"),
    [
        pytest.param({"nodeSelector": {"zone": "a"}}, True, id="selector"),
        pytest.param({"nodeSelector": {"zone": "b"}}, False, id="selector-miss"),
        pytest.param(
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "zone", "operator": "In", "values": ["x"]}
                                    ]
                                },
                                {
                                    "matchExpressions": [
                                        {"key": "cpus", "operator": "Gt", "values": ["4"]}
                                    ]
                                },
                            ]
                        }
                    }
                }
            },
            True,
            id="terms-are-ored",
        ),
        pytest.param(
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "zone", "operator": "In", "values": ["a"]},
                                        {"key": "gpu", "operator": "Exists"},
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
            False,
            id="requirements-are-anded",
        ),
        pytest.param(
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchFields": [
                                        {
                                            "key": "metadata.name",
                                            "operator": "NotIn",
                                            "values": ["n1"],
                                        }
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
            False,
            id="match-fields",
        ),
    ],
)
def test_node_selector_and_affinity(pod_spec: Obj, want: bool) -> None:
    n = node("n1", labels={"zone": "a", "cpus": "8"})
    assert N.matches_node_selector(pod_spec, n) is want
