"""Pod predicates and pod construction, as the upstream controllers compute them.

* *active*: not terminal (``Succeeded``/``Failed``) and not being deleted
  (``controller.FilterActivePods``);
* *ready*: condition ``Ready`` is ``True``; *available*: ready for at least
  ``minReadySeconds`` (measured from the condition's ``lastTransitionTime``);
* ``pod_from_template``: the pod a controller creates (``GetPodFromTemplate``):
  labels, annotations and finalizers of the template, ``generateName
  <owner>-``, one controller owner reference;
* ``deletion_order``: the order in which surplus pods are deleted
  (``ActivePodsWithRanks``): unscheduled before scheduled, Pending before
  Unknown before Running, not ready before ready, lower
  ``controller.kubernetes.io/pod-deletion-cost`` first, pods doubled up on a
  node with related pods first, ready for less time first (on a logarithmic
  scale), more restarts first, newer first.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kubesvc.api.validation import meta as vmeta

Obj = dict[str, Any]

DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def meta(obj: Mapping[str, Any]) -> Obj:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def spec(obj: Mapping[str, Any]) -> Obj:
    s = obj.get("spec")
    return s if isinstance(s, dict) else {}


def status(obj: Mapping[str, Any]) -> Obj:
    s = obj.get("status")
    return s if isinstance(s, dict) else {}


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as written by the API (``...Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- state -----------------------------------------------------------------------
def phase(pod: Mapping[str, Any]) -> str:
    return str(status(pod).get("phase") or "")


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_being_deleted(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_active(pod: Mapping[str, Any]) -> bool:
    return not is_terminal(pod) and not is_being_deleted(pod)


def ready_condition(pod: Mapping[str, Any]) -> Obj | None:
    for cond in status(pod).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cond
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod became ready (None if not ready or unknown)."""
    if not is_ready(pod):
        return None
    cond = ready_condition(pod) or {}
    return parse_time(cond.get("lastTransitionTime"))


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """Ready, and for more than ``min_ready_seconds`` (upstream ``IsPodAvailable``)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and (now - since).total_seconds() > min_ready_seconds


def available_in(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> float | None:
    """Seconds until a ready pod turns available (None when not ready or already available)."""
    if min_ready_seconds <= 0 or is_available(pod, min_ready_seconds, now):
        return None
    since = ready_since(pod)
    if since is None:
        return None
    return max(0.0, min_ready_seconds - (now - since).total_seconds()) + 1.0


def labels(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = meta(obj).get("labels")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


# -- ownership -------------------------------------------------------------------
def owner_references(obj: Mapping[str, Any]) -> list[Obj]:
    refs = meta(obj).get("ownerReferences")
    return [r for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []


def controller_ref(obj: Mapping[str, Any]) -> Obj | None:
    """The owner reference with ``controller: true``, if any (``GetControllerOf``)."""
    for ref in owner_references(obj):
        if ref.get("controller") is True:
            return ref
    return None


def controller_uid(obj: Mapping[str, Any]) -> str:
    ref = controller_ref(obj)
    return str(ref.get("uid") or "") if ref else ""


def controller_uid_index(obj: Obj) -> list[str]:
    """Cache index: objects filed under their controller's uid."""
    uid = controller_uid(obj)
    return [uid] if uid else []


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    return bool(controller_uid(obj)) and controller_uid(obj) == meta(owner).get("uid")


def new_controller_ref(owner: Mapping[str, Any]) -> Obj:
    """``metav1.NewControllerRef``: controller and blockOwnerDeletion both true."""
    m = meta(owner)
    return {
        "apiVersion": str(owner.get("apiVersion") or ""),
        "kind": str(owner.get("kind") or ""),
        "name": str(m.get("name") or ""),
        "uid": str(m.get("uid") or ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


# -- construction ----------------------------------------------------------------
def name_prefix(owner_name: str) -> str:
    """``<owner>-`` unless that is not a valid pod name prefix (then the bare name)."""
    prefix = f"{owner_name}-"
    # A generated name appends five characters; the prefix alone must be a valid name
    # once its trailing dash is given something to end with.
    if vmeta.is_dns1123_subdomain(prefix + "x"):
        return owner_name
    return prefix


def pod_from_template(
    template: Mapping[str, Any], owner: Mapping[str, Any], *, node_name: str = ""
) -> Obj:
    """The pod a controller creates from its template (see the module docstring)."""
    tmeta = meta(template)
    pod_meta: Obj = {
        "generateName": name_prefix(str(meta(owner).get("name") or "")),
        "namespace": str(meta(owner).get("namespace") or ""),
        "ownerReferences": [new_controller_ref(owner)],
    }
    for key in ("labels", "annotations"):
        value = tmeta.get(key)
        if isinstance(value, dict) and value:
            pod_meta[key] = dict(value)
    finalizers = tmeta.get("finalizers")
    if isinstance(finalizers, list) and finalizers:
        pod_meta["finalizers"] = list(finalizers)
    pod_spec = copy.deepcopy(spec(template))
    if node_name:
        pod_spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


# -- deletion order --------------------------------------------------------------
def _deletion_cost(pod: Mapping[str, Any]) -> int:
    raw = (meta(pod).get("annotations") or {}).get(DELETION_COST_ANNOTATION)
    try:
        return int(str(raw)) if raw is not None else 0
    except ValueError:
        return 0


def _max_restarts(pod: Mapping[str, Any]) -> int:
    counts = [
        int(c.get("restartCount") or 0)
        for key in ("containerStatuses", "initContainerStatuses")
        for c in status(pod).get(key) or []
        if isinstance(c, dict)
    ]
    return max(counts, default=0)


def _log_rank(t: datetime | None, now: datetime) -> int:
    if t is None:
        return -1
    nanos = (now - t).total_seconds() * 1e9
    return -1 if nanos <= 0 else int(math.log2(nanos))


def _newer_first(t1: datetime | None, t2: datetime | None) -> bool:
    """``afterOrZero``: a missing time counts as newest."""
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def deletion_order(
    pods: Sequence[Obj], related: Iterable[Obj], now: datetime | None = None
) -> list[Obj]:
    """``pods`` sorted so that the ones to delete first come first (module docstring).

    ``related`` are the active pods of the controller and of its siblings (the
    other ReplicaSets of one Deployment); a pod whose node runs many of them is
    "doubled up" and goes first.
    """
    on_node = Counter(str(spec(p).get("nodeName") or "") for p in related if is_active(p))
    rank = {id(p): on_node[str(spec(p).get("nodeName") or "")] for p in pods}

    def before(a: Obj, b: Obj) -> bool:
        na, nb = str(spec(a).get("nodeName") or ""), str(spec(b).get("nodeName") or "")
        if na != nb and (not na or not nb):
            return not na
        pa, pb = _PHASE_ORDINAL.get(phase(a), 0), _PHASE_ORDINAL.get(phase(b), 0)
        if pa != pb:
            return pa < pb
        if is_ready(a) != is_ready(b):
            return not is_ready(a)
        ca, cb = _deletion_cost(a), _deletion_cost(b)
        if ca != cb:
            return ca < cb
        if rank[id(a)] != rank[id(b)]:
            return rank[id(a)] > rank[id(b)]
        if is_ready(a) and is_ready(b):
            ra, rb = ready_since(a), ready_since(b)
            if ra != rb:
                if now is None or ra is None or rb is None:
                    return _newer_first(ra, rb)
                diff = _log_rank(ra, now) - _log_rank(rb, now)
                if diff == 0:
                    return str(meta(a).get("uid") or "") < str(meta(b).get("uid") or "")
                return diff < 0
        xa, xb = _max_restarts(a), _max_restarts(b)
        if xa != xb:
            return xa > xb
        ta = parse_time(meta(a).get("creationTimestamp"))
        tb = parse_time(meta(b).get("creationTimestamp"))
        if ta != tb:
            if now is None or ta is None or tb is None:
                return _newer_first(ta, tb)
            diff = _log_rank(ta, now) - _log_rank(tb, now)
            if diff == 0:
                return str(meta(a).get("uid") or "") < str(meta(b).get("uid") or "")
            return diff < 0
        return False

    def cmp(a: Obj, b: Obj) -> int:
        if before(a, b):
            return -1
        if before(b, a):
            return 1
        return 0

    return sorted(pods, key=functools.cmp_to_key(cmp))
