"""NodePort allocation over ``--service-node-port-range`` (default 30000-32767).

One bitmap for all protocols: a port taken by one Service is taken for TCP,
UDP and SCTP alike, as kube-apiserver does (a Service that exposes the same
``port`` over TCP and UDP shares one node port; that sharing is decided by the
Service allocation, not here). The static band of KEP-3668 is
``min(max(16, size/32), 128)`` ports (none for ranges of 16 or fewer); random
allocation prefers the ports above it. Any range within 1-65535 works.

Errors carry upstream's text: ``provided port is already allocated``,
``provided port is not in the valid range. The range of valid ports is
30000-32767``, ``range is full``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from kubesvc.apiserver.allocators.bitmap import Bitmap
from kubesvc.apiserver.allocators.ipalloc import AllocationError, AlreadyAllocated, RangeFull

DEFAULT_NODE_PORT_RANGE = "30000-32767"


class PortNotInRange(AllocationError):
    def __init__(self, valid: str) -> None:
        super().__init__(
            f"provided port is not in the valid range. The range of valid ports is {valid}"
        )


@dataclass(frozen=True, slots=True)
class PortRange:
    """``net.PortRange``: ``size`` ports from ``base``, inclusive."""

    base: int
    size: int

    @property
    def last(self) -> int:
        return self.base + self.size - 1

    def __str__(self) -> str:
        return f"{self.base}-{self.last}" if self.size else ""

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.base <= port <= self.last


def parse_port_range(text: str) -> PortRange:
    """``PortRange.Set``: ``min-max``, ``min+offset`` or a single port; ValueError."""
    value = text.strip()
    if not value:
        raise ValueError("--service-node-port-range must not be empty")
    try:
        if "-" in value:
            low_s, high_s = value.split("-", 1)
            low, high = int(low_s), int(high_s)
        elif "+" in value:
            low_s, off_s = value.split("+", 1)
            low = int(low_s)
            high = low + int(off_s)
        else:
            low = high = int(value)
    except ValueError:
        raise ValueError(
            f'invalid --service-node-port-range "{text}": must be like 30000-32767'
        ) from None
    if low < 0 or high < 0:
        raise ValueError(f'invalid --service-node-port-range "{text}": must be like 30000-32767')
    if low > 65535 or high > 65535:
        raise ValueError(f"the port range cannot be greater than 65535: {value}")
    if high < low:
        raise ValueError(f"end port cannot be less than start port: {value}")
    if low == 0:
        raise ValueError(f"port 0 cannot be part of --service-node-port-range: {value}")
    return PortRange(low, high - low + 1)


def static_band_size(range_size: int) -> int:
    """KEP-3668's ``calculateRangeOffset``: ``min(max(16, size/32), 128)``, 0 up to 16."""
    if range_size <= 16:
        return 0
    return min(max(16, range_size // 32), 128)


class PortAllocator:
    def __init__(self, ports: PortRange | str, *, rng: random.Random | None = None) -> None:
        self.range = parse_port_range(ports) if isinstance(ports, str) else ports
        self._rng = rng
        self.bitmap = Bitmap(self.range.size, static_band_size(self.range.size), rng=rng)

    def __repr__(self) -> str:
        return f"PortAllocator({self.range}, used={self.bitmap.used})"

    def fresh(self) -> PortAllocator:
        return PortAllocator(self.range, rng=self._rng)

    def replace(self, other: PortAllocator) -> None:
        self.bitmap.replace(other.bitmap)

    def contains(self, port: int) -> bool:
        return port in self.range

    def has(self, port: int) -> bool:
        return port in self.range and self.bitmap.has(port - self.range.base)

    def allocate(self, port: int) -> None:
        """Take ``port``; PortNotInRange or AlreadyAllocated."""
        if port not in self.range:
            raise PortNotInRange(str(self.range))
        if not self.bitmap.allocate(port - self.range.base):
            raise AlreadyAllocated("port")

    def allocate_next(self) -> int:
        slot = self.bitmap.allocate_next()
        if slot is None:
            raise RangeFull()
        return self.range.base + slot

    def release(self, port: int) -> None:
        if port in self.range:
            self.bitmap.release(port - self.range.base)

    def __iter__(self) -> Iterator[int]:
        for slot in self.bitmap:
            yield self.range.base + slot

    @property
    def used(self) -> int:
        return self.bitmap.used

    @property
    def free(self) -> int:
        return self.bitmap.free
