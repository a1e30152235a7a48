"""A toy QueueController end to end: shared informers, handlers that enqueue, sync through
the API, retries after a failure, an Event about the outcome."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.integration.conftest import Api

from kubesvc.api import errors
from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.events import EventRecorder
from kubesvc.client.factory import InformerFactory
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.reflector import InformerSettings
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.util.backoff import BackoffPolicy

CM = resolve(("v1", "ConfigMap"))
EV = resolve(("v1", "Event"))


class MirrorController(QueueController):
    """Keeps ``<name>-copy`` equal to every ConfigMap labelled ``mirror=yes``."""

    name = "mirror"

    def __init__(self, api: ApiClient, factory: InformerFactory) -> None:
        self.sources = factory.informer(CM, label_selector="mirror=yes")
        self.copies = factory.informer(CM, label_selector="mirror=copy")
        super().__init__(informers=[self.sources, self.copies], workers=2, backoff_base=0.01)
        self.api = api
        self.recorder = EventRecorder(api, "mirror-controller")
        self.fail_next = 0
        self.sources.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.copies.add_handlers(on_delete=self._copy_deleted)

    def _copy_deleted(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.enqueue_key(f"{meta['namespace']}/{meta['name'].removesuffix('-copy')}")

    async def sync(self, key: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected failure")
        ns, name = split_key(key)
        source = self.sources.get(ns, name)
        copy_name = f"{name}-copy"
        if source is None:
            try:
                await self.api.delete(CM, ns, copy_name)
            except errors.NotFound:
                pass
            return
        wanted = {
            "metadata": {"name": copy_name, "namespace": ns, "labels": {"mirror": "copy"}},
            "data": copy.deepcopy(source.get("data") or {}),
        }
        await self.api.apply(CM, {"apiVersion": "v1", "kind": "ConfigMap", **wanted}, force=True)
        await self.recorder.normal(source, "Mirrored", f"copied to {copy_name}")


@pytest.fixture
async def client(api: Api) -> AsyncIterator[ApiClient]:
    async with ApiClient(ClientConfig(api.base), field_manager="mirror-controller") as c:
        yield c


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll the API (the controller's writes are only visible there) for up to 10 s."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in 10 s")


async def data_of(client: ApiClient, name: str) -> dict[str, str] | None:
    try:
        return dict((await client.get(CM, "default", name)).get("data") or {})
    except errors.NotFound:
        return None


async def test_a_controller_reconciles_through_the_api(client: ApiClient) -> None:
    await client.create(
        CM, {"metadata": {"name": "a", "labels": {"mirror": "yes"}}, "data": {"k": "1"}}
    )
    settings = InformerSettings(backoff=BackoffPolicy(initial=0.01, cap=0.05))
    factory = InformerFactory(client, settings=settings)
    controller = MirrorController(client, factory)
    stop = asyncio.Event()
    controller.fail_next = 1  # the first sync fails and is retried
    async with asyncio.TaskGroup() as tg:
        tg.create_task(factory.run(stop))
        tg.create_task(controller.run(stop))
        try:
            await asyncio.wait_for(controller.ready.wait(), 10)

            async def copied(value: dict[str, str] | None) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return await data_of(client, "a-copy") == value

                return check

            await eventually(await copied({"k": "1"}))
            await client.patch(CM, "default", "a", {"data": {"k": "2"}})
            await eventually(await copied({"k": "2"}))
            await client.delete(CM, "default", "a-copy")  # someone removes the copy ...
            await eventually(await copied({"k": "2"}))  # ... and it comes back
            await client.delete(CM, "default", "a")
            await eventually(await copied(None))

            listed = await client.list(EV, "default", field_selector="involvedObject.name=a")
            assert [(e["reason"], e["source"]["component"]) for e in listed["items"]][:1] == [
                ("Mirrored", "mirror-controller")
            ]
        finally:
            stop.set()
    assert controller.fail_next == 0
