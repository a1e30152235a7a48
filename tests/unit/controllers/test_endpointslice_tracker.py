"""The slice tracker (our own writes vs. a lagging cache) and trigger times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.unit.controllers.svcobjects import pod, service

from kubesvc.controllers.endpointslice.tracker import EndpointSliceTracker
from kubesvc.controllers.endpointslice.triggertime import TriggerTimeTracker, format_rfc3339_nano
from kubesvc.controllers.endpointslice.writes import STALE_RETRY, CacheWaits

Obj = dict[str, Any]
KEY = "default/web"


def slice_(uid: str, generation: int, service_name: str = "web") -> Obj:
    return {
        "metadata": {
            "name": f"s-{uid}",
            "namespace": "default",
            "uid": uid,
            "generation": generation,
            "labels": {"kubernetes.io/service-name": service_name},
        }
    }


@pytest.mark.parametrize(
    ("written", "deleted", "cached", "stale"),
    [
        pytest.param([], [], [slice_("a", 1)], False, id="nothing written: never stale"),
        pytest.param([slice_("a", 2)], [], [slice_("a", 2)], False, id="cache has our write"),
        pytest.param([slice_("a", 2)], [], [slice_("a", 1)], True, id="cache behind our update"),
        pytest.param([slice_("a", 2)], [], [slice_("a", 3)], False, id="cache ahead of us"),
        pytest.param([slice_("a", 1)], [], [], True, id="our create not in the cache yet"),
        pytest.param([], [slice_("a", 1)], [slice_("a", 1)], True, id="our delete not seen yet"),
        pytest.param([], [slice_("a", 1)], [], False, id="our delete seen"),
    ],
)
def test_stale_slices(
    written: list[Obj], deleted: list[Obj], cached: list[Obj], stale: bool
) -> None:
    tracker = EndpointSliceTracker()
    for s in written:
        tracker.update(s)
    for s in deleted:
        tracker.expect_deletion(s)
    assert tracker.stale_slices(KEY, cached) is stale


def test_our_own_generations_do_not_need_a_sync() -> None:
    tracker = EndpointSliceTracker()
    tracker.update(slice_("a", 2))
    assert not tracker.should_sync(slice_("a", 2))
    assert tracker.should_sync(slice_("a", 3))
    assert tracker.should_sync(slice_("b", 1))


def test_deletions_we_made_are_expected_others_are_not() -> None:
    tracker = EndpointSliceTracker()
    tracker.update(slice_("a", 1))
    tracker.update(slice_("b", 1))
    tracker.expect_deletion(slice_("a", 1))
    assert tracker.handle_deletion(slice_("a", 1)) is True
    assert tracker.handle_deletion(slice_("b", 1)) is False
    assert not tracker.has(slice_("b", 1))


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def test_trigger_times() -> None:
    tracker = TriggerTimeTracker()
    svc = service(selector={"app": "web"})
    a = pod("a", ready_since="2024-01-01T00:01:00Z")
    b = pod("b", ready_since="2024-01-01T00:02:00Z")
    # First sight of a Service: its creation time.
    assert tracker.compute(KEY, svc, [a]) == t("2024-01-01T00:00:00")
    # Nothing new: no trigger time.
    assert tracker.compute(KEY, svc, [a]) is None
    # A new pod: its Ready transition.
    assert tracker.compute(KEY, svc, [a, b]) == t("2024-01-01T00:02:00")
    # Two changes since the last sync: the earliest.
    a2 = pod("a", ready_since="2024-01-01T00:05:00Z")
    b2 = pod("b", ready_since="2024-01-01T00:04:00Z")
    assert tracker.compute(KEY, svc, [a2, b2]) == t("2024-01-01T00:04:00")
    tracker.delete_service(KEY)
    assert tracker.compute(KEY, svc, [a2, b2]) == t("2024-01-01T00:00:00")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z", id="s"),
        pytest.param(
            datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC), "2024-01-02T03:04:05.5Z", id="frac"
        ),
        pytest.param(
            datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
            "2024-01-02T03:04:05.123456Z",
            id="micro",
        ),
    ],
)
def test_rfc3339_nano(value: datetime, text: str) -> None:
    assert format_rfc3339_nano(value) == text


def test_cache_waits_resync_on_news_not_before() -> None:
    now: list[str] = []
    later: list[tuple[str, float]] = []
    waits = CacheWaits(now.append, lambda key, delay: later.append((key, delay)))
    waits.news(KEY)
    assert now == []  # nobody was waiting
    waits.wait(KEY)
    assert later == [(KEY, STALE_RETRY)]  # a fallback, should no news come
    waits.news("default/other")
    assert now == []
    waits.news(KEY)
    waits.news(KEY)
    assert now == [KEY]  # once
