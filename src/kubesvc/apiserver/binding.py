"""The ``pods/binding`` subresource: assigning a pod to a node, once.

A scheduler (or a client such as the Python client's
``create_namespaced_pod_binding``) POSTs a ``v1 Binding`` to
``/api/v1/namespaces/NS/pods/NAME/binding``; the pod gets ``spec.nodeName``
and the Binding's annotations, and the answer is a ``Status`` Success with
code 201, as upstream's BindingREST answers. A pod that already has a node, or
is being deleted, is a 409 Conflict on ``pods/binding``.

The decisions are pure (``check`` and ``bind``); the handler runs ``bind``
inside the store's compare-and-swap loop. As upstream, the same write sets the
pod's ``PodScheduled`` condition to True (so a scheduler needs no second write).
"""

from __future__ import annotations

import copy
from typing import Any

from kubesvc.api import errors

Obj = dict[str, Any]

SUCCESS: Obj = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Success",
    "code": 201,
}


def check(binding: Any, name: str) -> str:
    """Validate a Binding posted for pod ``name``; returns the node name."""
    if not isinstance(binding, dict):
        raise errors.BadRequest("the body must be a Binding object")
    meta = binding.get("metadata") or {}
    if meta.get("name") and meta["name"] != name:
        raise errors.BadRequest("name in URL does not match name in Binding object")
    target = binding.get("target") or {}
    errs: list[errors.FieldError] = []
    kind = target.get("kind") or ""
    if kind not in ("", "Node"):
        errs.append(errors.not_supported("target.kind", kind, ["Node", "<empty>"]))
    node = target.get("name") or ""
    if not node:
        errs.append(errors.required("target.name"))
    if errs:
        raise errors.Invalid("Binding", name, errs)
    return str(node)


def bind(pod: Obj, binding: Obj, node: str, now: str = "") -> Obj:
    """The pod after binding it to ``node``; raises the upstream Conflicts."""
    name = pod["metadata"]["name"]
    uid = (binding.get("metadata") or {}).get("uid")
    if uid and uid != pod["metadata"].get("uid"):
        raise _conflict(
            name,
            f"Precondition failed: UID in precondition: {uid}, "
            f"UID in object meta: {pod['metadata'].get('uid', '')}",
        )
    if pod["metadata"].get("deletionTimestamp"):
        raise _conflict(name, f"pod {name} is being deleted, cannot be assigned to a host")
    assigned = (pod.get("spec") or {}).get("nodeName")
    if assigned:
        raise _conflict(name, f'pod {name} is already assigned to node "{assigned}"')
    out = copy.deepcopy(pod)
    out.setdefault("spec", {})["nodeName"] = node
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    if annotations:
        out["metadata"].setdefault("annotations", {}).update(annotations)
    status = out.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    scheduled = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
    if scheduled is None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": now or None,
            }
        )
    elif scheduled.get("status") != "True":
        scheduled.update(status="True", lastTransitionTime=now or None)
        scheduled.pop("reason", None)
        scheduled.pop("message", None)
    status["conditions"] = conditions
    return out


def _conflict(name: str, detail: str) -> errors.StatusError:
    return errors.Conflict("pods/binding", name, detail)
