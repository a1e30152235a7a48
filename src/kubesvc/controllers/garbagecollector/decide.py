"""What the garbage collector does with one object (pure).

Ownership is ``metadata.ownerReferences``: each names an owner by apiVersion,
kind, name and **uid** in the dependent's namespace (or cluster-wide). An
owner reference is

* *dangling* when no object of that kind and name exists, or one exists with
  another uid (the owner was deleted, maybe re-created);
* *waiting* when the owner exists and is being deleted in the foreground
  (``deletionTimestamp`` and the ``foregroundDeletion`` finalizer);
* *solid* otherwise.

``plan_for(obj, owners, dependents)`` decides, as upstream's
``attemptToDeleteItem``/``attemptToOrphan``:

1. ``obj`` is being deleted with the ``orphan`` finalizer: remove the
   references to it from every dependent, then the finalizer.
2. ``obj`` is being deleted with ``foregroundDeletion``: once no dependent
   references it with ``blockOwnerDeletion: true``, remove the finalizer
   (until then its dependents are being deleted, see 4).
3. ``obj`` is being deleted otherwise: nothing (the deletion finishes alone).
4. ``obj`` has owner references:
   * a solid one: only drop the dangling and waiting references;
   * none solid, some waiting, and ``obj`` has dependents of its own: delete
     it in the foreground too (first unblocking its references if one of its
     dependents already waits for *its* dependents, which would deadlock);
   * otherwise it is garbage: delete it, with the policy its own finalizers
     ask for (``orphan`` -> Orphan, ``foregroundDeletion`` -> Foreground),
     else Background.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubesvc.controllers.workload import pods as P

Obj = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"

DANGLING = "dangling"
WAITING = "waiting"
SOLID = "solid"


@dataclass(frozen=True)
class OwnerState:
    """What is known about the object an owner reference points at."""

    exists: bool
    """An object with that kind, name and uid exists."""
    deleting_dependents: bool = False


@dataclass
class GCPlan:
    delete: str = ""
    """Delete ``obj`` (with a uid precondition) with this propagation policy."""
    remove_refs: list[str] = field(default_factory=list)
    """Owner uids whose references to drop from ``obj``."""
    unblock_refs: list[str] = field(default_factory=list)
    """Owner uids whose references get ``blockOwnerDeletion: false``."""
    orphan: list[Obj] = field(default_factory=list)
    """Dependents from which to drop the reference to ``obj``."""
    remove_finalizer: str = ""
    wait_for: list[Obj] = field(default_factory=list)
    """Dependents ``obj`` waits for (the controller makes sure they are processed)."""


def finalizers(obj: Mapping[str, Any]) -> list[str]:
    raw = P.meta(obj).get("finalizers")
    return [str(f) for f in raw] if isinstance(raw, list) else []


def deleting_dependents(obj: Mapping[str, Any]) -> bool:
    return P.is_being_deleted(obj) and FOREGROUND in finalizers(obj)


def reference_to(dependent: Mapping[str, Any], owner_uid: str) -> Obj | None:
    for ref in P.owner_references(dependent):
        if ref.get("uid") == owner_uid:
            return ref
    return None


def classify(ref: Mapping[str, Any], state: OwnerState | None) -> str:
    """``state`` None means "cannot be looked up" (unknown kind): treated as solid."""
    if state is None:
        return SOLID
    if not state.exists:
        return DANGLING
    return WAITING if state.deleting_dependents else SOLID


def plan_for(
    obj: Mapping[str, Any],
    owners: Mapping[str, OwnerState | None],
    dependents: Sequence[Obj],
) -> GCPlan:
    """See the module docstring; ``owners`` maps owner uid to its state."""
    plan = GCPlan()
    uid = str(P.meta(obj).get("uid") or "")
    fins = finalizers(obj)
    if P.is_being_deleted(obj):
        if ORPHAN in fins:
            plan.orphan = [d for d in dependents if reference_to(d, uid) is not None]
            plan.remove_finalizer = ORPHAN
        elif FOREGROUND in fins:
            blocking = [
                d
                for d in dependents
                if (reference_to(d, uid) or {}).get("blockOwnerDeletion") is True
            ]
            if blocking:
                plan.wait_for = blocking
            else:
                plan.remove_finalizer = FOREGROUND
        return plan
    refs = P.owner_references(obj)
    if not refs:
        return plan
    kinds = {str(r.get("uid")): classify(r, owners.get(str(r.get("uid")))) for r in refs}
    solid = [u for u, k in kinds.items() if k == SOLID]
    dangling = [u for u, k in kinds.items() if k == DANGLING]
    waiting = [u for u, k in kinds.items() if k == WAITING]
    if solid:
        plan.remove_refs = dangling + waiting
        return plan
    if waiting and dependents:
        if any(deleting_dependents(d) for d in dependents):
            plan.unblock_refs = [
                str(r.get("uid")) for r in refs if r.get("blockOwnerDeletion") is True
            ]
        plan.delete = "Foreground"
        return plan
    if ORPHAN in fins:
        plan.delete = "Orphan"
    elif FOREGROUND in fins:
        plan.delete = "Foreground"
    else:
        plan.delete = "Background"
    return plan


def remove_refs_patch(obj: Mapping[str, Any], uids: Sequence[str]) -> Obj:
    """Strategic merge patch dropping the references with these uids."""
    return {
        "metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": u} for u in uids],
            "uid": P.meta(obj).get("uid"),
        }
    }


def unblock_patch(obj: Mapping[str, Any], uids: Sequence[str]) -> Obj:
    """Strategic merge patch setting ``blockOwnerDeletion: false`` on these references."""
    refs = [
        {**ref, "blockOwnerDeletion": False}
        for ref in P.owner_references(obj)
        if ref.get("uid") in uids
    ]
    return {"metadata": {"ownerReferences": refs, "uid": P.meta(obj).get("uid")}}


def remove_finalizer_patch(obj: Mapping[str, Any], finalizer: str) -> Obj:
    """Merge patch of the remaining finalizers, conditional on the resourceVersion."""
    return {
        "metadata": {
            "finalizers": [f for f in finalizers(obj) if f != finalizer],
            "resourceVersion": P.meta(obj).get("resourceVersion"),
        }
    }
