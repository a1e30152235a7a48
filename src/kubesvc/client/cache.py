"""The informer's store: objects by key, plus secondary indexes.

Keys are client-go's: ``namespace/name`` for namespaced objects, ``name`` for
cluster-scoped ones. An index is a function from an object to the values it is
filed under (``namespace_index`` files it under its namespace); ``by_index``
answers "every object filed under this value" without a scan.

The cache is owned by one event loop and takes no locks. The objects it holds
are shared with every reader and every handler: read them, never change them
(copy first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], Iterable[str]]
Objs = list[Obj]
Keys = list[str]

NAMESPACE_INDEX = "namespace"


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` for a cluster-scoped object."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    if not name:
        raise ValueError("object has no metadata.name")
    namespace = str(meta.get("namespace") or "")
    return f"{namespace}/{name}" if namespace else name


def make_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a key; the namespace is "" for cluster-scoped keys."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


def namespace_index(obj: Obj) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


class Cache:
    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        for name, fn in (indexers or {}).items():
            self.add_indexer(name, fn)

    # -- reads -------------------------------------------------------------------
    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_object(self, namespace: str, name: str) -> Obj | None:
        return self._items.get(make_key(namespace, name))

    def list(self) -> Objs:
        return [*self._items.values()]

    def keys(self) -> Keys:
        return [*self._items]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, index: str, value: str) -> Objs:
        """Objects filed under ``value`` by ``index`` (in no particular order)."""
        return [self._items[k] for k in self.index_keys(index, value)]

    def index_keys(self, index: str, value: str) -> Keys:
        if index not in self._indexers:
            raise KeyError(f"no index named {index!r}")
        return sorted(self._indices[index].get(value, ()))

    def index_values(self, index: str) -> Keys:
        """Every value ``index`` currently files objects under."""
        return sorted(self._indices[index])

    # -- writes (the reflector's) ------------------------------------------------
    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        """Add an index; existing objects are filed at once."""
        if name in self._indexers:
            raise ValueError(f"index {name!r} already exists")
        self._indexers[name] = fn
        self._indices[name] = {}
        for key, obj in self._items.items():
            self._file(name, key, obj)

    def upsert(self, obj: Obj) -> Obj | None:
        """Store ``obj`` under its key; returns what it replaced."""
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unfile_all(key, old)
        self._items[key] = obj
        for name in self._indexers:
            self._file(name, key, obj)
        return old

    def delete(self, key: str) -> Obj | None:
        """Remove ``key``; returns what was stored."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unfile_all(key, old)
        return old

    def replace(self, objs: Iterable[Obj]) -> None:
        """Hold exactly ``objs`` from now on."""
        self._items = {object_key(o): o for o in objs}
        for name in self._indexers:
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._file(name, key, obj)

    def _file(self, index: str, key: str, obj: Obj) -> None:
        values = self._indices[index]
        for value in self._indexers[index](obj):
            values.setdefault(value, set()).add(key)

    def _unfile_all(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            values = self._indices[name]
            for value in fn(obj):
                keys = values.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del values[value]
