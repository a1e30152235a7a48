"""Informers: a reflector feeding an indexed cache, and handlers told of changes.

``Informer`` is the reflector's sink. For each change it updates the cache
first, then calls the handlers, so a handler that reads the cache sees the
change. A list (the first one, and every relist) is diffed against the cache:
new keys become ``on_add``, keys whose resourceVersion moved become
``on_update(old, new)``, vanished keys become ``on_delete`` (with the last
state the cache held, since the real final state was missed).

Handlers must only enqueue work (work queue keys): they run inside the
reflector's loop, so a slow handler delays every other handler and the watch.
A handler that raises is logged and skipped; the others still run.

``has_synced()`` turns true once the first list has been applied and its adds
delivered; ``wait_for_sync()`` waits for that. A handler added after sync is
first told of every cached object as an add, so it misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubesvc.client.cache import NAMESPACE_INDEX, Cache, IndexFunc, namespace_index, object_key
from kubesvc.client.reflector import InformerSettings, ListWatch, Reflector
from kubesvc.util.clock import Clock

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
Objs = list[Obj]


@dataclass(frozen=True, eq=False, slots=True)
class Handlers:
    """One registration of callbacks; any may be left out."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Informer:
    def __init__(
        self,
        source: ListWatch,
        *,
        settings: InformerSettings | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self.cache = Cache({NAMESPACE_INDEX: namespace_index, **(indexers or {})})
        self.reflector = Reflector(source, self, settings=settings, clock=clock, rng=rng, name=name)
        self._handlers: list[Handlers] = []
        self._synced = asyncio.Event()

    # -- use -----------------------------------------------------------------------
    def add_handlers(
        self,
        *,
        on_add: Callable[[Obj], None] | None = None,
        on_update: Callable[[Obj, Obj], None] | None = None,
        on_delete: Callable[[Obj], None] | None = None,
    ) -> Handlers:
        handlers = Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if self.has_synced() and on_add is not None:
            for obj in self.cache.list():
                self._call(on_add, obj)
        return handlers

    def remove_handlers(self, handlers: Handlers) -> None:
        self._handlers.remove(handlers)

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        self.cache.add_indexer(name, fn)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    def get(self, namespace: str, name: str) -> Obj | None:
        return self.cache.get_object(namespace, name)

    def list(self, namespace: str | None = None) -> Objs:
        """Cached objects, all of them or those of one namespace."""
        if namespace is None:
            return self.cache.list()
        return self.cache.by_index(NAMESPACE_INDEX, namespace)

    async def run(self, stop: asyncio.Event) -> None:
        """List and watch into the cache until ``stop`` is set."""
        await self.reflector.run(stop)

    # -- the reflector's sink --------------------------------------------------------
    def replace(self, items: Objs, resource_version: str) -> None:
        old = {object_key(o): o for o in self.cache.list()}
        self.cache.replace(items)
        for obj in items:
            prev = old.pop(object_key(obj), None)
            if prev is None:
                self._fan_out("add", obj)
            elif _rv(prev) != _rv(obj):
                self._fan_out("update", obj, prev)
        for gone in old.values():
            self._fan_out("delete", gone)
        if not self._synced.is_set():
            logger.debug("informer synced informer=%s objects=%d", self.name, len(items))
            self._synced.set()

    def apply(self, event_type: str, obj: Obj) -> None:
        if event_type == "DELETED":
            self.cache.delete(object_key(obj))
            self._fan_out("delete", obj)
            return
        prev = self.cache.upsert(obj)
        if prev is None:
            self._fan_out("add", obj)
        else:
            self._fan_out("update", obj, prev)

    def _fan_out(self, what: str, obj: Obj, prev: Obj | None = None) -> None:
        for h in list(self._handlers):
            if what == "add" and h.on_add is not None:
                self._call(h.on_add, obj)
            elif what == "update" and h.on_update is not None:
                assert prev is not None
                self._call(h.on_update, prev, obj)
            elif what == "delete" and h.on_delete is not None:
                self._call(h.on_delete, obj)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            logger.exception("informer handler failed informer=%s", self.name)
