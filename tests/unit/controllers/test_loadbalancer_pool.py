"""The LoadBalancer address pool and allocator, as tables."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.controllers.loadbalancer_pool import (
    Allocator,
    Pool,
    PoolError,
    handles,
    requested_ips,
    status_ips,
)

Obj = dict[str, Any]


@pytest.mark.parametrize(
    ("specs", "v4"),
    [
        pytest.param(["192.168.1.0/30"], ["192.168.1.1", "192.168.1.2"], id="CIDR: no net/bcast"),
        pytest.param(["192.168.1.4/31"], ["192.168.1.4", "192.168.1.5"], id="/31: both"),
        pytest.param(["192.168.1.9/32"], ["192.168.1.9"], id="/32: the one"),
        pytest.param(["10.0.0.5-10.0.0.7"], ["10.0.0.5", "10.0.0.6", "10.0.0.7"], id="range"),
        pytest.param(["10.0.0.9"], ["10.0.0.9"], id="address"),
        pytest.param(
            ["10.0.0.9, 10.0.0.1", "10.0.0.3"],
            ["10.0.0.1", "10.0.0.3", "10.0.0.9"],
            id="comma lists and repeats, lowest first",
        ),
        pytest.param(["fd00::/126"], [], id="IPv6 entries give no IPv4 address"),
    ],
)
def test_pool_addresses(specs: list[str], v4: list[str]) -> None:
    assert [str(ip) for ip in Pool.parse(specs).addresses("IPv4")] == v4


def test_ipv6_cidr_leaves_out_the_subnet_router_address() -> None:
    assert [str(ip) for ip in Pool.parse(["fd00::/126"]).addresses("IPv6")] == [
        "fd00::1",
        "fd00::2",
        "fd00::3",
    ]


@pytest.mark.parametrize(
    "spec",
    ["10.0.0.0/33", "10.0.0.9-10.0.0.1", "10.0.0.1-fd00::1", "example.com", "10.0.0.1-"],
)
def test_pool_errors(spec: str) -> None:
    with pytest.raises(PoolError):
        Pool.parse([spec])


POOL = ["10.0.0.1-10.0.0.3"]


def allocator(*held: tuple[str, str]) -> Allocator:
    a = Allocator(Pool.parse(POOL))
    for key, ip in held:
        assert a.restore(key, [ip])
    return a


@pytest.mark.parametrize(
    ("held", "key", "kw", "ip", "why"),
    [
        pytest.param((), "ns/a", {}, "10.0.0.1", "", id="lowest free"),
        pytest.param((("ns/x", "10.0.0.1"),), "ns/a", {}, "10.0.0.2", "", id="skips held"),
        pytest.param((("ns/a", "10.0.0.3"),), "ns/a", {}, "10.0.0.3", "", id="keeps what it holds"),
        pytest.param((), "ns/a", {"current": ["10.0.0.2"]}, "10.0.0.2", "", id="status kept"),
        pytest.param(
            (("ns/x", "10.0.0.2"),),
            "ns/a",
            {"current": ["10.0.0.2"]},
            "10.0.0.1",
            "",
            id="status address taken by another: a new one",
        ),
        pytest.param(
            (), "ns/a", {"current": ["192.168.0.1"]}, "10.0.0.1", "", id="status outside the pool"
        ),
        pytest.param((), "ns/a", {"requested": ["10.0.0.3"]}, "10.0.0.3", "", id="requested"),
        pytest.param(
            (("ns/a", "10.0.0.1"),),
            "ns/a",
            {"requested": ["10.0.0.2"]},
            "10.0.0.2",
            "",
            id="request moves the Service",
        ),
        pytest.param(
            (),
            "ns/a",
            {"requested": ["10.0.0.9"]},
            None,
            "requested IP 10.0.0.9 is not in the address pool",
            id="requested outside the pool",
        ),
        pytest.param(
            (("ns/x", "10.0.0.2"),),
            "ns/a",
            {"requested": ["10.0.0.2"]},
            None,
            "requested IP 10.0.0.2 is already in use by ns/x",
            id="requested but held by another",
        ),
        pytest.param(
            (),
            "ns/a",
            {"requested": ["10.0.0.1", "10.0.0.2"]},
            None,
            "only one IPv4 address may be requested",
            id="two of one family",
        ),
        pytest.param(
            (),
            "ns/a",
            {"requested": ["fd00::1", "10.0.0.2"]},
            "10.0.0.2",
            "",
            id="the requested address of the Service's family",
        ),
        pytest.param(
            (),
            "ns/a",
            {"requested": ["bogus"]},
            None,
            "invalid IP address 'bogus' requested",
            id="not an address",
        ),
        pytest.param(
            (("ns/x", "10.0.0.1"), ("ns/y", "10.0.0.2"), ("ns/z", "10.0.0.3")),
            "ns/a",
            {},
            None,
            "no available IPs",
            id="pool exhausted",
        ),
        pytest.param(
            (), "ns/a", {"family": "IPv6"}, None, "no available IPs", id="no address of the family"
        ),
    ],
)
def test_assign(
    held: tuple[tuple[str, str], ...], key: str, kw: Obj, ip: str | None, why: str
) -> None:
    a = allocator(*held)
    result = a.assign(key, **kw)
    assert result.ip == ip
    if ip is None:
        assert result.message == f'Failed to allocate IP for "{key}": {why}'
        assert a.held(key) is None
    else:
        assert a.held(key) == ip and a.owner(ip) == key


def test_release_frees_the_address() -> None:
    a = allocator(("ns/x", "10.0.0.1"), ("ns/y", "10.0.0.2"), ("ns/z", "10.0.0.3"))
    assert a.assign("ns/a").ip is None
    assert a.release("ns/y") == "10.0.0.2"
    assert a.assign("ns/a").ip == "10.0.0.2"
    assert a.release("ns/nobody") is None


def test_a_failed_request_gives_back_the_old_address() -> None:
    a = allocator(("ns/a", "10.0.0.1"))
    assert a.assign("ns/a", requested=["10.0.0.9"]).ip is None
    assert a.owner("10.0.0.1") is None


def test_restore_is_first_come_first_served() -> None:
    a = Allocator(Pool.parse(POOL))
    assert a.restore("ns/old", ["10.0.0.2"])
    assert not a.restore("ns/new", ["10.0.0.2"])
    assert not a.restore("ns/out", ["192.168.0.1"])
    assert a.assign("ns/new", current=["10.0.0.2"]).ip == "10.0.0.1"


def lb(**spec: Any) -> Obj:
    return {
        "metadata": {"annotations": spec.pop("annotations", {})},
        "spec": {"type": "LoadBalancer", **spec},
    }


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        pytest.param(lb(), True, id="LoadBalancer without class"),
        pytest.param(lb(loadBalancerClass="kubesvc.io/lb"), True, id="our class"),
        pytest.param(lb(loadBalancerClass="example.com/other"), False, id="another class"),
        pytest.param({"spec": {"type": "NodePort"}}, False, id="NodePort"),
    ],
)
def test_handles(svc: Obj, expected: bool) -> None:
    assert handles(svc) is expected


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        pytest.param(lb(), [], id="none"),
        pytest.param(lb(loadBalancerIP="10.0.0.2"), ["10.0.0.2"], id="spec.loadBalancerIP"),
        pytest.param(
            lb(annotations={"metallb.universe.tf/loadBalancerIPs": "10.0.0.2, fd00::2"}),
            ["10.0.0.2", "fd00::2"],
            id="MetalLB annotation",
        ),
        pytest.param(
            lb(annotations={"kube-vip.io/loadbalancerIPs": "10.0.0.3"}, loadBalancerIP="10.0.0.2"),
            ["10.0.0.3"],
            id="kube-vip annotation before the field",
        ),
    ],
)
def test_requested_ips(svc: Obj, expected: list[str]) -> None:
    assert requested_ips(svc) == expected


def test_status_ips() -> None:
    svc = {"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "x"}]}}}
    assert status_ips(svc) == ["1.2.3.4"]
    assert status_ips({"status": {"loadBalancer": {}}}) == []
