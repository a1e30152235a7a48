"""EndpointSlice mirroring: hand-written Endpoints of selector-less Services, as slices.

The seed's "external service" pattern is a Service without a selector plus an
Endpoints object of the same name written by hand. Consumers that read only
EndpointSlices (kube-proxy, DNS, ``kubectl describe``) see those addresses
because this controller mirrors them, as upstream's EndpointSliceMirroring
controller does.

The pure part, ``reconcile_mirroring(endpoints, existing) -> MirrorPlan``:

1. The subsets are repacked (``repack_subsets``); each subset's port list, per
   address type, is one group. At most ``max_per_subset`` (1000) addresses of a
   subset are mirrored, ready ones first; addresses that are not IPs are
   skipped and counted (the controller records ``InvalidIPAddress`` and
   ``TooManyAddressesToMirror`` Warnings on the Endpoints).
2. An address becomes an endpoint with ``conditions.ready`` (true for
   ``addresses``, false for ``notReadyAddresses``), its ``targetRef``,
   ``nodeName`` and ``hostname``; the IP is written in canonical form.
3. Per group, one slice: the first existing slice (by name) is kept if its
   endpoints, labels (the Endpoints' labels) and annotations (the Endpoints'
   annotations but the trigger time and kubectl's last-applied configuration)
   already match and the Endpoints owns it; otherwise it is rewritten whole.
   Further slices of the group are deleted, as are groups no longer wanted.
4. A create and a delete of the same address type become an update.

Slices carry ``kubernetes.io/service-name: <name>`` and
``endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io``
and a controller reference to the Endpoints.

The controller mirrors only when the Service exists and has no selector, and
the Endpoints is not labelled ``endpointslice.kubernetes.io/skip-mirror: "true"``
(the ``kubernetes`` Service's Endpoints are) nor a leader-election record.
Otherwise it deletes what it mirrored before.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.rest import resolve
from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.endpoints import repack_subsets
from kubesvc.controllers.endpointslice.pods import (
    is_terminating,
    labels_of,
    meta,
    service_selector,
)
from kubesvc.controllers.endpointslice.reconciler import (
    API_VERSION,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    EndpointKey,
    PortKey,
    controller_ref,
    endpoint_key,
    endpoints_equal_beyond_hash,
    owned_by,
    port_key,
    recycle,
)
from kubesvc.controllers.endpointslice.tracker import EndpointSliceTracker, slice_service_key
from kubesvc.controllers.endpointslice.writes import CacheWaits, SliceEvents, StaleCache, apply_plan

Obj = dict[str, Any]
GroupKey = tuple[str, PortKey]

CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ELECTION = "control-plane.alpha.kubernetes.io/leader"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ENDPOINTS_PER_SUBSET = 1000
EVENT_COMPONENT = "endpoint-slice-mirroring-controller"

SERVICES = resolve(("v1", "Service"))
ENDPOINTS = resolve(("v1", "Endpoints"))
SLICES = resolve(("discovery.k8s.io/v1", "EndpointSlice"))
SLICES_BY_ENDPOINTS = "endpointslicemirroring/endpoints"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def should_mirror(endpoints: Mapping[str, Any] | None) -> bool:
    if endpoints is None:
        return False
    if labels_of(endpoints).get(SKIP_MIRROR_LABEL) == "true":
        return False
    return LEADER_ELECTION not in (meta(endpoints).get("annotations") or {})


def canonical_ip(text: str) -> tuple[str, str] | None:
    """``(ip, address type)`` as Go's ``ParseIPSloppy`` + ``String()`` give them, or None."""
    parts = text.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() for p in parts):
        octets = [int(p) for p in parts]  # leading zeros are decimal, as Go's sloppy parser
        if all(o <= 255 for o in octets):
            return ".".join(str(o) for o in octets), "IPv4"
        return None
    try:
        v6 = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    if v6.ipv4_mapped is not None:
        return str(v6.ipv4_mapped), "IPv4"
    return str(v6), "IPv6"


def address_to_endpoint(address: Mapping[str, Any], ready: bool) -> tuple[Obj, str] | None:
    parsed = canonical_ip(str(address.get("ip") or ""))
    if parsed is None:
        return None
    ip, address_type = parsed
    ep: Obj = {"addresses": [ip], "conditions": {"ready": ready}}
    if address.get("hostname"):
        ep["hostname"] = address["hostname"]
    if address.get("targetRef"):
        ep["targetRef"] = address["targetRef"]
    if address.get("nodeName"):
        ep["nodeName"] = address["nodeName"]
    return ep, address_type


def slice_ports(ports: Iterable[Mapping[str, Any]]) -> list[Obj]:
    out: list[Obj] = []
    for p in ports:
        port: Obj = {"name": p.get("name") or "", "port": p.get("port")}
        port["protocol"] = p.get("protocol") or "TCP"
        if p.get("appProtocol"):
            port["appProtocol"] = p["appProtocol"]
        out.append(port)
    return out


def mirrored_annotations(endpoints: Mapping[str, Any]) -> dict[str, str]:
    annotations = meta(endpoints).get("annotations") or {}
    return {k: v for k, v in annotations.items() if k not in (TRIGGER_TIME, LAST_APPLIED)}


def mirrored_labels(endpoints: Mapping[str, Any]) -> dict[str, str]:
    labels = labels_of(endpoints)
    labels[SERVICE_NAME_LABEL] = str(meta(endpoints).get("name") or "")
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


def new_mirrored_slice(
    endpoints: Mapping[str, Any], ports: Sequence[Obj], address_type: str, name: str = ""
) -> Obj:
    m = meta(endpoints)
    md: Obj = {"namespace": m.get("namespace")}
    if name:
        md["name"] = name
    else:
        md["generateName"] = f"{m.get('name')}-"
    md["labels"] = mirrored_labels(endpoints)
    annotations = mirrored_annotations(endpoints)
    if annotations:
        md["annotations"] = annotations
    md["ownerReferences"] = [controller_ref(endpoints, "Endpoints")]
    return {
        "apiVersion": API_VERSION,
        "kind": "EndpointSlice",
        "metadata": md,
        "addressType": address_type,
        "endpoints": [],
        "ports": [dict(p) for p in ports],
    }


@dataclass(frozen=True)
class MirrorPlan:
    create: tuple[Obj, ...] = ()
    update: tuple[Obj, ...] = ()
    delete: tuple[Obj, ...] = ()
    invalid_addresses: int = 0
    skipped_addresses: int = 0
    """Addresses not mirrored: invalid ones plus those beyond the per-subset maximum."""

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def _unchanged(
    existing: Mapping[str, Any], desired: Mapping[EndpointKey, Obj], endpoints: Mapping[str, Any]
) -> bool:
    matched = 0
    for ep in _list(existing.get("endpoints")):
        got = desired.get(endpoint_key(ep))
        if got is None or not endpoints_equal_beyond_hash(got, ep):
            return False
        matched += 1
    if matched != len(desired):
        return False
    labels = {
        k: v
        for k, v in labels_of(existing).items()
        if k not in (MANAGED_BY_LABEL, SERVICE_NAME_LABEL)
    }
    return (
        labels == labels_of(endpoints)
        and dict(meta(existing).get("annotations") or {}) == mirrored_annotations(endpoints)
        and owned_by(existing, endpoints, "Endpoints")
    )


def reconcile_mirroring(
    endpoints: Mapping[str, Any],
    existing_slices: Iterable[Obj],
    *,
    max_per_subset: int = MAX_ENDPOINTS_PER_SUBSET,
) -> MirrorPlan:
    """The plan that makes ``existing_slices`` mirror ``endpoints`` (see the module docstring)."""
    desired: dict[GroupKey, dict[EndpointKey, Obj]] = {}
    ports_of: dict[GroupKey, list[Obj]] = {}
    invalid = skipped = 0
    for subset in repack_subsets(_list(endpoints.get("subsets"))):
        ports = slice_ports(p for p in _list(subset.get("ports")) if isinstance(p, Mapping))
        pk = port_key(ports)
        candidates = [(a, True) for a in _list(subset.get("addresses"))]
        candidates += [(a, False) for a in _list(subset.get("notReadyAddresses"))]
        added = 0
        for address, ready in candidates:
            if added >= max_per_subset:
                break
            converted = address_to_endpoint(address, ready)
            if converted is None:
                invalid += 1
                continue
            ep, address_type = converted
            group = (address_type, pk)
            desired.setdefault(group, {})[endpoint_key(ep)] = ep
            ports_of[group] = ports
            added += 1
        skipped += len(candidates) - added

    existing_by_group: dict[GroupKey, list[Obj]] = {}
    for s in existing_slices:
        group = (str(s.get("addressType") or ""), port_key(_list(s.get("ports"))))
        existing_by_group.setdefault(group, []).append(s)

    create: list[Obj] = []
    update: list[Obj] = []
    delete: list[Obj] = []
    for group in sorted(desired):
        wanted = desired[group]
        current = sorted(existing_by_group.get(group, []), key=lambda s: str(meta(s)["name"]))
        delete += current[1:]
        if current and _unchanged(current[0], wanted, endpoints):
            continue
        name = str(meta(current[0]).get("name")) if current else ""
        fresh = new_mirrored_slice(endpoints, ports_of[group], group[0], name)
        fresh["endpoints"] = [wanted[k] for k in sorted(wanted)]
        if current:
            rv = meta(current[0]).get("resourceVersion")
            if rv:
                fresh["metadata"]["resourceVersion"] = rv
            update.append(fresh)
        else:
            create.append(fresh)
    for group in sorted(existing_by_group):
        if group not in desired:
            delete += existing_by_group[group]

    recycle(create, update, delete)
    if is_terminating(endpoints):
        create = []
    return MirrorPlan(tuple(create), tuple(update), tuple(delete), invalid, skipped)


# -- the controller ---------------------------------------------------------------------------
class EndpointSliceMirroringController(QueueController):
    name = "endpointslicemirroring"

    def __init__(self, ctx: ControllerContext) -> None:
        factory = ctx.informers
        self.services = factory.informer(SERVICES)
        self.endpoints = factory.informer(ENDPOINTS)
        self.slices = factory.informer(
            SLICES, label_selector=f"{MANAGED_BY_LABEL}={CONTROLLER_NAME}"
        )
        super().__init__(
            informers=[self.services, self.endpoints, self.slices],
            workers=ctx.settings.workers,
            clock=ctx.clock,
        )
        self.api = ctx.client
        self.recorder = ctx.recorder(EVENT_COMPONENT)
        self.tracker = EndpointSliceTracker()
        self.cache_waits = CacheWaits(self.enqueue_key, self.enqueue_after)
        try:
            self.slices.add_indexer(SLICES_BY_ENDPOINTS, lambda s: [slice_service_key(s)])
        except ValueError:
            pass
        self.services.add_handlers(
            on_add=self._service_changed,
            on_update=lambda old, new: self._service_changed(new, old),
            on_delete=self._service_changed,
        )
        self.endpoints.add_handlers(
            on_add=self._endpoints_changed,
            on_update=lambda old, new: self._endpoints_changed(new, old),
            on_delete=self._endpoints_changed,
        )
        slice_events = SliceEvents(self.tracker, self.cache_waits, self.enqueue_key)
        self.slices.add_handlers(
            on_add=slice_events.added,
            on_update=slice_events.updated,
            on_delete=slice_events.deleted,
        )

    # -- handlers (enqueue only) ---------------------------------------------------------
    def _service_changed(self, service: Obj, old: Obj | None = None) -> None:
        if service_selector(service) is None or (old is not None and service_selector(old) is None):
            self.enqueue(service)

    def _endpoints_changed(self, endpoints: Obj, old: Obj | None = None) -> None:
        if should_mirror(endpoints) or (old is not None and should_mirror(old)):
            self.enqueue(endpoints)

    # -- sync --------------------------------------------------------------------------
    def handle_error(self, key: str, exc: Exception) -> None:
        if isinstance(exc, StaleCache):
            self.cache_waits.wait(key)
            return
        super().handle_error(key, exc)

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        ours = self.slices.cache.by_index(SLICES_BY_ENDPOINTS, key)
        service = self.services.get(namespace, name)
        endpoints = self.endpoints.get(namespace, name)
        if (
            service is None
            or service_selector(service) is not None
            or endpoints is None
            or not should_mirror(endpoints)
        ):
            self.tracker.delete_service(key)
            await apply_plan(self.api, self.tracker, namespace, delete=ours)
            return
        slices = [s for s in ours if not is_terminating(s)]
        if self.tracker.stale_slices(key, slices):
            raise StaleCache(f"EndpointSlice informer cache is out of date for {key}")
        plan = reconcile_mirroring(endpoints, slices)
        if plan.invalid_addresses:
            await self.recorder.warning(
                endpoints,
                "InvalidIPAddress",
                f"Skipped {plan.invalid_addresses} invalid IP addresses when mirroring to "
                "EndpointSlices",
            )
        if plan.skipped_addresses > plan.invalid_addresses:
            await self.recorder.warning(
                endpoints,
                "TooManyAddressesToMirror",
                f"A max of {MAX_ENDPOINTS_PER_SUBSET} addresses can be mirrored to EndpointSlices "
                f"per Endpoints subset. {plan.skipped_addresses} addresses were skipped",
            )
        await apply_plan(self.api, self.tracker, namespace, plan.create, plan.update, plan.delete)


registry.register(EndpointSliceMirroringController.name, EndpointSliceMirroringController)
