"""The Endpoints controller: the legacy ``Endpoints`` object of every Service with a selector.

The pure part, ``reconcile_endpoints(service, pods, current) -> EndpointsPlan``:

1. ExternalName Services and Services without a selector get nothing (the
   user owns the Endpoints of a selector-less Service).
2. Pods count if selected, with an IP and not terminal; terminating pods count
   only with ``publishNotReadyAddresses``. The address is the pod IP of the
   Service's primary family, with ``nodeName``, ``targetRef`` and (when the pod's
   subdomain names the Service) ``hostname``.
3. One subset per (pod, Service port that resolves on the pod) goes into
   ``addresses`` (ready, or any with ``publishNotReadyAddresses``) or
   ``notReadyAddresses``; a headless Service without ports gets port-less
   subsets. ``repack_subsets`` then merges addresses that offer identical port
   sets and sorts everything (upstream's ``RepackSubsets``; upstream orders
   subsets and ports by a hash, here by their content).
4. Nothing is written when subsets (pod resourceVersions aside), labels (the
   headless label aside) and the over-capacity annotation already agree.
5. Otherwise the object gets the subsets, the Service's labels (plus
   ``service.kubernetes.io/headless`` for a Service without a ClusterIP), the
   ``endpoints.kubernetes.io/last-change-trigger-time`` annotation (or none),
   and is truncated to 1000 addresses with
   ``endpoints.kubernetes.io/over-capacity: truncated`` (``truncate_subsets``:
   ready addresses first, proportionally per subset).

The controller watches Services, Pods and Endpoints. Handlers enqueue Service
keys (pods through the Services selecting them, Endpoints on deletion). A
Service that is gone has its Endpoints deleted; at start every Endpoints object
is enqueued once, so leftovers whose Service disappeared meanwhile go too
(except leader-election records). A cached Endpoints whose resourceVersion is
one we already replaced, or a create that finds the object there, means a stale
cache: the sync is retried once the cache moves (``CacheWaits``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesvc.api.errors import AlreadyExists, Forbidden, NotFound, StatusError
from kubesvc.client.cache import object_key, split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.endpointslice.indexes import (
    POD_LABELS,
    SERVICE_SELECTOR,
    ensure_index,
    pod_label_index,
    pods_for_service,
    service_selector_index,
    services_for_pod,
)
from kubesvc.controllers.endpointslice.pods import (
    find_port,
    ip_family,
    is_external_name,
    is_pod_ready,
    is_service_ip_set,
    key_of,
    labels_of,
    meta,
    pod_ips,
    selects,
    service_selector,
    should_pod_be_in_endpoints,
    should_set_hostname,
    spec,
    status,
)
from kubesvc.controllers.endpointslice.pods import (
    services_for_pod as matching_services,
)
from kubesvc.controllers.endpointslice.pods import (
    services_to_update_on_pod_change as services_to_update,
)
from kubesvc.controllers.endpointslice.reconciler import writable_meta
from kubesvc.controllers.endpointslice.triggertime import ANNOTATION as TRIGGER_TIME
from kubesvc.controllers.endpointslice.triggertime import (
    TriggerTimeTracker,
    format_rfc3339_nano,
)
from kubesvc.controllers.endpointslice.writes import (
    CacheWaits,
    StaleCache,
    namespace_terminating,
)

Obj = dict[str, Any]

OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
TRUNCATED = "truncated"
HEADLESS_LABEL = "service.kubernetes.io/headless"
LEADER_ELECTION = "control-plane.alpha.kubernetes.io/leader"
MAX_CAPACITY = 1000
EVENT_COMPONENT = "endpoint-controller"

SERVICES = resolve(("v1", "Service"))
PODS = resolve(("v1", "Pod"))
ENDPOINTS = resolve(("v1", "Endpoints"))

_NO_PORT = ("", -1, "", "")
PortT = tuple[str, int, str, str]
AddrKey = tuple[str, str]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- addresses and ports ------------------------------------------------------------------
def primary_family(service: Mapping[str, Any], pod: Mapping[str, Any]) -> str:
    families = _list(spec(service).get("ipFamilies"))
    if families:
        return str(families[0])
    if is_service_ip_set(service):
        return ip_family(str(spec(service).get("clusterIP")))
    return ip_family(str(status(pod).get("podIP") or ""))


def pod_address(service: Mapping[str, Any], pod: Mapping[str, Any]) -> Obj | None:
    """The pod's EndpointAddress for ``service`` (None without an IP of its family)."""
    family = primary_family(service, pod)
    ip = next((ip for ip in pod_ips(pod) if ip_family(ip) == family), None)
    if ip is None:
        return None
    address: Obj = {"ip": ip}
    if should_set_hostname(pod, service):
        address["hostname"] = spec(pod)["hostname"]
    if spec(pod).get("nodeName"):
        address["nodeName"] = spec(pod)["nodeName"]
    pm = meta(pod)
    address["targetRef"] = {
        "kind": "Pod",
        "namespace": pm.get("namespace"),
        "name": pm.get("name"),
        "uid": pm.get("uid"),
    }
    return address


def _port_tuple(p: Mapping[str, Any]) -> PortT:
    return (
        str(p.get("name") or ""),
        int(p.get("port") or 0),
        str(p.get("protocol") or "TCP"),
        str(p.get("appProtocol") or ""),
    )


def _port_dict(t: PortT) -> Obj:
    port: Obj = {}
    if t[0]:
        port["name"] = t[0]
    port["port"] = t[1]
    port["protocol"] = t[2]
    if t[3]:
        port["appProtocol"] = t[3]
    return port


def _addr_key(a: Mapping[str, Any]) -> AddrKey:
    return (str(a.get("ip") or ""), str((a.get("targetRef") or {}).get("uid") or ""))


def _addr_sort_key(a: Mapping[str, Any]) -> tuple[str, int, str]:
    # By IP text, then pods without a reference first, then by pod UID.
    ref = a.get("targetRef")
    return (str(a.get("ip") or ""), 1 if ref else 0, str((ref or {}).get("uid") or ""))


def repack_subsets(subsets: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Merge addresses offering the same ports into one subset each, and sort."""
    addresses: dict[AddrKey, Mapping[str, Any]] = {}
    by_port: dict[PortT, dict[AddrKey, bool]] = {}
    for given in subsets:
        ports = [_port_tuple(p) for p in _list(given.get("ports")) if isinstance(p, Mapping)]
        for port in ports or [_NO_PORT]:
            for field, is_ready in (("addresses", True), ("notReadyAddresses", False)):
                for a in _list(given.get(field)):
                    if not isinstance(a, Mapping):
                        continue
                    key = _addr_key(a)
                    addresses.setdefault(key, a)
                    readiness = by_port.setdefault(port, {})
                    # Not ready wins over ready for the same address and port.
                    if readiness.get(key, True):
                        readiness[key] = is_ready
    groups: dict[frozenset[tuple[AddrKey, bool]], list[PortT]] = {}
    for port, readiness in by_port.items():
        ports = groups.setdefault(frozenset(readiness.items()), [])
        if port != _NO_PORT:
            ports.append(port)
    final: list[Obj] = []
    for group, ports in groups.items():
        ready = sorted((addresses[k] for k, r in group if r), key=_addr_sort_key)
        not_ready = sorted((addresses[k] for k, r in group if not r), key=_addr_sort_key)
        subset: Obj = {}
        if ready:
            subset["addresses"] = [dict(a) for a in ready]
        if not_ready:
            subset["notReadyAddresses"] = [dict(a) for a in not_ready]
        if ports:
            subset["ports"] = [_port_dict(p) for p in sorted(ports)]
        final.append(subset)
    final.sort(key=_subset_sort_key)
    return final


def _subset_sort_key(s: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        tuple(_port_tuple(p) for p in _list(s.get("ports"))),
        tuple(_addr_sort_key(a) for a in _list(s.get("addresses"))),
        tuple(_addr_sort_key(a) for a in _list(s.get("notReadyAddresses"))),
    )


def desired_subsets(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Steps 2 and 3 of the module docstring: the repacked, untruncated subsets."""
    publish_not_ready = bool(spec(service).get("publishNotReadyAddresses"))
    service_ports = [p for p in _list(spec(service).get("ports")) if isinstance(p, Mapping)]
    headless = spec(service).get("clusterIP") == "None"
    subsets: list[Obj] = []
    for pod in pods:
        if not selects(service, pod) or not should_pod_be_in_endpoints(pod, publish_not_ready):
            continue
        address = pod_address(service, pod)
        if address is None:
            continue
        field = "addresses" if publish_not_ready or is_pod_ready(pod) else "notReadyAddresses"
        if not service_ports:
            if headless:
                subsets.append({field: [address]})
            continue
        for sp in service_ports:
            number = find_port(pod, sp)
            if number is None:
                continue
            port: Obj = {"name": sp.get("name") or "", "port": number}
            port["protocol"] = sp.get("protocol") or "TCP"
            if sp.get("appProtocol"):
                port["appProtocol"] = sp["appProtocol"]
            subsets.append({field: [address], "ports": [port]})
    return repack_subsets(subsets)


def count_addresses(subsets: Iterable[Mapping[str, Any]]) -> int:
    return sum(
        len(_list(s.get("addresses"))) + len(_list(s.get("notReadyAddresses"))) for s in subsets
    )


def truncate_subsets(subsets: Sequence[Obj], max_capacity: int) -> tuple[list[Obj], bool]:
    """At most ``max_capacity`` addresses, ready first, shared out per subset by size."""
    total_ready = sum(len(_list(s.get("addresses"))) for s in subsets)
    total_not_ready = sum(len(_list(s.get("notReadyAddresses"))) for s in subsets)
    if total_ready + total_not_ready <= max_capacity:
        return list(subsets), False
    truncate_ready = total_ready > max_capacity
    budget = max_capacity if truncate_ready else max_capacity - total_ready
    total = total_ready if truncate_ready else total_not_ready
    left = budget
    out: list[Obj] = []
    for s in subsets:
        s = dict(s)
        field = "addresses" if truncate_ready else "notReadyAddresses"
        count = len(_list(s.get(field)))
        share = min(math.ceil(count / total * budget) if total else 0, left)
        if truncate_ready:
            s["addresses"] = _list(s.get("addresses"))[:share]
            s.pop("notReadyAddresses", None)
            left -= len(s["addresses"])
        else:
            s["notReadyAddresses"] = _list(s.get("notReadyAddresses"))[:share]
            left -= len(s["notReadyAddresses"])
        for key in ("addresses", "notReadyAddresses"):
            if key in s and not s[key]:
                del s[key]
        out.append(s)
    return out, True


# -- comparison and the plan -----------------------------------------------------------------
def _canonical(subsets: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """Subsets with empty fields dropped and pod resourceVersions ignored."""
    out: list[Obj] = []
    for s in subsets:
        c: Obj = {}
        for field in ("addresses", "notReadyAddresses"):
            addrs = []
            for a in _list(s.get(field)):
                a = {k: v for k, v in a.items() if v not in ("", None)}
                if isinstance(a.get("targetRef"), Mapping):
                    a["targetRef"] = {
                        k: v for k, v in a["targetRef"].items() if k != "resourceVersion" and v
                    }
                addrs.append(a)
            if addrs:
                c[field] = addrs
        ports = [_port_tuple(p) for p in _list(s.get("ports")) if isinstance(p, Mapping)]
        if ports:
            c["ports"] = ports
        out.append(c)
    return out


def capacity_annotation_set_correctly(current: Mapping[str, Any]) -> bool:
    if count_addresses(_list(current.get("subsets"))) > MAX_CAPACITY:
        return False
    return OVER_CAPACITY not in ((meta(current).get("annotations")) or {})


@dataclass(frozen=True)
class EndpointsPlan:
    action: str
    """``none``, ``create`` or ``update``."""
    endpoints: Obj | None = None


NOTHING = EndpointsPlan("none")


def reconcile_endpoints(
    service: Mapping[str, Any],
    pods: Iterable[Mapping[str, Any]],
    current: Mapping[str, Any] | None,
    *,
    max_capacity: int = MAX_CAPACITY,
    trigger_time: datetime | None = None,
) -> EndpointsPlan:
    """The write (if any) that makes ``current`` the Endpoints of ``service`` (pure)."""
    if is_external_name(service) or service_selector(service) is None:
        return NOTHING
    subsets = desired_subsets(service, pods)
    service_labels = labels_of(service)
    if current is not None:
        current_labels = {k: v for k, v in labels_of(current).items() if k != HEADLESS_LABEL}
        if (
            _canonical(_list(current.get("subsets"))) == _canonical(subsets)
            and current_labels == service_labels
            and capacity_annotation_set_correctly(current)
        ):
            return NOTHING
        new = {k: v for k, v in current.items() if k not in ("metadata", "subsets")}
        new["metadata"] = writable_meta(current)
    else:
        sm = meta(service)
        new = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": sm.get("name"), "namespace": sm.get("namespace")},
        }
    new.setdefault("apiVersion", "v1")
    new.setdefault("kind", "Endpoints")
    nm = new.setdefault("metadata", {})
    annotations = dict(nm.get("annotations") or {})
    if trigger_time is not None:
        annotations[TRIGGER_TIME] = format_rfc3339_nano(trigger_time)
    else:
        annotations.pop(TRIGGER_TIME, None)
    subsets, truncated = truncate_subsets(subsets, max_capacity)
    if truncated:
        annotations[OVER_CAPACITY] = TRUNCATED
    else:
        annotations.pop(OVER_CAPACITY, None)
    labels = dict(service_labels)
    if not is_service_ip_set(service):
        labels[HEADLESS_LABEL] = ""
    for key, value in (("labels", labels), ("annotations", annotations)):
        if value:
            nm[key] = value
        else:
            nm.pop(key, None)
    new["subsets"] = subsets
    return EndpointsPlan("create" if current is None else "update", new)


# -- the controller ---------------------------------------------------------------------------
class StaleEndpointsTracker:
    """resourceVersions of Endpoints we replaced: seeing one again means a stale cache."""

    def __init__(self) -> None:
        self._stale: dict[str, str] = {}

    def is_stale(self, endpoints: Mapping[str, Any]) -> bool:
        rv = self._stale.get(key_of(endpoints))
        return rv is not None and rv == meta(endpoints).get("resourceVersion")

    def stale(self, endpoints: Mapping[str, Any]) -> None:
        self._stale[key_of(endpoints)] = str(meta(endpoints).get("resourceVersion") or "")

    def delete(self, key: str) -> None:
        self._stale.pop(key, None)


class EndpointsController(QueueController):
    name = "endpoints"

    def __init__(self, ctx: ControllerContext) -> None:
        factory = ctx.informers
        self.services = factory.informer(SERVICES)
        self.pods = factory.informer(PODS)
        self.endpoints = factory.informer(ENDPOINTS)
        super().__init__(
            informers=[self.services, self.pods, self.endpoints],
            workers=ctx.settings.workers,
            clock=ctx.clock,
        )
        self.api = ctx.client
        self.recorder = ctx.recorder(EVENT_COMPONENT)
        self.max_capacity = ctx.settings.endpoints_max_addresses
        self.triggers = TriggerTimeTracker()
        self.stale_tracker = StaleEndpointsTracker()
        self.cache_waits = CacheWaits(self.enqueue_key, self.enqueue_after)
        ensure_index(self.pods, POD_LABELS, pod_label_index)
        ensure_index(self.services, SERVICE_SELECTOR, service_selector_index)
        self.services.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.pods.add_handlers(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_added
        )
        self.endpoints.add_handlers(
            on_add=self._endpoints_news,
            on_update=lambda old, new: self._endpoints_news(new),
            on_delete=self._endpoints_deleted,
        )

    def _endpoints_news(self, endpoints: Obj) -> None:
        self.cache_waits.news(key_of(endpoints))

    def _endpoints_deleted(self, endpoints: Obj) -> None:
        self._endpoints_news(endpoints)
        self.enqueue(endpoints)

    def _pod_added(self, pod: Obj) -> None:
        for key in matching_services(services_for_pod(self.services, pod), pod):
            self.enqueue_key(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        candidates = {key_of(s): s for s in services_for_pod(self.services, old)}
        candidates.update((key_of(s), s) for s in services_for_pod(self.services, new))
        for key in services_to_update(candidates.values(), old, new):
            self.enqueue_key(key)

    async def wait_for_caches(self) -> None:
        await super().wait_for_caches()
        # Leftovers: Endpoints whose Service went away while we were not running.
        for ep in self.endpoints.list():
            if LEADER_ELECTION not in (meta(ep).get("annotations") or {}):
                self.enqueue_key(object_key(ep))

    def handle_error(self, key: str, exc: Exception) -> None:
        if isinstance(exc, StaleCache):
            self.cache_waits.wait(key)
            return
        super().handle_error(key, exc)

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(namespace, name)
        if service is None:
            try:
                await self.api.delete(ENDPOINTS, namespace, name)
            except NotFound:
                pass
            self.triggers.delete_service(key)
            self.stale_tracker.delete(key)
            return
        if is_external_name(service) or service_selector(service) is None:
            return
        current = self.endpoints.get(namespace, name)
        if current is not None and self.stale_tracker.is_stale(current):
            raise StaleCache(f"Endpoints informer cache is out of date for {key}")
        pods = [p for p in pods_for_service(self.pods, service) if selects(service, p)]
        plan = reconcile_endpoints(
            service,
            pods,
            current,
            max_capacity=self.max_capacity,
            trigger_time=self.triggers.compute(key, service, pods),
        )
        if plan.endpoints is None:
            return
        try:
            if plan.action == "create":
                await self.api.create(ENDPOINTS, plan.endpoints, namespace=namespace)
                return
            updated = await self.api.update(ENDPOINTS, plan.endpoints, namespace=namespace)
        except AlreadyExists:
            # Ours (or someone's) from a moment ago that the cache has not shown yet.
            raise StaleCache(f"Endpoints informer cache is out of date for {key}") from None
        except Forbidden as exc:
            if plan.action == "create" and namespace_terminating(exc):
                return
            await self._record_failure(plan, key, exc)
            raise
        except (StatusError, ClientError) as exc:
            await self._record_failure(plan, key, exc)
            raise
        assert current is not None
        if meta(updated).get("resourceVersion") != meta(current).get("resourceVersion"):
            self.stale_tracker.stale(current)

    async def _record_failure(self, plan: EndpointsPlan, key: str, exc: Exception) -> None:
        assert plan.endpoints is not None
        if plan.action == "create":
            reason, message = (
                "FailedToCreateEndpoint",
                f"Failed to create endpoint for service {key}",
            )
        else:
            reason, message = "FailedToUpdateEndpoint", f"Failed to update endpoint {key}"
        await self.recorder.warning(plan.endpoints, reason, f"{message}: {exc}")


registry.register(EndpointsController.name, EndpointsController)
