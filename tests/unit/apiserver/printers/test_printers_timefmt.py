"""AGE as kubectl shows it: ``duration.HumanDuration`` and ``<unknown>``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubesvc.apiserver.printers.timefmt import human_duration, rfc3339, since

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        pytest.param(timedelta(seconds=-5), "<invalid>", id="future"),
        pytest.param(timedelta(seconds=-1, milliseconds=-500), "0s", id="skew-tolerated"),
        pytest.param(timedelta(0), "0s", id="now"),
        pytest.param(timedelta(seconds=45, milliseconds=999), "45s", id="seconds-truncated"),
        pytest.param(timedelta(seconds=119), "119s", id="below-two-minutes"),
        pytest.param(timedelta(minutes=2), "2m", id="two-minutes"),
        pytest.param(timedelta(minutes=2, seconds=30), "2m30s", id="minutes-and-seconds"),
        pytest.param(timedelta(minutes=9, seconds=59), "9m59s", id="below-ten-minutes"),
        pytest.param(timedelta(minutes=10, seconds=30), "10m", id="ten-minutes"),
        pytest.param(timedelta(minutes=179), "179m", id="below-three-hours"),
        pytest.param(timedelta(hours=3), "3h", id="three-hours"),
        pytest.param(timedelta(hours=3, minutes=20), "3h20m", id="hours-and-minutes"),
        pytest.param(timedelta(hours=8, minutes=20), "8h", id="eight-hours"),
        pytest.param(timedelta(hours=47), "47h", id="below-two-days"),
        pytest.param(timedelta(days=2), "2d", id="two-days"),
        pytest.param(timedelta(days=5, hours=3), "5d3h", id="days-and-hours"),
        pytest.param(timedelta(days=8, hours=3), "8d", id="eight-days"),
        pytest.param(timedelta(days=729), "729d", id="below-two-years"),
        pytest.param(timedelta(days=730), "2y", id="two-years"),
        pytest.param(timedelta(days=365 * 2 + 30), "2y30d", id="years-and-days"),
        pytest.param(timedelta(days=365 * 9), "9y", id="nine-years"),
    ],
)
def test_human_duration(delta: timedelta, shown: str) -> None:
    assert human_duration(delta) == shown


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        pytest.param("2024-06-01T11:55:00Z", "5m", id="rfc3339"),
        pytest.param("2024-06-01T11:59:58.123456Z", "1s", id="micro-time"),
        pytest.param("2024-06-01T13:55:00+02:00", "5m", id="offset"),
        pytest.param(None, "<unknown>", id="missing"),
        pytest.param("0001-01-01T00:00:00Z", "<unknown>", id="go-zero-time"),
        pytest.param("yesterday", "<unknown>", id="garbage"),
    ],
)
def test_since(stamp: str | None, shown: str) -> None:
    assert since(stamp, NOW) == shown


def test_rfc3339() -> None:
    assert rfc3339("2024-06-01T13:55:00.5+02:00") == "2024-06-01T11:55:00Z"
    assert rfc3339(None) == "0001-01-01T00:00:00Z"
