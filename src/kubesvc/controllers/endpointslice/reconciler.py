"""The EndpointSlices a Service should have, as a plan against the ones it has (pure).

``reconcile(service, pods, existing_slices) -> SlicePlan(create, update, delete)``
computes what upstream's EndpointSlice reconciler computes, step by step:

1. Services of type ExternalName, and Services without a selector, get nothing
   here (a selector-less Service's slices are the user's, or mirrored from its
   Endpoints). The plan is empty.
2. Address types come from ``spec.ipFamilies`` (IPv4 -> ``IPv4``, IPv6 ->
   ``IPv6``); without them, from the ClusterIP's family, or both for headless.
   Existing slices of another address type are deleted.
3. Per address type, existing slices not owned by the Service (no controller
   reference with its UID) are deleted; the others are grouped by their port
   list. Desired endpoints are computed per pod: the pod must be selected by
   the Service, have an IP and not be terminal (terminating pods stay, with
   ``terminating: true``); its ports are the Service ports resolved against the
   pod (a named ``targetPort`` the pod lacks drops that port, so such pods land
   in slices of their own port list). A pod on a Node the ``node_lookup`` does
   not know is skipped (and reported in ``missing_nodes`` so the caller retries)
   unless ``publishNotReadyAddresses``; its Node's ``topology.kubernetes.io/zone``
   label becomes the endpoint's ``zone``.
4. Per port list (``_reconcile_port_mapping``): walk the existing slices, keep the
   endpoints still desired (replacing changed ones), drop the others; a slice
   left empty is deleted, a changed one updated, one whose Service labels
   drifted relabelled. Then fill the slices being updated, fullest first, up to
   ``max_per_slice``. Then, if fewer than ``max_per_slice`` endpoints remain,
   put them in the unchanged slice that ends up closest to full; otherwise (or
   if none fits) create new slices. Minimal churn: existing slices are reused
   before new ones are made.
5. Port lists no longer desired lose their slices. If nothing would be left,
   one placeholder slice (no endpoints, no ports) is kept, or created.
6. Finally a create and a delete of the same address type become one update of
   the slice that was to be deleted; nothing is created while the Service is
   being deleted; created and updated slices carry the trigger-time annotation
   (removed when there is no trigger time).

Endpoints are matched across syncs by (addresses, hostname, pod namespace and
name), and compared beyond that by node, zone, conditions, hints and pod
reference (its resourceVersion ignored), as upstream does. Upstream iterates Go
maps (random order); here every choice is made in a sorted order so the plan is
deterministic.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesvc.controllers.endpointslice.pods import (
    find_port,
    ip_family,
    is_external_name,
    is_pod_ready,
    is_service_ip_set,
    is_terminating,
    labels_of,
    meta,
    pod_ips,
    selects,
    service_selector,
    should_pod_be_in_endpoints,
    should_set_hostname,
    spec,
)
from kubesvc.controllers.endpointslice.triggertime import ANNOTATION as TRIGGER_TIME
from kubesvc.controllers.endpointslice.triggertime import format_rfc3339_nano

Obj = dict[str, Any]
NodeLookup = Callable[[str], Mapping[str, Any] | None]
PortKey = tuple[tuple[str, str, int, str], ...]
EndpointKey = tuple[tuple[str, ...], str, str, str]

CONTROLLER_NAME = "endpointslice-controller.k8s.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"
RESERVED_LABELS = frozenset({SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL})
DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100
API_VERSION = "discovery.k8s.io/v1"


@dataclass(frozen=True)
class SlicePlan:
    """Slices to create (``generateName``), update (full objects) and delete."""

    create: tuple[Obj, ...] = ()
    update: tuple[Obj, ...] = ()
    delete: tuple[Obj, ...] = ()
    missing_nodes: tuple[str, ...] = ()
    """Nodes named by selected pods that do not exist; those pods were left out."""

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


# -- small pure pieces, shared with the mirroring controller -------------------------------
def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def port_key(ports: Iterable[Mapping[str, Any]]) -> PortKey:
    """Identity of a port list, independent of its order."""
    return tuple(
        sorted(
            (
                str(p.get("name") or ""),
                str(p.get("protocol") or "TCP"),
                int(p.get("port") or 0),
                str(p.get("appProtocol") or ""),
            )
            for p in ports
        )
    )


def endpoint_key(ep: Mapping[str, Any]) -> EndpointKey:
    """What identifies an endpoint across syncs (upstream's endpoint hash)."""
    ref = ep.get("targetRef") or {}
    return (
        tuple(sorted(str(a) for a in _list(ep.get("addresses")))),
        str(ep.get("hostname") or ""),
        str(ref.get("namespace") or ""),
        str(ref.get("name") or ""),
    )


def _ref_sans_rv(ref: Any) -> Any:
    if not isinstance(ref, Mapping):
        return ref
    return {k: v for k, v in ref.items() if k != "resourceVersion"}


def endpoints_equal_beyond_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Same node, zone, conditions, hints and pod reference (resourceVersion aside)."""
    ca, cb = a.get("conditions") or {}, b.get("conditions") or {}
    return (
        a.get("nodeName") == b.get("nodeName")
        and a.get("zone") == b.get("zone")
        and all(ca.get(c) == cb.get(c) for c in ("ready", "serving", "terminating"))
        and (a.get("hints") or None) == (b.get("hints") or None)
        and _ref_sans_rv(a.get("targetRef")) == _ref_sans_rv(b.get("targetRef"))
    )


def owned_by(slice_: Mapping[str, Any], owner: Mapping[str, Any], kind: str = "Service") -> bool:
    uid = meta(owner).get("uid")
    return any(
        isinstance(ref, Mapping)
        and ref.get("uid") == uid
        and ref.get("kind") == kind
        and ref.get("apiVersion") == "v1"
        for ref in _list(meta(slice_).get("ownerReferences"))
    )


def controller_ref(owner: Mapping[str, Any], kind: str) -> Obj:
    m = meta(owner)
    return {
        "apiVersion": "v1",
        "kind": kind,
        "name": m.get("name"),
        "uid": m.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def set_trigger_time(slice_: Obj, trigger_time: datetime | None) -> None:
    annotations = slice_.setdefault("metadata", {}).get("annotations") or {}
    if trigger_time is not None:
        annotations[TRIGGER_TIME] = format_rfc3339_nano(trigger_time)
    else:
        annotations.pop(TRIGGER_TIME, None)
    if annotations:
        slice_["metadata"]["annotations"] = annotations
    else:
        slice_["metadata"].pop("annotations", None)


def recycle(
    create: list[Obj],
    update: list[Obj],
    delete: list[Obj],
    owner: Mapping[str, Any] | None = None,
    kind: str = "Service",
) -> None:
    """Turn (create, delete) pairs of one address type into updates of the deleted slice.

    With ``owner``, only slices it owns (as ``kind``) are reused: a slice of an
    earlier Service of the same name is left for the garbage collector.
    """
    i = 0
    while i < len(delete) and create:
        doomed, new = delete[i], create[-1]
        same_type = doomed.get("addressType") == new.get("addressType")
        if same_type and (owner is None or owned_by(doomed, owner, kind)):
            create.pop()
            new_meta = new["metadata"]
            new_meta.pop("generateName", None)
            new_meta["name"] = meta(doomed).get("name")
            if meta(doomed).get("resourceVersion"):
                new_meta["resourceVersion"] = meta(doomed)["resourceVersion"]
            update.append(new)
            delete.pop(i)
        else:
            i += 1


# -- service -> slices ----------------------------------------------------------------------
def address_types_for_service(service: Mapping[str, Any]) -> list[str]:
    types: list[str] = []
    for family in _list(spec(service).get("ipFamilies")):
        if family in ("IPv4", "IPv6") and family not in types:
            types.append(str(family))
    if types:
        return types
    if is_service_ip_set(service):
        return [ip_family(str(spec(service).get("clusterIP")))]
    return ["IPv4", "IPv6"]


def endpoint_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
    """The Service's ports as this pod serves them, sorted (every port has a ``name``)."""
    ports: list[Obj] = []
    for sp in _list(spec(service).get("ports")):
        if not isinstance(sp, Mapping):
            continue
        number = find_port(pod, sp)
        if number is None:
            continue
        port: Obj = {
            "name": str(sp.get("name") or ""),
            "port": number,
            "protocol": str(sp.get("protocol") or "TCP"),
        }
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        ports.append(port)
    ports.sort(key=lambda p: (p["name"], p["protocol"], p["port"]))
    return ports


def pod_to_endpoint(
    pod: Mapping[str, Any],
    node: Mapping[str, Any] | None,
    service: Mapping[str, Any],
    address_type: str,
) -> Obj:
    serving = is_pod_ready(pod)
    terminating = is_terminating(pod)
    ready = bool(spec(service).get("publishNotReadyAddresses")) or (serving and not terminating)
    pm = meta(pod)
    ep: Obj = {
        "addresses": [ip for ip in pod_ips(pod) if ip_family(ip) == address_type],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    }
    if should_set_hostname(pod, service):
        ep["hostname"] = spec(pod)["hostname"]
    ep["targetRef"] = {
        "kind": "Pod",
        "namespace": pm.get("namespace"),
        "name": pm.get("name"),
        "uid": pm.get("uid"),
    }
    node_name = spec(pod).get("nodeName")
    if node_name:
        ep["nodeName"] = node_name
    zone = labels_of(node).get(ZONE_LABEL) if node is not None else None
    if zone:
        ep["zone"] = zone
    return ep


def slice_labels(
    slice_: Mapping[str, Any], service: Mapping[str, Any], controller_name: str
) -> tuple[dict[str, str], bool]:
    """The labels a slice of ``service`` should carry, and whether its own differ."""
    current = {k: v for k, v in labels_of(slice_).items() if k not in RESERVED_LABELS}
    wanted = {k: v for k, v in labels_of(service).items() if k not in RESERVED_LABELS}
    changed = current != wanted
    if not is_service_ip_set(service):
        wanted[HEADLESS_LABEL] = ""
    wanted[SERVICE_NAME_LABEL] = str(meta(service).get("name") or "")
    wanted[MANAGED_BY_LABEL] = controller_name
    return wanted, changed


def new_slice(
    service: Mapping[str, Any], ports: Sequence[Obj], address_type: str, controller_name: str
) -> Obj:
    m = meta(service)
    labels, _ = slice_labels({}, service, controller_name)
    return {
        "apiVersion": API_VERSION,
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{m.get('name')}-",
            "namespace": m.get("namespace"),
            "labels": labels,
            "ownerReferences": [controller_ref(service, "Service")],
        },
        "addressType": address_type,
        "endpoints": [],
        "ports": [dict(p) for p in ports],
    }


def _placeholder_equal(existing: Mapping[str, Any], placeholder: Mapping[str, Any]) -> bool:
    return (
        meta(existing).get("namespace") == meta(placeholder).get("namespace")
        and labels_of(existing) == labels_of(placeholder)
        and existing.get("addressType") == placeholder.get("addressType")
        and not _list(existing.get("endpoints"))
        and not _list(existing.get("ports"))
    )


def _slice_to_fill(slices: Sequence[Obj], count: int, maximum: int) -> Obj | None:
    """The slice closest to full once ``count`` endpoints are added (None if none fits)."""
    best: Obj | None = None
    best_diff = maximum
    for s in slices:
        diff = maximum - (count + len(_list(s.get("endpoints"))))
        if 0 <= diff < best_diff:
            best, best_diff = s, diff
            if diff == 0:
                break
    return best


def _name(s: Mapping[str, Any]) -> str:
    return str(meta(s).get("name") or "")


def writable_meta(obj: Mapping[str, Any]) -> Obj:
    """A copy of ``metadata`` to send back: without ``managedFields``, which the API
    server keeps when a write leaves them out (and which are the bulk of a big object)."""
    return copy.deepcopy({k: v for k, v in meta(obj).items() if k != "managedFields"})


def _copy_slice(s: Mapping[str, Any]) -> Obj:
    """A copy we may change: own metadata and endpoint list (endpoints themselves are shared)."""
    fresh = dict(s)
    fresh["metadata"] = writable_meta(s)
    fresh["endpoints"] = list(_list(s.get("endpoints")))
    return fresh


def _reconcile_port_mapping(
    service: Mapping[str, Any],
    existing: Sequence[Obj],
    desired: dict[EndpointKey, Obj],
    ports: Sequence[Obj],
    address_type: str,
    max_per_slice: int,
    controller_name: str,
) -> tuple[list[Obj], list[Obj], list[Obj]]:
    by_name: dict[str, Obj] = {}
    unchanged: list[str] = []
    to_update: list[str] = []
    to_delete: list[str] = []
    wanted = dict(desired)

    # 1. Keep what is still desired (in its new form), drop the rest.
    for s in sorted(existing, key=_name):
        name = _name(s)
        by_name[name] = s
        kept: list[Obj] = []
        changed = False
        old = [e for e in _list(s.get("endpoints")) if isinstance(e, Mapping)]
        for ep in old:
            got = wanted.pop(endpoint_key(ep), None)
            if got is not None:
                kept.append(got)
                changed = changed or not endpoints_equal_beyond_hash(got, ep)
        labels, labels_changed = slice_labels(s, service, controller_name)
        if changed or len(kept) != len(_list(s.get("endpoints"))):
            if not kept:
                to_delete.append(name)
                continue
            fresh = _copy_slice(s)
            fresh["endpoints"] = kept
            fresh["metadata"]["labels"] = labels
            by_name[name] = fresh
            to_update.append(name)
        elif labels_changed:
            fresh = _copy_slice(s)
            fresh["metadata"]["labels"] = labels
            by_name[name] = fresh
            to_update.append(name)
        else:
            unchanged.append(name)

    remaining = [wanted[k] for k in sorted(wanted)]
    remaining.reverse()  # pop() from the end hands them out in sorted order

    # 2. Fill the slices already being updated, fullest first.
    if remaining and to_update:
        filling = sorted(
            (by_name[n] for n in to_update), key=lambda s: (-len(s["endpoints"]), _name(s))
        )
        for s in filling:
            while remaining and len(s["endpoints"]) < max_per_slice:
                s["endpoints"].append(remaining.pop())

    # 3. Fit the rest into one unchanged slice if possible, else into new slices.
    to_create: list[Obj] = []
    while remaining:
        target: Obj | None = None
        if len(remaining) < max_per_slice and unchanged:
            found = _slice_to_fill([by_name[n] for n in unchanged], len(remaining), max_per_slice)
            if found is not None:
                target = _copy_slice(found)
                by_name[_name(target)] = target
        if target is None:
            target = new_slice(service, ports, address_type, controller_name)
        while remaining and len(target["endpoints"]) < max_per_slice:
            target["endpoints"].append(remaining.pop())
        if _name(target):
            to_update.append(_name(target))
            unchanged.remove(_name(target))
        else:
            to_create.append(target)

    return (
        to_create,
        [by_name[n] for n in to_update],
        [by_name[n] for n in to_delete],
    )


def _reconcile_address_type(
    service: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    existing: Sequence[Obj],
    address_type: str,
    max_per_slice: int,
    node_lookup: NodeLookup | None,
    controller_name: str,
    trigger_time: datetime | None,
    missing_nodes: list[str],
) -> tuple[list[Obj], list[Obj], list[Obj]]:
    to_create: list[Obj] = []
    to_update: list[Obj] = []
    to_delete: list[Obj] = []

    existing_by_key: dict[PortKey, list[Obj]] = {}
    for s in existing:
        if owned_by(s, service):
            existing_by_key.setdefault(port_key(_list(s.get("ports"))), []).append(s)
        else:
            to_delete.append(s)

    publish_not_ready = bool(spec(service).get("publishNotReadyAddresses"))
    desired: dict[PortKey, dict[EndpointKey, Obj]] = {}
    desired_ports: dict[PortKey, list[Obj]] = {}
    for pod in pods:
        if not selects(service, pod) or not should_pod_be_in_endpoints(pod, True):
            continue
        ports = endpoint_ports(service, pod)
        key = port_key(ports)
        bucket = desired.setdefault(key, {})
        desired_ports.setdefault(key, ports)
        node: Mapping[str, Any] | None = None
        node_name = str(spec(pod).get("nodeName") or "")
        if node_lookup is not None and node_name:
            node = node_lookup(node_name)
            if node is None and not publish_not_ready:
                if node_name not in missing_nodes:
                    missing_nodes.append(node_name)
                continue
        ep = pod_to_endpoint(pod, node, service, address_type)
        if ep["addresses"]:
            bucket[endpoint_key(ep)] = ep

    for key in sorted(desired):
        c, u, d = _reconcile_port_mapping(
            service,
            existing_by_key.get(key, []),
            desired[key],
            desired_ports[key],
            address_type,
            max_per_slice,
            controller_name,
        )
        to_create += c
        to_update += u
        to_delete += d
    for key in sorted(existing_by_key):
        if key not in desired:
            to_delete += sorted(existing_by_key[key], key=_name)

    if len(existing) == len(to_delete) and not to_create:
        placeholder = new_slice(service, [], address_type, controller_name)
        if len(to_delete) == 1 and _placeholder_equal(to_delete[0], placeholder):
            to_delete = []
        else:
            to_create.append(placeholder)

    recycle(to_create, to_update, to_delete, service, "Service")
    if is_terminating(service):
        to_create = []
    for s in (*to_create, *to_update):
        set_trigger_time(s, trigger_time)
    return to_create, to_update, to_delete


def reconcile(
    service: Mapping[str, Any],
    pods: Iterable[Mapping[str, Any]],
    existing_slices: Iterable[Obj],
    *,
    max_per_slice: int = DEFAULT_MAX_ENDPOINTS_PER_SLICE,
    node_lookup: NodeLookup | None = None,
    trigger_time: datetime | None = None,
    controller_name: str = CONTROLLER_NAME,
) -> SlicePlan:
    """The plan that brings ``existing_slices`` in line with ``service`` and ``pods``.

    ``pods`` are candidates (the pods of the namespace, or a superset of those
    selected); ``existing_slices`` are this controller's slices labelled with the
    Service's name, without those already being deleted. ``node_lookup`` answers
    a Node by name (None: Nodes are not checked and no zones are set).
    """
    if is_external_name(service) or service_selector(service) is None:
        return SlicePlan()
    if max_per_slice < 1:
        raise ValueError("max_per_slice must be at least 1")
    pods = list(pods)
    types = address_types_for_service(service)
    create: list[Obj] = []
    update: list[Obj] = []
    delete: list[Obj] = []
    missing: list[str] = []
    by_type: dict[str, list[Obj]] = {}
    for s in existing_slices:
        t = str(s.get("addressType") or "")
        if t in types:
            by_type.setdefault(t, []).append(s)
        else:
            delete.append(s)
    for t in types:
        c, u, d = _reconcile_address_type(
            service,
            pods,
            by_type.get(t, []),
            t,
            max_per_slice,
            node_lookup,
            controller_name,
            trigger_time,
            missing,
        )
        create += c
        update += u
        delete += d
    return SlicePlan(tuple(create), tuple(update), tuple(delete), tuple(missing))
