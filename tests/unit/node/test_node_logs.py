"""Container logs: the timestamp index, reading with kubelet's options, following, the endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from kubesvc.node.logs.index import LogIndexer, parse_entries, unix_ns
from kubesvc.node.logs.read import LogOptions, follow, format_timestamp, read
from kubesvc.node.server import (
    INVALID,
    UNDECODABLE,
    KubeletServer,
    LogError,
    LogLocation,
    parse_query,
    waiting_to_start,
)
from kubesvc.util.clock import FakeClock

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
NS = 1_000_000_000


def at(seconds: float) -> int:
    return unix_ns(T0) + int(seconds * NS)


def stamp(seconds: float) -> bytes:
    return format_timestamp(at(seconds)) + b" "


# -- index --------------------------------------------------------------------------------
def test_index_records_growth_only(tmp_path: Path) -> None:
    clock = FakeClock(start=T0)
    log, idx = tmp_path / "0.log", tmp_path / "0.idx"
    log.write_bytes(b"one\n")
    indexer = LogIndexer(clock)
    indexer.track(log, idx)
    indexer.tick()
    clock.advance(0.2)
    indexer.tick()  # no growth: no entry
    with log.open("ab") as f:
        f.write(b"two\n")
    clock.advance(0.2)
    indexer.tick()
    assert parse_entries(idx.read_bytes()) == [(4, at(0)), (8, at(0.4))]


def test_index_resumes_and_untrack_takes_a_last_look(tmp_path: Path) -> None:
    clock = FakeClock(start=T0)
    log, idx = tmp_path / "0.log", tmp_path / "0.idx"
    log.write_bytes(b"one\n")
    idx.write_bytes(b"4 100\n")
    indexer = LogIndexer(clock)
    indexer.track(log, idx)
    indexer.tick()  # resumed at 4: nothing new
    log.write_bytes(b"one\ntwo")
    clock.advance(1)
    indexer.untrack(log)
    assert indexer.tracked == []
    assert parse_entries(idx.read_bytes()) == [(4, 100), (7, at(1))]


async def test_index_run_ticks_every_interval(tmp_path: Path) -> None:
    clock = FakeClock(start=T0)
    log, idx = tmp_path / "0.log", tmp_path / "0.idx"
    log.write_bytes(b"")
    indexer = LogIndexer(clock, interval=0.5)
    indexer.track(log, idx)
    stop = asyncio.Event()
    task = asyncio.ensure_future(indexer.run(stop))
    for text in (b"a\n", b"a\nb\n"):
        await clock.wait_for_timers()
        log.write_bytes(text)
        clock.advance(0.5)
    await clock.wait_for_timers()  # the second look happened: the loop sleeps again
    stop.set()
    await asyncio.wait_for(task, 5)
    assert parse_entries(idx.read_bytes()) == [(2, at(0.5)), (4, at(1.0))]


def test_parse_entries_skips_partial_and_bad_lines() -> None:
    assert parse_entries(b"4 10\nbad\n2 11\n9 12\n12 1") == [(4, 10), (9, 12)]


def test_format_timestamp() -> None:
    assert format_timestamp(at(0.123456789)) == b"2026-11-25T10:00:00.123456789Z"


# -- read ---------------------------------------------------------------------------------
LOG = b"alpha\nbravo\ncharlie\ndelta"
# alpha and bravo had arrived by T0+1s, charlie by T0+5s; "delta" (no newline) is not indexed.
INDEX = f"12 {at(1)}\n20 {at(5)}\n".encode()
NOW = T0 + timedelta(seconds=10)


@pytest.mark.parametrize(
    ("opts", "running", "want"),
    [
        pytest.param(LogOptions(), False, LOG, id="all-stopped"),
        pytest.param(LogOptions(), True, b"alpha\nbravo\ncharlie\n", id="all-running"),
        pytest.param(LogOptions(tail_lines=2), False, b"charlie\ndelta", id="tail-stopped"),
        pytest.param(LogOptions(tail_lines=2), True, b"bravo\ncharlie\n", id="tail-running"),
        pytest.param(LogOptions(tail_lines=0), False, b"", id="tail-zero"),
        pytest.param(LogOptions(tail_lines=10), False, LOG, id="tail-more-than-all"),
        pytest.param(
            LogOptions(timestamps=True),
            False,
            stamp(1)
            + b"alpha\n"
            + stamp(1)
            + b"bravo\n"
            + stamp(5)
            + b"charlie\n"
            + stamp(10)
            + b"delta",
            id="timestamps-unindexed-get-now",
        ),
        pytest.param(LogOptions(since_seconds=6), False, b"charlie\ndelta", id="since-seconds"),
        pytest.param(
            LogOptions(since_time=T0 + timedelta(seconds=5)),
            False,
            b"charlie\ndelta",
            id="since-time-inclusive",
        ),
        pytest.param(
            LogOptions(since_time=T0 + timedelta(seconds=6)), True, b"", id="since-nothing-yet"
        ),
        pytest.param(
            LogOptions(since_seconds=9, tail_lines=1), False, b"delta", id="since-and-tail"
        ),
        pytest.param(LogOptions(limit_bytes=8), False, b"alpha\nbr", id="limit-mid-line"),
        pytest.param(
            LogOptions(limit_bytes=40, timestamps=True, tail_lines=1),
            True,
            stamp(5) + b"charlie\n",
            id="limit-counts-prefix",
        ),
    ],
)
def test_read(tmp_path: Path, opts: LogOptions, running: bool, want: bytes) -> None:
    log, idx = tmp_path / "0.log", tmp_path / "0.idx"
    log.write_bytes(LOG)
    idx.write_bytes(INDEX)
    assert read(log, idx, opts, NOW, running=running) == want


def test_read_long_lines_and_missing_files(tmp_path: Path) -> None:
    log, idx = tmp_path / "0.log", tmp_path / "0.idx"
    big = b"x" * 200_000 + b"\n"
    log.write_bytes(b"a\n" + big + b"b\n")
    assert read(log, idx, LogOptions(tail_lines=2), NOW) == big + b"b\n"
    assert read(tmp_path / "none.log", idx, LogOptions(), NOW) == b""


# -- follow -------------------------------------------------------------------------------
@dataclass
class Follower:
    clock: FakeClock
    log: Path
    idx: Path
    running: bool = True
    got: list[bytes] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self, opts: LogOptions) -> None:
        async def consume() -> None:
            async for chunk in follow(
                self.log, self.idx, opts, lambda: self.running, 0.1, clock=self.clock
            ):
                self.got.append(chunk)

        self.task = asyncio.ensure_future(consume())

    async def step(self) -> None:
        await self.clock.wait_for_timers()
        self.clock.advance(0.1)
        for _ in range(5):
            await asyncio.sleep(0)

    def append(self, data: bytes) -> None:
        with self.log.open("ab") as f:
            f.write(data)


@pytest.fixture
async def follower(tmp_path: Path) -> AsyncIterator[Follower]:
    f = Follower(FakeClock(start=T0), tmp_path / "0.log", tmp_path / "0.idx")
    f.log.write_bytes(b"one\ntwo\n")
    yield f
    if f.task is not None and not f.task.done():
        f.task.cancel()


async def test_follow_streams_complete_lines_then_drains(follower: Follower) -> None:
    follower.start(LogOptions(follow=True, tail_lines=1))
    await follower.step()
    assert follower.got == [b"two\n"]
    follower.append(b"three\nfo")
    await follower.step()
    assert follower.got[1:] == [b"three\n"]
    follower.append(b"ur")
    follower.running = False
    await follower.step()
    assert follower.task is not None
    await asyncio.wait_for(follower.task, 5)
    assert b"".join(follower.got) == b"two\nthree\nfour"


async def test_follow_stamps_new_lines_with_the_time_seen(follower: Follower) -> None:
    follower.start(LogOptions(follow=True, tail_lines=0, timestamps=True))
    await follower.step()
    follower.append(b"late\n")
    await follower.step()
    assert follower.got == [stamp(0.2) + b"late\n"]


async def test_follow_stops_at_the_byte_limit(follower: Follower) -> None:
    follower.start(LogOptions(follow=True, limit_bytes=10))
    await follower.step()
    follower.append(b"three\n")
    await follower.step()
    assert follower.task is not None
    await asyncio.wait_for(follower.task, 5)
    assert b"".join(follower.got) == b"one\ntwo\nth"


async def test_without_follow_only_the_backlog(follower: Follower) -> None:
    follower.start(LogOptions())
    assert follower.task is not None
    await asyncio.wait_for(follower.task, 5)
    assert follower.got == [b"one\ntwo\n"]


# -- the endpoint ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "want"),
    [
        pytest.param({}, (LogOptions(), False), id="none"),
        pytest.param(
            {
                "follow": "true",
                "previous": "1",
                "timestamps": "True",
                "tailLines": "5",
                "limitBytes": "100",
                "sinceTime": "2026-11-25T10:00:00Z",
            },
            (
                LogOptions(
                    follow=True, tail_lines=5, timestamps=True, limit_bytes=100, since_time=T0
                ),
                True,
            ),
            id="all",
        ),
        pytest.param({"follow": "false", "tail": "all"}, (LogOptions(), False), id="tail-all"),
        pytest.param({"tail": "3"}, (LogOptions(tail_lines=3), False), id="old-tail"),
        pytest.param({"sinceSeconds": "60"}, (LogOptions(since_seconds=60), False), id="since"),
        pytest.param({"tailLines": "x"}, LogError(400, UNDECODABLE), id="undecodable"),
        pytest.param({"sinceTime": "yesterday"}, LogError(400, UNDECODABLE), id="bad-time"),
        pytest.param({"tailLines": "-1"}, LogError(422, INVALID), id="negative-tail"),
        pytest.param({"limitBytes": "0"}, LogError(422, INVALID), id="zero-limit"),
        pytest.param(
            {"sinceSeconds": "5", "sinceTime": "2026-11-25T10:00:00Z"},
            LogError(422, INVALID),
            id="two-sinces",
        ),
    ],
)
def test_parse_query(query: dict[str, str], want: object) -> None:
    assert parse_query(query) == want


@dataclass
class FakeSource:
    files: dict[tuple[str, str, str, bool], LogLocation] = field(default_factory=dict)

    def locate(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> LogLocation | LogError:
        found = self.files.get((namespace, pod, container, previous))
        if found is not None:
            return found
        if container == "waiting":
            return waiting_to_start(container, pod, "ContainerCreating")
        return LogError(404, f'pod "{pod}" does not exist')


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[tuple[str, FakeSource, Path]]:
    source = FakeSource()
    server = KubeletServer(source, "127.0.0.1", 0, poll=0.01)
    await server.start()
    yield f"http://{server.endpoint}", source, tmp_path
    await server.stop()


async def test_endpoint_serves_logs_and_errors(endpoint: tuple[str, FakeSource, Path]) -> None:
    base, source, tmp = endpoint
    log = tmp / "0.log"
    log.write_bytes(b"a\nb\nc\n")
    source.files[("ns", "p", "c", False)] = LogLocation(log, tmp / "0.idx", lambda: False)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/healthz") as r:
            assert (r.status, await r.text()) == (200, "ok")
        async with s.get(f"{base}/containerLogs/ns/p/c", params={"tailLines": "2"}) as r:
            assert (r.status, r.headers["Content-Type"], await r.read()) == (
                200,
                "text/plain",
                b"b\nc\n",
            )
        async with s.get(f"{base}/containerLogs/ns/p/waiting") as r:
            assert (r.status, await r.text()) == (
                400,
                'container "waiting" in pod "p" is waiting to start: ContainerCreating',
            )
        async with s.get(f"{base}/containerLogs/ns/gone/c") as r:
            assert (r.status, await r.text()) == (404, 'pod "gone" does not exist')
        async with s.get(f"{base}/containerLogs/ns/p/c", params={"limitBytes": "0"}) as r:
            assert (r.status, await r.text()) == (422, INVALID)


async def test_endpoint_follow_streams_until_exit(endpoint: tuple[str, FakeSource, Path]) -> None:
    base, source, tmp = endpoint
    log = tmp / "0.log"
    log.write_bytes(b"first\n")
    alive = asyncio.Event()
    alive.set()
    source.files[("ns", "p", "c", False)] = LogLocation(log, tmp / "0.idx", alive.is_set)
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{base}/containerLogs/ns/p/c", params={"follow": "true"}) as r,
    ):
        assert await asyncio.wait_for(r.content.readline(), 5) == b"first\n"
        with log.open("ab") as f:
            f.write(b"second\nlast")
        assert await asyncio.wait_for(r.content.readline(), 5) == b"second\n"
        alive.clear()
        assert await asyncio.wait_for(r.content.read(), 5) == b"last"


async def test_stop_ends_open_streams(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(b"x\n")
    source = FakeSource({("ns", "p", "c", False): LogLocation(log, tmp_path / "i", lambda: True)})
    server = KubeletServer(source, "127.0.0.1", 0, poll=0.01)
    await server.start()
    async with aiohttp.ClientSession() as s:
        url = f"http://{server.endpoint}/containerLogs/ns/p/c?follow=true"
        async with s.get(url) as r:
            assert await asyncio.wait_for(r.content.readline(), 5) == b"x\n"
            await asyncio.wait_for(server.stop(), 5)
            with pytest.raises(aiohttp.ClientPayloadError):
                await asyncio.wait_for(r.content.read(), 5)
