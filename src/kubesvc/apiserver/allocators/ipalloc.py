"""ClusterIP allocation over the service CIDR (``--service-cluster-ip-range``).

An ``IPAllocator`` hands out the usable addresses of one IPv4 CIDR: the network
address and the broadcast address are never handed out (slot 0 of the bitmap is
the network address + 1). The low *static band* (KEP-3070:
``min(max(16, size/16), 256)`` addresses, none for ranges of 16 or fewer) is
left to explicit requests, so that well-known addresses stay free by
convention: the ``kubernetes`` Service takes the first address and ``kube-dns``
the tenth. kubesvc also keeps the first ten addresses out of the dynamic band
in the smallest ranges, where upstream has no static band, so that the DNS
address is always available.

Errors carry upstream's text (``provided IP is already allocated``, ``the
provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is
10.96.0.0/12``, ``range is full``); the Service allocation wraps them into field
errors. Any IPv4 range works, including 127.0.0.0/8 ranges for loopback mode.
The state lives in memory and is rebuilt from the stored Services at start.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

from kubesvc.api.validation.ip import as_go_ip, parse_cidr_sloppy, parse_ip_sloppy
from kubesvc.apiserver.allocators.bitmap import Bitmap

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
API_SERVICE_INDEX = 1
"""The ``kubernetes`` Service's ClusterIP is the first address of the range."""
DNS_SERVICE_INDEX = 10
"""``kube-dns`` takes the tenth address by convention (kubeadm, k3s, kind)."""
MIN_RANGE_ADDRESSES = 8
MAX_HOST_BITS = 20


class AllocationError(Exception):
    """An allocation failed; ``str()`` is upstream's message."""


class RangeFull(AllocationError):
    def __init__(self) -> None:
        super().__init__("range is full")


class AlreadyAllocated(AllocationError):
    def __init__(self, what: str = "IP") -> None:
        super().__init__(f"provided {what} is already allocated")


class IPNotInRange(AllocationError):
    def __init__(self, ip: str, valid: str) -> None:
        super().__init__(
            f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {valid}"
        )


def parse_service_cidr(text: str) -> ipaddress.IPv4Network:
    """Check a ``--service-cluster-ip-range`` value; ValueError with a user-facing message."""
    net = parse_cidr_sloppy(text.strip())
    if net is None:
        raise ValueError(
            f'invalid --service-cluster-ip-range "{text}": must be a CIDR such as '
            f"{DEFAULT_SERVICE_CIDR}"
        )
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(
            f'invalid --service-cluster-ip-range "{text}": kubesvc serves IPv4 only '
            "(single-stack); use an IPv4 CIDR"
        )
    if net.max_prefixlen - net.prefixlen > MAX_HOST_BITS:
        raise ValueError(
            "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask "
            f"must be >= {net.max_prefixlen - MAX_HOST_BITS}"
        )
    if net.num_addresses < MIN_RANGE_ADDRESSES:
        raise ValueError(
            f"the service cluster IP range must be at least {MIN_RANGE_ADDRESSES} IP addresses"
        )
    return net


def static_band_size(range_size: int) -> int:
    """KEP-3070's ``calculateRangeOffset``: ``min(max(16, size/16), 256)``, 0 up to 16."""
    if range_size <= 16:
        return 0
    return min(max(16, range_size // 16), 256)


class IPAllocator:
    def __init__(
        self, cidr: ipaddress.IPv4Network | str, *, rng: random.Random | None = None
    ) -> None:
        self.cidr = parse_service_cidr(cidr) if isinstance(cidr, str) else cidr
        self._base = int(self.cidr.network_address) + 1
        size = max(0, self.cidr.num_addresses - 2)
        offset = static_band_size(self.cidr.num_addresses)
        if offset == 0 and size > DNS_SERVICE_INDEX:
            offset = DNS_SERVICE_INDEX
        self._rng = rng
        self.bitmap = Bitmap(size, offset, rng=rng)

    def __repr__(self) -> str:
        return f"IPAllocator({self.cidr}, used={self.bitmap.used})"

    @property
    def family(self) -> str:
        return "IPv4"

    def indexed_ip(self, index: int) -> str:
        """``GetIndexedIP``: the address ``index`` places after the network address."""
        return str(self.cidr.network_address + index)

    def fresh(self) -> IPAllocator:
        """An empty allocator over the same range (for rebuilding state)."""
        return IPAllocator(self.cidr, rng=self._rng)

    def replace(self, other: IPAllocator) -> None:
        self.bitmap.replace(other.bitmap)

    # -- slots -----------------------------------------------------------------------
    def _slot(self, ip: str) -> int | None:
        parsed = parse_ip_sloppy(ip)
        if parsed is None:
            return None
        addr = as_go_ip(parsed)
        if not isinstance(addr, ipaddress.IPv4Address) or addr not in self.cidr:
            return None
        slot = int(addr) - self._base
        return slot if 0 <= slot < self.bitmap.size else None

    def contains(self, ip: str) -> bool:
        return self._slot(ip) is not None

    def has(self, ip: str) -> bool:
        slot = self._slot(ip)
        return slot is not None and self.bitmap.has(slot)

    def allocate(self, ip: str) -> None:
        """Take ``ip``; IPNotInRange or AlreadyAllocated."""
        slot = self._slot(ip)
        if slot is None:
            parsed = parse_ip_sloppy(ip)
            raise IPNotInRange(str(parsed) if parsed is not None else ip, str(self.cidr))
        if not self.bitmap.allocate(slot):
            raise AlreadyAllocated("IP")

    def allocate_next(self) -> str:
        """Take a free address, from the dynamic band first; RangeFull."""
        slot = self.bitmap.allocate_next()
        if slot is None:
            raise RangeFull()
        return str(ipaddress.IPv4Address(self._base + slot))

    def release(self, ip: str) -> None:
        """Free ``ip``; a free or foreign address is ignored."""
        slot = self._slot(ip)
        if slot is not None:
            self.bitmap.release(slot)

    def __iter__(self) -> Iterator[str]:
        for slot in self.bitmap:
            yield str(ipaddress.IPv4Address(self._base + slot))

    @property
    def used(self) -> int:
        return self.bitmap.used

    @property
    def free(self) -> int:
        return self.bitmap.free
