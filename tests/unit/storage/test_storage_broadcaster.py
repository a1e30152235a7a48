"""The watch fan-out on its own, fed by hand, with a recorded catch-up source."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from kubesvc.storage.broadcaster import Broadcaster, BroadcastSettings, Subscription
from kubesvc.storage.interface import Compacted, Event, KeyValue


def put(rev: int, key: str) -> Event:
    return Event("PUT", KeyValue(key, b"v", rev, rev), None)


class Log:
    """A backend's log: every event ever published, and the catch-up calls made."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.calls: list[tuple[str, int, int]] = []
        self.compacted = 0

    def catch_up(self, prefix: str, after: int, upto: int) -> Sequence[Event]:
        self.calls.append((prefix, after, upto))
        if after < self.compacted:
            raise Compacted(after, self.compacted)
        return [
            ev for ev in self.events if after < ev.revision <= upto and ev.kv.key.startswith(prefix)
        ]


def make(capacity: int = 8, max_pending: int = 4, batch: int = 3) -> tuple[Broadcaster, Log]:
    log = Log()
    hub = Broadcaster(0, log.catch_up, BroadcastSettings(capacity, max_pending, batch))
    return hub, log


def publish(hub: Broadcaster, log: Log, *keys: str) -> None:
    for key in keys:
        ev = put(hub.last_revision + 1, key)
        log.events.append(ev)
        hub.publish(ev)


async def drain(sub: Subscription) -> list[int]:
    """Revisions of what ``sub`` has to give right now."""
    revs: list[int] = []
    it = aiter(sub)
    while True:
        task = asyncio.ensure_future(anext(it))
        for _ in range(5):
            await asyncio.sleep(0)
        if not task.done():
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return revs
        revs.append(task.result().revision)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        pytest.param("", [1, 2, 3, 4, 5], id="empty-prefix-sees-all"),
        pytest.param("/a", [1, 2, 3], id="short-prefix"),
        pytest.param("/a/", [2, 3], id="directory-prefix"),
        pytest.param("/a/x", [3], id="exact-key"),
        pytest.param("/a/xy", [], id="longer-than-every-key"),
        pytest.param("/c", [], id="no-match"),
    ],
)
async def test_live_events_reach_the_watches_whose_prefix_matches(
    prefix: str, expected: list[int]
) -> None:
    hub, log = make(capacity=16, max_pending=16)
    subs = [hub.subscribe(p, 0) for p in ["", "/a", "/a/", "/a/x", "/a/xy", "/c"]]
    for sub in subs:  # go live: nothing to replay
        assert await drain(sub) == []
    mine = hub.subscribe(prefix, 0)
    assert await drain(mine) == []
    publish(hub, log, "/a", "/a/y", "/a/x", "/b", "/bb")
    assert await drain(mine) == expected
    assert log.calls == []


async def test_a_lagging_watch_holds_at_most_max_pending_events() -> None:
    hub, log = make(capacity=8, max_pending=4)
    sub = hub.subscribe("/", 0)
    assert await drain(sub) == []
    assert hub.watcher_count == 1
    publish(hub, log, *[f"/k{i}" for i in range(20)])
    assert hub.watcher_count == 0  # unregistered when its queue overflowed
    assert len(sub._pending) == 0
    assert await drain(sub) == list(range(1, 21))
    # revisions 1..12 had left the 8-event buffer: read from the log in batches of 3
    assert log.calls == [("/", 0, 3), ("/", 3, 6), ("/", 6, 9), ("/", 9, 12)]
    assert hub.watcher_count == 1
    publish(hub, log, "/live")
    assert await drain(sub) == [21]


async def test_replay_comes_from_the_buffer_when_it_still_holds_the_revisions() -> None:
    hub, log = make(capacity=8, max_pending=4)
    publish(hub, log, *[f"/k{i}" for i in range(10)])
    assert await drain(hub.subscribe("/", 2)) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert log.calls == []
    assert await drain(hub.subscribe("/", 1)) == list(range(2, 11))
    assert log.calls == [("/", 1, 2)]


async def test_a_watch_overtaken_by_compaction_ends_with_compacted() -> None:
    hub, log = make(capacity=4, max_pending=2)
    sub = hub.subscribe("/", 0)
    publish(hub, log, *[f"/k{i}" for i in range(10)])
    log.compacted = 5
    with pytest.raises(Compacted):
        await anext(aiter(sub))
    assert [ev async for ev in sub] == []


async def test_a_gap_in_published_revisions_is_filled_from_the_log() -> None:
    hub, log = make(capacity=8)
    publish(hub, log, "/a", "/b")
    log.events.append(put(3, "/c"))  # committed, but its publish never happened
    hub.last_revision = 2
    ev = put(4, "/d")
    log.events.append(ev)
    hub.publish(ev)
    assert await drain(hub.subscribe("/", 1)) == [2, 3, 4]


async def test_closing_the_broadcaster_ends_all_watches() -> None:
    hub, log = make()
    live = hub.subscribe("/", 0)
    assert await drain(live) == []
    waiting = asyncio.ensure_future(anext(aiter(live)))
    await asyncio.sleep(0)
    lagging = hub.subscribe("/", 0)
    hub.close()
    with pytest.raises(StopAsyncIteration):
        await waiting
    assert [ev async for ev in lagging] == []
    assert [ev async for ev in hub.subscribe("/", 0)] == []
    assert hub.watcher_count == 0
    publish(hub, log, "/after")  # publishing to a closed broadcaster is harmless


async def test_closed_watches_leave_the_prefix_index() -> None:
    hub, _ = make()
    subs = [hub.subscribe(p, 0) for p in ["/a", "/a", "/bb"]]
    for sub in subs:
        await drain(sub)
    assert hub.watcher_count == 3
    for sub in subs:
        sub.close()
        sub.close()  # idempotent
    assert hub.watcher_count == 0
    assert hub._lengths == []
