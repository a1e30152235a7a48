"""The slot bitmap: taking, freeing, and the two-band random scan."""

from __future__ import annotations

import random

import pytest

from kubesvc.apiserver.allocators.bitmap import Bitmap


def test_allocate_and_release() -> None:
    b = Bitmap(8)
    assert b.allocate(3)
    assert not b.allocate(3)
    assert b.has(3) and b.used == 1 and b.free == 7
    b.release(3)
    b.release(3)  # freeing a free slot does nothing
    assert not b.has(3) and b.used == 0


def test_out_of_range_slot() -> None:
    b = Bitmap(4)
    with pytest.raises(IndexError):
        b.allocate(4)
    assert not b.has(-1)
    b.release(99)


def test_dynamic_allocation_prefers_the_upper_band() -> None:
    b = Bitmap(64, 16, rng=random.Random(1))
    got = [b.allocate_next() for _ in range(48)]
    assert all(s is not None and s >= 16 for s in got)
    rest = [b.allocate_next() for _ in range(16)]
    assert sorted(s for s in rest if s is not None) == list(range(16))
    assert b.allocate_next() is None


def test_static_band_is_left_for_requests() -> None:
    b = Bitmap(64, 16, rng=random.Random(2))
    for _ in range(30):
        b.allocate_next()
    assert all(b.allocate(slot) for slot in range(16))


def test_iteration_lists_taken_slots_in_order() -> None:
    b = Bitmap(10)
    for slot in (7, 2, 9):
        b.allocate(slot)
    assert list(b) == [2, 7, 9]


def test_offset_larger_than_range_means_no_band() -> None:
    b = Bitmap(4, 16, rng=random.Random(3))
    assert b.offset == 0
    assert sorted(b.allocate_next() or 0 for _ in range(4)) == [0, 1, 2, 3]


def test_replace_keeps_identity() -> None:
    a, b = Bitmap(8), Bitmap(8)
    b.allocate(5)
    a.replace(b)
    assert a.has(5) and a.used == 1
    with pytest.raises(ValueError, match="differ in size"):
        a.replace(Bitmap(9))
