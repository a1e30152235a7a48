"""The ReplicaSet / ReplicationController reconciler (pure).

``reconcile(owner, pods, related, now)`` returns a ``ReplicaSetPlan``:

1. Claim pods (``workload.claim``): among the namespace's *active* pods, keep
   those we control that still match the selector, adopt matching orphans,
   release the ones whose labels stopped matching.
2. Unless expectations are pending (our last creations/deletions are not yet
   in the cache) or the owner is being deleted, compare the owned count with
   ``spec.replicas``: create the difference (at most ``burst`` per sync), or
   delete the surplus, choosing victims with ``pods.deletion_order`` over
   the pods of this owner and its siblings.

``next_status(owner, owned, now, failure)`` computes the status afterwards:
``replicas`` (active owned pods), ``fullyLabeledReplicas`` (pods carrying all
the template's labels), ``readyReplicas``, ``availableReplicas`` (ready for
``minReadySeconds``), ``observedGeneration``, and the ``ReplicaFailure``
condition while creating or deleting fails. ReplicationControllers differ only
in their selector (a plain label map) and API group.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.api import selectors
from kubesvc.controllers.workload import claim as C
from kubesvc.controllers.workload import pods as P

Obj = dict[str, Any]

BURST_REPLICAS = 500
"""Upstream's burstReplicas: creations or deletions per sync."""
REPLICA_FAILURE = "ReplicaFailure"


@dataclass
class ReplicaSetPlan:
    owned: list[Obj] = field(default_factory=list)
    """Active pods that are ours after the claim (including those to adopt)."""
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)
    create: int = 0
    delete: list[Obj] = field(default_factory=list)


def selector_of(owner: Mapping[str, Any]) -> selectors.Selector:
    """The owner's pod selector; a ReplicationController's is a plain map."""
    sel = P.spec(owner).get("selector")
    if owner.get("kind") == "ReplicationController":
        return selectors.from_set(sel if isinstance(sel, dict) else {})
    try:
        return selectors.from_label_selector(sel if isinstance(sel, dict) else None)
    except selectors.SelectorError:
        return selectors.NOTHING


def desired_replicas(owner: Mapping[str, Any]) -> int:
    value = P.spec(owner).get("replicas")
    return value if isinstance(value, int) else 1


def min_ready_seconds(owner: Mapping[str, Any]) -> int:
    value = P.spec(owner).get("minReadySeconds")
    return value if isinstance(value, int) else 0


def reconcile(
    owner: Mapping[str, Any],
    pods: Iterable[Obj],
    related: Sequence[Obj] = (),
    now: datetime | None = None,
    *,
    expectations_satisfied: bool = True,
    burst: int = BURST_REPLICAS,
) -> ReplicaSetPlan:
    """What to do for ``owner`` given the pods of its namespace (module docstring)."""
    sel = selector_of(owner)
    active = [p for p in pods if P.is_active(p)]
    claimed = C.claim(owner, sel.matches, active)
    plan = ReplicaSetPlan(
        owned=claimed.owned + claimed.adopt, adopt=claimed.adopt, release=claimed.release
    )
    if not expectations_satisfied or P.is_being_deleted(owner):
        return plan
    diff = len(plan.owned) - desired_replicas(owner)
    if diff < 0:
        plan.create = min(-diff, burst)
    elif diff > 0:
        family = list(related) or plan.owned
        ranked = P.deletion_order(plan.owned, family, now)
        plan.delete = ranked[: min(diff, burst)]
    return plan


def failure_reason(owned: int, desired: int) -> str:
    if owned < desired:
        return "FailedCreate"
    if owned > desired:
        return "FailedDelete"
    return ""


def next_status(
    owner: Mapping[str, Any],
    owned: Sequence[Obj],
    now: datetime,
    failure: str | None = None,
) -> Obj:
    """The status to write after a sync (module docstring); ``failure`` is the error text."""
    old = P.status(owner)
    template_labels = P.labels(P.spec(owner).get("template") or {})
    min_ready = min_ready_seconds(owner)
    fully = ready = available = 0
    for pod in owned:
        have = P.labels(pod)
        if all(have.get(k) == v for k, v in template_labels.items()):
            fully += 1
        if P.is_ready(pod):
            ready += 1
            if P.is_available(pod, min_ready, now):
                available += 1
    conditions = [copy.deepcopy(c) for c in old.get("conditions") or [] if isinstance(c, dict)]
    current = next((c for c in conditions if c.get("type") == REPLICA_FAILURE), None)
    if failure is not None and current is None:
        reason = failure_reason(len(owned), desired_replicas(owner))
        conditions.append(
            {
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": P.format_time(now),
                "reason": reason,
                "message": failure,
            }
        )
    elif failure is None and current is not None:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    status: Obj = {k: v for k, v in old.items() if k not in _COUNTED}
    status["replicas"] = len(owned)
    for key, value in (
        ("fullyLabeledReplicas", fully),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ):
        if value:
            status[key] = value
    generation = P.meta(owner).get("generation")
    if generation:
        status["observedGeneration"] = generation
    if conditions:
        status["conditions"] = conditions
    return status


_COUNTED = (
    "replicas",
    "fullyLabeledReplicas",
    "readyReplicas",
    "availableReplicas",
    "observedGeneration",
    "conditions",
)


def status_needs_update(owner: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    old = P.status(owner)
    return any(
        (old.get(k) or 0) != (status.get(k) or 0) for k in _COUNTED if k != "conditions"
    ) or (old.get("conditions") or []) != (status.get("conditions") or [])


def recheck_after(owner: Mapping[str, Any], owned: Sequence[Obj], now: datetime) -> float | None:
    """Seconds until the next owned pod turns available (a status change no event announces)."""
    min_ready = min_ready_seconds(owner)
    waits = [w for p in owned if (w := P.available_in(p, min_ready, now)) is not None]
    return min(waits) if waits else None
