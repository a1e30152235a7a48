"""The Service kind in the API server: strategy, allocation hooks, upkeep.

What kube-apiserver's Service registry does, in the store's hook order:

create
    ``prepare_for_create`` (status reset, ``SetDefaults_Service``) ->
    ``begin_create``: ``clusterIPs`` mirrored from ``clusterIP``, IP families
    initialised, ClusterIP(s), node ports and health-check node port allocated
    (422/500 on failure) -> ``validate`` (``ValidateService``) -> stored; the
    allocation is given back if validation or the write fails, or on a dry run.
update
    ``prepare_for_update``: old status kept, defaults, values allocated before
    patched back in when the client left them out (so re-applying the original
    YAML works), ``clusterIP``/``clusterIPs`` reconciled, then the fields the new
    ``type`` no longer uses are dropped (NodePort -> ClusterIP drops the node
    ports, ClusterIP -> ExternalName drops clusterIP(s) and the family fields)
    -> ``begin_update``: allocate what the new type needs; releases happen only
    once the update is stored -> ``validate_update``.
delete
    ``after_delete`` frees everything the Service held.

``ServiceUpkeep`` rebuilds the allocators from storage when the server starts,
runs the periodic repair, and keeps the ``kubernetes`` Service in ``default``
(ClusterIP on the first address of the range, port 443 ``https`` to the API
server) with its Endpoints and EndpointSlice pointing at the API server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kubesvc.api import errors
from kubesvc.api.errors import FieldError
from kubesvc.api.patch.jsonvalue import deep_copy
from kubesvc.api.resources import Resource
from kubesvc.api.validation import service as vsvc
from kubesvc.api.validation.ip import family_of
from kubesvc.api.validation.names import is_dns1035_label
from kubesvc.apiserver.allocators.ipalloc import API_SERVICE_INDEX
from kubesvc.apiserver.allocators.repair import (
    REPAIR_INTERVAL_SECONDS,
    Finding,
    ServiceRepair,
    event_for,
)
from kubesvc.apiserver.allocators.servicealloc import ServiceAllocators
from kubesvc.apiserver.store import ObjectStore, utc_now
from kubesvc.apiserver.strategy import Finish, Strategy

logger = logging.getLogger(__name__)

Obj = dict[str, Any]


class ServiceStrategy(Strategy):
    """Services as kube-apiserver's registry treats them (PUT may create, as upstream)."""

    return_deleted_object = True
    allow_create_on_update = True

    def __init__(self, resource: Resource, allocators: ServiceAllocators | None = None) -> None:
        super().__init__(resource)
        # Without the server's allocators (tools, tests): private ones on the default ranges.
        self.allocators = allocators or ServiceAllocators.from_settings()

    def name_errors(self, name: str) -> list[str]:
        return is_dns1035_label(name)

    # -- create --------------------------------------------------------------------
    def begin_create(self, obj: Obj, *, dry_run: bool = False) -> Finish:
        normalize_cluster_ips(obj, None)
        return self.allocators.allocate_create(obj).finish

    def validate(self, obj: Obj) -> list[FieldError]:
        return vsvc.validate_service(obj)

    # -- update --------------------------------------------------------------------
    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        patch_allocated_values(new, old)
        normalize_cluster_ips(new, old)
        drop_type_dependent_fields(new, old)

    def begin_update(self, new: Obj, old: Obj, *, dry_run: bool = False) -> Finish:
        return self.allocators.allocate_update(new, old).finish

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return vsvc.validate_service_update(new, old)

    # -- status ----------------------------------------------------------------------
    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        if vsvc.service_type(new) != "LoadBalancer":
            return
        lb = (new.get("status") or {}).get("loadBalancer")
        ingress = lb.get("ingress") if isinstance(lb, dict) else None
        for ing in ingress if isinstance(ingress, list) else []:
            # LoadBalancerIPMode defaulting: an address without a mode is a VIP.
            if isinstance(ing, dict) and ing.get("ip") and ing.get("ipMode") is None:
                ing["ipMode"] = "VIP"

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return vsvc.validate_service_status_update(new, old)

    # -- delete ----------------------------------------------------------------------
    def after_delete(self, obj: Obj) -> None:
        self.allocators.release_all(obj)

    def extra_field_attrs(self, obj: Obj) -> dict[str, str]:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = {}
        return {
            "spec.clusterIP": str(spec.get("clusterIP") or ""),
            "spec.type": str(spec.get("type") or ""),
        }


# -- field shaping (pure) -----------------------------------------------------------------


def _spec(svc: Obj) -> Obj:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        spec = svc["spec"] = {}
    return spec


def _ips(spec: Mapping[str, Any]) -> list[Any]:
    value = spec.get("clusterIPs")
    return list(value) if isinstance(value, list) else []


def _needs_cluster_ip(svc: Obj) -> bool:
    return vsvc.service_type(svc) != "ExternalName"


def _needs_node_port(svc: Obj) -> bool:
    return vsvc.service_type(svc) in ("NodePort", "LoadBalancer")


def _node_port(p: Any) -> int:
    value = p.get("nodePort") if isinstance(p, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ports(svc: Obj) -> list[Obj]:
    return [p for p in _spec(svc).get("ports") or [] if isinstance(p, dict)]


def normalize_cluster_ips(new: Obj, old: Obj | None) -> None:
    """``NormalizeClusterIPs``: keep ``clusterIPs`` in step with ``clusterIP``.

    Old clients know only ``clusterIP``; new ones send both. On create a lone
    ``clusterIP`` is mirrored; on update, ``clusterIPs`` dropped by an old client
    is restored, and clearing or changing ``clusterIP`` alone carries over.
    """
    spec = _spec(new)
    cluster_ip = spec.get("clusterIP") or ""
    if old is None:
        if cluster_ip and not _ips(spec):
            spec["clusterIPs"] = [cluster_ip]
        return
    old_spec = _spec(old)
    old_ip = old_spec.get("clusterIP") or ""
    if _ips(old_spec) and not _ips(spec) and old_ip == cluster_ip:
        spec["clusterIPs"] = deep_copy(old_spec["clusterIPs"])
    if old_ip != cluster_ip:
        same = _ips(old_spec) == _ips(spec)
        if old_ip and not cluster_ip:
            if same:
                spec.pop("clusterIPs", None)
        elif same:
            spec["clusterIPs"] = [cluster_ip]


def patch_allocated_values(new: Obj, old: Obj) -> None:
    """``patchAllocatedValues``: keep what was allocated when the client left it out."""
    spec, old_spec = _spec(new), _spec(old)
    if _needs_cluster_ip(old) and _needs_cluster_ip(new):
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not _ips(spec) and _ips(old_spec):
            spec["clusterIPs"] = deep_copy(old_spec["clusterIPs"])
    if _needs_node_port(old) and _needs_node_port(new):
        old_used = {_node_port(p) for p in _ports(old) if _node_port(p)}
        new_used = {_node_port(p) for p in _ports(new) if _node_port(p)}
        used = old_used & new_used
        by_name = {str(p.get("name") or ""): _node_port(p) for p in _ports(old)}
        for p in _ports(new):
            if _node_port(p) == 0:
                previous = by_name.get(str(p.get("name") or ""), 0)
                if previous and previous not in used:
                    p["nodePort"] = previous
    if (
        _needs_hc_node_port(old)
        and _needs_hc_node_port(new)
        and not spec.get("healthCheckNodePort")
        and old_spec.get("healthCheckNodePort")
    ):
        spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def _needs_hc_node_port(svc: Obj) -> bool:
    return vsvc.needs_health_check(svc)


def drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """``dropTypeDependentFields``: a Service is a union discriminated by ``type``.

    A field is dropped only when the new type does not use it, it may have been
    set by the server, and the client did not change it in this update (a
    changed value is left for validation to refuse).
    """
    spec, old_spec = _spec(new), _spec(old)
    if _needs_cluster_ip(old) and not _needs_cluster_ip(new):
        if (spec.get("clusterIP") or "") == (old_spec.get("clusterIP") or "") and _ips(
            spec
        ) == _ips(old_spec):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if spec.get("ipFamilies") == old_spec.get("ipFamilies"):
            spec.pop("ipFamilies", None)
        if spec.get("ipFamilyPolicy") == old_spec.get("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    if _needs_node_port(old) and not _needs_node_port(new):
        old_ports = {_node_port(p) for p in _ports(old) if _node_port(p)}
        new_ports = {_node_port(p) for p in _ports(new) if _node_port(p)}
        if new_ports <= old_ports:
            for p in _ports(new):
                p.pop("nodePort", None)
    if (
        _needs_hc_node_port(old)
        and not _needs_hc_node_port(new)
        and spec.get("healthCheckNodePort") == old_spec.get("healthCheckNodePort")
    ):
        spec.pop("healthCheckNodePort", None)
    was_lb = vsvc.service_type(old) == "LoadBalancer"
    is_lb = vsvc.service_type(new) == "LoadBalancer"
    if was_lb and not is_lb:
        allocate = spec.get("allocateLoadBalancerNodePorts")
        if allocate is not None and allocate == old_spec.get("allocateLoadBalancerNodePorts"):
            spec.pop("allocateLoadBalancerNodePorts", None)
        if spec.get("loadBalancerClass") == old_spec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if (
        vsvc.externally_accessible(old)
        and not vsvc.externally_accessible(new)
        and spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy")
    ):
        spec.pop("externalTrafficPolicy", None)
    if not is_lb:
        status = new.get("status")
        if isinstance(status, dict):
            status["loadBalancer"] = {}


# -- the kubernetes Service -------------------------------------------------------------------

KUBERNETES_SERVICE = "kubernetes"
KUBERNETES_NAMESPACE = "default"


def kubernetes_service(cluster_ip: str, target_port: int) -> Obj:
    """The ``default/kubernetes`` Service as kube-apiserver's bootstrap controller writes it."""
    return {
        "metadata": {
            "name": KUBERNETES_SERVICE,
            "namespace": KUBERNETES_NAMESPACE,
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": target_port}],
            "sessionAffinity": "None",
        },
    }


def kubernetes_endpoints(address: str, port: int) -> Obj:
    """Its Endpoints: the API server's address (not mirrored into slices: skip-mirror)."""
    return {
        "metadata": {
            "name": KUBERNETES_SERVICE,
            "namespace": KUBERNETES_NAMESPACE,
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            }
        ],
    }


def kubernetes_endpoint_slice(address: str, port: int) -> Obj:
    """Its EndpointSlice, written by the API server itself as upstream's does."""
    return {
        "metadata": {
            "name": KUBERNETES_SERVICE,
            "namespace": KUBERNETES_NAMESPACE,
            "labels": {"kubernetes.io/service-name": KUBERNETES_SERVICE},
        },
        "addressType": "IPv6" if family_of(address) == "IPv6" else "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }


class ServiceUpkeep:
    """Allocator state at start, periodic repair, and the ``kubernetes`` Service."""

    def __init__(
        self,
        stores: Mapping[tuple[str, str], ObjectStore],
        allocators: ServiceAllocators,
        *,
        interval: float = REPAIR_INTERVAL_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.services = stores[("", "services")]
        self.endpoints = stores[("", "endpoints")]
        self.slices = stores[("discovery.k8s.io", "endpointslices")]
        self.events = stores[("", "events")]
        self.allocators = allocators
        self.clock = clock
        self.repair = ServiceRepair(
            allocators, self._list_services, record_event=self._record_event, interval=interval
        )
        self.address = ""
        self.port = 0

    async def _list_services(self) -> list[Obj]:
        return (await self.services.list("")).items

    async def _record_event(self, finding: Finding) -> None:
        event = event_for(finding, self.clock())
        await self.events.create(event["metadata"]["namespace"], event)

    async def rebuild(self) -> None:
        """Adopt the IPs and ports of the stored Services (before serving requests)."""
        await self.repair.run_once(initial=True)

    async def ensure_kubernetes_service(self, address: str, port: int) -> None:
        """Create or correct ``default/kubernetes`` and its endpoints; failures are logged."""
        self.address, self.port = address, port
        cluster_ip = self.allocators.ips.indexed_ip(API_SERVICE_INDEX)
        try:
            await self._ensure_service(cluster_ip, port)
            await self._ensure(self.endpoints, kubernetes_endpoints(address, port), ("subsets",))
            await self._ensure(
                self.slices,
                kubernetes_endpoint_slice(address, port),
                ("addressType", "endpoints", "ports"),
            )
        except errors.StatusError as exc:
            logger.warning("kubernetes service not reconciled: %s", exc.message)

    async def _ensure_service(self, cluster_ip: str, port: int) -> None:
        try:
            current = await self.services.get(KUBERNETES_NAMESPACE, KUBERNETES_SERVICE)
        except errors.NotFound:
            await self.services.create(KUBERNETES_NAMESPACE, kubernetes_service(cluster_ip, port))
            return
        ports = (current.get("spec") or {}).get("ports") or []
        if ports and isinstance(ports[0], dict) and ports[0].get("targetPort") == port:
            return

        async def retarget(obj: Obj | None) -> Obj:
            if obj is None:
                raise self.services.not_found(KUBERNETES_SERVICE)
            for p in _ports(obj):
                if p.get("name") == "https":
                    p["targetPort"] = port
            return obj

        await self.services.guaranteed_update(KUBERNETES_NAMESPACE, KUBERNETES_SERVICE, retarget)

    @staticmethod
    async def _ensure(store: ObjectStore, desired: Obj, keys: tuple[str, ...]) -> None:
        try:
            current = await store.get(KUBERNETES_NAMESPACE, KUBERNETES_SERVICE)
        except errors.NotFound:
            await store.create(KUBERNETES_NAMESPACE, desired)
            return
        if all(current.get(k) == desired.get(k) for k in keys):
            return

        async def rewrite(obj: Obj | None) -> Obj:
            if obj is None:
                raise store.not_found(KUBERNETES_SERVICE)
            for k in keys:
                obj[k] = deep_copy(desired[k])
            return obj

        await store.guaranteed_update(KUBERNETES_NAMESPACE, KUBERNETES_SERVICE, rewrite)

    async def run(self, stop: asyncio.Event) -> None:
        """Repair pass and ``kubernetes`` Service check every interval until ``stop``."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.repair.interval)
                return
            except TimeoutError:
                pass
            try:
                await self.repair.run_once()
                if self.port:
                    await self.ensure_kubernetes_service(self.address, self.port)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("service upkeep failed")
