"""Where a pending pod goes (pure): filters, then a score, as the default scheduler's plugins.

``schedule(pod, nodes, pods)`` runs the filters upstream's default profile
runs, in its order, and stops at a node's first failure:

1. NodeUnschedulable: ``spec.unschedulable`` unless the pod tolerates
   ``node.kubernetes.io/unschedulable:NoSchedule``;
2. TaintToleration: an untolerated ``NoSchedule``/``NoExecute`` taint
   (including the not-ready/unreachable taints ``workload.nodes`` derives from
   the ``Ready`` condition, as the node lifecycle controller would add them);
3. NodeAffinity: ``nodeSelector`` and required node affinity;
4. NodePorts: a ``hostPort`` (protocol, address) already used on the node.

Among the nodes left, the pod goes to the one with the fewest pods of the
same controller (spreading replicas), then the fewest pods, then the first
name (upstream scores resources and topology spread and breaks ties at
random; kubesvc has no resource model and prefers determinism).

When no node fits, ``message`` is upstream's FitError text, e.g. ``0/3 nodes
are available: 1 node(s) didn't have free ports for the requested pod ports,
2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes
are available: 1 No preemption victims found for incoming pod, 2 Preemption
is not helpful for scheduling.`` (kubesvc never preempts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubesvc.controllers.workload import nodes as N
from kubesvc.controllers.workload import pods as P

Obj = dict[str, Any]

NO_NODES = "no nodes available to schedule pods"
UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
PORTS = "node(s) didn't have free ports for the requested pod ports"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
RESOLVABLE = frozenset({PORTS})
"""Failures preemption could fix in principle (the rest are "unresolvable")."""


@dataclass(frozen=True)
class Decision:
    node: str | None
    message: str = ""


def filter_node(pod: Mapping[str, Any], node: Mapping[str, Any], on_node: Sequence[Obj]) -> str:
    """The first filter ``node`` fails for ``pod`` ("" when it fits)."""
    spec = P.spec(pod)
    tolerations = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    if P.spec(node).get("unschedulable"):
        taint = {"key": N.UNSCHEDULABLE_TAINT, "effect": N.NO_SCHEDULE}
        if not any(N.tolerates(t, taint) for t in tolerations):
            return UNSCHEDULABLE
    bad = N.untolerated_taint(
        N.effective_taints(node), tolerations, lambda e: e in (N.NO_SCHEDULE, N.NO_EXECUTE)
    )
    if bad is not None:
        return f"node(s) had untolerated taint {{{bad.get('key', '')}: {bad.get('value', '')}}}"
    if not N.matches_node_selector(spec, node):
        return AFFINITY
    wanted = N.host_ports(spec)
    if wanted:
        used = [port for other in on_node for port in N.host_ports(P.spec(other))]
        if any(N.ports_conflict(w, u) for w in wanted for u in used):
            return PORTS
    return ""


def _histogram(reasons: Sequence[str]) -> str:
    return ", ".join(sorted(f"{count} {reason}" for reason, count in Counter(reasons).items()))


def fit_error(reasons: Sequence[str]) -> str:
    """Upstream's FitError message for one failure reason per node."""
    if not reasons:
        return NO_NODES
    n = len(reasons)
    preemption = [NO_VICTIMS if r in RESOLVABLE else NOT_HELPFUL for r in reasons]
    return (
        f"0/{n} nodes are available: {_histogram(reasons)}. "
        f"preemption: 0/{n} nodes are available: {_histogram(preemption)}."
    )


def schedule(pod: Mapping[str, Any], nodes: Sequence[Obj], pods: Sequence[Obj]) -> Decision:
    """Pick a node for ``pod`` among ``nodes``; ``pods`` are the pods already placed."""
    by_node: dict[str, list[Obj]] = {}
    for other in pods:
        name = str(P.spec(other).get("nodeName") or "")
        if name and not P.is_terminal(other):
            by_node.setdefault(name, []).append(other)
    owner = P.controller_uid(pod)
    reasons: list[str] = []
    fits: list[tuple[int, int, str]] = []
    for node in sorted(nodes, key=lambda n: str(P.meta(n).get("name") or "")):
        name = str(P.meta(node).get("name") or "")
        here = by_node.get(name, [])
        reason = filter_node(pod, node, here)
        if reason:
            reasons.append(reason)
            continue
        siblings = sum(1 for p in here if owner and P.controller_uid(p) == owner)
        fits.append((siblings, len(here), name))
    if fits:
        return Decision(min(fits)[2])
    return Decision(None, fit_error(reasons))


def needs_scheduling(pod: Mapping[str, Any], scheduler_name: str) -> bool:
    """A pod this scheduler must place: no node yet, its scheduler, alive."""
    spec = P.spec(pod)
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or "default-scheduler") == scheduler_name
        and not P.is_being_deleted(pod)
        and not P.is_terminal(pod)
    )
