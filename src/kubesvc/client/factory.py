"""One informer per resource and selector, shared by the components of a process.

Two controllers that both need Services get the same ``Informer``: one list,
one watch, one cache. ``informer(...)`` creates or returns it; ``start()``
runs every informer created so far (and later ones as they are created) as
tasks the factory owns; ``shutdown()`` stops and awaits them. ``run(stop)``
does all three for callers that prefer one call.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from kubesvc.api.resources import Resource
from kubesvc.client.informer import Informer
from kubesvc.client.reflector import InformerSettings, ResourceListWatch
from kubesvc.client.rest import ApiClient
from kubesvc.util.clock import Clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InformerKey:
    group: str
    plural: str
    namespace: str
    label_selector: str
    field_selector: str


class InformerFactory:
    def __init__(
        self,
        api: ApiClient,
        *,
        namespace: str = "",
        settings: InformerSettings | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``namespace`` limits every informer to one namespace ("" is all of them)."""
        self.api = api
        self.namespace = namespace
        self.settings = settings or InformerSettings()
        self.clock = clock
        self._rng = rng
        self._informers: dict[InformerKey, Informer] = {}
        self._tasks: dict[InformerKey, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self._started = False

    def informer(
        self,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Informer:
        """The shared informer for these arguments, created on first request."""
        ns = self.namespace if namespace is None else namespace
        if not resource.namespaced:
            ns = ""
        key = InformerKey(resource.group, resource.plural, ns, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            source = ResourceListWatch(self.api, resource, ns, label_selector, field_selector)
            informer = Informer(
                source,
                settings=self.settings,
                clock=self.clock,
                rng=self._rng,
                name=_describe(key),
            )
            self._informers[key] = informer
            if self._started:
                self._launch(key, informer)
        return informer

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Run every informer (must be called on the running loop)."""
        self._started = True
        for key, informer in self._informers.items():
            if key not in self._tasks:
                self._launch(key, informer)

    def _launch(self, key: InformerKey, informer: Informer) -> None:
        task = asyncio.create_task(informer.run(self._stop), name=f"informer {informer.name}")
        task.add_done_callback(_log_failure)
        self._tasks[key] = task

    async def wait_for_sync(self) -> None:
        """Wait until every informer created so far has synced."""
        await asyncio.gather(*(i.wait_for_sync() for i in self._informers.values()))

    def has_synced(self) -> bool:
        return all(i.has_synced() for i in self._informers.values())

    async def shutdown(self) -> None:
        """Stop every informer and wait for them to finish."""
        self._stop.set()
        tasks = list(self._tasks.values())
        self._tasks.clear()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        self.start()
        try:
            await stop.wait()
        finally:
            await self.shutdown()


def _describe(key: InformerKey) -> str:
    name = f"{key.plural}.{key.group}" if key.group else key.plural
    extra = [f"namespace={key.namespace}"] if key.namespace else []
    if key.label_selector:
        extra.append(f"labels={key.label_selector}")
    if key.field_selector:
        extra.append(f"fields={key.field_selector}")
    return " ".join([name, *extra])


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "informer stopped with an error task=%s", task.get_name(), exc_info=task.exception()
        )
