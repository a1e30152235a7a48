"""Property: memory and sqlite give identical answers to any sequence of operations."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kubesvc.storage.broadcaster import BroadcastSettings
from kubesvc.storage.interface import Backend, Compacted, Conflict, Event, StorageError, Watch
from kubesvc.storage.memory import MemoryBackend
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings

KEYS = ["/a", "/a/1", "/a/2", "/a/10", "/b/1", "/b/x/1"]
PREFIXES = ["", "/a", "/a/", "/a/1", "/b/", "/c/"]
REVS = st.integers(min_value=0, max_value=25)

Op = tuple[object, ...]

# A tiny buffer and queue, so that replays and slow watches go through each
# backend's own log (catch-up), not only the shared ring buffer.
WATCH = BroadcastSettings(capacity=4, max_pending=2, catch_up_batch=3)

KEY = st.sampled_from(KEYS)
EXPECTED = st.one_of(st.just(0), REVS)  # mostly plain writes, sometimes compare-and-swap
WRITES = st.one_of(
    st.tuples(st.just("create"), KEY, st.binary(max_size=3)),
    st.tuples(st.just("update"), KEY, st.binary(max_size=3), EXPECTED),
    st.tuples(st.just("delete"), KEY, EXPECTED),
)
READS = st.one_of(
    st.tuples(st.just("get"), KEY, REVS),
    st.tuples(
        st.just("list"),
        st.sampled_from(PREFIXES),
        REVS,
        st.integers(min_value=0, max_value=3),
        st.sampled_from(["", *KEYS]),
    ),
    st.tuples(st.just("count"), st.sampled_from(PREFIXES)),
)
COMPACTIONS = st.one_of(
    st.tuples(st.just("compact"), REVS),
    st.tuples(st.just("compact-back"), st.integers(min_value=0, max_value=4)),
)
OPS = st.one_of(WRITES, WRITES, WRITES, READS, COMPACTIONS)


async def apply(backend: Backend, op: Op) -> object:
    """The outcome of one operation: its result, or its error with the fields that matter."""
    try:
        match op:
            case ("create", str(key), bytes(value)):
                return await backend.create(key, value)
            case ("update", str(key), bytes(value), int(expected)):
                return await backend.update(key, value, expected)
            case ("delete", str(key), int(expected)):
                return await backend.delete(key, expected)
            case ("get", str(key), int(rev)):
                return await backend.get(key, rev)
            case ("list", str(prefix), int(rev), int(limit), str(start_after)):
                return await backend.list(prefix, rev, limit, start_after)
            case ("count", str(prefix)):
                return await backend.count(prefix)
            case ("compact", int(rev)):
                await backend.compact(rev)
                return await backend.compacted_revision()
            case ("compact-back", int(back)):  # usually valid, unlike a random revision
                await backend.compact(max(await backend.current_revision() - back, 0))
                return await backend.compacted_revision()
        raise AssertionError(f"unknown operation {op}")
    except Conflict as exc:
        return ("Conflict", exc.current)
    except Compacted as exc:
        return ("Compacted", exc.requested, exc.compacted)
    except StorageError as exc:
        return (type(exc).__name__,)


async def take(watch: Watch, n: int, *, close: bool = True) -> list[Event]:
    events: list[Event] = []
    if n:
        async with asyncio.timeout(5):
            async for ev in watch:
                events.append(ev)
                if len(events) == n:
                    break
    if close:
        watch.close()
    return events


async def replay(backend: Backend, prefix: str, after: int, full: list[Event]) -> object:
    """What a watch from ``after`` replays (as many events as ``full`` says it should)."""
    try:
        watch = backend.watch(prefix, after)
    except StorageError as exc:
        return type(exc).__name__
    start = after or len(full)
    n = sum(1 for ev in full if ev.revision > start and ev.kv.key.startswith(prefix))
    return await take(watch, n)


async def outcomes(backend: Backend, ops: list[Op]) -> list[object]:
    await backend.start()
    try:
        everything = backend.watch("", 0)  # before any write: sees every event
        full: list[Event] = []
        results: list[object] = []
        for op in ops:
            results.append(await apply(backend, op))
            # Follow live, so that compaction never overtakes this watch.
            full += await take(
                everything, await backend.current_revision() - len(full), close=False
            )
        current = await backend.current_revision()
        everything.close()
        results += [current, await backend.compacted_revision(), full]
        for rev in range(current + 1):
            results.append(await apply(backend, ("list", "", rev, 0, "")))
        for prefix in PREFIXES:
            for after in range(current + 1):
                results.append(await replay(backend, prefix, after, full))
        return results
    finally:
        await backend.close()


@settings(max_examples=150, deadline=None)
@given(st.lists(OPS, min_size=5, max_size=40))
def test_memory_and_sqlite_agree(ops: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteBackend(
            Path(tmp) / "state.db", SqliteSettings(compact_interval=0, compact_batch=2, watch=WATCH)
        )
        expected = asyncio.run(outcomes(MemoryBackend(WATCH), ops))
        actual = asyncio.run(outcomes(sqlite, ops))
    assert actual == expected
