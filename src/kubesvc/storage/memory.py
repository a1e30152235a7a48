"""The in-memory backend: the reference implementation of the storage contract.

Used by tests and as the fake beside the real backends; it passes the same
contract suite. Nothing survives the process.

State:

* ``_current``: key -> its live ``KeyValue`` (fast ``get`` and ``list`` now);
* ``_history``: key -> ``[(revision, KeyValue or None for a delete), ...]``
  ascending, for reads at a past revision; ``_keys`` is its keys, sorted;
* ``_log``: one ``Event`` per revision above the compacted one, for watch
  catch-up (``_log[i]`` has revision ``compacted + 1 + i``).

Compaction at C keeps, per key, only the newest history entry at or below C
when it is a value (what a read at C needs), drops the entries before it and a
delete there, and drops the log up to C.

The revision rules every backend shares (``resolve_read_revision``,
``resolve_watch_revision``) live here as pure functions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from operator import itemgetter

from kubesvc.storage.broadcaster import Broadcaster, BroadcastSettings, Subscription
from kubesvc.storage.interface import (
    Compacted,
    Conflict,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    ListResult,
)

_revision_of = itemgetter(0)


def resolve_read_revision(requested: int, current: int, compacted: int) -> int:
    """The revision a read at ``requested`` (0 = now) is served at.

    Raises ``Compacted`` below the compacted revision (reading at exactly the
    compacted revision is fine) and ``FutureRevision`` above the current one."""
    if requested < 0:
        raise ValueError(f"revision must not be negative, got {requested}")
    if requested == 0:
        return current
    if requested < compacted:
        raise Compacted(requested, compacted)
    if requested > current:
        raise FutureRevision(f"requested revision {requested} is newer than current {current}")
    return requested


def resolve_watch_revision(requested: int, current: int, compacted: int) -> int:
    """The revision a watch starts after: 0 means now; a future revision is allowed
    (its events arrive as the store gets there). Raises ``Compacted``."""
    if requested < 0:
        raise ValueError(f"revision must not be negative, got {requested}")
    if requested == 0:
        return current
    if requested < compacted:
        raise Compacted(requested, compacted)
    return requested


class MemoryBackend:
    """A ``Backend`` holding everything in dicts and lists."""

    def __init__(self, watch_settings: BroadcastSettings | None = None) -> None:
        self._rev = 0
        self._compacted = 0
        self._current: dict[str, KeyValue] = {}
        self._history: dict[str, list[tuple[int, KeyValue | None]]] = {}
        self._keys: list[str] = []
        self._log: list[Event] = []
        self._hub = Broadcaster(0, self._catch_up, watch_settings)

    async def start(self) -> None:
        """Nothing to open; the backend is usable from construction."""

    async def close(self) -> None:
        self._hub.close()

    async def current_revision(self) -> int:
        return self._rev

    async def compacted_revision(self) -> int:
        return self._compacted

    # -- reads -----------------------------------------------------------------

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        rev = resolve_read_revision(revision, self._rev, self._compacted)
        return self._value_at(key, rev)

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        rev = resolve_read_revision(revision, self._rev, self._compacted)
        keys = self._keys
        i = max(bisect_left(keys, prefix), bisect_right(keys, start_after))
        kvs: list[KeyValue] = []
        remaining = 0
        while i < len(keys) and keys[i].startswith(prefix):
            kv = self._value_at(keys[i], rev)
            if kv is not None:
                if limit and len(kvs) >= limit:
                    remaining += 1
                else:
                    kvs.append(kv)
            i += 1
        return ListResult(kvs, rev, more=remaining > 0, remaining=remaining)

    async def count(self, prefix: str) -> int:
        keys = self._keys
        i = bisect_left(keys, prefix)
        n = 0
        while i < len(keys) and keys[i].startswith(prefix):
            n += keys[i] in self._current
            i += 1
        return n

    def watch(self, prefix: str, revision: int) -> Subscription:
        after = resolve_watch_revision(revision, self._rev, self._compacted)
        return self._hub.subscribe(prefix, after)

    # -- writes ----------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        if key in self._current:
            raise KeyExists(key)
        rev = self._rev + 1
        kv = KeyValue(key, value, rev, rev)
        self._record(Event("PUT", kv, None))
        return kv

    async def update(self, key: str, value: bytes, expected_revision: int = 0) -> KeyValue:
        cur = self._checked_current(key, expected_revision)
        kv = KeyValue(key, value, cur.create_revision, self._rev + 1)
        self._record(Event("PUT", kv, cur))
        return kv

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        cur = self._checked_current(key, expected_revision)
        kv = KeyValue(key, cur.value, cur.create_revision, self._rev + 1)
        self._record(Event("DELETE", kv, cur))
        return kv

    async def compact(self, revision: int) -> None:
        if revision > self._rev:
            raise FutureRevision(f"cannot compact at {revision}, current is {self._rev}")
        if revision <= self._compacted:
            return
        emptied = False
        for hist in self._history.values():
            idx = bisect_right(hist, revision, key=_revision_of)
            if idx == 0:
                continue
            keep_from = idx - 1 if hist[idx - 1][1] is not None else idx
            del hist[:keep_from]
            emptied = emptied or not hist
        if emptied:
            self._history = {k: h for k, h in self._history.items() if h}
            self._keys = [k for k in self._keys if k in self._history]
        del self._log[: revision - self._compacted]
        self._compacted = revision

    # -- internals -------------------------------------------------------------

    def _checked_current(self, key: str, expected_revision: int) -> KeyValue:
        cur = self._current.get(key)
        if cur is None:
            raise KeyNotFound(key)
        if expected_revision and cur.mod_revision != expected_revision:
            raise Conflict(key, cur)
        return cur

    def _record(self, event: Event) -> None:
        kv = event.kv
        self._rev = kv.mod_revision
        hist = self._history.get(kv.key)
        if hist is None:
            hist = self._history[kv.key] = []
            insort(self._keys, kv.key)
        if event.type == "DELETE":
            hist.append((kv.mod_revision, None))
            del self._current[kv.key]
        else:
            hist.append((kv.mod_revision, kv))
            self._current[kv.key] = kv
        self._log.append(event)
        self._hub.publish(event)

    def _value_at(self, key: str, rev: int) -> KeyValue | None:
        if rev == self._rev:
            return self._current.get(key)
        hist = self._history.get(key)
        if not hist:
            return None
        idx = bisect_right(hist, rev, key=_revision_of)
        return hist[idx - 1][1] if idx else None

    def _catch_up(self, prefix: str, after: int, upto: int) -> Sequence[Event]:
        base = self._compacted
        if after < base:
            raise Compacted(after, base)
        return [ev for ev in self._log[after - base : upto - base] if ev.kv.key.startswith(prefix)]
