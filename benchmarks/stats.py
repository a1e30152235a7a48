"""Statistics over measurements: median, min, max, percentiles, ratios. Pure functions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly between ranks.

    The same definition as numpy's default (rank ``q/100 * (n-1)``), so p50 is the median.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError("percentile outside 0-100")
    ordered = sorted(values)
    rank = q / 100.0 * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    fraction = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (mean of the middle two for an even count)."""
    return percentile(values, 50.0)


def ratio(value: float | None, anchor: float | None) -> float | None:
    """``value / anchor``, or None when either is missing or the anchor is not positive."""
    if value is None or anchor is None or anchor <= 0.0:
        return None
    return value / anchor


@dataclass(frozen=True)
class Summary:
    """What the report shows for one scenario."""

    n: int
    median: float
    min: float
    max: float
    p50_ms: float | None
    """Median over the measurements of each one's p50 latency."""
    p99_ms: float | None
    """Median over the measurements of each one's p99 latency."""

    @property
    def spread(self) -> float:
        """(max - min) / median: how stable the figure was across measurements."""
        if self.median == 0.0:
            return 0.0
        return (self.max - self.min) / self.median


def summarize(
    values: Sequence[float],
    p50s: Sequence[float | None] = (),
    p99s: Sequence[float | None] = (),
) -> Summary:
    """Median, min and max of throughput ``values``; median of the known latency percentiles."""
    if not values:
        raise ValueError("summary of no values")
    return Summary(
        n=len(values),
        median=median(values),
        min=float(min(values)),
        max=float(max(values)),
        p50_ms=_median_known(p50s),
        p99_ms=_median_known(p99s),
    )


def _median_known(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None
