"""Ages and durations as kubectl shows them (apimachinery ``util/duration``).

``human_duration`` is ``duration.HumanDuration``: about two significant figures,
``45s``, ``2m3s`` below ten minutes, ``3h20m`` below eight hours, ``5d3h``
below eight days, ``2y30d`` below eight years. ``since`` is the printers'
``translateTimestampSince``: ``<unknown>`` for a missing (or Go-zero) timestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_NS_PER_S = 10**9
_NS_PER_MIN = 60 * _NS_PER_S
_NS_PER_H = 60 * _NS_PER_MIN
_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def _nanoseconds(d: timedelta) -> int:
    return ((d.days * 86400 + d.seconds) * 10**6 + d.microseconds) * 1000


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, as Go's does."""
    q = abs(a) // b
    return q if a >= 0 else -q


def human_duration(d: timedelta) -> str:
    """``duration.HumanDuration``: a short, approximate rendering of ``d``.

    Up to one second in the future counts as now (``0s``, clock skew); further
    in the future is ``<invalid>``.
    """
    ns = _nanoseconds(d)
    seconds = _trunc_div(ns, _NS_PER_S)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = ns // _NS_PER_MIN
    if minutes < 10:
        s = (ns // _NS_PER_S) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _NS_PER_H
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``metav1.Time`` or ``MicroTime``); None if absent, zero or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return None if parsed == _GO_ZERO_TIME else parsed


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    """``translateTimestampSince``: the age of a timestamp, or ``<unknown>``."""
    when = parse_timestamp(value)
    if when is None:
        return "<unknown>"
    return human_duration(_aware(now) - when)


def rfc3339(value: Any) -> str:
    """A timestamp in Go's ``time.RFC3339`` in UTC, the zero time when absent."""
    w = (parse_timestamp(value) or _GO_ZERO_TIME).astimezone(UTC)
    return f"{w.year:04d}-{w.month:02d}-{w.day:02d}T{w.hour:02d}:{w.minute:02d}:{w.second:02d}Z"
