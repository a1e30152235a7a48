"""Quantities, container limits, QoS class and resourceFieldRef values."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from kubesvc.node import resources
from kubesvc.node.runtime.base import Limits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1", Fraction(1), id="plain"),
        pytest.param("500m", Fraction(1, 2), id="milli"),
        pytest.param("0.5", Fraction(1, 2), id="decimal"),
        pytest.param(".5", Fraction(1, 2), id="leading-dot"),
        pytest.param("128Mi", Fraction(128 * 2**20), id="mebi"),
        pytest.param("1.5Gi", Fraction(3 * 2**29), id="fractional-gibi"),
        pytest.param("100k", Fraction(100_000), id="kilo"),
        pytest.param("1M", Fraction(10**6), id="mega"),
        pytest.param("2E", Fraction(2 * 10**18), id="exa"),
        pytest.param("2e3", Fraction(2000), id="exponent"),
        pytest.param("5e-3", Fraction(5, 1000), id="negative-exponent"),
        pytest.param("100n", Fraction(1, 10**7), id="nano"),
        pytest.param(2, Fraction(2), id="json-int"),
        pytest.param(0.25, Fraction(1, 4), id="json-float"),
        pytest.param("+1Ki", Fraction(1024), id="signed"),
    ],
)
def test_parse_quantity(text: object, expected: Fraction) -> None:
    assert resources.parse_quantity(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="letters"),
        pytest.param("1Qi", id="unknown-suffix"),
        pytest.param("1 Mi", id="space"),
        pytest.param("1..2", id="two-dots"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="none"),
    ],
)
def test_parse_quantity_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        resources.parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        pytest.param("1", 1, 1000, id="one"),
        pytest.param("500m", 1, 500, id="half-rounds-up"),
        pytest.param("1m", 1, 1, id="one-milli"),
        pytest.param("0.1m", 1, 1, id="sub-milli-rounds-up"),
        pytest.param("64Mi", 64 * 2**20, 64 * 2**20 * 1000, id="memory"),
    ],
)
def test_value_and_milli_value(text: str, value: int, milli: int) -> None:
    assert resources.value(text) == value
    assert resources.milli_value(text) == milli


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        pytest.param({}, Limits(), id="none"),
        pytest.param(
            {"resources": {"limits": {"memory": "128Mi", "cpu": "500m"}}},
            Limits(memory_bytes=128 * 2**20, cpu_millis=500),
            id="both",
        ),
        pytest.param(
            {"resources": {"limits": {"cpu": "2"}}}, Limits(cpu_millis=2000), id="cpu-only"
        ),
        pytest.param({"resources": {"limits": {"memory": "0"}}}, Limits(), id="zero-is-no-limit"),
        pytest.param(
            {"resources": {"requests": {"memory": "1Gi"}}}, Limits(), id="requests-ignored"
        ),
    ],
)
def test_container_limits(container: dict[str, Any], expected: Limits) -> None:
    assert resources.container_limits(container) == expected


def _pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)]
    }
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "resources": r} for i, r in enumerate(init)]
    return {"spec": spec}


_BOTH = {"cpu": "1", "memory": "1Gi"}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(_pod({}), "BestEffort", id="nothing"),
        pytest.param(_pod({"limits": _BOTH}), "Guaranteed", id="limits-only-default-requests"),
        pytest.param(_pod({"limits": _BOTH, "requests": _BOTH}), "Guaranteed", id="equal-requests"),
        pytest.param(
            _pod({"limits": _BOTH, "requests": {"cpu": "500m"}}),
            "Burstable",
            id="lower-cpu-request",
        ),
        pytest.param(_pod({"limits": {"cpu": "1"}}), "Burstable", id="cpu-limit-only"),
        pytest.param(_pod({"requests": {"memory": "1Mi"}}), "Burstable", id="request-only"),
        pytest.param(_pod({"limits": _BOTH}, {}), "Burstable", id="second-container-besteffort"),
        pytest.param(_pod({"limits": _BOTH}, init=({},)), "Burstable", id="init-container-counts"),
        pytest.param(
            _pod({"requests": {"ephemeral-storage": "1Gi"}}),
            "BestEffort",
            id="other-resources-ignored",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "0", "memory": "0"}}), "BestEffort", id="zero-ignored"
        ),
    ],
)
def test_pod_qos_class(pod: dict[str, Any], expected: str) -> None:
    assert resources.pod_qos_class(pod) == expected


_ALLOCATABLE = {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi"}


@pytest.mark.parametrize(
    ("selector", "container", "expected"),
    [
        pytest.param(
            {"resource": "limits.cpu"},
            {"resources": {"limits": {"cpu": "500m"}}},
            "1",
            id="cpu-rounds-up-to-cores",
        ),
        pytest.param(
            {"resource": "limits.cpu", "divisor": "1m"},
            {"resources": {"limits": {"cpu": "500m"}}},
            "500",
            id="cpu-millicores",
        ),
        pytest.param(
            {"resource": "limits.memory", "divisor": "1Mi"},
            {"resources": {"limits": {"memory": "128Mi"}}},
            "128",
            id="memory-mebibytes",
        ),
        pytest.param(
            {"resource": "limits.memory"}, {}, str(8 * 2**30), id="unset-limit-is-allocatable"
        ),
        pytest.param({"resource": "limits.cpu"}, {}, "4", id="unset-cpu-is-allocatable"),
        pytest.param({"resource": "requests.cpu"}, {}, "0", id="unset-request-is-zero"),
        pytest.param(
            {"resource": "requests.memory", "divisor": "1Ki"},
            {"resources": {"requests": {"memory": "1Mi"}}},
            "1024",
            id="request-memory",
        ),
        pytest.param(
            {"resource": "limits.ephemeral-storage", "divisor": "1Gi"},
            {},
            "100",
            id="ephemeral-storage",
        ),
        pytest.param(
            {"resource": "limits.cpu", "divisor": "0"},
            {"resources": {"limits": {"cpu": "2"}}},
            "2",
            id="zero-divisor-is-one",
        ),
    ],
)
def test_resource_field_value(
    selector: dict[str, Any], container: dict[str, Any], expected: str
) -> None:
    assert resources.resource_field_value(selector, container, _ALLOCATABLE) == expected


def test_resource_field_value_unsupported() -> None:
    with pytest.raises(ValueError, match=r"unsupported container resource : limits\.gpu"):
        resources.resource_field_value({"resource": "limits.gpu"}, {}, _ALLOCATABLE)
