"""Allocation of a Service's ClusterIPs, node ports and health-check node port.

``ServiceAllocators`` is kube-apiserver's ``Allocators`` (``registry/core/service/
storage/alloc.go``) over kubesvc's in-memory allocators. It runs after
defaulting and before validation, so that allocated values are validated like
user-given ones, and it works in transactions:

* ``allocate_create(svc)`` / ``allocate_update(new, old)`` fill in the fields
  (``ipFamilies``, ``ipFamilyPolicy``, ``clusterIP``/``clusterIPs``,
  ``ports[].nodePort``, ``healthCheckNodePort``) and take what they need at once;
  releases that an update implies (type change, a node port dropped) are only
  *deferred*. They return a ``Transaction``: ``finish(True)`` once the write is
  stored runs the deferred releases, ``finish(False)`` gives back what was taken.
* errors are the Kubernetes errors a client sees: 422 ``Invalid`` with
  upstream's field paths and messages for a taken or out-of-range request, 500
  for a full range.
* ``release_all(svc)`` frees everything of a deleted Service.

kubesvc serves one IP family, IPv4. The family fields are initialised as on a
single-stack IPv4 cluster, so IPv6 and dual-stack requests get the errors such a
cluster answers with (``this cluster is not configured for dual-stack
services``, ``not configured on this cluster``). Headless Services get no IP and
may still name both families, as upstream allows.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from kubesvc.api import errors
from kubesvc.api.errors import FieldError, invalid
from kubesvc.api.validation import service as vsvc
from kubesvc.api.validation.ip import family_of
from kubesvc.apiserver.allocators.ipalloc import (
    DEFAULT_SERVICE_CIDR,
    AllocationError,
    IPAllocator,
)
from kubesvc.apiserver.allocators.portalloc import DEFAULT_NODE_PORT_RANGE, PortAllocator

logger = logging.getLogger(__name__)

Obj = dict[str, Any]


class Transaction:
    """What one write took and what it will give back once it is stored."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self._on_commit: list[Callable[[], None]] = []
        self._done = False

    def took(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def defer(self, release: Callable[[], None]) -> None:
        self._on_commit.append(release)

    def commit(self) -> None:
        if not self._done:
            self._done = True
            for release in self._on_commit:
                release()

    def revert(self) -> None:
        if not self._done:
            self._done = True
            for undo in reversed(self._undo):
                undo()

    def finish(self, ok: bool) -> None:
        """Commit when the write was stored, revert otherwise; only the first call counts."""
        if ok:
            self.commit()
        else:
            self.revert()


def _spec(svc: Obj) -> Obj:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        spec = svc["spec"] = {}
    return spec


def _name(svc: Obj) -> str:
    meta = svc.get("metadata")
    return str(meta.get("name") or "") if isinstance(meta, dict) else ""


def _node_port(p: Any) -> int:
    value = p.get("nodePort") if isinstance(p, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _port(p: Any) -> int:
    value = p.get("port") if isinstance(p, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ports(svc: Obj) -> list[Obj]:
    return [p for p in _spec(svc).get("ports") or [] if isinstance(p, dict)]


def node_ports_of(svc: Obj) -> list[int]:
    """The distinct node ports a Service holds (``collectServiceNodePorts``)."""
    out: list[int] = []
    for p in _ports(svc):
        np = _node_port(p)
        if np and np not in out:
            out.append(np)
    return out


def cluster_ips_of(svc: Obj) -> list[str]:
    """The addresses a Service holds in the service range (none for headless/ExternalName)."""
    if vsvc.service_type(svc) == "ExternalName":
        return []
    ips = [str(ip) for ip in _spec(svc).get("clusterIPs") or [] if ip]
    if not ips:
        single = _spec(svc).get("clusterIP")
        ips = [single] if isinstance(single, str) and single else []
    return [ip for ip in ips if ip != vsvc.CLUSTER_IP_NONE]


def health_check_port_of(svc: Obj) -> int:
    if not vsvc.needs_health_check(svc):
        return 0
    value = _spec(svc).get("healthCheckNodePort")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _needs_node_ports(svc: Obj) -> bool:
    return vsvc.service_type(svc) in ("NodePort", "LoadBalancer")


def _should_allocate_node_ports(svc: Obj) -> bool:
    stype = vsvc.service_type(svc)
    if stype == "NodePort":
        return True
    if stype == "LoadBalancer":
        return _spec(svc).get("allocateLoadBalancerNodePorts") is not False
    return False


class ServiceAllocators:
    """The ClusterIP and NodePort allocators of one API server."""

    def __init__(self, ips: IPAllocator, ports: PortAllocator) -> None:
        self.ips = ips
        self.ports = ports
        self._by_family = {ips.family: ips}
        self.default_family = ips.family

    @classmethod
    def from_settings(
        cls,
        service_cidr: str = DEFAULT_SERVICE_CIDR,
        node_port_range: str = DEFAULT_NODE_PORT_RANGE,
        *,
        rng: random.Random | None = None,
    ) -> ServiceAllocators:
        """Build from flag values; ValueError with a user-facing message when one is wrong."""
        return cls(IPAllocator(service_cidr, rng=rng), PortAllocator(node_port_range, rng=rng))

    # -- errors --------------------------------------------------------------------------
    @staticmethod
    def _invalid(svc: Obj, errs: list[FieldError]) -> errors.StatusError:
        return errors.Invalid("Service", _name(svc), errs)

    # -- create ----------------------------------------------------------------------------
    def allocate_create(self, svc: Obj) -> Transaction:
        """Initialise the family fields and take the Service's IPs and ports."""
        txn = Transaction()
        try:
            self.init_ip_family_fields(svc, None)
            self._alloc_cluster_ips(svc, txn)
            if _needs_node_ports(svc):
                self._init_node_ports(svc, txn)
            if vsvc.needs_health_check(svc):
                self._alloc_health_check_port(svc, txn)
        except BaseException:
            txn.revert()
            raise
        return txn

    def init_ip_family_fields(self, svc: Obj, old: Obj | None) -> None:
        """``initIPFamilyFields``: default ipFamilyPolicy/ipFamilies, refuse what cannot be."""
        spec = _spec(svc)
        if vsvc.service_type(svc) == "ExternalName":
            return
        if _matching_prefer_dual_stack(svc, old):
            return
        if spec.get("ipFamilyPolicy") is None:
            old_policy = _spec(old).get("ipFamilyPolicy") if old is not None else None
            if old_policy is not None:
                spec["ipFamilyPolicy"] = old_policy
            elif spec.get("clusterIP") == vsvc.CLUSTER_IP_NONE and not spec.get("selector"):
                spec["ipFamilyPolicy"] = "RequireDualStack"
            else:
                spec["ipFamilyPolicy"] = "SingleStack"
        errs = vsvc.validate_cluster_ips_related_fields(svc)
        if errs:
            raise self._invalid(svc, errs)

        policy = spec["ipFamilyPolicy"]
        ips = [str(ip) for ip in spec.get("clusterIPs") or []]
        families = [str(f) for f in spec.get("ipFamilies") or []]
        errs = []
        if old is not None:
            old_spec = _spec(old)
            if policy == "SingleStack":
                if ips == list(old_spec.get("clusterIPs") or []) and len(ips) > 1:
                    ips = ips[:1]
                    spec["clusterIPs"] = ips
                if families == list(old_spec.get("ipFamilies") or []) and len(families) > 1:
                    families = families[:1]
                    spec["ipFamilies"] = families
            else:
                if ips and len(ips) < len(old_spec.get("clusterIPs") or []):
                    errs.append(
                        invalid(
                            "spec.ipFamilyPolicy",
                            policy,
                            "must be 'SingleStack' to release the secondary cluster IP",
                        )
                    )
                if families and len(families) < len(old_spec.get("ipFamilies") or []):
                    errs.append(
                        invalid(
                            "spec.ipFamilyPolicy",
                            policy,
                            "must be 'SingleStack' to release the secondary IP family",
                        )
                    )
        if policy == "SingleStack":
            if len(ips) == 2:
                errs.append(
                    invalid(
                        "spec.ipFamilyPolicy",
                        policy,
                        "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster "
                        "IPs are specified",
                    )
                )
            if len(families) == 2:
                errs.append(
                    invalid(
                        "spec.ipFamilyPolicy",
                        policy,
                        "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP "
                        "families are specified",
                    )
                )
        inferred = list(families)
        for i, ip in enumerate(ips):
            if ip == vsvc.CLUSTER_IP_NONE:
                break
            family = family_of(ip)
            if i >= len(inferred):
                if family not in self._by_family:
                    errs.append(
                        invalid(
                            f"spec.clusterIPs[{i}]",
                            vsvc.go_string_list(spec.get("clusterIPs")),
                            f"{family} is not configured on this cluster",
                        )
                    )
                else:
                    inferred.append(family)
        if inferred != families:
            families = inferred
            spec["ipFamilies"] = families
        if errs:
            raise self._invalid(svc, errs)

        if spec.get("clusterIP") == vsvc.CLUSTER_IP_NONE and not spec.get("selector"):
            # Headless and selectorless: any family goes, there is nothing to allocate.
            if not families:
                families = [self.default_family]
            if len(families) < 2 and policy != "SingleStack":
                families.append("IPv6" if families[0] == "IPv4" else "IPv4")
            spec["ipFamilies"] = families
            return

        if policy == "RequireDualStack" and len(self._by_family) < 2:
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    policy,
                    "this cluster is not configured for dual-stack services",
                )
            )
        for i, family in enumerate(families):
            if family not in self._by_family:
                errs.append(
                    invalid(f"spec.ipFamilies[{i}]", family, "not configured on this cluster")
                )
        if errs:
            raise self._invalid(svc, errs)
        if not families:
            spec["ipFamilies"] = [self.default_family]

    def _alloc_cluster_ips(self, svc: Obj, txn: Transaction) -> None:
        spec = _spec(svc)
        if vsvc.service_type(svc) == "ExternalName":
            return
        ips = [str(ip) for ip in spec.get("clusterIPs") or []]
        if ips and ips[0] == vsvc.CLUSTER_IP_NONE:
            return
        families = [str(f) for f in spec.get("ipFamilies") or []]
        while len(ips) < len(families):
            ips.append("")  # a marker: allocate one for this family
        for i, family in enumerate(families):
            allocator = self._by_family[family]  # families were checked above
            if ips[i]:
                try:
                    allocator.allocate(ips[i])
                except AllocationError as exc:
                    raise self._invalid(
                        svc,
                        [
                            invalid(
                                "spec.clusterIPs",
                                list(ips),
                                f"failed to allocate IP {ips[i]}: {exc}",
                            )
                        ],
                    ) from None
                taken = ips[i]
            else:
                try:
                    taken = allocator.allocate_next()
                except AllocationError as exc:
                    raise errors.InternalError(f"failed to allocate a serviceIP: {exc}") from None
                ips[i] = taken
            txn.took(_releaser(allocator.release, taken))
        if ips:
            spec["clusterIPs"] = ips
            spec["clusterIP"] = ips[0]

    def _init_node_ports(self, svc: Obj, txn: Transaction) -> None:
        """``initNodePorts``: a node port per distinct ``port``, user requests honoured."""
        ports = _ports(svc)
        by_port: dict[int, int] = {}
        for i, p in enumerate(ports):
            requested = _node_port(p)
            if requested == 0 and not _should_allocate_node_ports(svc):
                continue  # LoadBalancer without node ports: only explicit requests
            shared = by_port.get(_port(p), 0)
            if shared == 0:
                wanted = next(
                    (_node_port(q) for q in ports if _port(q) == _port(p) and _node_port(q)), 0
                )
                if wanted:
                    self._take_port(svc, txn, wanted, i)
                    p["nodePort"] = wanted
                    by_port[_port(p)] = wanted
                else:
                    got = self._next_port(txn)
                    p["nodePort"] = got
                    by_port[_port(p)] = got
            elif requested != shared:
                if requested == 0:
                    p["nodePort"] = shared
                else:
                    self._take_port(svc, txn, requested, i)

    def _take_port(self, svc: Obj, txn: Transaction, port: int, index: int) -> None:
        try:
            self.ports.allocate(port)
        except AllocationError as exc:
            raise self._invalid(
                svc, [invalid(f"spec.ports[{index}].nodePort", port, str(exc))]
            ) from None
        txn.took(_releaser(self.ports.release, port))

    def _next_port(self, txn: Transaction) -> int:
        try:
            got = self.ports.allocate_next()
        except AllocationError as exc:
            raise errors.InternalError(f"failed to allocate a nodePort: {exc}") from None
        txn.took(_releaser(self.ports.release, got))
        return got

    def _alloc_health_check_port(self, svc: Obj, txn: Transaction) -> None:
        spec = _spec(svc)
        requested = spec.get("healthCheckNodePort")
        requested = requested if isinstance(requested, int) else 0
        if requested:
            try:
                self.ports.allocate(requested)
            except AllocationError as exc:
                raise errors.InternalError(
                    f"failed to allocate requested HealthCheck NodePort {requested}: {exc}"
                ) from None
            txn.took(_releaser(self.ports.release, requested))
        else:
            try:
                got = self.ports.allocate_next()
            except AllocationError as exc:
                raise errors.InternalError(
                    f"failed to allocate a HealthCheck NodePort 0: {exc}"
                ) from None
            txn.took(_releaser(self.ports.release, got))
            spec["healthCheckNodePort"] = got

    # -- update ------------------------------------------------------------------------------
    def allocate_update(self, new: Obj, old: Obj) -> Transaction:
        """Allocate what a changed Service needs; releases wait for ``finish(True)``."""
        txn = Transaction()
        try:
            self.init_ip_family_fields(new, old)
            self._update_cluster_ips(new, old, txn)
            self._update_node_ports(new, old, txn)
        except BaseException:
            txn.revert()
            raise
        return txn

    def _update_cluster_ips(self, new: Obj, old: Obj, txn: Transaction) -> None:
        if _matching_prefer_dual_stack(new, old):
            return
        old_type, new_type = vsvc.service_type(old), vsvc.service_type(new)
        if old_type == "ExternalName" and new_type != "ExternalName":
            self._alloc_cluster_ips(new, txn)
            return
        if vsvc.is_headless(old):
            return
        if old_type != "ExternalName" and new_type == "ExternalName":
            for ip in cluster_ips_of(old):
                txn.defer(_releaser(self.ips.release, ip))

    def _update_node_ports(self, new: Obj, old: Obj, txn: Transaction) -> None:
        if _needs_node_ports(old) and vsvc.service_type(new) in ("ExternalName", "ClusterIP"):
            for port in node_ports_of(old):
                txn.defer(_releaser(self.ports.release, port))
        if _needs_node_ports(new):
            self._update_service_node_ports(new, old, txn)
        needed = vsvc.needs_health_check(old)
        needs = vsvc.needs_health_check(new)
        if not needed and needs:
            self._alloc_health_check_port(new, txn)
        elif needed and not needs:
            old_hc = health_check_port_of(old)
            if old_hc:
                txn.defer(_releaser(self.ports.release, old_hc))

    def _update_service_node_ports(self, new: Obj, old: Obj, txn: Transaction) -> None:
        old_numbers = [_node_port(p) for p in _ports(old) if _node_port(p)]
        seen: list[tuple[str, int]] = []
        taken_now: set[int] = set()
        for i, p in enumerate(_ports(new)):
            requested = _node_port(p)
            if requested == 0 and not _should_allocate_node_ports(new):
                continue
            if requested:
                if requested not in old_numbers and requested not in taken_now:
                    self._take_port(new, txn, requested, i)
                    taken_now.add(requested)
            else:
                requested = self._next_port(txn)
                p["nodePort"] = requested
            key = (str(p.get("protocol") or ""), requested)
            if key in seen:
                raise errors.StatusError(
                    f"duplicate nodePort: {{{key[0]} {key[1]}}}", code=500, reason=""
                )
            seen.append(key)
        new_numbers = {_node_port(p) for p in _ports(new)}
        for port in old_numbers:
            if port not in new_numbers:
                txn.defer(_releaser(self.ports.release, port))

    # -- delete --------------------------------------------------------------------------------
    def release_all(self, svc: Obj) -> None:
        """Free the IPs and ports of a Service that is gone."""
        for ip in cluster_ips_of(svc):
            if family_of(ip) in self._by_family:
                self._by_family[family_of(ip)].release(ip)
        for port in node_ports_of(svc):
            self.ports.release(port)
        hc = health_check_port_of(svc)
        if hc:
            self.ports.release(hc)


def _releaser(release: Callable[[Any], None], value: Any) -> Callable[[], None]:
    def run() -> None:
        release(value)

    return run


def _matching_prefer_dual_stack(new: Obj, old: Obj | None) -> bool:
    """``isMatchingPreferDualStackClusterIPFields``: an unchanged PreferDualStack Service."""
    if old is None:
        return False
    spec, old_spec = _spec(new), _spec(old)
    if spec.get("ipFamilyPolicy") is None:
        return False
    if vsvc.service_type(new) != vsvc.service_type(old):
        return False
    if vsvc.service_type(new) not in ("ClusterIP", "NodePort", "LoadBalancer"):
        return False
    if spec.get("ipFamilyPolicy") != "PreferDualStack":
        return False
    if old_spec.get("ipFamilyPolicy") not in (None, "PreferDualStack"):
        return False
    if list(spec.get("clusterIPs") or []) != list(old_spec.get("clusterIPs") or []):
        return False
    return list(spec.get("ipFamilies") or []) == list(old_spec.get("ipFamilies") or [])
