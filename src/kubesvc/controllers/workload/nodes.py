"""Does a pod fit a node? The predicates the scheduler and the DaemonSet controller share.

* ``effective_taints``: the node's taints, plus the ones the node lifecycle
  controller (``controllers.nodelifecycle``) adds from its conditions:
  ``node.kubernetes.io/not-ready:NoSchedule`` when ``Ready`` is ``False``,
  ``node.kubernetes.io/unreachable:NoSchedule`` when it is ``Unknown`` or
  missing. Deriving them here too keeps placement right before that controller
  has tainted a node, and when it does not run (``--controllers`` without it).
  (``spec.unschedulable`` is its own predicate.)
* ``tolerates``: upstream ``Toleration.ToleratesTaint`` (an empty effect or
  key matches any; ``Exists`` ignores the value; ``Equal`` or empty compares it).
* ``matches_node_selector``: ``spec.nodeSelector`` and the required node
  affinity terms (``matchExpressions`` over labels with In, NotIn, Exists,
  DoesNotExist, Gt, Lt; ``matchFields`` over ``metadata.name``); the terms are
  ORed, the requirements of a term ANDed, as upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubesvc.controllers.workload import pods as P

Obj = dict[str, Any]

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"


def ready_status(node: Mapping[str, Any]) -> str:
    for cond in P.status(node).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return str(cond.get("status") or "Unknown")
    return "Unknown"


def is_ready(node: Mapping[str, Any]) -> bool:
    return ready_status(node) == "True"


def effective_taints(node: Mapping[str, Any]) -> list[Obj]:
    taints = [t for t in P.spec(node).get("taints") or [] if isinstance(t, dict)]
    have = {(t.get("key"), t.get("effect")) for t in taints}
    ready = ready_status(node)
    if ready != "True":
        key = NOT_READY_TAINT if ready == "False" else UNREACHABLE_TAINT
        if (key, NO_SCHEDULE) not in have:
            taints.append({"key": key, "effect": NO_SCHEDULE})
    return taints


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taint(
    taints: Iterable[Mapping[str, Any]],
    tolerations: Iterable[Mapping[str, Any]],
    effect_filter: Callable[[str], bool],
) -> Mapping[str, Any] | None:
    """The first taint passing ``effect_filter`` that no toleration tolerates."""
    tols = [t for t in tolerations if isinstance(t, Mapping)]
    for taint in taints:
        if not effect_filter(str(taint.get("effect") or "")):
            continue
        if not any(tolerates(t, taint) for t in tols):
            return taint
    return None


def _requirement_matches(req: Mapping[str, Any], values_of: Mapping[str, str]) -> bool:
    key = str(req.get("key") or "")
    op = req.get("operator")
    values = [str(v) for v in req.get("values") or []]
    present = key in values_of
    value = values_of.get(key, "")
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, bound = int(value), int(values[0])
        except ValueError:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    exprs = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
    fields = [f for f in term.get("matchFields") or [] if isinstance(f, dict)]
    if not exprs and not fields:
        return False  # an empty term matches nothing
    node_labels = P.labels(node)
    node_fields = {"metadata.name": str(P.meta(node).get("name") or "")}
    return all(_requirement_matches(e, node_labels) for e in exprs) and all(
        _requirement_matches(f, node_fields) for f in fields
    )


def matches_node_selector(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    node_labels = P.labels(node)
    selector = pod_spec.get("nodeSelector") or {}
    if any(node_labels.get(k) != v for k, v in selector.items()):
        return False
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if isinstance(affinity, dict):
        terms = [t for t in affinity.get("nodeSelectorTerms") or [] if isinstance(t, dict)]
        if not any(term_matches(t, node) for t in terms):
            return False
    return True


def host_ports(pod_spec: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """``(hostIP, protocol, hostPort)`` of every container port that asks for one."""
    containers = [
        c
        for key in ("initContainers", "containers")
        for c in pod_spec.get(key) or []
        if isinstance(c, dict)
    ]
    out = [
        (
            str(port.get("hostIP") or "0.0.0.0"),
            str(port.get("protocol") or "TCP"),
            int(port["hostPort"]),
        )
        for c in containers
        for port in c.get("ports") or []
        if isinstance(port, dict) and int(port.get("hostPort") or 0) > 0
    ]
    return out


def ports_conflict(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    """Same protocol and port, and the same address or either is the wildcard."""
    if a[1:] != b[1:]:
        return False
    return a[0] == b[0] or "0.0.0.0" in (a[0], b[0])
