"""Allocation state of a range of slots, with upstream's two-band random scan (pure).

A ``Bitmap`` of ``size`` slots answers "is slot i taken", takes a given slot, or
takes a random free one. It keeps one byte per slot (a ``bytearray`` of 0/1)
rather than one bit, so that finding the next free slot is ``bytearray.find``
running in C: a /12 service range is one MiB of state.

Dynamic allocation follows kube-apiserver's ``randomScanStrategyWithOffset``
(KEP-3070 for ClusterIPs, KEP-3668 for NodePorts): slots below ``offset`` form
the *static band*, kept for explicitly requested values. A random free slot is
searched for in the upper band first (from a random start, wrapping inside the
band), and only when the upper band is full in the static band.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

_FREE = 0
_TAKEN = 1


class Bitmap:
    def __init__(self, size: int, offset: int = 0, *, rng: random.Random | None = None) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self.size = size
        self.offset = offset if 0 <= offset < size else 0
        self._rng = rng or random.Random()
        self._data = bytearray(size)
        self._count = 0

    # -- queries -------------------------------------------------------------------
    def has(self, slot: int) -> bool:
        return 0 <= slot < self.size and self._data[slot] == _TAKEN

    @property
    def used(self) -> int:
        return self._count

    @property
    def free(self) -> int:
        return self.size - self._count

    def __iter__(self) -> Iterator[int]:
        """The taken slots, in order."""
        data = self._data
        i = data.find(_TAKEN)
        while i != -1:
            yield i
            i = data.find(_TAKEN, i + 1)

    # -- changes -------------------------------------------------------------------
    def allocate(self, slot: int) -> bool:
        """Take ``slot``; False when it was already taken."""
        if not 0 <= slot < self.size:
            raise IndexError(slot)
        if self._data[slot] == _TAKEN:
            return False
        self._data[slot] = _TAKEN
        self._count += 1
        return True

    def allocate_next(self) -> int | None:
        """Take a random free slot, upper band first; None when every slot is taken."""
        if self._count >= self.size:
            return None
        slot = self._scan(self.offset, self.size)
        if slot is None:
            slot = self._scan(0, self.offset)
        if slot is None:  # unreachable while the count is right
            return None
        self._data[slot] = _TAKEN
        self._count += 1
        return slot

    def release(self, slot: int) -> None:
        """Free ``slot``; freeing a free or out-of-range slot does nothing."""
        if 0 <= slot < self.size and self._data[slot] == _TAKEN:
            self._data[slot] = _FREE
            self._count -= 1

    def replace(self, other: Bitmap) -> None:
        """Take over the state of ``other`` (same size), keeping this object's identity."""
        if other.size != self.size:
            raise ValueError("bitmaps differ in size")
        self._data[:] = other._data
        self._count = other._count

    def _scan(self, lo: int, hi: int) -> int | None:
        if hi <= lo:
            return None
        start = lo + self._rng.randrange(hi - lo)
        found = self._data.find(_FREE, start, hi)
        if found == -1:
            found = self._data.find(_FREE, lo, start)
        return None if found == -1 else found
