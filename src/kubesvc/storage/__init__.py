"""Storage: a revisioned key/value store with watch (see ``interface`` for the contract).

``open_backend("sqlite:///state.db")`` or ``open_backend("memory://")`` picks a
backend by URL; ``broadcaster`` is the watch fan-out the backends share.
"""

from __future__ import annotations

from kubesvc.storage.broadcaster import BroadcastSettings
from kubesvc.storage.interface import (
    Backend,
    Compacted,
    Conflict,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    ListResult,
    StorageError,
    Watch,
)
from kubesvc.storage.memory import MemoryBackend
from kubesvc.storage.registry import known_schemes, open_backend, register_backend
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings

__all__ = [
    "Backend",
    "BroadcastSettings",
    "Compacted",
    "Conflict",
    "Event",
    "FutureRevision",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "ListResult",
    "MemoryBackend",
    "SqliteBackend",
    "SqliteSettings",
    "StorageError",
    "Watch",
    "known_schemes",
    "open_backend",
    "register_backend",
]
