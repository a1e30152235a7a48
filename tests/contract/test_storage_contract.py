"""The storage contract (``kubesvc.storage.interface``), checked on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import pytest

from kubesvc.storage.broadcaster import BroadcastSettings
from kubesvc.storage.interface import (
    Backend,
    Compacted,
    Conflict,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    Watch,
)

MakeBackend = Callable[..., Awaitable[Backend]]  # the ``make_backend`` fixture (conftest.py)
WAIT = 5.0  # seconds a watch may take to deliver what is already written


async def take(watch: Watch, n: int) -> list[Event]:
    """The next ``n`` events of ``watch`` (fails the test if they do not come)."""
    events: list[Event] = []
    if n == 0:
        return events
    async with asyncio.timeout(WAIT):
        async for ev in watch:
            events.append(ev)
            if len(events) == n:
                break
    return events


async def nothing_more(watch: Watch) -> None:
    """Asserts ``watch`` has no event ready (after letting the loop run a bit)."""
    it = aiter(watch)
    task = asyncio.ensure_future(anext(it))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done(), f"unexpected event {task.result()}"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def summary(events: Iterable[Event]) -> list[tuple[str, str, int, bytes, int | None]]:
    return [
        (ev.type, ev.kv.key, ev.revision, ev.kv.value, ev.prev.mod_revision if ev.prev else None)
        for ev in events
    ]


# -- revisions and writes -------------------------------------------------------


async def test_every_write_increments_the_revision_by_one(backend: Backend) -> None:
    assert await backend.current_revision() == 0
    a = await backend.create("/a", b"1")
    assert (a.create_revision, a.mod_revision) == (1, 1)
    b = await backend.create("/b", b"1")
    assert (b.create_revision, b.mod_revision) == (2, 2)
    a2 = await backend.update("/a", b"2")
    assert a2 == KeyValue("/a", b"2", 1, 3)
    a3 = await backend.update("/a", b"2")  # unchanged value is still a write
    assert a3.mod_revision == 4
    gone = await backend.delete("/a")
    assert gone == KeyValue("/a", b"2", 1, 5)
    assert await backend.current_revision() == 5
    assert await backend.get("/a") is None
    again = await backend.create("/a", b"new")
    assert again == KeyValue("/a", b"new", 6, 6)


async def test_create_of_an_existing_key_raises_key_exists(backend: Backend) -> None:
    await backend.create("/a", b"1")
    with pytest.raises(KeyExists):
        await backend.create("/a", b"2")
    assert await backend.current_revision() == 1
    assert await backend.get("/a") == KeyValue("/a", b"1", 1, 1)


@pytest.mark.parametrize(
    "op",
    [
        pytest.param("update", id="update"),
        pytest.param("update-cas", id="update-with-expected-revision"),
        pytest.param("delete", id="delete"),
        pytest.param("delete-cas", id="delete-with-expected-revision"),
    ],
)
async def test_update_or_delete_of_a_missing_key_raises_key_not_found(
    backend: Backend, op: str
) -> None:
    await backend.create("/other", b"x")
    with pytest.raises(KeyNotFound):
        if op.startswith("update"):
            await backend.update("/a", b"1", 1 if op.endswith("cas") else 0)
        else:
            await backend.delete("/a", 1 if op.endswith("cas") else 0)
    assert await backend.current_revision() == 1


async def test_update_is_compare_and_swap(backend: Backend) -> None:
    kv = await backend.create("/a", b"1")
    await backend.create("/b", b"1")
    with pytest.raises(Conflict) as err:
        await backend.update("/a", b"2", expected_revision=2)
    assert err.value.current == kv
    assert await backend.current_revision() == 2
    new = await backend.update("/a", b"2", expected_revision=kv.mod_revision)
    assert new.mod_revision == 3
    with pytest.raises(Conflict):
        await backend.update("/a", b"3", expected_revision=kv.mod_revision)


async def test_delete_is_compare_and_swap(backend: Backend) -> None:
    kv = await backend.create("/a", b"1")
    new = await backend.update("/a", b"2")
    with pytest.raises(Conflict) as err:
        await backend.delete("/a", expected_revision=kv.mod_revision)
    assert err.value.current == new
    assert await backend.get("/a") == new
    gone = await backend.delete("/a", expected_revision=new.mod_revision)
    assert gone == KeyValue("/a", b"2", 1, 3)


# -- reads ------------------------------------------------------------------------


async def test_get_at_a_revision_sees_the_value_then(backend: Backend) -> None:
    await backend.create("/a", b"v1")  # 1
    await backend.create("/b", b"x")  # 2
    await backend.update("/a", b"v2")  # 3
    await backend.delete("/a")  # 4
    await backend.create("/a", b"v3")  # 5
    expected = {
        1: KeyValue("/a", b"v1", 1, 1),
        2: KeyValue("/a", b"v1", 1, 1),
        3: KeyValue("/a", b"v2", 1, 3),
        4: None,
        5: KeyValue("/a", b"v3", 5, 5),
    }
    for rev, kv in expected.items():
        assert await backend.get("/a", revision=rev) == kv, rev
    assert await backend.get("/a") == expected[5]
    assert await backend.get("/b", revision=1) is None
    assert await backend.get("/missing") is None
    with pytest.raises(FutureRevision):
        await backend.get("/a", revision=6)


async def test_list_is_in_key_order_under_the_prefix_only(backend: Backend) -> None:
    for key in ["/r/b/2", "/r/a", "/r/b/1", "/r/ab", "/q/x", "/r", "/s"]:
        await backend.create(key, key.encode())
    res = await backend.list("/r/")
    assert [kv.key for kv in res.kvs] == ["/r/a", "/r/ab", "/r/b/1", "/r/b/2"]
    assert (res.revision, res.more, res.remaining) == (7, False, 0)
    assert [kv.key for kv in (await backend.list("/r/b/")).kvs] == ["/r/b/1", "/r/b/2"]
    assert [kv.key for kv in (await backend.list("/r/a")).kvs] == ["/r/a", "/r/ab"]
    assert len((await backend.list("")).kvs) == 7
    assert (await backend.list("/none/")).kvs == []
    assert await backend.count("/r/") == 4
    assert await backend.count("") == 7
    assert await backend.count("/none/") == 0


async def test_list_with_limit_pages_with_start_after(backend: Backend) -> None:
    keys = [f"/p/{i:02d}" for i in range(10)]
    for key in reversed(keys):
        await backend.create(key, b"x")
    await backend.create("/q", b"x")
    first = await backend.list("/p/", limit=4)
    assert [kv.key for kv in first.kvs] == keys[:4]
    assert (first.more, first.remaining) == (True, 6)
    second = await backend.list("/p/", limit=4, start_after=first.kvs[-1].key)
    assert [kv.key for kv in second.kvs] == keys[4:8]
    assert (second.more, second.remaining) == (True, 2)
    last = await backend.list("/p/", limit=4, start_after=second.kvs[-1].key)
    assert [kv.key for kv in last.kvs] == keys[8:]
    assert (last.more, last.remaining) == (False, 0)
    exact = await backend.list("/p/", limit=10)
    assert (len(exact.kvs), exact.more, exact.remaining) == (10, False, 0)
    # start_after below the prefix, or at a key that no longer exists
    assert len((await backend.list("/p/", start_after="/a")).kvs) == 10
    await backend.delete("/p/05")
    rest = await backend.list("/p/", start_after="/p/05")
    assert [kv.key for kv in rest.kvs] == keys[6:]


async def test_list_at_a_revision_sees_the_state_then(backend: Backend) -> None:
    await backend.create("/l/a", b"a1")  # 1
    await backend.create("/l/b", b"b1")  # 2
    await backend.create("/l/c", b"c1")  # 3
    await backend.update("/l/a", b"a2")  # 4
    await backend.delete("/l/b")  # 5
    await backend.create("/l/d", b"d1")  # 6
    await backend.create("/l/b", b"b2")  # 7

    async def state(rev: int) -> list[tuple[str, bytes, int, int]]:
        res = await backend.list("/l/", revision=rev)
        assert res.revision == rev
        return [(kv.key, kv.value, kv.create_revision, kv.mod_revision) for kv in res.kvs]

    assert await state(1) == [("/l/a", b"a1", 1, 1)]
    assert await state(4) == [("/l/a", b"a2", 1, 4), ("/l/b", b"b1", 2, 2), ("/l/c", b"c1", 3, 3)]
    assert await state(5) == [("/l/a", b"a2", 1, 4), ("/l/c", b"c1", 3, 3)]
    assert await state(7) == [
        ("/l/a", b"a2", 1, 4),
        ("/l/b", b"b2", 7, 7),
        ("/l/c", b"c1", 3, 3),
        ("/l/d", b"d1", 6, 6),
    ]
    page = await backend.list("/l/", revision=4, limit=1, start_after="/l/a")
    assert [kv.key for kv in page.kvs] == ["/l/b"]
    assert (page.more, page.remaining) == (True, 1)
    assert (await backend.list("/l/")).revision == 7
    with pytest.raises(FutureRevision):
        await backend.list("/l/", revision=8)


async def test_paginated_list_at_a_fixed_revision_ignores_later_writes(backend: Backend) -> None:
    for i in range(6):
        await backend.create(f"/p/{i}", b"old")
    first = await backend.list("/p/", limit=3)
    await backend.update("/p/4", b"new")
    await backend.delete("/p/5")
    await backend.create("/p/6", b"new")
    rest = await backend.list("/p/", revision=first.revision, start_after=first.kvs[-1].key)
    assert [(kv.key, kv.value) for kv in rest.kvs] == [
        ("/p/3", b"old"),
        ("/p/4", b"old"),
        ("/p/5", b"old"),
    ]


# -- watch ------------------------------------------------------------------------


async def test_watch_replays_history_then_follows_live_writes(backend: Backend) -> None:
    await backend.create("/w/a", b"1")  # 1
    await backend.update("/w/a", b"2")  # 2
    await backend.create("/w/b", b"1")  # 3
    watch = backend.watch("/w/", 1)
    replayed = await take(watch, 2)
    assert summary(replayed) == [("PUT", "/w/a", 2, b"2", 1), ("PUT", "/w/b", 3, b"1", None)]
    await backend.delete("/w/a")  # 4
    live = await take(watch, 1)
    assert live == [
        Event("DELETE", KeyValue("/w/a", b"2", 1, 4), KeyValue("/w/a", b"2", 1, 2)),
    ]
    assert live[0].revision == 4 and not live[0].is_create
    await nothing_more(watch)
    watch.close()


async def test_watch_events_carry_previous_values(backend: Backend) -> None:
    watch = backend.watch("/e", 0)
    await backend.create("/e", b"1")
    await backend.update("/e", b"2")
    await backend.delete("/e")
    await backend.create("/e", b"3")
    events = await take(watch, 4)
    assert events == [
        Event("PUT", KeyValue("/e", b"1", 1, 1), None),
        Event("PUT", KeyValue("/e", b"2", 1, 2), KeyValue("/e", b"1", 1, 1)),
        Event("DELETE", KeyValue("/e", b"2", 1, 3), KeyValue("/e", b"2", 1, 2)),
        Event("PUT", KeyValue("/e", b"3", 4, 4), None),
    ]
    assert [ev.is_create for ev in events] == [True, False, False, True]
    replay = backend.watch("/e", 1)
    assert await take(replay, 3) == events[1:]
    watch.close()
    replay.close()


async def test_watch_from_zero_starts_now(backend: Backend) -> None:
    await backend.create("/z/a", b"1")
    watch = backend.watch("/z/", 0)
    await nothing_more(watch)
    await backend.create("/z/b", b"1")
    assert summary(await take(watch, 1)) == [("PUT", "/z/b", 2, b"1", None)]
    watch.close()


async def test_watch_filters_by_prefix(backend: Backend) -> None:
    narrow = backend.watch("/pods/ns1/", 0)
    wide = backend.watch("/pods/", 0)
    for key in ["/pods/ns1/a", "/pods/ns2/a", "/pods/ns1x/a", "/svc/ns1/a", "/pods/ns1/b"]:
        await backend.create(key, b"x")
    assert [ev.kv.key for ev in await take(narrow, 2)] == ["/pods/ns1/a", "/pods/ns1/b"]
    assert len(await take(wide, 4)) == 4
    await nothing_more(narrow)
    replay = backend.watch("/pods/ns1x/", 1)
    assert [ev.revision for ev in await take(replay, 1)] == [3]
    for w in (narrow, wide, replay):
        w.close()


async def test_watch_of_one_key_uses_the_key_as_prefix(backend: Backend) -> None:
    watch = backend.watch("/k/name", 0)
    await backend.create("/k/name", b"1")
    await backend.create("/k/other", b"1")
    await backend.update("/k/name", b"2")
    assert [ev.revision for ev in await take(watch, 2)] == [1, 3]
    watch.close()


async def test_watch_from_a_future_revision_waits_for_it(backend: Backend) -> None:
    await backend.create("/f/a", b"1")
    watch = backend.watch("/f/", 3)
    await backend.update("/f/a", b"2")  # 2: not after 3
    await backend.update("/f/a", b"3")  # 3: not after 3
    await backend.update("/f/a", b"4")  # 4
    assert [ev.revision for ev in await take(watch, 1)] == [4]
    watch.close()


async def test_close_ends_a_waiting_iteration_promptly(backend: Backend) -> None:
    watch = backend.watch("/c/", 0)

    async def drain() -> list[Event]:
        return [ev async for ev in watch]

    task = asyncio.ensure_future(drain())
    await backend.create("/c/a", b"1")
    for _ in range(10):
        await asyncio.sleep(0)
    watch.close()
    async with asyncio.timeout(WAIT):
        events = await task
    assert [ev.kv.key for ev in events] == ["/c/a"]
    await backend.create("/c/b", b"1")
    assert [ev async for ev in watch] == []


async def test_close_drops_queued_events(backend: Backend) -> None:
    watch = backend.watch("/c/", 0)
    await backend.create("/c/a", b"1")
    watch.close()
    assert [ev async for ev in watch] == []


async def test_closing_the_backend_ends_its_watches(make_backend: MakeBackend) -> None:
    backend = await make_backend()
    await backend.create("/x", b"1")
    live = backend.watch("/", 0)
    replaying = backend.watch("/", 0)
    task = asyncio.ensure_future(anext(aiter(live)))
    await asyncio.sleep(0)
    await backend.close()
    async with asyncio.timeout(WAIT):
        with pytest.raises(StopAsyncIteration):
            await task
        assert [ev async for ev in replaying] == []


async def test_many_concurrent_watchers_each_see_exactly_their_events(backend: Backend) -> None:
    prefixes = ["", "/a/", "/a/x/", "/b/", "/c/", "/a/x/1"]
    keys = ["/a/1", "/a/x/1", "/b/1", "/a/x/2", "/b/2", "/c/1", "/d/1"]
    reference = backend.watch("", 0)  # made before any write: sees every event

    async def write(i: int) -> None:
        key = keys[i % len(keys)]
        if await backend.get(key) is None:
            await backend.create(key, b"%d" % i)
        elif i % 5 == 0:
            await backend.delete(key)
        else:
            await backend.update(key, b"%d" % i)

    for i in range(30):
        await write(i)
    watchers = [
        (prefixes[n % len(prefixes)], n % 31, backend.watch(prefixes[n % len(prefixes)], n % 31))
        for n in range(300)
    ]
    for i in range(30, 90):
        await write(i)
        await asyncio.sleep(0)
    full = await take(reference, 90)
    assert [ev.revision for ev in full] == list(range(1, 91))

    async def check(prefix: str, start: int, watch: Watch) -> None:
        after = start or 30  # 0 is "from the revision when the watch was made"
        expected = [ev for ev in full if ev.revision > after and ev.kv.key.startswith(prefix)]
        assert await take(watch, len(expected)) == expected
        await nothing_more(watch)
        watch.close()

    async with asyncio.TaskGroup() as tg:
        for prefix, start, watch in watchers:
            tg.create_task(check(prefix, start, watch))
    reference.close()


async def test_slow_watcher_does_not_block_writers(make_backend: MakeBackend) -> None:
    settings = BroadcastSettings(capacity=64, max_pending=8, catch_up_batch=16)
    backend = await make_backend(settings)
    slow = backend.watch("/s/", 0)
    fast = backend.watch("/s/", 0)
    seen: list[Event] = []

    async def follow() -> None:
        async for ev in fast:
            seen.append(ev)
            if ev.revision == 500:
                return

    follower = asyncio.ensure_future(follow())
    for i in range(500):
        await backend.create(f"/s/{i:04d}", b"x")
        if i % 4 == 0:
            await asyncio.sleep(0)
    async with asyncio.timeout(WAIT):
        await follower
    assert [ev.revision for ev in seen] == list(range(1, 501))
    # The slow watcher fell behind by far more than the buffer holds; it catches
    # up from the backend's log, then follows live writes.
    got = await take(slow, 500)
    assert [ev.revision for ev in got] == list(range(1, 501))
    await backend.create("/s/live", b"x")
    assert [ev.kv.key for ev in await take(slow, 1)] == ["/s/live"]
    slow.close()
    fast.close()


async def test_watch_that_falls_behind_compaction_ends_with_compacted(
    make_backend: MakeBackend,
) -> None:
    backend = await make_backend(BroadcastSettings(capacity=16, max_pending=4, catch_up_batch=8))
    slow = backend.watch("/", 0)
    for i in range(100):
        await backend.create(f"/k{i:03d}", b"x")
    await backend.compact(90)
    with pytest.raises(Compacted):
        await take(slow, 100)
    assert [ev async for ev in slow] == []


# -- compaction ---------------------------------------------------------------------


async def _history(backend: Backend) -> None:
    """Writes 24 revisions touching creates, updates, deletes and re-creates."""
    for i in range(6):
        await backend.create(f"/h/{i}", b"v0")  # 1..6
    for i in range(6):
        await backend.update(f"/h/{i}", b"v1")  # 7..12
    for i in range(0, 6, 2):
        await backend.delete(f"/h/{i}")  # 13..15
    await backend.create("/h/0", b"again")  # 16
    for i in range(1, 6, 2):
        await backend.update(f"/h/{i}", b"v2")  # 17..19
    await backend.delete("/h/0")  # 20
    await backend.create("/h/9", b"v0")  # 21
    await backend.update("/h/9", b"v1")  # 22
    await backend.delete("/h/3")  # 23
    await backend.delete("/h/9")  # 24


async def test_compaction_keeps_what_reads_and_watches_above_it_need(backend: Backend) -> None:
    everything = backend.watch("", 0)
    await _history(backend)
    full = await take(everything, 24)
    everything.close()
    keys = sorted({ev.kv.key for ev in full})
    lists = {rev: await backend.list("/h/", revision=rev) for rev in range(1, 25)}
    gets = {(k, rev): await backend.get(k, revision=rev) for k in keys for rev in range(1, 25)}

    for compact_at in (4, 13, 20, 24):
        await backend.compact(compact_at)
        assert await backend.compacted_revision() == compact_at
        assert await backend.current_revision() == 24
        for rev in range(1, 25):
            if rev < compact_at:
                with pytest.raises(Compacted) as err:
                    await backend.list("/h/", revision=rev)
                assert (err.value.requested, err.value.compacted) == (rev, compact_at)
                with pytest.raises(Compacted):
                    await backend.get(keys[0], revision=rev)
                with pytest.raises(Compacted):
                    backend.watch("/h/", rev)  # raised at once, not on iteration
                continue
            assert await backend.list("/h/", revision=rev) == lists[rev], (compact_at, rev)
            for k in keys:
                assert await backend.get(k, revision=rev) == gets[(k, rev)], (compact_at, k, rev)
            watch = backend.watch("/h/", rev)
            assert await take(watch, 24 - rev) == full[rev:]
            watch.close()
    assert await backend.list("/h/") == lists[24]


async def test_compaction_below_the_compacted_revision_is_a_no_op(backend: Backend) -> None:
    for i in range(5):
        await backend.create(f"/k{i}", b"x")
    await backend.compact(3)
    await backend.compact(2)
    await backend.compact(3)
    assert await backend.compacted_revision() == 3
    with pytest.raises(FutureRevision):
        await backend.compact(6)
    await backend.compact(5)
    assert await backend.compacted_revision() == 5
    assert len((await backend.list("")).kvs) == 5
    assert await backend.create("/next", b"x") == KeyValue("/next", b"x", 6, 6)


async def test_compaction_at_a_trailing_delete_keeps_the_revision(backend: Backend) -> None:
    await backend.create("/a", b"x")
    await backend.delete("/a")
    await backend.compact(2)
    assert await backend.current_revision() == 2
    assert (await backend.list("")).kvs == []
    watch = backend.watch("", 2)
    assert (await backend.create("/a", b"y")).mod_revision == 3
    assert [ev.revision for ev in await take(watch, 1)] == [3]
    watch.close()
