"""Informers against a real in-process API server: sync, changes, a forced 410, sharing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest
from tests.integration.conftest import Api

from kubesvc.client.factory import InformerFactory
from kubesvc.client.informer import Informer
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.reflector import EventStream, InformerSettings, ResourceListWatch
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.util.backoff import BackoffPolicy

CM = resolve(("v1", "ConfigMap"))
NS = resolve(("v1", "Namespace"))

FAST = InformerSettings(backoff=BackoffPolicy(initial=0.01, cap=0.05))

Obj = dict[str, Any]


def configmap(name: str, ns: str = "default", **labels: str) -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {}}


@pytest.fixture
async def client(api: Api) -> AsyncIterator[ApiClient]:
    async with ApiClient(ClientConfig(api.base), field_manager="informer-test") as c:
        yield c


class Events:
    """Handler calls as (what, name, resourceVersion), with a way to wait for them."""

    def __init__(self, informer: Informer) -> None:
        self.seen: list[tuple[str, str]] = []
        self._changed = asyncio.Event()
        informer.add_handlers(
            on_add=lambda o: self._note("add", o),
            on_update=lambda old, new: self._note("update", new),
            on_delete=lambda o: self._note("delete", o),
        )

    def _note(self, what: str, obj: Obj) -> None:
        self.seen.append((what, obj["metadata"]["name"]))
        self._changed.set()

    async def until(self, check: Callable[[list[tuple[str, str]]], bool]) -> None:
        async def wait() -> None:
            while not check(self.seen):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), 10)


class Running:
    def __init__(self, informer: Informer) -> None:
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(informer.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


async def test_an_informer_syncs_then_follows_adds_updates_and_deletes(client: ApiClient) -> None:
    await client.create(CM, configmap("before"))
    informer = Informer(ResourceListWatch(client, CM, "default"), settings=FAST, name="cms")
    events = Events(informer)
    running = Running(informer)
    try:
        await asyncio.wait_for(informer.wait_for_sync(), 10)
        assert ("add", "before") in events.seen
        cached = informer.get("default", "before")
        assert cached is not None and cached["kind"] == "ConfigMap"

        await client.create(CM, configmap("new"))
        await client.patch(CM, "default", "new", {"data": {"k": "v"}})
        await client.delete(CM, "default", "before")
        await events.until(lambda s: ("delete", "before") in s and ("update", "new") in s)
        assert events.seen[-3:] == [("add", "new"), ("update", "new"), ("delete", "before")]
        new = informer.get("default", "new")
        assert new is not None and new["data"] == {"k": "v"}
        assert informer.get("default", "before") is None
        assert informer.reflector.lists == 1
    finally:
        await running.close()


class GatedListWatch:
    """The real list/watch, except that the test can cut the current watch and hold
    the next one back until it says go."""

    def __init__(self, inner: ResourceListWatch) -> None:
        self.inner = inner
        self.cut = asyncio.Event()
        self.go = asyncio.Event()
        self.go.set()
        self.watch_started = asyncio.Event()
        self.watch_versions: list[str] = []
        self.watch_requested = asyncio.Event()

    async def list(self, *, limit: int, continue_token: str) -> Obj:
        return await self.inner.list(limit=limit, continue_token=continue_token)

    def watch(self, *, resource_version: str, timeout_seconds: int) -> EventStream:
        self.watch_versions.append(resource_version)
        self.watch_requested.set()
        return self._gated(resource_version, timeout_seconds)

    async def _gated(self, rv: str, seconds: int) -> AsyncGenerator[tuple[str, Obj], None]:
        await self.go.wait()
        self.watch_started.set()
        stream = self.inner.watch(resource_version=rv, timeout_seconds=seconds)
        try:
            it = stream.__aiter__()
            while True:
                nxt = asyncio.ensure_future(anext(it))
                cut = asyncio.ensure_future(self.cut.wait())
                done, _ = await asyncio.wait({nxt, cut}, return_when=asyncio.FIRST_COMPLETED)
                if cut in done:
                    nxt.cancel()
                    self.cut.clear()
                    return
                cut.cancel()
                try:
                    yield nxt.result()
                except StopAsyncIteration:
                    return
        finally:
            await stream.aclose()


async def test_an_informer_survives_a_compacted_version_by_relisting(
    api: Api, client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kubesvc.client.reflector")
    for name in ("keep", "change", "remove"):
        await client.create(CM, configmap(name))
    source = GatedListWatch(ResourceListWatch(client, CM, "default"))
    informer = Informer(source, settings=FAST, name="cms")
    events = Events(informer)
    running = Running(informer)
    try:
        await asyncio.wait_for(informer.wait_for_sync(), 10)
        await asyncio.wait_for(source.watch_started.wait(), 10)
        listed_at = informer.reflector.resource_version

        # Cut the watch and hold the next one while changes happen and history is compacted.
        source.go.clear()
        source.watch_requested.clear()
        source.cut.set()
        await asyncio.wait_for(source.watch_requested.wait(), 10)
        assert source.watch_versions[1] == listed_at, "resumes from the last version seen"
        await client.patch(CM, "default", "change", {"data": {"v": "2"}})
        await client.delete(CM, "default", "remove")
        await client.create(CM, configmap("added"))
        backend = api.server.backend
        await backend.compact(await backend.current_revision())
        events.seen.clear()
        source.go.set()

        await events.until(lambda s: len(s) == 3)
        assert sorted(events.seen) == [("add", "added"), ("delete", "remove"), ("update", "change")]
        assert informer.reflector.lists == 2, "the 410 made it list again"
        assert "watch expired, relisting" in caplog.text
        assert sorted(o["metadata"]["name"] for o in informer.list()) == ["added", "change", "keep"]

        # ... and it keeps watching afterwards.
        await client.create(CM, configmap("later"))
        await events.until(lambda s: ("add", "later") in s)
    finally:
        await running.close()


async def test_selectors_limit_what_an_informer_sees(client: ApiClient) -> None:
    await client.create(NS, {"metadata": {"name": "team"}})
    informer = Informer(
        ResourceListWatch(client, CM, label_selector="app=web"), settings=FAST, name="web-cms"
    )
    events = Events(informer)
    running = Running(informer)
    try:
        await asyncio.wait_for(informer.wait_for_sync(), 10)
        await client.create(CM, configmap("a", app="web"))
        await client.create(CM, configmap("b", app="db"))
        await client.create(CM, configmap("c", "team", app="web"))
        await events.until(lambda s: len(s) == 2)
        await client.patch(CM, "default", "a", {"metadata": {"labels": {"app": "db"}}})
        await events.until(lambda s: len(s) == 3)
        assert events.seen == [("add", "a"), ("add", "c"), ("delete", "a")]
        assert [o["metadata"]["name"] for o in informer.list("team")] == ["c"]
    finally:
        await running.close()


async def test_the_factory_shares_one_informer_per_resource_and_selector(
    client: ApiClient,
) -> None:
    factory = InformerFactory(client, settings=FAST)
    cms = factory.informer(CM)
    assert factory.informer(CM) is cms
    assert factory.informer(CM, label_selector="app=web") is not cms
    assert factory.informer(NS, namespace="ignored-for-cluster-scoped") is factory.informer(NS)
    stop = asyncio.Event()
    task = asyncio.create_task(factory.run(stop))
    try:
        await asyncio.wait_for(factory.wait_for_sync(), 10)
        assert factory.has_synced()
        late = factory.informer(CM, namespace="kube-system")  # started as it is created
        await asyncio.wait_for(late.wait_for_sync(), 10)
        namespaces = {o["metadata"]["name"] for o in factory.informer(NS).list()}
        assert {"default", "kube-system"} <= namespaces
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
