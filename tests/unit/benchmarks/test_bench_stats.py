from __future__ import annotations

import pytest

from benchmarks.stats import Summary, median, percentile, ratio, summarize


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        pytest.param([5.0], 99.0, 5.0, id="single-value"),
        pytest.param([1.0, 2.0, 3.0], 50.0, 2.0, id="odd-median"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 50.0, 2.5, id="even-median-interpolates"),
        pytest.param([4.0, 1.0, 3.0, 2.0], 50.0, 2.5, id="unsorted-input"),
        pytest.param([1.0, 2.0, 3.0, 4.0, 5.0], 0.0, 1.0, id="p0-is-min"),
        pytest.param([1.0, 2.0, 3.0, 4.0, 5.0], 100.0, 5.0, id="p100-is-max"),
        pytest.param([float(i) for i in range(1, 101)], 99.0, 99.01, id="p99-of-1-to-100"),
        pytest.param([0.0, 10.0], 25.0, 2.5, id="linear-between-ranks"),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "q"),
    [
        pytest.param([], 50.0, id="no-values"),
        pytest.param([1.0], -1.0, id="below-0"),
        pytest.param([1.0], 100.5, id="above-100"),
    ],
)
def test_percentile_rejects(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


def test_median_is_p50() -> None:
    assert median([3.0, 1.0, 2.0, 10.0]) == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("value", "anchor", "expected"),
    [
        pytest.param(90.0, 100.0, 0.9, id="slower-than-anchor"),
        pytest.param(150.0, 100.0, 1.5, id="faster-than-anchor"),
        pytest.param(None, 100.0, None, id="no-value"),
        pytest.param(90.0, None, None, id="no-anchor"),
        pytest.param(90.0, 0.0, None, id="anchor-zero"),
    ],
)
def test_ratio(value: float | None, anchor: float | None, expected: float | None) -> None:
    result = ratio(value, anchor)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_summarize_throughput_and_latency() -> None:
    summary = summarize([100.0, 120.0, 110.0], [0.5, 0.7, 0.6], [2.0, 9.0, 3.0])
    assert summary == Summary(n=3, median=110.0, min=100.0, max=120.0, p50_ms=0.6, p99_ms=3.0)
    assert summary.spread == pytest.approx(20.0 / 110.0)


def test_summarize_ignores_missing_latency() -> None:
    summary = summarize([10.0, 20.0], [None, None], [None, 4.0])
    assert summary.p50_ms is None
    assert summary.p99_ms == 4.0


def test_summarize_needs_values() -> None:
    with pytest.raises(ValueError):
        summarize([])
