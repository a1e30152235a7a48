"""Property tests: no IP and no port is ever handed out twice."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.api import defaults, errors
from kubesvc.apiserver.allocators import ServiceAllocators
from kubesvc.apiserver.allocators.bitmap import Bitmap
from kubesvc.apiserver.allocators.ipalloc import AllocationError, IPAllocator
from kubesvc.apiserver.allocators.portalloc import PortAllocator
from kubesvc.apiserver.allocators.servicealloc import cluster_ips_of

Obj = dict[str, Any]

ops = st.lists(
    st.tuples(st.sampled_from(["next", "take", "free"]), st.integers(0, 70)), max_size=200
)


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 64), offset=st.integers(0, 70), seed=st.integers(0, 2**32), ops=ops)
def test_bitmap_never_hands_out_a_taken_slot(
    size: int, offset: int, seed: int, ops: list[tuple[str, int]]
) -> None:
    b = Bitmap(size, offset, rng=random.Random(seed))
    held: set[int] = set()
    for op, value in ops:
        if op == "next":
            got = b.allocate_next()
            if got is None:
                assert len(held) == size
            else:
                assert got not in held and 0 <= got < size
                held.add(got)
        elif op == "take" and value < size:
            assert b.allocate(value) == (value not in held)
            held.add(value)
        elif op == "free":
            b.release(value)
            held.discard(value)
        assert b.used == len(held) == len(list(b))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), ops=ops)
def test_ips_and_ports_are_unique(seed: int, ops: list[tuple[str, int]]) -> None:
    ips = IPAllocator("10.0.0.0/26", rng=random.Random(seed))
    ports = PortAllocator("30000-30049", rng=random.Random(seed))
    held_ips: set[str] = set()
    held_ports: set[int] = set()
    for op, value in ops:
        ip = f"10.0.0.{value}"
        port = 30000 + value
        if op == "next":
            try:
                got_ip = ips.allocate_next()
                assert got_ip not in held_ips
                held_ips.add(got_ip)
            except AllocationError:
                assert len(held_ips) == 62
            try:
                got_port = ports.allocate_next()
                assert got_port not in held_ports
                held_ports.add(got_port)
            except AllocationError:
                assert len(held_ports) == 50
        elif op == "take":
            try:
                ips.allocate(ip)
                assert ip not in held_ips
                held_ips.add(ip)
            except AllocationError:
                assert ip in held_ips or not 1 <= value <= 62
            try:
                ports.allocate(port)
                assert port not in held_ports
                held_ports.add(port)
            except AllocationError:
                assert port in held_ports or value >= 50
        else:
            ips.release(ip)
            held_ips.discard(ip)
            ports.release(port)
            held_ports.discard(port)
    assert set(ips) == held_ips and ips.used == len(held_ips)
    assert set(ports) == held_ports and ports.used == len(held_ports)


service_ops = st.lists(
    st.tuples(
        st.sampled_from(["create", "delete", "fail"]),
        st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]),
        st.integers(0, 20),
    ),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32), ops=service_ops)
def test_services_never_share_an_ip_or_port(seed: int, ops: list[tuple[str, str, int]]) -> None:
    a = ServiceAllocators.from_settings("10.0.0.0/27", "30000-30019", rng=random.Random(seed))
    live: dict[str, Obj] = {}
    for n, (op, stype, pick) in enumerate(ops):
        if op == "delete" and live:
            name = sorted(live)[pick % len(live)]
            a.release_all(live.pop(name))
            continue
        spec: Obj = {"type": stype, "ports": [{"port": 80}], "selector": {"app": "x"}}
        if stype == "ExternalName":
            spec["externalName"] = "x.example.com"
        if pick % 3 == 0:
            spec["clusterIP"] = f"10.0.0.{pick + 1}"
        if stype == "NodePort" and pick % 2 == 0:
            spec["ports"][0]["nodePort"] = 30000 + pick
        obj: Obj = {"metadata": {"name": f"s{n}", "namespace": "d"}, "spec": spec}
        defaults.service(obj)
        try:
            txn = a.allocate_create(obj)
        except errors.StatusError:
            continue
        txn.finish(op != "fail")
        if op != "fail":
            live[f"s{n}"] = obj
    ips = [ip for s in live.values() for ip in cluster_ips_of(s)]
    ports = [p["nodePort"] for s in live.values() for p in s["spec"]["ports"] if p.get("nodePort")]
    assert len(ips) == len(set(ips))
    assert len(ports) == len(set(ports))
    assert set(a.ips) == set(ips) and a.ips.used == len(ips)
    assert set(a.ports) == set(ports) and a.ports.used == len(ports)
