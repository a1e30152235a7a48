"""Which objects a controller owns: adoption and release (``ControllerRefManager``).

Given a controller, its selector and candidate objects of its namespace:

* controlled by someone else: ignored;
* controlled by us and matching: ours;
* controlled by us but no longer matching: released (owner reference removed),
  unless we are being deleted;
* an orphan (no controller) that matches, is not being deleted and we are not
  being deleted: adopted (our controller reference added).

``claim`` only decides; the controller patches (strategic merge on
``ownerReferences``, whose merge key is ``uid``) and counts an adoption as
ours once the patch succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesvc.controllers.workload import pods as P

Obj = dict[str, Any]


@dataclass
class Claim:
    owned: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def claim(
    controller: Mapping[str, Any],
    matches: Callable[[dict[str, str]], bool],
    candidates: Iterable[Obj],
) -> Claim:
    out = Claim()
    uid = P.meta(controller).get("uid")
    deleting = P.is_being_deleted(controller)
    namespace = P.meta(controller).get("namespace") or ""
    for obj in candidates:
        ref = P.controller_ref(obj)
        match = matches(P.labels(obj))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if match:
                out.owned.append(obj)
            elif not deleting:
                out.release.append(obj)
            continue
        if deleting or not match or P.is_being_deleted(obj):
            continue
        if namespace and P.meta(obj).get("namespace") != namespace:
            continue
        out.adopt.append(obj)
    return out


def adopt_patch(controller: Mapping[str, Any], obj: Mapping[str, Any]) -> Obj:
    """Strategic merge patch adding ``controller``'s reference to ``obj``."""
    return {
        "metadata": {
            "ownerReferences": [P.new_controller_ref(controller)],
            "uid": P.meta(obj).get("uid"),
        }
    }


def release_patch(owner_uid: str, obj: Mapping[str, Any]) -> Obj:
    """Strategic merge patch removing the reference to ``owner_uid`` from ``obj``."""
    return {
        "metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
            "uid": P.meta(obj).get("uid"),
        }
    }
