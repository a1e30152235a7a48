"""The SQLite backend: the whole store in one file, the default for a single server.

Durability: the database runs in WAL mode with ``synchronous=NORMAL``. A write
is acknowledged after its transaction is committed to the WAL, which is in the
operating system's hands at that point: it survives ``kill -9`` (or any crash)
of this process, which is what the contract promises. It does not survive a
power loss or kernel crash between checkpoints; that would need
``synchronous=FULL`` (an fsync per write) and is not promised.

Schema (one transaction per write updates ``kv`` and ``log`` together):

* ``kv(key, value, create_rev, mod_rev)``: the current values, keyed by key,
  for fast ``get``, ``list`` and ``count`` now;
* ``log(rev, key, type, value, create_rev, prev_mod_rev)``: one row per
  revision (``type`` 0 = PUT, 1 = DELETE; ``value`` NULL for a DELETE). The
  previous value of an update or delete is not copied: it is the value of the
  row at ``prev_mod_rev``, which compaction keeps (see below). Serves watch
  catch-up and reads at a past revision;
* ``meta(name, value)``: ``schema`` and ``compacted`` (the compacted revision).

Revisions: the current revision is ``max(MAX(log.rev), compacted)``; a
compaction never deletes a row above the compacted revision it records, so the
counter never goes back, also across restarts.

Compaction at C deletes the rows a read or watch at C or later cannot need:
every row that was superseded at or below C (it is the ``prev_mod_rev`` of a
row at or below C) and every DELETE at or below C. It runs in steps of
``compact_batch`` revisions, each one transaction that also records its end as
the compacted revision, so a crash mid-way leaves a consistent store.

The connection is used directly on the event loop thread: one writer, and each
statement takes tens of microseconds. ``locking_mode=EXCLUSIVE`` makes a second
process opening the same file fail at ``start`` instead of forking history.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

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
    StorageError,
)
from kubesvc.storage.memory import resolve_read_revision, resolve_watch_revision

log = logging.getLogger(__name__)

_SCHEMA_VERSION = 1
_PUT = 0
_DELETE = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    type INTEGER NOT NULL,
    value BLOB,
    create_rev INTEGER NOT NULL,
    prev_mod_rev INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key ON log(key);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

_SCHEMA_STATEMENTS = [stmt.strip() for stmt in _SCHEMA.split(";") if stmt.strip()]
# kv is a rowid table on purpose: its values are large, and the separate index on
# key lets COUNT and range starts skip them (WITHOUT ROWID measured 2-50x slower
# there). log_key also serves (key, rev) look-ups: SQLite appends the rowid (rev)
# to every index entry.

_GET_NOW = "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?"
_GET_AT = (
    "SELECT type, value, create_rev, rev FROM log WHERE key = ? AND rev <= ?"
    " ORDER BY rev DESC LIMIT 1"
)
_INSERT_KV = "INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?, ?, ?, ?)"
_UPDATE_KV = "UPDATE kv SET value = ?, mod_rev = ? WHERE key = ?"
_DELETE_KV = "DELETE FROM kv WHERE key = ?"
_INSERT_LOG = (
    "INSERT INTO log (rev, key, type, value, create_rev, prev_mod_rev) VALUES (?, ?, ?, ?, ?, ?)"
)
_COMPACT_SUPERSEDED = (
    "DELETE FROM log WHERE rev IN"
    " (SELECT prev_mod_rev FROM log WHERE rev > ? AND rev <= ? AND prev_mod_rev > 0)"
)
_COMPACT_TOMBSTONES = f"DELETE FROM log WHERE rev > ? AND rev <= ? AND type = {_DELETE}"
_SET_META = "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class SqliteSettings:
    compact_interval: float = 300.0
    """Seconds between automatic compactions; 0 turns them off (tests do). Five
    minutes is what kube-apiserver uses for etcd."""
    compact_keep: int = 10_000
    """Revisions of history an automatic compaction keeps: watches and paginated
    lists up to this far behind still work; older ones get 410 and re-list."""
    compact_batch: int = 10_000
    """Revisions compacted per transaction; bounds how long one step holds the loop."""
    busy_timeout: float = 2.0
    """Seconds ``start`` waits for another process to release the file."""
    watch: BroadcastSettings = field(default_factory=BroadcastSettings)


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix``, or None
    when there is none (empty prefix). Code-point order equals SQLite's UTF-8
    byte order, so this bounds an index range scan."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if code <= 0x10FFFF:
            if 0xD800 <= code <= 0xDFFF:
                code = 0xE000  # surrogates cannot be encoded; skip over them
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


@functools.cache
def _key_range_sql(template: str, column: str, exclusive_lower: bool, upper: bool) -> str:
    """Fill ``{range}`` in ``template`` with the key-range condition on ``column``."""
    cond = f"{column} {'>' if exclusive_lower else '>='} ?"
    if upper:
        cond += f" AND {column} < ?"
    return template.replace("{range}", cond)


_LIST_NOW = "SELECT key, value, create_rev, mod_rev FROM kv WHERE {range} ORDER BY key LIMIT ?"
_COUNT_NOW = "SELECT COUNT(*) FROM kv WHERE {range}"
_AT_REVISION = (
    " FROM log AS l WHERE {range} AND l.rev <= ?"
    " AND l.rev = (SELECT MAX(rev) FROM log WHERE key = l.key AND rev <= ?)"
    f" AND l.type = {_PUT}"
)
_LIST_AT = "SELECT l.key, l.value, l.create_rev, l.rev" + _AT_REVISION + " ORDER BY l.key LIMIT ?"
_COUNT_AT = "SELECT COUNT(*)" + _AT_REVISION
_CATCH_UP = (
    "SELECT l.rev, l.key, l.type, l.value, l.create_rev, l.prev_mod_rev, p.value"
    " FROM log AS l LEFT JOIN log AS p ON p.rev = l.prev_mod_rev"
    " WHERE l.rev > ? AND l.rev <= ? AND {range} ORDER BY l.rev"
)
_CATCH_UP_ALL = _CATCH_UP.replace(" AND {range}", "")


class SqliteBackend:
    """A ``Backend`` in one SQLite file (or ``":memory:"``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        settings: SqliteSettings | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.path = os.fspath(path)
        self.settings = settings or SqliteSettings()
        self._sleep = sleep
        self._db: sqlite3.Connection | None = None
        self._rev = 0
        self._compacted = 0
        self._hub = Broadcaster(0, self._catch_up, self.settings.watch)
        self._compactor: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Open (creating the file and its parent directories), recover, and start
        automatic compaction. SQLite replays the WAL of a crashed process on open,
        and each write is one transaction, so ``kv`` and ``log`` always agree."""
        self._db, self._rev, self._compacted = _open(self.path, self.settings.busy_timeout)
        self._hub = Broadcaster(self._rev, self._catch_up, self.settings.watch)
        log.info(
            "sqlite storage open path=%s revision=%d compacted=%d",
            self.path,
            self._rev,
            self._compacted,
        )
        if self.settings.compact_interval > 0:
            self._compactor = asyncio.get_running_loop().create_task(
                self._auto_compact(), name="sqlite-auto-compaction"
            )

    async def close(self) -> None:
        """Stop compaction, end the watches and close the file."""
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
            self._compactor = None
        self._hub.close()
        if self._db is not None:
            self._db.close()
            self._db = None

    async def current_revision(self) -> int:
        return self._rev

    async def compacted_revision(self) -> int:
        return self._compacted

    # -- reads -----------------------------------------------------------------

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        db = self._conn()
        rev = resolve_read_revision(revision, self._rev, self._compacted)
        if rev == self._rev:
            row = db.execute(_GET_NOW, (key,)).fetchone()
            return None if row is None else KeyValue(key, row[0], row[1], row[2])
        row = db.execute(_GET_AT, (key, rev)).fetchone()
        if row is None or row[0] == _DELETE:
            return None
        return KeyValue(key, row[1], row[2], row[3])

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        db = self._conn()
        rev = resolve_read_revision(revision, self._rev, self._compacted)
        now = rev == self._rev
        end = prefix_end(prefix)
        after = start_after >= prefix
        bounds: tuple[str, ...] = (start_after if after else prefix,)
        if end is not None:
            bounds += (end,)
        at: tuple[int, ...] = () if now else (rev, rev)
        sql = _key_range_sql(
            _LIST_NOW if now else _LIST_AT, "key" if now else "l.key", after, end is not None
        )
        rows = db.execute(sql, (*bounds, *at, limit + 1 if limit else -1)).fetchall()
        more = bool(limit) and len(rows) > limit
        if more:
            del rows[limit:]
        kvs = [KeyValue(r[0], r[1], r[2], r[3]) for r in rows]
        remaining = 0
        if more:
            sql = _key_range_sql(
                _COUNT_NOW if now else _COUNT_AT, "key" if now else "l.key", True, end is not None
            )
            remaining = db.execute(sql, (kvs[-1].key, *bounds[1:], *at)).fetchone()[0]
        return ListResult(kvs, rev, more=more, remaining=remaining)

    async def count(self, prefix: str) -> int:
        end = prefix_end(prefix)
        sql = _key_range_sql(_COUNT_NOW, "key", False, end is not None)
        args = (prefix,) if end is None else (prefix, end)
        result: int = self._conn().execute(sql, args).fetchone()[0]
        return result

    def watch(self, prefix: str, revision: int) -> Subscription:
        self._conn()  # not started: fail now rather than on iteration
        after = resolve_watch_revision(revision, self._rev, self._compacted)
        return self._hub.subscribe(prefix, after)

    # -- writes ----------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        db = self._conn()
        rev = self._rev + 1
        try:
            with _transaction(db):
                db.execute(_INSERT_KV, (key, value, rev, rev))
                db.execute(_INSERT_LOG, (rev, key, _PUT, value, rev, 0))
        except sqlite3.IntegrityError:
            if db.execute(_GET_NOW, (key,)).fetchone() is not None:
                raise KeyExists(key) from None
            raise
        self._rev = rev
        kv = KeyValue(key, value, rev, rev)
        self._hub.publish(Event("PUT", kv, None))
        return kv

    async def update(self, key: str, value: bytes, expected_revision: int = 0) -> KeyValue:
        db = self._conn()
        cur = self._checked_current(db, key, expected_revision)
        rev = self._rev + 1
        with _transaction(db):
            db.execute(_UPDATE_KV, (value, rev, key))
            db.execute(_INSERT_LOG, (rev, key, _PUT, value, cur.create_revision, cur.mod_revision))
        self._rev = rev
        kv = KeyValue(key, value, cur.create_revision, rev)
        self._hub.publish(Event("PUT", kv, cur))
        return kv

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        db = self._conn()
        cur = self._checked_current(db, key, expected_revision)
        rev = self._rev + 1
        with _transaction(db):
            db.execute(_DELETE_KV, (key,))
            db.execute(
                _INSERT_LOG, (rev, key, _DELETE, None, cur.create_revision, cur.mod_revision)
            )
        self._rev = rev
        kv = KeyValue(key, cur.value, cur.create_revision, rev)
        self._hub.publish(Event("DELETE", kv, cur))
        return kv

    # -- compaction ------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        """Compact up to ``revision`` in steps, yielding to the loop between them.
        A revision at or below the compacted one is a no-op."""
        db = self._conn()
        if revision > self._rev:
            raise FutureRevision(f"cannot compact at {revision}, current is {self._rev}")
        while self._compacted < revision:
            lo = self._compacted
            upto = min(revision, lo + self.settings.compact_batch)
            with _transaction(db):
                db.execute(_COMPACT_SUPERSEDED, (lo, upto))
                db.execute(_COMPACT_TOMBSTONES, (lo, upto))
                db.execute(_SET_META, ("compacted", upto))
            self._compacted = upto
            if upto < revision:
                await asyncio.sleep(0)

    async def auto_compact_once(self) -> None:
        """Compact so that ``compact_keep`` revisions of history remain."""
        target = self._rev - self.settings.compact_keep
        if target > self._compacted:
            await self.compact(target)
            log.info("sqlite storage compacted revision=%d", target)

    async def _auto_compact(self) -> None:
        while True:
            await self._sleep(self.settings.compact_interval)
            try:
                await self.auto_compact_once()
            except (sqlite3.Error, StorageError):
                log.exception("sqlite auto-compaction failed")

    # -- internals -------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError("sqlite backend is not started (or closed)")
        return self._db

    def _checked_current(self, db: sqlite3.Connection, key: str, expected: int) -> KeyValue:
        row = db.execute(_GET_NOW, (key,)).fetchone()
        if row is None:
            raise KeyNotFound(key)
        cur = KeyValue(key, row[0], row[1], row[2])
        if expected and cur.mod_revision != expected:
            raise Conflict(key, cur)
        return cur

    def _catch_up(self, prefix: str, after: int, upto: int) -> Sequence[Event]:
        if after < self._compacted:
            raise Compacted(after, self._compacted)
        end = prefix_end(prefix)
        if end is None:
            rows = self._conn().execute(_CATCH_UP_ALL, (after, upto))
        else:
            sql = _key_range_sql(_CATCH_UP, "l.key", False, True)
            rows = self._conn().execute(sql, (after, upto, prefix, end))
        events: list[Event] = []
        for rev, key, typ, value, create_rev, prev_rev, prev_value in rows:
            prev = None
            if prev_rev:
                if prev_value is None:
                    raise StorageError(f"log lost the value of {key!r} at revision {prev_rev}")
                prev = KeyValue(key, prev_value, create_rev, prev_rev)
            if typ == _DELETE:
                assert prev is not None
                events.append(Event("DELETE", KeyValue(key, prev.value, create_rev, rev), prev))
            else:
                events.append(Event("PUT", KeyValue(key, value, create_rev, rev), prev))
        return events


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction; rolled back on any error (also a failed COMMIT)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _open(path: str, busy_timeout: float) -> tuple[sqlite3.Connection, int, int]:
    """Open and configure the connection, create or check the schema; returns it
    with the current and compacted revisions. Blocking, like every call here."""
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        current, compacted = _prepare(db)
    except (sqlite3.Error, StorageError) as exc:
        db.close()
        raise StorageError(f"cannot open sqlite database {path!r}: {exc}") from exc
    return db, current, compacted


def _prepare(db: sqlite3.Connection) -> tuple[int, int]:
    # EXCLUSIVE before WAL: the WAL index then lives in process memory, and the
    # first write below takes the file lock for the life of the connection.
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA journal_size_limit = 67108864")
    db.execute("PRAGMA cache_size = -16384")  # 16 MiB of pages
    db.execute("PRAGMA mmap_size = 268435456")  # reads without a syscall per page
    with _transaction(db):
        for stmt in _SCHEMA_STATEMENTS:
            db.execute(stmt)
        row = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row is not None and row[0] != _SCHEMA_VERSION:
            raise StorageError(f"unknown schema version {row[0]}")
        db.execute(_SET_META, ("schema", _SCHEMA_VERSION))
        db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('compacted', 0)")
    compacted: int = db.execute("SELECT value FROM meta WHERE name = 'compacted'").fetchone()[0]
    newest: int | None = db.execute("SELECT MAX(rev) FROM log").fetchone()[0]
    return max(newest or 0, compacted), compacted
