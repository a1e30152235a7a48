"""Rebuilding and repairing allocator state from the stored Services.

The allocators live in memory; the Services in storage are the truth. At start
the server rebuilds the bitmaps from every stored Service, so an IP or port
never changes across restarts. Afterwards a repair pass runs periodically (as
kube-apiserver's ClusterIP and NodePort repair controllers do) and compares the
live bitmaps with a fresh rebuild:

* held by a Service but free in the bitmap: taken again ("not allocated;
  repairing");
* held by two Services, or outside the configured range (the range flag
  changed): reported, and left for the user to fix by recreating the Service;
* taken in the bitmap but held by no Service: a *leak*, freed only when seen on
  ``LEAK_RUNS`` consecutive passes, so that an allocation whose write is still in
  flight is not freed under it.

``rebuild`` is pure; ``ServiceRepair`` adds the store reads, logging and
Events (reason and message as upstream's repair controllers word them).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubesvc.api import errors
from kubesvc.apiserver.allocators.ipalloc import (
    AlreadyAllocated,
    IPAllocator,
    IPNotInRange,
)
from kubesvc.apiserver.allocators.portalloc import PortAllocator, PortNotInRange
from kubesvc.apiserver.allocators.servicealloc import (
    ServiceAllocators,
    cluster_ips_of,
    health_check_port_of,
    node_ports_of,
)

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

LEAK_RUNS = 3
"""Passes an allocation must be seen leaked on before it is freed (upstream's value)."""
REPAIR_INTERVAL_SECONDS = 60.0
"""How often the API server runs a repair pass (upstream: every 3 minutes)."""

IP_COMPONENT = "ipallocator-repair-controller"
PORT_COMPONENT = "portallocator-repair-controller"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a pass, reported as a Warning Event on the Service."""

    reason: str
    message: str
    component: str
    service: Obj = field(compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str, str]:
        meta = self.service.get("metadata") or {}
        return (str(meta.get("uid", "")), self.reason, self.message)


@dataclass
class Rebuilt:
    ips: IPAllocator
    ports: PortAllocator
    ip_owner: dict[str, Obj]
    port_owner: dict[int, Obj]
    findings: list[Finding]


def rebuild(allocators: ServiceAllocators, services: Iterable[Obj]) -> Rebuilt:
    """Fresh allocators holding what ``services`` hold; the first holder wins."""
    out = Rebuilt(allocators.ips.fresh(), allocators.ports.fresh(), {}, {}, [])
    cidr = str(allocators.ips.cidr)
    for svc in services:
        for ip in cluster_ips_of(svc):
            try:
                out.ips.allocate(ip)
                out.ip_owner[ip] = svc
            except IPNotInRange:
                out.findings.append(
                    Finding(
                        "ClusterIPOutOfRange",
                        f"Cluster IP [IPv4]:{ip} is not within the configured Service CIDR "
                        f"{cidr}; please recreate service",
                        IP_COMPONENT,
                        svc,
                    )
                )
            except AlreadyAllocated:
                out.findings.append(
                    Finding(
                        "ClusterIPAlreadyAllocated",
                        f"Cluster IP [IPv4]:{ip} was assigned to multiple services; please "
                        "recreate service",
                        IP_COMPONENT,
                        svc,
                    )
                )
        ports = node_ports_of(svc)
        hc = health_check_port_of(svc)
        if hc and hc not in ports:
            ports.append(hc)
        for port in ports:
            try:
                out.ports.allocate(port)
                out.port_owner[port] = svc
            except PortNotInRange:
                out.findings.append(
                    Finding(
                        "PortOutOfRange",
                        f"Port {port} is not within the port range {allocators.ports.range}; "
                        "please recreate service",
                        PORT_COMPONENT,
                        svc,
                    )
                )
            except AlreadyAllocated:
                out.findings.append(
                    Finding(
                        "PortAlreadyAllocated",
                        f"Port {port} was assigned to multiple services; please recreate service",
                        PORT_COMPONENT,
                        svc,
                    )
                )
    return out


class ServiceRepair:
    """Keeps the live allocators in line with the stored Services."""

    def __init__(
        self,
        allocators: ServiceAllocators,
        list_services: Callable[[], Awaitable[list[Obj]]],
        *,
        record_event: Callable[[Finding], Awaitable[None]] | None = None,
        interval: float = REPAIR_INTERVAL_SECONDS,
    ) -> None:
        self.allocators = allocators
        self._list_services = list_services
        self._record_event = record_event
        self.interval = interval
        self._ip_leaks: dict[str, int] = {}
        self._port_leaks: dict[int, int] = {}
        self._reported: set[tuple[str, str, str]] = set()

    async def run_once(self, *, initial: bool = False) -> list[Finding]:
        """One pass. ``initial``: the bitmaps are empty, adopt the stored state quietly."""
        services = await self._list_services()
        # From here on nothing awaits until the bitmaps are swapped, so no
        # allocation made by a request can slip between the comparison and the swap.
        fresh = rebuild(self.allocators, services)
        findings = list(fresh.findings)
        live_ips, live_ports = self.allocators.ips, self.allocators.ports
        if not initial:
            for ip, svc in fresh.ip_owner.items():
                if not live_ips.has(ip):
                    findings.append(
                        Finding(
                            "ClusterIPNotAllocated",
                            f"Cluster IP [IPv4]:{ip} is not allocated; repairing",
                            IP_COMPONENT,
                            svc,
                        )
                    )
            for port, svc in fresh.port_owner.items():
                if not live_ports.has(port):
                    findings.append(
                        Finding(
                            "PortNotAllocated",
                            f"Port {port} is not allocated; repairing",
                            PORT_COMPONENT,
                            svc,
                        )
                    )
        self._ip_leaks = _carry_leaks(live_ips, fresh.ips, self._ip_leaks, "cluster IP")
        self._port_leaks = _carry_leaks(live_ports, fresh.ports, self._port_leaks, "node port")
        live_ips.replace(fresh.ips)
        live_ports.replace(fresh.ports)
        await self._report(findings)
        return findings

    async def _report(self, findings: list[Finding]) -> None:
        for finding in findings:
            meta = finding.service.get("metadata") or {}
            logger.warning(
                "service allocation problem reason=%s service=%s/%s: %s",
                finding.reason,
                meta.get("namespace", ""),
                meta.get("name", ""),
                finding.message,
            )
            if self._record_event is None or finding.key in self._reported:
                continue
            self._reported.add(finding.key)
            try:
                await self._record_event(finding)
            except errors.StatusError:
                logger.warning("could not record event reason=%s", finding.reason)


def _carry_leaks(
    live: IPAllocator | PortAllocator,
    fresh: IPAllocator | PortAllocator,
    leaks: dict[Any, int],
    what: str,
) -> dict[Any, int]:
    """Keep leaked values taken in ``fresh`` until seen ``LEAK_RUNS`` times; the new counts."""
    counts: dict[Any, int] = {}
    values: list[Any] = list(live)
    for value in values:
        if fresh.has(value):
            continue
        seen = leaks.get(value, 0) + 1
        if seen < LEAK_RUNS:
            if seen == 1:
                logger.warning(
                    "allocation may have leaked; flagging for later clean up %s=%s", what, value
                )
            counts[value] = seen
            fresh.allocate(value)
        else:
            logger.warning("allocation leaked; cleaning up %s=%s", what, value)
    return counts


def event_for(finding: Finding, now: datetime) -> Obj:
    """A core/v1 Event about ``finding``, as an EventRecorder would write it."""
    meta = finding.service.get("metadata") or {}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta.get('name', '')}.{uuid.uuid4().hex[:16]}",
            "namespace": meta.get("namespace", ""),
        },
        "involvedObject": {
            "kind": "Service",
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": finding.reason,
        "message": finding.message,
        "source": {"component": finding.component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": "Warning",
        "reportingComponent": finding.component,
        "reportingInstance": "",
    }
