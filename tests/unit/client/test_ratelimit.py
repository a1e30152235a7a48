"""Per-key exponential retry delays (client-go's item exponential failure limiter)."""

from __future__ import annotations

import pytest

from kubesvc.client.ratelimit import ExponentialRateLimiter


@pytest.mark.parametrize(
    ("base", "cap", "expected"),
    [
        pytest.param(0.005, 1000.0, [0.005, 0.01, 0.02, 0.04, 0.08], id="client-go-defaults"),
        pytest.param(1.0, 5.0, [1, 2, 4, 5, 5], id="capped"),
        pytest.param(0.0, 0.0, [0, 0, 0], id="zero"),
    ],
)
def test_delays_double_per_failure(base: float, cap: float, expected: list[float]) -> None:
    limiter = ExponentialRateLimiter(base, cap)
    assert [limiter.when("k") for _ in expected] == pytest.approx(expected)
    assert limiter.num_requeues("k") == len(expected)


def test_keys_back_off_independently_and_forget_resets_one() -> None:
    limiter = ExponentialRateLimiter(1, 100)
    limiter.when("a")
    limiter.when("a")
    assert limiter.when("b") == 1
    assert limiter.when("a") == 4
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1
    assert limiter.num_requeues("b") == 1


def test_many_failures_stay_at_the_cap_without_overflow() -> None:
    limiter = ExponentialRateLimiter(1, 60)
    delays = [limiter.when("k") for _ in range(2000)]
    assert delays[-1] == 60


def test_cap_below_base_is_refused() -> None:
    with pytest.raises(ValueError, match="base <= cap"):
        ExponentialRateLimiter(2, 1)
