"""Exponential back-off: growth, cap, reset and jitter bounds."""

from __future__ import annotations

import random

import pytest

from kubesvc.util.backoff import Backoff, BackoffPolicy


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(BackoffPolicy(1, 10), [1, 2, 4, 8, 10, 10], id="doubles-up-to-the-cap"),
        pytest.param(BackoffPolicy(0.8, 30), [0.8, 1.6, 3.2, 6.4, 12.8, 25.6], id="client-go"),
        pytest.param(BackoffPolicy(5, 2), [2, 2, 2], id="initial-above-cap-is-capped"),
        pytest.param(BackoffPolicy(1, 100, factor=3), [1, 3, 9, 27, 81, 100], id="factor"),
        pytest.param(BackoffPolicy(0, 1), [0, 0, 0], id="zero-stays-zero"),
    ],
)
def test_delays_without_jitter(policy: BackoffPolicy, expected: list[float]) -> None:
    backoff = Backoff(policy)
    assert [backoff.next() for _ in expected] == pytest.approx(expected)


def test_reset_starts_over() -> None:
    backoff = Backoff(BackoffPolicy(1, 10))
    backoff.next()
    backoff.next()
    assert backoff.attempts == 2
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next() == 1


def test_jitter_stretches_each_delay_within_bounds() -> None:
    backoff = Backoff(BackoffPolicy(1, 4, jitter=1.0), random.Random(7))
    for base in [1, 2, 4, 4, 4]:
        delay = backoff.next()
        assert base <= delay < 2 * base


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(BackoffPolicy(-1, 1), id="negative-initial"),
        pytest.param(BackoffPolicy(1, 1, factor=0.5), id="shrinking-factor"),
        pytest.param(BackoffPolicy(1, 1, jitter=-1), id="negative-jitter"),
    ],
)
def test_invalid_policies_are_refused(policy: BackoffPolicy) -> None:
    with pytest.raises(ValueError, match="invalid back-off"):
        Backoff(policy)
