"""ClusterIP allocation: range parsing, bands, well-known addresses, upstream's errors."""

from __future__ import annotations

import ipaddress
import random

import pytest

from kubesvc.apiserver.allocators.ipalloc import (
    AlreadyAllocated,
    IPAllocator,
    IPNotInRange,
    RangeFull,
    parse_service_cidr,
    static_band_size,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "10.96.0.0",
            'invalid --service-cluster-ip-range "10.96.0.0": must be a CIDR such as 10.96.0.0/12',
            id="not-a-cidr",
        ),
        pytest.param(
            "fd00::/112",
            'invalid --service-cluster-ip-range "fd00::/112": kubesvc serves IPv4 only '
            "(single-stack); use an IPv4 CIDR",
            id="ipv6",
        ),
        pytest.param(
            "10.0.0.0/8",
            "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask "
            "must be >= 12",
            id="too-large",
        ),
        pytest.param(
            "10.0.0.0/30",
            "the service cluster IP range must be at least 8 IP addresses",
            id="too-small",
        ),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_service_cidr(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "network"),
    [
        pytest.param("10.96.0.0/12", "10.96.0.0/12", id="default"),
        pytest.param("10.96.0.1/12", "10.96.0.0/12", id="host-bits-cleared"),
        pytest.param("127.96.0.0/16", "127.96.0.0/16", id="loopback-mode"),
        pytest.param("010.043.000.000/16", "10.43.0.0/16", id="leading-zeros"),
    ],
)
def test_good_ranges(text: str, network: str) -> None:
    assert str(parse_service_cidr(text)) == network


@pytest.mark.parametrize(
    ("size", "band"),
    [
        pytest.param(8, 0, id="tiny"),
        pytest.param(16, 0, id="sixteen"),
        pytest.param(64, 16, id="slash-26"),
        pytest.param(1024, 64, id="slash-22"),
        pytest.param(65536, 256, id="slash-16"),
        pytest.param(1 << 20, 256, id="slash-12"),
    ],
)
def test_static_band_formula(size: int, band: int) -> None:
    assert static_band_size(size) == band


def test_well_known_addresses() -> None:
    a = IPAllocator("10.96.0.0/12")
    assert a.indexed_ip(1) == "10.96.0.1"
    assert a.indexed_ip(10) == "10.96.0.10"
    assert a.bitmap.size == (1 << 20) - 2
    assert a.bitmap.offset == 256


def test_random_allocation_stays_out_of_the_static_band() -> None:
    a = IPAllocator("10.96.0.0/24", rng=random.Random(4))
    got = [ipaddress.IPv4Address(a.allocate_next()) for _ in range(200)]
    assert all(ip >= ipaddress.IPv4Address("10.96.0.17") for ip in got)


def test_network_and_broadcast_are_never_handed_out() -> None:
    a = IPAllocator("10.0.0.0/29", rng=random.Random(5))
    got = {a.allocate_next() for _ in range(6)}
    assert got == {f"10.0.0.{i}" for i in range(1, 7)}
    with pytest.raises(RangeFull) as info:
        a.allocate_next()
    assert str(info.value) == "range is full"
    with pytest.raises(IPNotInRange):
        a.allocate("10.0.0.7")
    with pytest.raises(IPNotInRange):
        a.allocate("10.0.0.0")


def test_small_ranges_keep_the_dns_address_for_requests() -> None:
    a = IPAllocator("10.0.0.0/28", rng=random.Random(6))
    got = {a.allocate_next() for _ in range(4)}
    assert got == {"10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"}
    a.allocate("10.0.0.10")


@pytest.mark.parametrize(
    ("ip", "error", "message"),
    [
        pytest.param(
            "10.96.0.1",
            AlreadyAllocated,
            "provided IP is already allocated",
            id="taken",
        ),
        pytest.param(
            "10.112.0.1",
            IPNotInRange,
            "the provided IP (10.112.0.1) is not in the valid range. The range of valid IPs is "
            "10.96.0.0/12",
            id="outside",
        ),
        pytest.param(
            "010.112.000.001",
            IPNotInRange,
            "the provided IP (10.112.0.1) is not in the valid range. The range of valid IPs is "
            "10.96.0.0/12",
            id="outside-sloppy-form",
        ),
        pytest.param(
            "10.111.255.255",
            IPNotInRange,
            "the provided IP (10.111.255.255) is not in the valid range. The range of valid IPs "
            "is 10.96.0.0/12",
            id="broadcast",
        ),
    ],
)
def test_errors(ip: str, error: type[Exception], message: str) -> None:
    a = IPAllocator("10.96.0.0/12")
    a.allocate("10.96.0.1")
    with pytest.raises(error) as info:
        a.allocate(ip)
    assert str(info.value) == message


def test_release_and_reuse() -> None:
    a = IPAllocator("10.96.0.0/12")
    a.allocate("10.96.0.10")
    a.release("10.96.0.10")
    a.release("192.168.0.1")  # foreign addresses are ignored
    a.allocate("10.96.0.10")
    assert list(a) == ["10.96.0.10"]
    assert a.has("10.96.0.10") and not a.has("10.96.0.11")
