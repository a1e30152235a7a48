"""NodePort allocation: range parsing, bands, upstream's errors."""

from __future__ import annotations

import random

import pytest

from kubesvc.apiserver.allocators.ipalloc import AlreadyAllocated, RangeFull
from kubesvc.apiserver.allocators.portalloc import (
    PortAllocator,
    PortNotInRange,
    PortRange,
    parse_port_range,
    static_band_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("30000-32767", PortRange(30000, 2768), id="default"),
        pytest.param(" 1-65535 ", PortRange(1, 65535), id="everything"),
        pytest.param("10000+100", PortRange(10000, 101), id="plus-form"),
        pytest.param("31000", PortRange(31000, 1), id="single"),
    ],
)
def test_parse(text: str, expected: PortRange) -> None:
    assert parse_port_range(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "--service-node-port-range must not be empty", id="empty"),
        pytest.param(
            "a-b", 'invalid --service-node-port-range "a-b": must be like 30000-32767', id="words"
        ),
        pytest.param(
            "30000-70000", "the port range cannot be greater than 65535: 30000-70000", id="above"
        ),
        pytest.param(
            "32767-30000", "end port cannot be less than start port: 32767-30000", id="reversed"
        ),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_port_range(text)
    assert str(info.value) == message


def test_default_static_band_is_86_ports() -> None:
    assert static_band_size(2768) == 86
    assert static_band_size(16) == 0
    assert static_band_size(100) == 16
    assert static_band_size(65535) == 128


def test_random_ports_prefer_the_upper_band() -> None:
    a = PortAllocator("30000-32767", rng=random.Random(8))
    got = [a.allocate_next() for _ in range(500)]
    assert min(got) >= 30086 and max(got) <= 32767
    assert len(set(got)) == 500


@pytest.mark.parametrize(
    ("port", "error", "message"),
    [
        pytest.param(30080, AlreadyAllocated, "provided port is already allocated", id="taken"),
        pytest.param(
            80801,
            PortNotInRange,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
            id="seed-80801",
        ),
        pytest.param(
            29999,
            PortNotInRange,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
            id="just-below",
        ),
    ],
)
def test_errors(port: int, error: type[Exception], message: str) -> None:
    a = PortAllocator("30000-32767")
    a.allocate(30080)
    with pytest.raises(error) as info:
        a.allocate(port)
    assert str(info.value) == message


def test_full_and_release() -> None:
    a = PortAllocator("40000-40002", rng=random.Random(9))
    assert sorted(a.allocate_next() for _ in range(3)) == [40000, 40001, 40002]
    with pytest.raises(RangeFull):
        a.allocate_next()
    a.release(40001)
    assert a.allocate_next() == 40001
    assert list(a) == [40000, 40001, 40002]
