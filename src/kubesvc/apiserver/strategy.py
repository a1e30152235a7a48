"""Per-kind behaviour of the generic store: defaults, validation, status handling.

The hooks run in one fixed order (kube-apiserver's registry order), and the
store is the only caller:

* create: ``prepare_for_create`` (may change the object: defaults, status reset)
  -> ``validate`` (returns field errors, never changes the object)
  -> ``canonicalize`` (last touch before storing).
* update of the main resource: ``prepare_for_update(new, old)`` (keeps the old
  status for kinds with a status subresource, bumps ``generation`` when the spec
  changed) -> ``validate_update`` -> ``canonicalize``.
* update of the ``status`` subresource: ``prepare_for_status_update(new, old)``
  (keeps the old spec and metadata) -> ``validate_status_update`` -> ``canonicalize``.

Kinds that take values from a pool (Services: ClusterIPs, node ports) also get
``begin_create(obj)`` / ``begin_update(new, old)`` right before validation: they
allocate and return a ``Finish`` callback that the store calls exactly once,
with True once the write is stored (commit) and False otherwise (give back).
``after_delete(obj)`` runs once an object is really gone.

DELETE asks ``check_graceful_delete(obj, requested)`` for the object's grace
period (None for kinds that are removed at once; pods answer one). The pure
``before_delete`` turns that, the request's ``gracePeriodSeconds`` and what the
object already carries into a ``DeleteDecision`` (upstream ``rest.BeforeDelete``):
mark it with ``deletionTimestamp = now + grace``, shorten a pending grace
period (never lengthen it), or leave a pending one alone.

A kind with its own rules subclasses ``Strategy`` (services, pods, namespaces ...);
the rest use the default one built from the resource table.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kubesvc.api import defaults
from kubesvc.api.errors import FieldError, forbidden, invalid, required
from kubesvc.api.patch.jsonvalue import copy_object, deep_copy
from kubesvc.api.resources import Resource
from kubesvc.api.validation import configmap as vconfigmap
from kubesvc.api.validation import meta as vmeta

if TYPE_CHECKING:
    from kubesvc.apiserver.allocators import ServiceAllocators

Obj = dict[str, Any]
Finish = Callable[[bool], None]
"""Ends an allocation transaction: True commits, False gives back."""


def finish_nothing(ok: bool) -> None:
    del ok


# Kinds whose metadata.generation counts spec changes.
_GENERATION_KINDS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
        ("", "ReplicationController"),
        ("networking.k8s.io", "Ingress"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("", "Pod"),
    }
)

# Top-level fields that are not "spec" for the purpose of status updates.
_STATUS_KEYS = ("status",)


class Strategy:
    """Default behaviour for a resource; subclass for kinds with their own rules."""

    allow_create_on_update = False
    allow_unconditional_update = True
    # DELETE answers with the deleted object instead of a Status (pods, services).
    return_deleted_object = False

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.has_status = resource.subresource("status") is not None
        self.tracks_generation = (resource.group, resource.kind) in _GENERATION_KINDS

    # -- names ---------------------------------------------------------------
    def name_errors(self, name: str) -> list[str]:
        return vmeta.is_dns1123_subdomain(name)

    # -- create --------------------------------------------------------------
    def prepare_for_create(self, obj: Obj) -> None:
        if self.has_status and self.resource.kind not in ("Pod", "Node", "Namespace"):
            obj.pop("status", None)
        if self.tracks_generation:
            obj["metadata"]["generation"] = 1
        defaults.apply_defaults(self.resource.group, self.resource.kind, obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return self.validate_meta(obj)

    def validate_meta(self, obj: Obj) -> list[FieldError]:
        return vmeta.validate_object_meta(
            obj.get("metadata") or {},
            namespaced=self.resource.namespaced,
            name_validator=self.name_errors,
        )

    def begin_create(self, obj: Obj, *, dry_run: bool = False) -> Finish:
        """Allocate what ``obj`` needs before validation; the default takes nothing."""
        return finish_nothing

    # -- update --------------------------------------------------------------
    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        if self.has_status:
            if "status" in old:
                new["status"] = deep_copy(old["status"])
            else:
                new.pop("status", None)
        defaults.apply_defaults(self.resource.group, self.resource.kind, new)
        if self.tracks_generation:
            gen = int(old.get("metadata", {}).get("generation") or 1)
            if _spec_of(new) != _spec_of(old):
                gen += 1
            new["metadata"]["generation"] = gen

    def begin_update(self, new: Obj, old: Obj, *, dry_run: bool = False) -> Finish:
        """Allocate what the change needs before validation; the default takes nothing."""
        return finish_nothing

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = vmeta.validate_object_meta_update(
            new.get("metadata") or {}, old.get("metadata") or {}
        )
        return errs + self.validate(new)

    def after_delete(self, obj: Obj) -> None:
        """The object is gone from storage (give back what it held); default: nothing."""

    def check_graceful_delete(self, obj: Obj, requested: int | None) -> int | None:
        """The grace period (seconds) a DELETE with ``requested`` gives ``obj``.

        None: the kind has no graceful deletion, it is removed at once (the default).
        """
        return None

    # -- status --------------------------------------------------------------
    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        status = new.get("status")
        kept = deep_copy(old)
        kept_meta = kept.setdefault("metadata", {})
        new_meta = new.get("metadata") or {}
        # Status writers may still change labels and annotations (as upstream allows).
        for key in ("labels", "annotations"):
            if key in new_meta:
                kept_meta[key] = new_meta[key]
            else:
                kept_meta.pop(key, None)
        if status is None:
            kept.pop("status", None)
        else:
            kept["status"] = status
        new.clear()
        new.update(kept)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return vmeta.validate_object_meta_update(
            new.get("metadata") or {}, old.get("metadata") or {}
        )

    def prepare_for_finalize(self, new: Obj, old: Obj) -> None:
        """The ``finalize`` subresource changes only ``spec.finalizers`` (namespaces)."""
        finalizers = (new.get("spec") or {}).get("finalizers") or []
        kept = deep_copy(old)
        kept.setdefault("spec", {})["finalizers"] = list(finalizers)
        if not finalizers:
            kept["spec"].pop("finalizers")
        new.clear()
        new.update(kept)

    def canonicalize(self, obj: Obj) -> None:
        """Last change before storing; the default does nothing."""

    # -- field selectors -----------------------------------------------------
    def field_attrs(self, obj: Obj) -> dict[str, str]:
        """The values field selectors can match on (``metadata.name`` and kind-specific)."""
        meta = obj.get("metadata") or {}
        attrs = {"metadata.name": str(meta.get("name", ""))}
        if self.resource.namespaced:
            attrs["metadata.namespace"] = str(meta.get("namespace", ""))
        attrs.update(self.extra_field_attrs(obj))
        return attrs

    def extra_field_attrs(self, obj: Obj) -> dict[str, str]:
        """Selectable fields beyond the metadata ones; kinds override."""
        return {}


# -- graceful deletion -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeleteDecision:
    """What a DELETE does before finalizers are looked at (upstream ``rest.BeforeDelete``).

    ``graceful``: write ``deletionTimestamp``/``deletionGracePeriodSeconds`` below;
    the object stays while ``grace`` > 0 (the node agent removes it with grace 0).
    ``pending``: the object is already terminating and the request does not
    shorten it: answer the object, change nothing (not even finalizers).
    Neither: remove it now (unless finalizers hold it).
    """

    graceful: bool = False
    pending: bool = False
    deletion_timestamp: datetime | None = None
    grace: int = 0


REMOVE_NOW = DeleteDecision()
PENDING = DeleteDecision(pending=True)


def before_delete(
    obj: Obj,
    requested: int | None,
    check: Callable[[Obj, int | None], int | None],
    now: datetime,
) -> DeleteDecision:
    """Decide a DELETE of ``obj`` asking for ``requested`` seconds of grace (None: default).

    1. A negative request counts as 1 s (so does a negative stored grace period).
    2. ``check`` (the strategy's ``check_graceful_delete``) answers None: the
       kind is removed at once.
    3. Already terminating with grace 0 (or none): remove at once; this also
       finishes a two-step delete that stopped after its first write.
    4. Already terminating with grace G: only a shorter request changes it; the
       new ``deletionTimestamp`` is the old one moved back by the difference
       (it stays anchored to the first DELETE, not to now). Else pending.
    5. Not terminating: ``deletionTimestamp = now + grace``, grace from ``check``.
    """
    if requested is not None and requested < 0:
        requested = 1
    period = check(obj, requested)
    if period is None:
        return REMOVE_NOW
    meta = obj.get("metadata") or {}
    stamp = meta.get("deletionTimestamp")
    if stamp:
        current = meta.get("deletionGracePeriodSeconds")
        if isinstance(current, int) and current < 0:
            current = 1
        if not isinstance(current, int) or current == 0:
            return REMOVE_NOW
        if requested is None or requested >= current:
            return PENDING
        moved = parse_timestamp(str(stamp)) + timedelta(seconds=requested - current)
        return DeleteDecision(graceful=True, deletion_timestamp=moved, grace=requested)
    return DeleteDecision(
        graceful=True, deletion_timestamp=now + timedelta(seconds=period), grace=period
    )


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 time as stored in ``metadata`` (``2024-01-01T00:00:00Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def pod_grace_period(pod: Obj, requested: int | None) -> int:
    """A pod's grace period for a DELETE (upstream pod strategy ``CheckGracefulDelete``).

    The request's value, else ``spec.terminationGracePeriodSeconds`` (0 when
    unset); 0 for a pod no node runs (unscheduled) or that has finished
    (Succeeded/Failed), since nothing needs to stop; a negative value counts as 1.
    """
    spec = pod.get("spec") or {}
    if requested is not None:
        period = requested
    else:
        configured = spec.get("terminationGracePeriodSeconds")
        period = configured if isinstance(configured, int) else 0
    if not spec.get("nodeName"):
        period = 0
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        period = 0
    return 1 if period < 0 else period


def _spec_of(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def _get(obj: Obj, *path: str) -> str:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


class NamespaceStrategy(Strategy):
    def name_errors(self, name: str) -> list[str]:
        return vmeta.is_dns1123_label(name)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        # spec.finalizers change only through the finalize subresource.
        new["spec"] = deep_copy(old.get("spec", {}))

    def extra_field_attrs(self, o: Obj) -> dict[str, str]:
        return {"status.phase": _get(o, "status", "phase")}


class PodStrategy(Strategy):
    return_deleted_object = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)
        super().prepare_for_create(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj)
        errs += validate_pod_spec(obj.get("spec"), "spec")
        return errs

    def check_graceful_delete(self, obj: Obj, requested: int | None) -> int | None:
        return pod_grace_period(obj, requested)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old)
        if _pod_spec_immutable_part(new) != _pod_spec_immutable_part(old):
            errs.append(
                forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`, "
                    "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                    "`spec.tolerations` (only additions to existing tolerations), "
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                    "previously negative)",
                )
            )
        return errs

    def extra_field_attrs(self, o: Obj) -> dict[str, str]:
        return {
            "spec.nodeName": _get(o, "spec", "nodeName"),
            "spec.restartPolicy": _get(o, "spec", "restartPolicy"),
            "spec.schedulerName": _get(o, "spec", "schedulerName"),
            "spec.serviceAccountName": _get(o, "spec", "serviceAccountName"),
            "spec.hostNetwork": _get(o, "spec", "hostNetwork") or "false",
            "status.phase": _get(o, "status", "phase"),
            "status.podIP": _get(o, "status", "podIP"),
            "status.nominatedNodeName": _get(o, "status", "nominatedNodeName"),
        }


def _pod_spec_immutable_part(obj: Obj) -> Obj:
    spec: Obj = copy_object(obj.get("spec") or {})
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                c.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
        spec.pop(key, None)
    # Binding sets the node name once.
    spec.pop("nodeName", None)
    return spec


def validate_pod_spec(spec: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(spec, dict):
        return [required(path, "")]
    containers = spec.get("containers")
    if not containers:
        errs.append(required(f"{path}.containers", ""))
    names: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            p = f"{path}.{key}[{i}]"
            if not isinstance(c, dict):
                continue
            name = c.get("name")
            if not name:
                errs.append(required(f"{p}.name", ""))
            else:
                errs.extend(
                    invalid(f"{p}.name", name, m) for m in vmeta.is_dns1123_label(str(name))
                )
                if name in names:
                    errs.append(FieldError("Duplicate", f"{p}.name", name))
                names.add(str(name))
            if not c.get("image"):
                errs.append(required(f"{p}.image", ""))
            for j, port in enumerate(c.get("ports") or []):
                if not isinstance(port, dict):
                    continue
                cp = port.get("containerPort")
                pp = f"{p}.ports[{j}].containerPort"
                if cp is None:
                    errs.append(required(pp, ""))
                elif not isinstance(cp, int) or not 1 <= cp <= 65535:
                    errs.append(invalid(pp, cp, "must be between 1 and 65535, inclusive"))
    policy = spec.get("restartPolicy")
    if policy not in (None, "Always", "OnFailure", "Never"):
        from kubesvc.api.errors import not_supported

        errs.append(
            not_supported(f"{path}.restartPolicy", policy, ["Always", "Never", "OnFailure"])
        )
    return errs


class WorkloadStrategy(Strategy):
    """Deployments, ReplicaSets, DaemonSets (apps/v1): selector rules."""

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj)
        spec = obj.get("spec") or {}
        selector = spec.get("selector")
        tmpl_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            errs.append(required("spec.selector", ""))
        elif isinstance(selector, dict):
            from kubesvc.api import selectors

            try:
                sel = selectors.from_label_selector(selector)
            except ValueError as exc:
                errs.append(invalid("spec.selector", selector, str(exc)))
            else:
                if sel.empty():
                    errs.append(
                        invalid(
                            "spec.selector", selector, "empty selector is invalid for deployment"
                        )
                    )
                elif not sel.matches(tmpl_labels):
                    errs.append(
                        invalid(
                            "spec.template.metadata.labels",
                            tmpl_labels,
                            "`selector` does not match template `labels`",
                        )
                    )
        errs += validate_pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and replicas < 0:
            errs.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old)
        if (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
            errs.append(
                invalid(
                    "spec.selector", (new.get("spec") or {}).get("selector"), "field is immutable"
                )
            )
        return errs


class ReplicationControllerStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj)
        spec = obj.get("spec") or {}
        selector = spec.get("selector") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            errs.append(required("spec.selector", ""))
        elif any(labels.get(k) != v for k, v in selector.items()):
            errs.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        errs += validate_pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
        return errs

    def extra_field_attrs(self, o: Obj) -> dict[str, str]:
        return {"status.replicas": _get(o, "status", "replicas")}


class EventStrategy(Strategy):
    def extra_field_attrs(self, o: Obj) -> dict[str, str]:
        return {
            "involvedObject.kind": _get(o, "involvedObject", "kind"),
            "involvedObject.namespace": _get(o, "involvedObject", "namespace"),
            "involvedObject.name": _get(o, "involvedObject", "name"),
            "involvedObject.uid": _get(o, "involvedObject", "uid"),
            "involvedObject.apiVersion": _get(o, "involvedObject", "apiVersion"),
            "involvedObject.resourceVersion": _get(o, "involvedObject", "resourceVersion"),
            "involvedObject.fieldPath": _get(o, "involvedObject", "fieldPath"),
            "reason": _get(o, "reason"),
            "reportingComponent": _get(o, "reportingComponent"),
            "source": _get(o, "source", "component"),
            "type": _get(o, "type"),
        }


class SecretStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        _merge_string_data(obj)
        super().prepare_for_create(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        _merge_string_data(new)
        super().prepare_for_update(new, old)

    def extra_field_attrs(self, o: Obj) -> dict[str, str]:
        return {"type": _get(o, "type")}


def _merge_string_data(obj: Obj) -> None:
    """``stringData`` is write-only: its entries overwrite those of ``data``
    (base64-encoded) and it is never stored, as upstream's v1 conversion does."""
    string_data = obj.pop("stringData", None)
    if not isinstance(string_data, dict) or not string_data:
        return
    data = obj.get("data")
    if not isinstance(data, dict):
        data = obj["data"] = {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()


class ConfigMapStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + vconfigmap.validate_config_map(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old)
        return errs + vconfigmap.validate_config_map_update(new, old)


class NodeStrategy(Strategy):
    def extra_field_attrs(self, o: Obj) -> dict[str, str]:
        return {"spec.unschedulable": _get(o, "spec", "unschedulable") or "false"}


_STRATEGIES: dict[str, type[Strategy]] = {
    "namespaces": NamespaceStrategy,
    "pods": PodStrategy,
    "deployments": WorkloadStrategy,
    "replicasets": WorkloadStrategy,
    "daemonsets": WorkloadStrategy,
    "replicationcontrollers": ReplicationControllerStrategy,
    "events": EventStrategy,
    "secrets": SecretStrategy,
    "configmaps": ConfigMapStrategy,
    "nodes": NodeStrategy,
}


def strategy_for(
    resource: Resource, *, service_allocators: ServiceAllocators | None = None
) -> Strategy:
    """The strategy of ``resource``; Services allocate from ``service_allocators``."""
    if (resource.group, resource.plural) == ("", "services"):
        # services.py builds on this module, so it is imported when first needed.
        from kubesvc.apiserver.services import ServiceStrategy

        return ServiceStrategy(resource, service_allocators)
    cls = _STRATEGIES.get(resource.plural, Strategy)
    return cls(resource)
