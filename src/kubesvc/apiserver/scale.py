"""The ``scale`` subresource: autoscaling/v1 Scale views of workload objects (pure).

``kubectl scale`` PATCHes ``.../<name>/scale`` with a merge patch of
``spec.replicas`` and decodes the answer as an autoscaling/v1 Scale, so the
view must carry that kind, not the workload's.
"""

from __future__ import annotations

from typing import Any

from kubesvc.api import errors
from kubesvc.api.selectors import from_label_selector

Obj = dict[str, Any]


def to_scale(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector") or {}
    if obj.get("kind") == "ReplicationController":
        sel_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    else:
        try:
            sel_text = str(from_label_selector(selector)) if selector else ""
        except ValueError:
            sel_text = ""
    scale_meta = {
        k: meta[k]
        for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if k in meta
    }
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": int(spec.get("replicas") or 0)},
        "status": {"replicas": int(status.get("replicas") or 0), "selector": sel_text},
    }


def replicas_from(scale: Any) -> int:
    """``spec.replicas`` of a Scale body, validated as upstream does."""
    spec = (scale or {}).get("spec") if isinstance(scale, dict) else None
    replicas = (spec or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.BadRequest("spec.replicas must be an integer")
    if replicas < 0:
        name = ((scale or {}).get("metadata") or {}).get("name", "")
        raise errors.Invalid(
            "Scale",
            name,
            [errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
            "autoscaling",
        )
    return replicas
