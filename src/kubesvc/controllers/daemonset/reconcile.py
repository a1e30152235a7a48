"""The DaemonSet reconciler (pure): one daemon pod on every node that should run one.

``reconcile(ds, nodes, pods, now)`` returns a ``DaemonSetPlan``:

1. Per node, ``should_run`` tests the daemon pod the node would get (the
   template, with the node name and the tolerations upstream adds to every
   daemon pod) against the node: ``nodeSelector`` and required node affinity,
   and taints (``workload.nodes.effective_taints``): an untolerated
   ``NoSchedule``/``NoExecute`` taint means "do not start one here", an
   untolerated ``NoExecute`` one means "do not keep one here either". Like
   upstream, ``spec.unschedulable`` does not keep daemon pods away (they
   tolerate ``node.kubernetes.io/unschedulable``).
2. Nodes that should run a daemon pod and have none get one (``spec.nodeName``
   set directly, plus upstream's node-name affinity), failed daemon pods are
   deleted (and replaced on the next sync), surplus ones deleted keeping the
   oldest; nodes that should not run one lose theirs, as do nodes that no
   longer exist.
3. RollingUpdate (``maxSurge`` 0): pods whose ``controller-revision-hash``
   label is not the template's current hash are old. Old pods that are not
   available are replaced at once; available ones only while fewer than
   ``maxUnavailable`` (an int or a percentage of the desired count, rounded
   up) daemon pods are unavailable. OnDelete replaces nothing.
4. Status: ``desiredNumberScheduled``, ``currentNumberScheduled``,
   ``numberMisscheduled``, ``numberReady``, ``numberAvailable``,
   ``numberUnavailable``, ``updatedNumberScheduled``, ``observedGeneration``.

Differences from upstream: no ControllerRevision objects (the hash is the
template's, see ``workload.hashing``), so ``kubectl rollout history/undo``
do not work for DaemonSets; ``maxSurge`` > 0 is treated as 0.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.controllers.workload import nodes as N
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.hashing import compute_hash
from kubesvc.controllers.workload.intstr import IntOrPercentError, scaled_value

Obj = dict[str, Any]

HASH_LABEL = "controller-revision-hash"

DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION: Obj = {
    "key": "node.kubernetes.io/network-unavailable",
    "operator": "Exists",
    "effect": "NoSchedule",
}


@dataclass
class DaemonSetPlan:
    create: list[str] = field(default_factory=list)
    """Names of the nodes that get a new daemon pod."""
    delete: list[Obj] = field(default_factory=list)
    failed: list[Obj] = field(default_factory=list)
    """Failed daemon pods among ``delete`` (reported with an Event)."""
    status: Obj = field(default_factory=dict)


def template_hash(ds: Mapping[str, Any]) -> str:
    collision = P.status(ds).get("collisionCount")
    template = P.spec(ds).get("template") or {}
    return compute_hash(template, collision if isinstance(collision, int) else None)


def with_daemon_tolerations(pod_spec: Obj) -> Obj:
    """``AddOrUpdateDaemonPodTolerations``: the template's tolerations plus the daemon ones."""
    out = copy.deepcopy(pod_spec)
    tolerations = [t for t in out.get("tolerations") or [] if isinstance(t, dict)]
    wanted = list(DAEMON_TOLERATIONS)
    if out.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    for tol in wanted:
        tolerations = [
            t for t in tolerations if (t.get("key"), t.get("effect")) != (tol["key"], tol["effect"])
        ]
        tolerations.append(dict(tol))
    out["tolerations"] = tolerations
    return out


def with_node_affinity(pod_spec: Obj, node_name: str) -> Obj:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: required affinity to this node's name."""
    out = copy.deepcopy(pod_spec)
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    affinity = out.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict) or not required.get("nodeSelectorTerms"):
        node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [term]
        }
        return out
    terms = []
    for t in required["nodeSelectorTerms"]:
        fields = [f for f in t.get("matchFields") or [] if f.get("key") != "metadata.name"]
        terms.append({**t, "matchFields": [*fields, *term["matchFields"]]})
    required["nodeSelectorTerms"] = terms
    return out


def daemon_pod(ds: Mapping[str, Any], node_name: str, pod_hash: str) -> Obj:
    """The pod ``ds`` runs on ``node_name``."""
    template = copy.deepcopy(P.spec(ds).get("template") or {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: pod_hash}
    template["spec"] = with_node_affinity(with_daemon_tolerations(P.spec(template)), node_name)
    return P.pod_from_template(template, ds, node_name=node_name)


def should_run(ds: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[bool, bool]:
    """(should a daemon pod start here, may an existing one keep running here)."""
    pod_spec = with_daemon_tolerations(P.spec(P.spec(ds).get("template") or {}))
    wanted_node = pod_spec.get("nodeName")
    if wanted_node and wanted_node != P.meta(node).get("name"):
        return False, False
    if not N.matches_node_selector(pod_spec, node):
        return False, False
    tolerations = pod_spec.get("tolerations") or []
    taints = N.effective_taints(node)
    if N.untolerated_taint(taints, tolerations, lambda e: e == N.NO_EXECUTE) is not None:
        return False, False
    if N.untolerated_taint(taints, tolerations, lambda e: e == N.NO_SCHEDULE) is not None:
        return False, True
    return True, True


def _oldest_first(pods: Sequence[Obj]) -> list[Obj]:
    """``podByCreationTimestampAndPhase``: running pods first, then oldest first."""
    return sorted(
        pods,
        key=lambda p: (
            0 if P.phase(p) == "Running" else 1,
            str(P.meta(p).get("creationTimestamp") or ""),
            str(P.meta(p).get("name") or ""),
        ),
    )


def max_unavailable(ds: Mapping[str, Any], desired: int) -> int:
    ru = (P.spec(ds).get("updateStrategy") or {}).get("rollingUpdate") or {}
    try:
        value = scaled_value(ru.get("maxUnavailable", 1), desired, round_up=True)
    except IntOrPercentError:
        value = 1
    return value if value > 0 else 1


def reconcile(
    ds: Mapping[str, Any],
    nodes: Sequence[Obj],
    pods: Sequence[Obj],
    now: datetime,
    *,
    expectations_satisfied: bool = True,
) -> DaemonSetPlan:
    """See the module docstring; ``pods`` are the daemon pods this DaemonSet owns."""
    plan = DaemonSetPlan()
    pod_hash = template_hash(ds)
    by_node: dict[str, list[Obj]] = {}
    for pod in pods:
        if P.is_being_deleted(pod):
            continue
        by_node.setdefault(str(P.spec(pod).get("nodeName") or ""), []).append(pod)
    node_names = {str(P.meta(n).get("name") or "") for n in nodes}
    verdicts = {str(P.meta(n).get("name") or ""): should_run(ds, n) for n in nodes}
    if expectations_satisfied and not P.is_being_deleted(ds):
        _manage(plan, verdicts, by_node, node_names)
        strategy = (P.spec(ds).get("updateStrategy") or {}).get("type") or "RollingUpdate"
        if strategy == "RollingUpdate":
            desired = sum(1 for run, _ in verdicts.values() if run)
            _rolling_update(plan, ds, verdicts, by_node, pod_hash, now, desired)
    plan.status = next_status(ds, verdicts, by_node, pod_hash, now)
    return plan


def _manage(
    plan: DaemonSetPlan,
    verdicts: Mapping[str, tuple[bool, bool]],
    by_node: Mapping[str, list[Obj]],
    node_names: set[str],
) -> None:
    for name in sorted(verdicts):
        run, keep = verdicts[name]
        here = by_node.get(name, [])
        if run and not here:
            plan.create.append(name)
        elif run:
            failed = [p for p in here if P.phase(p) == "Failed"]
            plan.delete.extend(failed)
            plan.failed.extend(failed)
            alive = [p for p in here if P.phase(p) != "Failed"]
            plan.delete.extend(_oldest_first(alive)[1:])
        elif not keep:
            plan.delete.extend(here)
    for name, here in sorted(by_node.items()):
        if name not in node_names:
            plan.delete.extend(here)


def _rolling_update(
    plan: DaemonSetPlan,
    ds: Mapping[str, Any],
    verdicts: Mapping[str, tuple[bool, bool]],
    by_node: Mapping[str, list[Obj]],
    pod_hash: str,
    now: datetime,
    desired: int,
) -> None:
    min_ready = int(P.spec(ds).get("minReadySeconds") or 0)
    budget = max_unavailable(ds, desired)
    unavailable = 0
    replace_now: list[Obj] = []
    candidates: list[Obj] = []
    doomed = {id(p) for p in plan.delete}
    wanted = {name for name, (run, _) in verdicts.items() if run}
    for name in sorted(set(by_node) | wanted):
        if name not in verdicts:
            continue
        here = [p for p in by_node.get(name, []) if id(p) not in doomed]
        new = [p for p in here if P.labels(p).get(HASH_LABEL) == pod_hash]
        old = [p for p in here if P.labels(p).get(HASH_LABEL) != pod_hash]
        if len(new) > 1 or len(old) > 1 or (not new and not old) or (new and old):
            unavailable += 1
            continue
        if new:
            if not P.is_available(new[0], min_ready, now):
                unavailable += 1
            continue
        if not P.is_available(old[0], min_ready, now):
            replace_now.append(old[0])
        elif unavailable < budget:
            candidates.append(old[0])
    room = min(max(budget - unavailable, 0), len(candidates))
    plan.delete.extend(replace_now + candidates[:room])


def next_status(
    ds: Mapping[str, Any],
    verdicts: Mapping[str, tuple[bool, bool]],
    by_node: Mapping[str, list[Obj]],
    pod_hash: str,
    now: datetime,
) -> Obj:
    min_ready = int(P.spec(ds).get("minReadySeconds") or 0)
    desired = current = misscheduled = ready = available = updated = 0
    for name, (run, _) in verdicts.items():
        here = [p for p in by_node.get(name, []) if not P.is_terminal(p)]
        if not run:
            if here:
                misscheduled += 1
            continue
        desired += 1
        if not here:
            continue
        current += 1
        pod = _oldest_first(here)[0]
        if P.is_ready(pod):
            ready += 1
            if P.is_available(pod, min_ready, now):
                available += 1
        if P.labels(pod).get(HASH_LABEL) == pod_hash:
            updated += 1
    status: Obj = {k: v for k, v in P.status(ds).items() if k in ("collisionCount", "conditions")}
    status.update(
        currentNumberScheduled=current,
        numberMisscheduled=misscheduled,
        desiredNumberScheduled=desired,
        numberReady=ready,
    )
    generation = P.meta(ds).get("generation")
    if generation:
        status["observedGeneration"] = generation
    for key, value in (
        ("updatedNumberScheduled", updated),
        ("numberAvailable", available),
        ("numberUnavailable", desired - available),
    ):
        if value:
            status[key] = value
    return status


def recheck_after(ds: Mapping[str, Any], pods: Sequence[Obj], now: datetime) -> float | None:
    min_ready = int(P.spec(ds).get("minReadySeconds") or 0)
    waits = [w for p in pods if (w := P.available_in(p, min_ready, now)) is not None]
    return min(waits) if waits else None
