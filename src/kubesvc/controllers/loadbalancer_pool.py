"""The LoadBalancer address pool and who holds which address (pure, no I/O).

``Pool.parse(["192.168.50.0/28", "10.0.0.5-10.0.0.9", "10.0.0.20"])`` reads
CIDRs, inclusive ranges and single addresses (a list entry may also hold several,
comma-separated). A CIDR gives its usable hosts: for IPv4 networks larger than
/31 the network and broadcast addresses are left out (as MetalLB's
``avoidBuggyIPs`` does; some clients treat ``.0``/``.255`` as special); for IPv6
the subnet-router anycast address (the first) is left out.

``Allocator`` is the controller's memory of assignments, one address per
Service key. ``assign(key, family, requested, current)`` decides, in order:

1. addresses the user asked for (``metallb.universe.tf/loadBalancerIPs``,
   ``kube-vip.io/loadbalancerIPs`` annotations, or ``spec.loadBalancerIP``):
   the one of the Service's family must be in the pool and not held by another
   Service, and only one may be asked for per family;
2. otherwise the address the Service already holds (in memory, or in its
   ``status`` after a restart), if still in the pool and not held by another;
3. otherwise the lowest free address of the family.

A failure leaves the key holding nothing (the caller clears the status and
reports why; the ``message`` is what the Warning event says). ``release(key)``
frees the key's address. ``restore(key, ips)`` takes addresses found in Service
statuses at start (first come, first served: call it oldest Service first).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LB_CLASS = "kubesvc.io/lb"
REQUEST_ANNOTATIONS = ("metallb.universe.tf/loadBalancerIPs", "kube-vip.io/loadbalancerIPs")


class PoolError(ValueError):
    """A pool entry that is not a CIDR, a range or an address."""


def _family(ip: IPAddress) -> str:
    return "IPv4" if ip.version == 4 else "IPv6"


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True, order=True)
class AddressRange:
    first: int
    last: int
    version: int

    def __contains__(self, ip: object) -> bool:
        return (
            isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
            and ip.version == self.version
            and self.first <= int(ip) <= self.last
        )

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def _parse_entry(text: str) -> AddressRange:
    text = text.strip()
    if "/" in text:
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise PoolError(f"invalid LoadBalancer pool entry {text!r}: {exc}") from None
        first, last = int(net.network_address), int(net.broadcast_address)
        if net.version == 4 and net.prefixlen < 31:
            first, last = first + 1, last - 1
        elif net.version == 6 and net.prefixlen < 127:
            first += 1
        return AddressRange(first, last, net.version)
    low_text, sep, high_text = text.partition("-")
    low = _parse_ip(low_text)
    high = _parse_ip(high_text) if sep else low
    if low is None or high is None:
        raise PoolError(
            f"invalid LoadBalancer pool entry {text!r}: want a CIDR (10.0.0.0/24), "
            "a range (10.0.0.10-10.0.0.20) or an address"
        )
    if low.version != high.version or int(low) > int(high):
        raise PoolError(f"invalid LoadBalancer pool range {text!r}: first must not exceed last")
    return AddressRange(int(low), int(high), low.version)


@dataclass(frozen=True)
class Pool:
    ranges: tuple[AddressRange, ...] = ()

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Pool:
        ranges = [_parse_entry(part) for spec in specs for part in spec.split(",") if part.strip()]
        return cls(tuple(sorted(ranges)))

    def __contains__(self, ip: object) -> bool:
        return any(ip in r for r in self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    @property
    def size(self) -> int:
        return sum(r.size for r in self.ranges)

    def addresses(self, family: str) -> Iterator[IPAddress]:
        """Every address of ``family`` in the pool, lowest first."""
        version = 4 if family == "IPv4" else 6
        for r in self.ranges:
            if r.version == version:
                for n in range(r.first, r.last + 1):
                    yield ipaddress.ip_address(n)


@dataclass(frozen=True)
class Assignment:
    ip: str | None
    """The address the Service holds now (None: allocation failed)."""
    changed: bool = False
    """The address differs from what the key held before."""
    message: str = ""
    """Why allocation failed."""


class Allocator:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._owner: dict[IPAddress, str] = {}
        self._held: dict[str, IPAddress] = {}

    def owner(self, ip: str) -> str | None:
        parsed = _parse_ip(ip)
        return self._owner.get(parsed) if parsed is not None else None

    def held(self, key: str) -> str | None:
        ip = self._held.get(key)
        return str(ip) if ip is not None else None

    def in_pool(self, ip: str) -> bool:
        parsed = _parse_ip(ip)
        return parsed is not None and parsed in self.pool

    def _free_for(self, ip: IPAddress, key: str) -> bool:
        return ip in self.pool and self._owner.get(ip, key) == key

    def _take(self, key: str, ip: IPAddress) -> Assignment:
        before = self._held.get(key)
        if before is not None and before != ip:
            del self._owner[before]
        self._owner[ip] = key
        self._held[key] = ip
        return Assignment(str(ip), changed=before != ip)

    def restore(self, key: str, ips: Iterable[str]) -> bool:
        """Take the first address of ``ips`` in the pool that nobody holds yet."""
        for text in ips:
            ip = _parse_ip(text)
            if ip is not None and key not in self._held and self._free_for(ip, key):
                self._take(key, ip)
                return True
        return False

    def release(self, key: str) -> str | None:
        ip = self._held.pop(key, None)
        if ip is None:
            return None
        del self._owner[ip]
        return str(ip)

    def _fail(self, key: str, why: str) -> Assignment:
        self.release(key)
        return Assignment(None, message=f'Failed to allocate IP for "{key}": {why}')

    def assign(
        self,
        key: str,
        *,
        family: str = "IPv4",
        requested: Sequence[str] = (),
        current: Sequence[str] = (),
    ) -> Assignment:
        """Decide the address of ``key`` (see the module docstring)."""
        if requested:
            parsed = [_parse_ip(r) for r in requested]
            bad = [r for r, p in zip(requested, parsed, strict=True) if p is None]
            if bad:
                return self._fail(key, f"invalid IP address {bad[0]!r} requested")
            mine = [p for p in parsed if p is not None and _family(p) == family]
            if not mine:
                return self._fail(key, f"no {family} address among the requested {list(requested)}")
            if len(mine) > 1:
                return self._fail(key, f"only one {family} address may be requested")
            ip = mine[0]
            if ip not in self.pool:
                return self._fail(key, f"requested IP {ip} is not in the address pool")
            holder = self._owner.get(ip, key)
            if holder != key:
                return self._fail(key, f"requested IP {ip} is already in use by {holder}")
            return self._take(key, ip)
        held = self._held.get(key)
        if held is not None and _family(held) == family and held in self.pool:
            return Assignment(str(held))
        for text in current:
            found = _parse_ip(text)
            if found is not None and _family(found) == family and self._free_for(found, key):
                return self._take(key, found)
        for free in self.pool.addresses(family):
            if free not in self._owner:
                return self._take(key, free)
        return self._fail(key, "no available IPs")


# -- reading a Service -------------------------------------------------------------------------
def _spec(service: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = service.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def handles(service: Mapping[str, Any]) -> bool:
    """A LoadBalancer Service of our class (or of no class)."""
    spec = _spec(service)
    return spec.get("type") == "LoadBalancer" and spec.get("loadBalancerClass") in (
        None,
        "",
        LB_CLASS,
    )


def requested_ips(service: Mapping[str, Any]) -> list[str]:
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    for name in REQUEST_ANNOTATIONS:
        value = annotations.get(name)
        if value:
            return [part.strip() for part in str(value).split(",") if part.strip()]
    ip = _spec(service).get("loadBalancerIP")
    return [str(ip)] if ip else []


def status_ips(service: Mapping[str, Any]) -> list[str]:
    lb = (service.get("status") or {}).get("loadBalancer") or {}
    return [str(i["ip"]) for i in lb.get("ingress") or [] if isinstance(i, Mapping) and i.get("ip")]


def service_family(service: Mapping[str, Any]) -> str:
    families = _spec(service).get("ipFamilies") or []
    return str(families[0]) if families else "IPv4"
