"""The ReplicaSet/ReplicationController reconciler and the shared workload helpers, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesvc.controllers.replicaset import reconcile as R
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.expectations import Expectations
from kubesvc.controllers.workload.hashing import compute_hash, fnv32a, safe_encode
from kubesvc.controllers.workload.intstr import IntOrPercentError, scaled_value
from kubesvc.util.clock import FakeClock

Obj = dict[str, Any]
NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return P.format_time(NOW - timedelta(seconds=seconds_ago))


def rs(replicas: int = 2, *, uid: str = "rs-uid", min_ready: int = 0, **status: Any) -> Obj:
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}, "spec": {}},
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default", "uid": uid, "generation": 3},
        "spec": spec,
        "status": status,
    }


def pod(
    name: str,
    *,
    owner: str | None = "rs-uid",
    labels: dict[str, str] | None = None,
    node: str = "",
    phase: str = "Pending",
    ready_since: float | None = None,
    created: float = 100,
    deleting: bool = False,
    restarts: int = 0,
    cost: int | None = None,
) -> Obj:
    meta: Obj = {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "labels": labels if labels is not None else {"app": "web", "tier": "fe"},
        "creationTimestamp": ts(created),
    }
    if owner:
        meta["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": "web", "uid": owner, "controller": True}
        ]
    if deleting:
        meta["deletionTimestamp"] = ts(0)
    if cost is not None:
        meta["annotations"] = {P.DELETION_COST_ANNOTATION: str(cost)}
    status: Obj = {"phase": phase}
    if ready_since is not None:
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": ts(ready_since)}
        ]
    if restarts:
        status["containerStatuses"] = [{"name": "c", "restartCount": restarts}]
    spec: Obj = {"nodeName": node} if node else {}
    return {"metadata": meta, "spec": spec, "status": status}


def names(objs: list[Obj]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


@pytest.mark.parametrize(
    ("owner", "pods", "satisfied", "want"),
    [
        pytest.param(rs(3), [pod("a")], True, {"create": 2}, id="too-few-creates"),
        pytest.param(
            rs(1),
            [pod("a"), pod("b", phase="Running", node="n1")],
            True,
            {"delete": ["a"]},
            id="too-many-deletes-the-pending-one",
        ),
        pytest.param(rs(2), [pod("a"), pod("b")], True, {}, id="exact-nothing"),
        pytest.param(rs(3), [pod("a")], False, {}, id="pending-expectations-wait"),
        pytest.param(
            rs(1),
            [pod("a"), pod("orphan", owner=None)],
            True,
            {"adopt": ["orphan"], "delete": ["a"]},
            id="adopts-matching-orphan",
        ),
        pytest.param(
            rs(1),
            [pod("a"), pod("x", owner=None, labels={"app": "db"})],
            True,
            {},
            id="ignores-non-matching-orphan",
        ),
        pytest.param(
            rs(2),
            [pod("a"), pod("moved", labels={"app": "other"})],
            True,
            {"release": ["moved"], "create": 1},
            id="releases-relabelled-pod",
        ),
        pytest.param(
            rs(1),
            [pod("a"), pod("theirs", owner="other-uid")],
            True,
            {},
            id="ignores-pods-of-another-controller",
        ),
        pytest.param(
            rs(2),
            [pod("a"), pod("dying", deleting=True), pod("done", phase="Succeeded")],
            True,
            {"create": 1},
            id="inactive-pods-do-not-count",
        ),
        pytest.param(rs(0), [pod("a"), pod("b")], True, {"delete": ["a", "b"]}, id="scale-to-zero"),
    ],
)
def test_reconcile_plans(owner: Obj, pods: list[Obj], satisfied: bool, want: Obj) -> None:
    plan = R.reconcile(owner, pods, now=NOW, expectations_satisfied=satisfied)
    got: Obj = {}
    if plan.create:
        got["create"] = plan.create
    if plan.delete:
        got["delete"] = sorted(names(plan.delete))
    if plan.adopt:
        got["adopt"] = names(plan.adopt)
    if plan.release:
        got["release"] = names(plan.release)
    assert got == want


def test_burst_limits_creations_per_sync() -> None:
    assert R.reconcile(rs(1000), [], now=NOW, burst=500).create == 500


def test_a_replication_controller_selects_with_its_label_map() -> None:
    rc = {
        "kind": "ReplicationController",
        "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid"},
        "spec": {"replicas": 1, "selector": {"app": "web"}, "template": {}},
    }
    plan = R.reconcile(rc, [pod("orphan", owner=None)], now=NOW)
    assert (names(plan.adopt), plan.create) == (["orphan"], 0)


@pytest.mark.parametrize(
    ("pods", "first"),
    [
        pytest.param([pod("sched", node="n1"), pod("unsched")], "unsched", id="unscheduled-first"),
        pytest.param(
            [pod("run", node="n", phase="Running"), pod("pend", node="n")],
            "pend",
            id="pending-before-running",
        ),
        pytest.param(
            [
                pod("r", node="n", phase="Running", ready_since=10),
                pod("nr", node="n", phase="Running"),
            ],
            "nr",
            id="not-ready-first",
        ),
        pytest.param(
            [pod("cheap", node="n", cost=-5), pod("dear", node="n", cost=10)],
            "cheap",
            id="lower-deletion-cost-first",
        ),
        pytest.param(
            [pod("alone", node="n2"), pod("crowd", node="n1"), pod("crowd2", node="n1")],
            "crowd",
            id="doubled-up-first",
        ),
        pytest.param(
            [
                pod("old", node="n", phase="Running", ready_since=10_000),
                pod("young", node="n", phase="Running", ready_since=5),
            ],
            "young",
            id="ready-for-less-time-first",
        ),
        pytest.param(
            [pod("calm", node="n"), pod("flappy", node="n", restarts=4)],
            "flappy",
            id="more-restarts-first",
        ),
        pytest.param(
            [pod("older", node="n", created=100_000), pod("newer", node="n", created=5)],
            "newer",
            id="newer-first",
        ),
    ],
)
def test_deletion_order(pods: list[Obj], first: str) -> None:
    assert names(P.deletion_order(pods, pods, NOW))[0] == first


@pytest.mark.parametrize(
    ("owner", "pods", "failure", "want"),
    [
        pytest.param(
            rs(3),
            [pod("a", ready_since=10), pod("b", labels={"app": "web"}), pod("c")],
            None,
            {
                "replicas": 3,
                "fullyLabeledReplicas": 2,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "observedGeneration": 3,
            },
            id="counts",
        ),
        pytest.param(
            rs(2, min_ready=30),
            [pod("a", ready_since=60), pod("b", ready_since=10)],
            None,
            {
                "replicas": 2,
                "fullyLabeledReplicas": 2,
                "readyReplicas": 2,
                "availableReplicas": 1,
                "observedGeneration": 3,
            },
            id="min-ready-seconds",
        ),
        pytest.param(
            rs(2),
            [],
            'pods "web-" is forbidden: quota exceeded',
            {
                "replicas": 0,
                "observedGeneration": 3,
                "conditions": [
                    {
                        "type": "ReplicaFailure",
                        "status": "True",
                        "lastTransitionTime": ts(0),
                        "reason": "FailedCreate",
                        "message": 'pods "web-" is forbidden: quota exceeded',
                    }
                ],
            },
            id="failure-condition",
        ),
        pytest.param(
            rs(0, conditions=[{"type": "ReplicaFailure", "status": "True"}]),
            [],
            None,
            {"replicas": 0, "observedGeneration": 3},
            id="failure-condition-cleared",
        ),
    ],
)
def test_next_status(owner: Obj, pods: list[Obj], failure: str | None, want: Obj) -> None:
    assert R.next_status(owner, pods, NOW, failure) == want


def test_status_needs_no_update_when_equal() -> None:
    owner = rs(1, fullyLabeledReplicas=1, observedGeneration=3)
    owner["status"]["replicas"] = 1
    assert not R.status_needs_update(owner, R.next_status(owner, [pod("a")], NOW))
    assert R.status_needs_update(owner, R.next_status(owner, [], NOW))


def test_recheck_after_points_at_the_next_pod_to_become_available() -> None:
    owner = rs(2, min_ready=30)
    assert R.recheck_after(owner, [pod("a", ready_since=10), pod("b", ready_since=25)], NOW) == 6.0
    assert R.recheck_after(owner, [pod("a", ready_since=100)], NOW) is None


def test_a_created_pod_comes_from_the_template_with_a_controller_reference() -> None:
    owner = rs(1)
    owner["spec"]["template"]["metadata"]["annotations"] = {"a": "1"}
    owner["spec"]["template"]["spec"] = {"containers": [{"name": "c", "image": "x"}]}
    assert P.pod_from_template(owner["spec"]["template"], owner) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "web-",
            "namespace": "default",
            "labels": {"app": "web", "tier": "fe"},
            "annotations": {"a": "1"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web",
                    "uid": "rs-uid",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }


def test_expectations_block_until_observed_or_expired() -> None:
    clock = FakeClock()
    exp = Expectations(clock, ttl=300)
    assert exp.satisfied("k")
    exp.expect_creations("k", 2)
    assert not exp.satisfied("k")
    exp.creation_observed("k")
    assert not exp.satisfied("k")
    exp.creation_observed("k")
    assert exp.satisfied("k")
    exp.expect_deletions("k", ["ns/a"])
    exp.deletion_observed("k", "ns/other")
    assert not exp.satisfied("k")
    clock.advance(301)
    assert exp.satisfied("k"), "a lost event must not block the controller forever"


@pytest.mark.parametrize(
    ("value", "total", "up", "want"),
    [
        pytest.param(3, 10, True, 3, id="int"),
        pytest.param("25%", 10, True, 3, id="percent-up"),
        pytest.param("25%", 10, False, 2, id="percent-down"),
        pytest.param("0%", 10, True, 0, id="zero"),
        pytest.param("100%", 7, False, 7, id="all"),
    ],
)
def test_scaled_value(value: Any, total: int, up: bool, want: int) -> None:
    assert scaled_value(value, total, up) == want


def test_scaled_value_rejects_a_string_without_percent() -> None:
    with pytest.raises(IntOrPercentError, match="string is not a percentage"):
        scaled_value("3", 10, True)


def test_the_hash_is_fnv32a_rendered_with_the_safe_alphabet() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C  # published FNV-1a test vector
    assert safe_encode("0123") == "4567"
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}
    plain = compute_hash(template)
    assert plain == compute_hash(dict(reversed(list(template.items())))), "key order is irrelevant"
    assert compute_hash(template, 1) != plain, "a collision count moves the hash"
    assert all(c in "bcdfghjklmnpqrstvwxz2456789" for c in plain) and len(plain) <= 10
