"""The reflector: keeps a sink equal to the server's objects with list + watch.

Theory of operation (client-go's ``Reflector.ListAndWatch``):

1. *List* every object (in pages of ``page_size``), hand the whole set to
   ``sink.replace(items, rv)`` and remember the list's resourceVersion.
2. *Watch* from that version. Each event goes to ``sink.apply(type, obj)``
   and moves the remembered version forward; a BOOKMARK only moves it.
3. When the watch ends normally (the server's ``timeoutSeconds`` ran out),
   watch again from the remembered version: no event is lost or repeated.
4. On ``410 Expired``/``Gone`` (the version was compacted away) or any other
   API error, wait (back-off) and list again. On a broken connection, wait and
   resume watching from the remembered version. A watch that ends at once
   without a single event counts as a failure too, so a misbehaving server
   cannot make the loop spin.

The back-off grows on consecutive failures and resets after a healthy watch.
Watch timeouts are drawn at random from a range so that many clients started
together do not reconnect together. The loop ends only when ``stop`` is set.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubesvc.api.errors import StatusError
from kubesvc.api.resources import Resource
from kubesvc.client.errors import ApiUnavailable
from kubesvc.client.rest import ApiClient
from kubesvc.util.backoff import Backoff, BackoffPolicy
from kubesvc.util.clock import Clock, RealClock
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)

Obj = dict[str, Any]


class EventStream(Protocol):
    """What a watch returns: ``(type, object)`` pairs, closable early."""

    def __aiter__(self) -> AsyncIterator[tuple[str, Obj]]: ...

    async def aclose(self) -> None: ...


class ListWatch(Protocol):
    """The two calls a reflector makes; ``ResourceListWatch`` makes them over HTTP."""

    async def list(self, *, limit: int, continue_token: str) -> Obj:
        """One page of a list (a ``...List`` dict with ``metadata.continue`` if more)."""
        ...

    def watch(self, *, resource_version: str, timeout_seconds: int) -> EventStream:
        """Events after ``resource_version``, bookmarks allowed; raises ``Expired``."""
        ...


class Sink(Protocol):
    def replace(self, items: list[Obj], resource_version: str) -> None: ...

    def apply(self, event_type: str, obj: Obj) -> None: ...


@dataclass(frozen=True, slots=True)
class ResourceListWatch:
    """List and watch one resource (optionally one namespace and selectors) via the API."""

    api: ApiClient
    resource: Resource
    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""

    async def list(self, *, limit: int, continue_token: str) -> Obj:
        return await self.api.list(
            self.resource,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            limit=limit,
            continue_token=continue_token,
        )

    def watch(self, *, resource_version: str, timeout_seconds: int) -> EventStream:
        return self.api.watch(
            self.resource,
            self.namespace,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            allow_bookmarks=True,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )


@dataclass(frozen=True, slots=True)
class InformerSettings:
    page_size: int = 500
    """Objects per list page (client-go's default); 0 lists everything at once."""
    watch_timeout: tuple[float, float] = (300.0, 600.0)
    """Server-side watch timeout, drawn from this range: client-go's 5 to 10 minutes."""
    backoff: BackoffPolicy = field(
        default_factory=lambda: BackoffPolicy(initial=0.8, cap=30.0, jitter=1.0)
    )
    """client-go's reflector back-off: 800 ms doubling to 30 s, jittered up to 2x."""
    min_watch_duration: float = 1.0
    """A watch shorter than this that delivered nothing counts as a failure."""


def _fill_type(items: list[Obj], list_obj: Obj) -> list[Obj]:
    """List items come without kind/apiVersion; give them the ones watch events carry."""
    kind = str(list_obj.get("kind") or "").removesuffix("List")
    api_version = list_obj.get("apiVersion")
    if not kind or not api_version:
        return items
    for item in items:
        if "kind" not in item:
            item["kind"] = kind
        if "apiVersion" not in item:
            item["apiVersion"] = api_version
    return items


class Reflector:
    def __init__(
        self,
        source: ListWatch,
        sink: Sink,
        *,
        settings: InformerSettings | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        name: str = "",
    ) -> None:
        self.source = source
        self.sink = sink
        self.settings = settings or InformerSettings()
        self.clock: Clock = clock or RealClock()
        self.name = name
        self._rng = rng or random.Random()
        self.resource_version = ""
        """The last version seen (list, event or bookmark): where a watch resumes."""
        self.lists = 0
        self.watches = 0

    async def run(self, stop: asyncio.Event) -> None:
        """List and watch until ``stop`` is set."""
        await until_stopped(self._loop(), stop)

    async def _loop(self) -> None:
        backoff = Backoff(self.settings.backoff, self._rng)
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                if await self._watch():
                    backoff.reset()
                    continue
                logger.debug("watch ended at once informer=%s", self.name)
            except StatusError as exc:
                if exc.code == 410:
                    logger.info("watch expired, relisting informer=%s error=%s", self.name, exc)
                else:
                    logger.warning("list or watch failed informer=%s error=%s", self.name, exc)
                need_list = True
            except ApiUnavailable as exc:
                logger.warning("api unavailable informer=%s error=%s", self.name, exc)
            except Exception:
                logger.exception("reflector failed, relisting informer=%s", self.name)
                need_list = True
            await self.clock.sleep(backoff.next())

    async def _list(self) -> None:
        items: list[Obj] = []
        rv = ""
        token = ""
        while True:
            page = await self.source.list(limit=self.settings.page_size, continue_token=token)
            meta = page.get("metadata") or {}
            rv = rv or str(meta.get("resourceVersion") or "")
            items.extend(_fill_type(list(page.get("items") or []), page))
            token = str(meta.get("continue") or "")
            if not token:
                break
        self.lists += 1
        self.resource_version = rv
        self.sink.replace(items, rv)

    async def _watch(self) -> bool:
        """One watch to its end; True if it was healthy (delivered, or lasted)."""
        low, high = self.settings.watch_timeout
        timeout = int(self._rng.uniform(low, high))
        started = self.clock.monotonic()
        delivered = 0
        self.watches += 1
        stream = self.source.watch(resource_version=self.resource_version, timeout_seconds=timeout)
        try:
            async for event_type, obj in stream:
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                if event_type != "BOOKMARK":
                    self.sink.apply(event_type, obj)
                if rv:
                    self.resource_version = rv
                delivered += 1
        finally:
            await stream.aclose()
        return delivered > 0 or self.clock.monotonic() - started >= self.settings.min_watch_duration
