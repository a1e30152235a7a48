"""Informer and reflector logic against a scripted list/watch source and a fake clock.

The fake source answers lists from a script and hands each watch to the test
as a channel the test pushes events, errors or the end into. The reflector's
back-off sleeps on the FakeClock, so the test sees each delay and advances it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubesvc.api.errors import Expired, InternalError
from kubesvc.client.errors import ApiUnavailable
from kubesvc.client.informer import Informer
from kubesvc.client.reflector import InformerSettings
from kubesvc.util.backoff import BackoffPolicy
from kubesvc.util.clock import FakeClock

Obj = dict[str, Any]

END = object()


def cm(name: str, rv: str, ns: str = "default", **data: str) -> Obj:
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv},
        "data": data,
    }


def page(rv: str, *items: Obj, cont: str = "") -> Obj:
    meta: Obj = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    bare = [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items]
    return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta, "items": bare}


class Channel:
    """One watch: the test pushes (type, obj), an exception, or END."""

    def __init__(self, resource_version: str, timeout_seconds: int) -> None:
        self.resource_version = resource_version
        self.timeout_seconds = timeout_seconds
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def push(self, event_type: str, obj: Obj) -> None:
        self.queue.put_nowait((event_type, obj))

    def fail(self, exc: Exception) -> None:
        self.queue.put_nowait(exc)

    def end(self) -> None:
        self.queue.put_nowait(END)

    def __aiter__(self) -> AsyncIterator[tuple[str, Obj]]:
        return self._events()

    async def _events(self) -> AsyncIterator[tuple[str, Obj]]:
        while True:
            item = await self.queue.get()
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, tuple)
            yield item

    async def aclose(self) -> None:
        self.closed = True


class FakeSource:
    def __init__(self, *lists: Obj | Exception) -> None:
        self.lists: list[Obj | Exception] = list(lists)
        self.list_calls: list[tuple[int, str]] = []
        self.channels: asyncio.Queue[Channel] = asyncio.Queue()
        self.watch_count = 0

    async def list(self, *, limit: int, continue_token: str) -> Obj:
        self.list_calls.append((limit, continue_token))
        result = self.lists.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def watch(self, *, resource_version: str, timeout_seconds: int) -> Channel:
        ch = Channel(resource_version, timeout_seconds)
        self.watch_count += 1
        self.channels.put_nowait(ch)
        return ch

    async def next_watch(self) -> Channel:
        return await asyncio.wait_for(self.channels.get(), 5)


class Recorder:
    def __init__(self, informer: Informer) -> None:
        self.calls: list[tuple[str, ...]] = []
        informer.add_handlers(
            on_add=lambda o: self.calls.append(("add", _id(o))),
            on_update=lambda old, new: self.calls.append(("update", _id(old), _id(new))),
            on_delete=lambda o: self.calls.append(("delete", _id(o))),
        )

    def take(self) -> list[tuple[str, ...]]:
        calls, self.calls = self.calls, []
        return calls


def _id(o: Obj) -> str:
    return f"{o['metadata']['name']}@{o['metadata']['resourceVersion']}"


SETTINGS = InformerSettings(
    page_size=2,
    watch_timeout=(300, 300),
    backoff=BackoffPolicy(initial=1.0, cap=4.0),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Running:
    def __init__(self, informer: Informer) -> None:
        self.informer = informer
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(informer.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


@pytest.fixture
async def running(clock: FakeClock) -> AsyncIterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        await r.close()


def start(
    source: FakeSource, clock: FakeClock, started: list[Running]
) -> tuple[Informer, Recorder]:
    informer = Informer(source, settings=SETTINGS, clock=clock, rng=random.Random(1), name="cms")
    rec = Recorder(informer)
    started.append(Running(informer))
    return informer, rec


# -- the sink: list diffs and watch events (no loop) ------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(
            [], [cm("a", "1"), cm("b", "2")], [("add", "a@1"), ("add", "b@2")], id="first-list"
        ),
        pytest.param([cm("a", "1")], [cm("a", "1")], [], id="unchanged-is-silent"),
        pytest.param([cm("a", "1")], [cm("a", "5")], [("update", "a@1", "a@5")], id="changed"),
        pytest.param([cm("a", "1"), cm("b", "2")], [cm("b", "2")], [("delete", "a@1")], id="gone"),
        pytest.param(
            [cm("a", "1"), cm("b", "2")],
            [cm("b", "3"), cm("c", "4")],
            [("update", "b@2", "b@3"), ("add", "c@4"), ("delete", "a@1")],
            id="mixed",
        ),
        pytest.param(
            [cm("a", "1")],
            [cm("a", "1", ns="other")],
            [("add", "a@1"), ("delete", "a@1")],
            id="same-name-other-namespace",
        ),
    ],
)
def test_a_list_is_diffed_against_the_cache(
    before: list[Obj], after: list[Obj], expected: list[tuple[str, ...]]
) -> None:
    informer = Informer(FakeSource())
    informer.replace(before, "1")
    rec = Recorder(informer)
    rec.take()  # the replay of `before` to a late handler
    informer.replace(after, "9")
    assert rec.take() == expected
    assert sorted(informer.cache.keys()) == sorted(
        f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in after
    )


@pytest.mark.parametrize(
    ("events", "expected", "cached"),
    [
        pytest.param([("ADDED", cm("a", "2"))], [("add", "a@2")], ["a@2"], id="add"),
        pytest.param(
            [("ADDED", cm("a", "2")), ("MODIFIED", cm("a", "3"))],
            [("add", "a@2"), ("update", "a@2", "a@3")],
            ["a@3"],
            id="update",
        ),
        pytest.param(
            [("ADDED", cm("a", "2")), ("DELETED", cm("a", "4"))],
            [("add", "a@2"), ("delete", "a@4")],
            [],
            id="delete-passes-the-final-state",
        ),
        pytest.param(
            [("MODIFIED", cm("a", "2"))], [("add", "a@2")], ["a@2"], id="unknown-modified-adds"
        ),
        pytest.param(
            [("ADDED", cm("a", "2")), ("ADDED", cm("a", "3"))],
            [("add", "a@2"), ("update", "a@2", "a@3")],
            ["a@3"],
            id="known-added-updates",
        ),
    ],
)
def test_watch_events_update_the_cache_then_handlers(
    events: list[tuple[str, Obj]], expected: list[tuple[str, ...]], cached: list[str]
) -> None:
    informer = Informer(FakeSource())
    informer.replace([], "1")
    rec = Recorder(informer)
    for event_type, obj in events:
        informer.apply(event_type, obj)
    assert rec.take() == expected
    assert [_id(o) for o in informer.list()] == cached


def test_handlers_see_the_cache_already_changed() -> None:
    informer = Informer(FakeSource())
    informer.replace([], "1")
    seen: list[Obj | None] = []
    informer.add_handlers(on_add=lambda o: seen.append(informer.get("default", "a")))
    informer.apply("ADDED", cm("a", "2"))
    assert seen and seen[0] is not None


def test_a_failing_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    informer = Informer(FakeSource())

    def boom(o: Obj) -> None:
        raise RuntimeError("handler bug")

    informer.add_handlers(on_add=boom)
    rec = Recorder(informer)
    informer.replace([cm("a", "1")], "1")
    assert rec.take() == [("add", "a@1")]
    assert "informer handler failed" in caplog.text


def test_a_handler_added_after_sync_is_told_of_every_object() -> None:
    informer = Informer(FakeSource())
    informer.replace([cm("a", "1"), cm("b", "2")], "2")
    rec = Recorder(informer)
    assert sorted(rec.take()) == [("add", "a@1"), ("add", "b@2")]
    informer.remove_handlers(informer._handlers[-1])
    informer.apply("ADDED", cm("c", "3"))
    assert rec.take() == []


def test_list_by_namespace_uses_the_namespace_index() -> None:
    informer = Informer(FakeSource())
    informer.replace([cm("a", "1", ns="x"), cm("b", "1", ns="y")], "1")
    assert [_id(o) for o in informer.list("x")] == ["a@1"]
    assert len(informer.list()) == 2


# -- the reflector loop -----------------------------------------------------------


async def test_syncs_from_a_paged_list_then_watches_from_its_version(
    clock: FakeClock, running: list[Running]
) -> None:
    source = FakeSource(
        page("10", cm("a", "3"), cm("b", "4"), cont="t1"),
        page("11", cm("c", "5")),  # later pages keep the first page's snapshot version
    )
    informer, rec = start(source, clock, running)
    await asyncio.wait_for(informer.wait_for_sync(), 5)
    assert informer.has_synced()
    assert source.list_calls == [(2, ""), (2, "t1")]
    assert rec.take() == [("add", "a@3"), ("add", "b@4"), ("add", "c@5")]
    assert informer.get("default", "a") == cm("a", "3"), "list items get kind and apiVersion"
    ch = await source.next_watch()
    assert (ch.resource_version, ch.timeout_seconds) == ("10", 300)


async def test_watch_events_and_bookmarks_move_the_resume_version(
    clock: FakeClock, running: list[Running]
) -> None:
    source = FakeSource(page("10"))
    _informer, rec = start(source, clock, running)
    ch = await source.next_watch()
    ch.push("ADDED", cm("a", "11"))
    ch.push("BOOKMARK", {"kind": "ConfigMap", "metadata": {"resourceVersion": "15"}})
    ch.end()  # the server's timeout: watch again at once, from the bookmark
    again = await source.next_watch()
    assert again.resource_version == "15"
    assert ch.closed
    assert rec.take() == [("add", "a@11")]
    assert len(source.list_calls) == 1, "a normal end does not relist"


async def test_expired_relists_after_backoff_and_catches_up(
    clock: FakeClock, running: list[Running]
) -> None:
    source = FakeSource(
        page("10", cm("a", "3"), cm("b", "4")), page("20", cm("b", "18"), cm("c", "19"))
    )
    _informer, rec = start(source, clock, running)
    ch = await source.next_watch()
    rec.take()
    ch.fail(Expired("too old resource version: 10 (15)"))
    await clock.wait_for_timers(1)
    assert clock.next_deadline() == 1.0
    assert len(source.list_calls) == 1
    clock.advance(1)
    ch2 = await source.next_watch()
    assert ch2.resource_version == "20"
    assert rec.take() == [("update", "b@4", "b@18"), ("add", "c@19"), ("delete", "a@3")]


async def test_a_broken_connection_resumes_the_watch_without_relisting(
    clock: FakeClock, running: list[Running]
) -> None:
    source = FakeSource(page("10"))
    _informer, _ = start(source, clock, running)
    ch = await source.next_watch()
    ch.push("ADDED", cm("a", "12"))
    ch.fail(ApiUnavailable("connection reset"))
    await clock.wait_for_timers(1)
    clock.advance(1)
    ch2 = await source.next_watch()
    assert ch2.resource_version == "12"
    assert len(source.list_calls) == 1


async def test_failing_lists_back_off_exponentially_until_one_succeeds(
    clock: FakeClock, running: list[Running]
) -> None:
    source = FakeSource(
        ApiUnavailable("refused"),
        InternalError("etcd down"),
        ApiUnavailable("refused"),
        ApiUnavailable("refused"),
        page("7", cm("a", "7")),
    )
    informer, _ = start(source, clock, running)
    delays = []
    for _ in range(4):
        await clock.wait_for_timers(1)
        deadline = clock.next_deadline()
        assert deadline is not None
        delays.append(deadline - clock.monotonic())
        clock.advance(deadline - clock.monotonic())
    await asyncio.wait_for(informer.wait_for_sync(), 5)
    assert delays == [1, 2, 4, 4]
    assert len(source.list_calls) == 5


async def test_a_watch_that_ends_at_once_backs_off_and_a_healthy_one_resets(
    clock: FakeClock, running: list[Running]
) -> None:
    source = FakeSource(page("10"))
    start(source, clock, running)
    for expected in [1.0, 2.0]:
        ch = await source.next_watch()
        ch.end()  # nothing delivered, no time passed: unhealthy
        await clock.wait_for_timers(1)
        assert clock.next_deadline() == clock.monotonic() + expected
        clock.advance(expected)
    ch = await source.next_watch()
    ch.push("ADDED", cm("a", "11"))
    ch.end()  # healthy: rewatch at once
    ch = await source.next_watch()
    ch.end()
    await clock.wait_for_timers(1)
    assert clock.next_deadline() == clock.monotonic() + 1.0, "back-off was reset"


async def test_an_unexpected_error_relists(clock: FakeClock, running: list[Running]) -> None:
    source = FakeSource(page("10"), page("11"))
    start(source, clock, running)
    ch = await source.next_watch()
    ch.push("ADDED", {"metadata": {"resourceVersion": "12"}})  # no name: the cache refuses it
    await clock.wait_for_timers(1)
    clock.advance(1)
    ch2 = await source.next_watch()
    assert ch2.resource_version == "11"
    assert len(source.list_calls) == 2


async def test_stop_ends_a_blocked_watch_promptly(clock: FakeClock) -> None:
    source = FakeSource(page("10"))
    informer = Informer(source, settings=SETTINGS, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(informer.run(stop))
    ch = await source.next_watch()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert ch.closed
