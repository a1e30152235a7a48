"""Rebuilding allocator state from stored Services, and the repair pass."""

from __future__ import annotations

import random
from typing import Any

from kubesvc.apiserver.allocators import ServiceAllocators
from kubesvc.apiserver.allocators.repair import LEAK_RUNS, Finding, ServiceRepair, rebuild

Obj = dict[str, Any]


def allocators() -> ServiceAllocators:
    return ServiceAllocators.from_settings("10.96.0.0/16", "30000-32767", rng=random.Random(3))


def stored(name: str, ip: str, *node_ports: int, **spec: Any) -> Obj:
    body: Obj = {
        "type": "NodePort" if node_ports else "ClusterIP",
        "clusterIP": ip,
        "clusterIPs": [ip],
        "ports": [{"port": 80 + i, "nodePort": p} for i, p in enumerate(node_ports)],
    }
    body.update(spec)
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}, "spec": body}


def test_rebuild_takes_what_services_hold() -> None:
    a = allocators()
    out = rebuild(
        a,
        [
            stored("a", "10.96.0.10", 30080),
            stored("b", "10.96.5.5"),
            stored("headless", "None"),
            stored(
                "lb",
                "10.96.5.6",
                30090,
                type="LoadBalancer",
                externalTrafficPolicy="Local",
                healthCheckNodePort=30091,
            ),
        ],
    )
    assert sorted(out.ips) == ["10.96.0.10", "10.96.5.5", "10.96.5.6"]
    assert sorted(out.ports) == [30080, 30090, 30091]
    assert out.findings == []
    assert a.ips.used == 0  # the live allocators are untouched


def test_rebuild_reports_conflicts_and_strays() -> None:
    out = rebuild(
        allocators(),
        [
            stored("first", "10.96.0.10", 30080),
            stored("second", "10.96.0.10", 30080),
            stored("moved", "10.200.0.1", 40000),
        ],
    )
    assert [(f.reason, f.message, f.service["metadata"]["name"]) for f in out.findings] == [
        (
            "ClusterIPAlreadyAllocated",
            "Cluster IP [IPv4]:10.96.0.10 was assigned to multiple services; please recreate "
            "service",
            "second",
        ),
        (
            "PortAlreadyAllocated",
            "Port 30080 was assigned to multiple services; please recreate service",
            "second",
        ),
        (
            "ClusterIPOutOfRange",
            "Cluster IP [IPv4]:10.200.0.1 is not within the configured Service CIDR "
            "10.96.0.0/16; please recreate service",
            "moved",
        ),
        (
            "PortOutOfRange",
            "Port 40000 is not within the port range 30000-32767; please recreate service",
            "moved",
        ),
    ]


class Harness:
    def __init__(self) -> None:
        self.services: list[Obj] = []
        self.events: list[Finding] = []
        self.allocators = allocators()
        self.repair = ServiceRepair(self.allocators, self.list_services, record_event=self.record)

    async def list_services(self) -> list[Obj]:
        return list(self.services)

    async def record(self, finding: Finding) -> None:
        self.events.append(finding)


async def test_initial_pass_adopts_quietly() -> None:
    h = Harness()
    h.services = [stored("a", "10.96.0.10", 30080)]
    assert await h.repair.run_once(initial=True) == []
    assert h.allocators.ips.has("10.96.0.10") and h.allocators.ports.has(30080)


async def test_missing_allocation_is_repaired_and_reported_once() -> None:
    h = Harness()
    h.services = [stored("a", "10.96.0.10", 30080)]
    findings = await h.repair.run_once()
    assert [f.reason for f in findings] == ["ClusterIPNotAllocated", "PortNotAllocated"]
    assert h.allocators.ips.has("10.96.0.10") and h.allocators.ports.has(30080)
    h.allocators.ips.release("10.96.0.10")
    await h.repair.run_once()
    assert [f.message for f in h.events] == [
        "Cluster IP [IPv4]:10.96.0.10 is not allocated; repairing",
        "Port 30080 is not allocated; repairing",
    ]


async def test_leaks_are_freed_after_three_passes() -> None:
    h = Harness()
    h.allocators.ips.allocate("10.96.9.9")
    h.allocators.ports.allocate(31000)
    for _ in range(LEAK_RUNS - 1):
        await h.repair.run_once()
        assert h.allocators.ips.has("10.96.9.9") and h.allocators.ports.has(31000)
    await h.repair.run_once()
    assert not h.allocators.ips.has("10.96.9.9") and not h.allocators.ports.has(31000)


async def test_a_leak_that_gets_an_owner_is_kept() -> None:
    h = Harness()
    h.allocators.ips.allocate("10.96.9.9")
    await h.repair.run_once()
    h.services = [stored("late", "10.96.9.9")]  # its write landed after the first pass
    for _ in range(LEAK_RUNS):
        await h.repair.run_once()
    assert h.allocators.ips.has("10.96.9.9")
    assert h.events == []
