"""The storage contract: a revisioned key/value store with watch, shaped like etcd.

Every backend (memory, sqlite, later etcd) implements ``Backend``. The API server
is its only user; it stores each object as JSON bytes under a key such as
``/registry/services/specs/default/web``.

Invariants every backend keeps (the contract tests in ``tests/contract`` check them):

1. One global revision counter. Every successful create, update and delete
   increments it by exactly one and stamps the written key with it
   (``mod_revision``); a key's ``create_revision`` is the revision of the create
   that made it. Revisions never go backwards, also across restarts.
2. ``update`` and ``delete`` are compare-and-swap: with ``expected_revision`` set,
   they fail with ``Conflict`` unless the key's current ``mod_revision`` equals it.
3. A write is acknowledged (the coroutine returns) only once it is durable for
   that backend: for sqlite, committed to the WAL, so a ``kill -9`` right after
   loses nothing that was acknowledged.
4. ``watch(prefix, revision)`` yields every event with revision > ``revision`` for
   keys under ``prefix``, in revision order, with no gaps and no duplicates, then
   follows live writes. If ``revision`` is below the compacted revision it raises
   ``Compacted`` (the API server turns that into 410 Expired).
5. ``list(prefix, revision=R)`` returns the keys as they were at revision R
   (R = 0 means now); R below the compacted revision raises ``Compacted``, R
   above the current revision raises ``FutureRevision``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol


class StorageError(Exception):
    """Base of the storage errors; each maps onto one API error."""


class KeyExists(StorageError):
    """``create`` of a key that exists (-> 409 AlreadyExists)."""


class KeyNotFound(StorageError):
    """``update``/``delete`` of a key that does not exist (-> 404 NotFound)."""


class Conflict(StorageError):
    """Compare-and-swap failed: the key changed since ``expected_revision`` (-> 409)."""

    def __init__(self, key: str, current: KeyValue | None) -> None:
        super().__init__(key)
        self.current = current


class Compacted(StorageError):
    """A read or watch asked for a revision older than the compacted one (-> 410)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"requested revision {requested} is compacted (at {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevision(StorageError):
    """A read asked for a revision newer than the current one (-> 504 Timeout upstream)."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """One change. ``type`` is PUT (create or update) or DELETE.

    For a create ``prev`` is None; for an update and a delete it is the value
    before the change. For a DELETE, ``kv.value`` is the last value of the key and
    ``kv.mod_revision`` the revision of the delete itself.
    """

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision

    @property
    def is_create(self) -> bool:
        return self.type == "PUT" and self.prev is None


@dataclass(frozen=True, slots=True)
class ListResult:
    kvs: list[KeyValue]
    revision: int
    """The revision the list was read at (the store's current one when asked for 0)."""
    more: bool = False
    """True when ``limit`` cut the result short; continue with ``start_after``."""
    remaining: int = 0
    """How many keys under the prefix come after the returned ones (when ``more``)."""


class Watch(Protocol):
    """A live watch: iterate for events; ``close()`` ends the iteration."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """A revisioned key/value store. All methods are coroutines except ``watch``."""

    async def start(self) -> None:
        """Open files or connections; recover state after a crash."""

    async def close(self) -> None:
        """Release everything; pending watches end."""

    async def current_revision(self) -> int: ...

    async def compacted_revision(self) -> int: ...

    async def get(self, key: str, revision: int = 0) -> KeyValue | None: ...

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Store a new key. Raises ``KeyExists``."""

    async def update(self, key: str, value: bytes, expected_revision: int = 0) -> KeyValue:
        """Replace a key's value (CAS when ``expected_revision`` is non-zero).

        Raises ``KeyNotFound`` or ``Conflict``.
        """

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        """Remove a key (CAS when ``expected_revision`` is non-zero); returns the
        deleted value stamped with the delete's revision. Raises ``KeyNotFound`` or
        ``Conflict``."""

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        """Keys under ``prefix`` in key order, as of ``revision`` (0 = now)."""

    async def count(self, prefix: str) -> int: ...

    def watch(self, prefix: str, revision: int) -> Watch:
        """Events for keys under ``prefix`` after ``revision`` (see invariant 4).

        ``revision`` 0 means the current revision: only later writes (as in etcd).
        A revision above the current one is allowed; its events come as the store
        gets there.

        Raises ``Compacted`` immediately (not on iteration) when ``revision`` is
        below the compacted revision. Iteration itself raises ``Compacted`` when
        the reader fell so far behind that compaction removed events it had not
        read yet (the API server sends that as a 410 ERROR event too)."""

    async def compact(self, revision: int) -> None:
        """Forget history at and below ``revision`` (current values stay)."""
