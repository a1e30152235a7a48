"""Deployment facts shared by the reconciler: annotations, revisions, fenceposts, sums.

These mirror upstream's ``deployment/util`` package over plain dicts:

* the annotations the controller writes on ReplicaSets (``revision``,
  ``revision-history``, ``desired-replicas``, ``max-replicas``) and which
  Deployment annotations are copied to its ReplicaSets (all but those and
  ``kubectl.kubernetes.io/last-applied-configuration``);
* ``resolve_fenceposts``: maxSurge rounds up, maxUnavailable rounds down, and
  both zero means one may be unavailable;
* the orderings ReplicaSets are walked in (oldest first, largest first, ...);
* the Deployment conditions (``set_condition`` keeps ``lastTransitionTime``
  while the status stays, and does nothing when status and reason are equal).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.intstr import scaled_value

Obj = dict[str, Any]

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE = "kubernetes.io/change-cause"
NOT_COPIED = frozenset(
    {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
)
MAX_REVISION_HISTORY_CHARS = 2000

PROGRESSING = "Progressing"
AVAILABLE = "Available"
REPLICA_FAILURE = "ReplicaFailure"
# Reasons of the conditions, as upstream names them.
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_CREATED = "NewReplicaSetCreated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

MAX_INT32 = 2**31 - 1


# -- reading -----------------------------------------------------------------------
def replicas(obj: Mapping[str, Any]) -> int:
    value = P.spec(obj).get("replicas")
    return value if isinstance(value, int) else 1


def status_count(obj: Mapping[str, Any], key: str) -> int:
    value = P.status(obj).get(key)
    return value if isinstance(value, int) else 0


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = P.meta(obj).get("annotations")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def set_annotation(obj: Obj, key: str, value: str) -> None:
    meta = obj.setdefault("metadata", {})
    ann = meta.get("annotations")
    if not isinstance(ann, dict):
        ann = meta["annotations"] = {}
    ann[key] = value


def revision(obj: Mapping[str, Any]) -> int | None:
    """The ``revision`` annotation as a number; None when absent or not a number."""
    raw = annotations_of(obj).get(REVISION)
    if raw is None:
        return 0
    try:
        return int(raw)
    except ValueError:
        return None


def max_revision(rss: Iterable[Obj]) -> int:
    return max((r for rs in rss if (r := revision(rs)) is not None), default=0)


def template_without_hash(template: Mapping[str, Any]) -> Obj:
    out = copy.deepcopy(dict(template))
    labels = P.meta(out).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            out["metadata"].pop("labels")
    return out


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two pod templates are the same once their ``pod-template-hash`` labels are ignored."""
    return template_without_hash(a) == template_without_hash(b)


def template_of(obj: Mapping[str, Any]) -> Obj:
    t = P.spec(obj).get("template")
    return t if isinstance(t, dict) else {}


def is_rolling(d: Mapping[str, Any]) -> bool:
    strategy = P.spec(d).get("strategy") or {}
    return (strategy.get("type") or "RollingUpdate") == "RollingUpdate"


def progress_deadline(d: Mapping[str, Any]) -> int | None:
    value = P.spec(d).get("progressDeadlineSeconds")
    if not isinstance(value, int) or value == MAX_INT32:
        return None
    return value


def revision_history_limit(d: Mapping[str, Any]) -> int | None:
    value = P.spec(d).get("revisionHistoryLimit")
    return value if isinstance(value, int) else None


def min_ready_seconds(obj: Mapping[str, Any]) -> int:
    value = P.spec(obj).get("minReadySeconds")
    return value if isinstance(value, int) else 0


# -- fenceposts ----------------------------------------------------------------------
def resolve_fenceposts(surge: Any, unavailable: Any, desired: int) -> tuple[int, int]:
    s = scaled_value(surge, desired, round_up=True)
    u = scaled_value(unavailable, desired, round_up=False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def _rolling_params(d: Mapping[str, Any]) -> tuple[Any, Any]:
    ru = (P.spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    return ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%")


def max_surge(d: Mapping[str, Any]) -> int:
    if not is_rolling(d):
        return 0
    return resolve_fenceposts(*_rolling_params(d), replicas(d))[0]


def max_unavailable(d: Mapping[str, Any]) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    unavailable = resolve_fenceposts(*_rolling_params(d), replicas(d))[1]
    return min(unavailable, replicas(d))


# -- replica set collections ----------------------------------------------------------
def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def sum_replicas(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def sum_status(rss: Iterable[Obj | None], key: str) -> int:
    return sum(status_count(rs, key) for rs in rss if rs is not None)


def _created(rs: Mapping[str, Any]) -> str:
    # Not yet created (planned this sync): newest of all.
    return str(P.meta(rs).get("creationTimestamp") or "9999")


def oldest_first(rss: Iterable[Obj]) -> list[Obj]:
    return sorted(rss, key=lambda rs: (_created(rs), P.meta(rs).get("name", "")))


def by_revision(rss: Iterable[Obj]) -> list[Obj]:
    return sorted(
        rss,
        key=lambda rs: (revision(rs) or 0, _created(rs), P.meta(rs).get("name", "")),
    )


def largest_first_older(rss: Iterable[Obj]) -> list[Obj]:
    """``ReplicaSetsBySizeOlder``: larger first, then older first."""
    return sorted(rss, key=lambda rs: (-replicas(rs), _created(rs), P.meta(rs).get("name", "")))


def largest_first_newer(rss: Sequence[Obj]) -> list[Obj]:
    """``ReplicaSetsBySizeNewer``: larger first, then newer first."""
    by_age = sorted(rss, key=lambda rs: (_created(rs), P.meta(rs).get("name", "")), reverse=True)
    return sorted(by_age, key=lambda rs: -replicas(rs))


# -- conditions ------------------------------------------------------------------------
def rfc3339(t: datetime) -> str:
    return P.format_time(t)


def get_condition(status: Mapping[str, Any], ctype: str) -> Obj | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond
    return None


def new_condition(ctype: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = rfc3339(now)
    return {
        "type": ctype,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, cond: Obj) -> None:
    current = get_condition(status, cond["type"])
    if current is not None and (current.get("status"), current.get("reason")) == (
        cond["status"],
        cond["reason"],
    ):
        return
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)
