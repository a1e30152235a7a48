"""The Deployment reconciler, one sync at a time, as tables of named cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesvc.controllers.deployment import reconcile as R
from kubesvc.controllers.deployment import util as U
from kubesvc.controllers.workload import pods as P

Obj = dict[str, Any]
NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return P.format_time(NOW - timedelta(seconds=seconds_ago))


def tmpl(image: str) -> Obj:
    return {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"image": image}]}}


def deployment(
    replicas: int,
    image: str = "v2",
    *,
    surge: Any = 1,
    unavailable: Any = 1,
    strategy: str = "RollingUpdate",
    paused: bool = False,
    history: int = 10,
    status: Obj | None = None,
    generation: int = 2,
) -> Obj:
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": tmpl(image),
        "strategy": {"type": strategy},
        "revisionHistoryLimit": history,
        "progressDeadlineSeconds": 600,
    }
    if strategy == "RollingUpdate":
        spec["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    if paused:
        spec["paused"] = True
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "d-uid",
            "generation": generation,
            "annotations": {U.REVISION: "1"},
        },
        "spec": spec,
        "status": status or {"observedGeneration": generation - 1},
    }


def rs(
    image: str,
    replicas: int,
    available: int | None = None,
    *,
    revision: int = 1,
    created: float = 100,
    desired: int | None = None,
    max_replicas: int | None = None,
    actual: int | None = None,
) -> Obj:
    t = tmpl(image)
    t["metadata"]["labels"][U.HASH_LABEL] = image
    annotations = {U.REVISION: str(revision)}
    if desired is not None:
        annotations[U.DESIRED_REPLICAS] = str(desired)
    if max_replicas is not None:
        annotations[U.MAX_REPLICAS] = str(max_replicas)
    avail = replicas if available is None else available
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{image}",
            "namespace": "default",
            "uid": f"uid-{image}",
            "labels": {"app": "web", U.HASH_LABEL: image},
            "annotations": annotations,
            "creationTimestamp": ts(created),
            "generation": 1,
            "ownerReferences": [
                {"kind": "Deployment", "name": "web", "uid": "d-uid", "controller": True}
            ],
        },
        "spec": {"replicas": replicas, "template": t},
        "status": {
            "replicas": replicas if actual is None else actual,
            "availableReplicas": avail,
            "readyReplicas": avail,
            "observedGeneration": 1,
        },
    }


def sizes(plan: R.DeploymentPlan, rss: list[Obj]) -> dict[str, int]:
    """Every ReplicaSet's size after the plan (the new one included)."""
    out = {r["metadata"]["name"]: r["spec"]["replicas"] for r in rss}
    for r in plan.updates:
        out[r["metadata"]["name"]] = r["spec"]["replicas"]
    if plan.create is not None:
        out["<new>"] = plan.create["spec"]["replicas"]
    return out


@pytest.mark.parametrize(
    ("d", "rss", "want"),
    [
        pytest.param(
            deployment(4),
            [rs("v1", 4, created=200), rs("v2", 0, revision=2)],
            {"web-v1": 4, "web-v2": 1},
            id="surge-first",
        ),
        pytest.param(
            deployment(4),
            [rs("v1", 4, created=200), rs("v2", 1, 0, revision=2)],
            {"web-v1": 3, "web-v2": 1},
            id="then-old-down-within-max-unavailable",
        ),
        pytest.param(
            deployment(4),
            [rs("v1", 3, created=200), rs("v2", 1, 1, revision=2)],
            {"web-v1": 3, "web-v2": 2},
            id="ready-new-pods-allow-more",
        ),
        pytest.param(
            deployment(3, unavailable=0),
            [rs("v1", 3, created=200), rs("v2", 1, 0, revision=2)],
            {"web-v1": 3, "web-v2": 1},
            id="no-unavailability-waits-for-readiness",
        ),
        pytest.param(
            deployment(4),
            [rs("v1", 4, 2, created=200), rs("v2", 1, 0, revision=2)],
            {"web-v1": 3, "web-v2": 1},
            id="unhealthy-old-replicas-go-first",
        ),
        pytest.param(
            deployment(10, surge="25%", unavailable="25%"),
            [rs("v1", 10, created=200), rs("v2", 0, revision=2)],
            {"web-v1": 10, "web-v2": 3},
            id="percent-surge-rounds-up",
        ),
        pytest.param(
            deployment(2, surge=0, unavailable=0),
            [rs("v1", 2, created=200), rs("v2", 0, revision=2)],
            {"web-v1": 1, "web-v2": 0},
            id="both-zero-means-one-unavailable",
        ),
        pytest.param(
            deployment(4),
            [rs("v1", 3, 4, created=200, actual=4), rs("v2", 2, 1, revision=2)],
            {"web-v1": 2, "web-v2": 2},
            id="pods-about-to-go-do-not-count-as-available",
        ),
        pytest.param(
            deployment(3),
            [rs("v1", 0, created=200), rs("v2", 3, revision=2)],
            {"web-v1": 0, "web-v2": 3},
            id="done-nothing-to-scale",
        ),
    ],
)
def test_rolling_update_steps(d: Obj, rss: list[Obj], want: dict[str, int]) -> None:
    plan = R.reconcile(d, rss, now=NOW)
    assert plan.create is None
    assert sizes(plan, rss) == want


def test_scaling_events_name_the_direction_and_sizes() -> None:
    rss = [rs("v1", 3, 4, created=200, actual=4), rs("v2", 2, 1, revision=2)]
    plan = R.reconcile(deployment(4), rss, now=NOW)
    assert [e.message for e in plan.events] == ["Scaled down replica set web-v1 from 3 to 2"]


def test_a_new_template_creates_a_hashed_replica_set() -> None:
    d = deployment(3, "v2", surge="25%", unavailable="25%")
    plan = R.reconcile(d, [], now=NOW)
    new = plan.create
    assert new is not None
    pod_hash = new["metadata"]["labels"][U.HASH_LABEL]
    assert new["metadata"]["name"] == f"web-{pod_hash}"
    assert new["spec"]["selector"]["matchLabels"] == {"app": "web", U.HASH_LABEL: pod_hash}
    assert new["spec"]["replicas"] == 3
    assert new["metadata"]["annotations"] == {
        U.REVISION: "1",
        U.DESIRED_REPLICAS: "3",
        U.MAX_REPLICAS: "4",
    }
    assert new["metadata"]["ownerReferences"][0]["uid"] == "d-uid"
    assert [e.message for e in plan.events] == [f"Scaled up replica set web-{pod_hash} from 0 to 3"]
    assert plan.deployment is not None
    progressing = U.get_condition(plan.deployment["status"], U.PROGRESSING)
    assert progressing is not None
    assert (progressing["reason"], progressing["message"]) == (
        U.NEW_RS_CREATED,
        f'Created new replica set "web-{pod_hash}"',
    )


def test_a_collision_count_changes_the_name() -> None:
    plain = R.reconcile(deployment(1), [], now=NOW).create
    bumped = R.reconcile(deployment(1, status={"collisionCount": 1}), [], now=NOW).create
    assert plain is not None and bumped is not None
    assert plain["metadata"]["name"] != bumped["metadata"]["name"]


def test_rolling_back_revives_the_old_replica_set_with_a_new_revision() -> None:
    d = deployment(2, "v1")
    rss = [rs("v1", 0, revision=1, created=300), rs("v2", 2, revision=2, created=100)]
    plan = R.reconcile(d, rss, now=NOW)
    revived = next(r for r in plan.updates if r["metadata"]["name"] == "web-v1")
    assert revived["metadata"]["annotations"][U.REVISION] == "3"
    assert revived["metadata"]["annotations"][U.REVISION_HISTORY] == "1"
    assert plan.deployment is not None
    assert plan.deployment["metadata"]["annotations"][U.REVISION] == "3"


@pytest.mark.parametrize(
    ("rss", "want_sizes", "creates"),
    [
        pytest.param([rs("v1", 3)], {"web-v1": 0}, False, id="old-scaled-to-zero-first"),
        pytest.param([rs("v1", 0, actual=1)], {"web-v1": 0}, False, id="waits-while-old-pods-run"),
        pytest.param(
            [rs("v1", 0, actual=0)],
            {"web-v1": 0, "<new>": 3},
            True,
            id="then-creates-the-new-one-full-size",
        ),
    ],
)
def test_recreate(rss: list[Obj], want_sizes: dict[str, int], creates: bool) -> None:
    plan = R.reconcile(deployment(3, strategy="Recreate"), rss, now=NOW)
    assert sizes(plan, rss) == want_sizes
    assert (plan.create is not None) == creates


def test_scaling_mid_rollout_is_proportional() -> None:
    d = deployment(10, surge=1, unavailable=0)
    rss = [
        rs("v1", 3, created=200, desired=5, max_replicas=6),
        rs("v2", 3, 0, revision=2, desired=5, max_replicas=6),
    ]
    plan = R.reconcile(d, rss, now=NOW)
    assert sizes(plan, rss) == {"web-v1": 5, "web-v2": 6}
    for r in plan.updates:
        assert r["metadata"]["annotations"][U.DESIRED_REPLICAS] == "10"
        assert r["metadata"]["annotations"][U.MAX_REPLICAS] == "11"


def test_a_paused_deployment_does_not_roll_out() -> None:
    d = deployment(2, "v2", paused=True)
    plan = R.reconcile(d, [rs("v1", 2, desired=2, max_replicas=3)], now=NOW)
    assert plan.create is None and plan.updates == []
    assert plan.deployment is not None
    cond = U.get_condition(plan.deployment["status"], U.PROGRESSING)
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        U.PAUSED,
        "Deployment is paused",
    )


def test_a_complete_rollout_reports_conditions_and_trims_history() -> None:
    status = {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    d = deployment(2, "v4", history=1, status=status)
    rss = [
        rs("v1", 0, revision=1, created=400),
        rs("v2", 0, revision=2, created=300),
        rs("v3", 0, revision=3, created=200),
        rs("v4", 2, revision=4, created=100, desired=2, max_replicas=3),
    ]
    plan = R.reconcile(d, rss, now=NOW)
    assert sorted(r["metadata"]["name"] for r in plan.deletes) == ["web-v1", "web-v2"]
    assert plan.deployment is not None
    conds = {c["type"]: c for c in plan.deployment["status"]["conditions"]}
    assert (conds["Available"]["reason"], conds["Available"]["message"]) == (
        U.MIN_AVAILABLE,
        "Deployment has minimum availability.",
    )
    assert (conds["Progressing"]["reason"], conds["Progressing"]["message"]) == (
        U.NEW_RS_AVAILABLE,
        'ReplicaSet "web-v4" has successfully progressed.',
    )
    assert plan.deployment["status"]["updatedReplicas"] == 2


@pytest.mark.parametrize(
    ("last_update", "status", "reason"),
    [
        pytest.param(700, "False", U.TIMED_OUT, id="deadline-passed"),
        pytest.param(60, "True", U.RS_UPDATED, id="within-deadline"),
    ],
)
def test_progress_deadline(last_update: float, status: str, reason: str) -> None:
    cond = U.new_condition(U.PROGRESSING, "True", U.RS_UPDATED, "x", NOW)
    cond["lastUpdateTime"] = ts(last_update)
    st = {
        "observedGeneration": 2,
        "replicas": 3,
        "updatedReplicas": 1,
        "availableReplicas": 2,
        "readyReplicas": 2,
        "conditions": [cond],
    }
    d = deployment(2, unavailable=0, status=st)
    rss = [rs("v1", 2, created=200), rs("v2", 1, 0, revision=2)]
    plan = R.reconcile(d, rss, now=NOW)
    got = U.get_condition((plan.deployment or d)["status"], U.PROGRESSING)
    assert got is not None
    assert (got["status"], got["reason"]) == (status, reason)


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "want"),
    [
        pytest.param("25%", "25%", 4, (1, 1), id="defaults-4"),
        pytest.param("25%", "25%", 10, (3, 2), id="defaults-10"),
        pytest.param(0, 0, 5, (0, 1), id="zero-zero"),
        pytest.param("50%", 3, 1, (1, 1), id="unavailable-capped-at-replicas"),
    ],
)
def test_fenceposts(surge: Any, unavailable: Any, replicas: int, want: tuple[int, int]) -> None:
    d = deployment(replicas, surge=surge, unavailable=unavailable)
    assert (U.max_surge(d), U.max_unavailable(d)) == want


@pytest.mark.parametrize(
    ("status", "cond", "changes"),
    [
        pytest.param(
            {"type": "X", "status": "True", "reason": "A"},
            {"type": "X", "status": "True", "reason": "A"},
            False,
            id="same-no-op",
        ),
        pytest.param(
            {"type": "X", "status": "True", "reason": "A", "lastTransitionTime": "t0"},
            {"type": "X", "status": "True", "reason": "B", "lastTransitionTime": "t1"},
            True,
            id="reason-change-keeps-transition-time",
        ),
    ],
)
def test_set_condition(status: Obj, cond: Obj, changes: bool) -> None:
    holder: Obj = {"conditions": [dict(status)]}
    U.set_condition(holder, dict(cond))
    [got] = holder["conditions"]
    assert (got != status) == changes
    assert got.get("lastTransitionTime") == status.get("lastTransitionTime")
