"""Storage backends by URL scheme: the one place a backend is chosen by name.

``open_backend(url)`` builds (but does not start) the backend the URL names:

* ``memory://``: ``MemoryBackend``, nothing survives the process;
* ``sqlite:///PATH``: ``SqliteBackend`` on ``PATH``, which is relative unless it
  starts with a slash of its own (``sqlite:///state.db`` is ``./state.db``,
  ``sqlite:////var/lib/kubesvc/state.db`` is absolute), so ``f"sqlite:///{path}"``
  is right for both kinds. Query parameters set ``SqliteSettings`` fields:
  ``compact_interval`` (seconds, 0 = off) and ``compact_keep`` (revisions).

A new backend (etcd) adds a factory with ``register_backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

from kubesvc.storage.interface import Backend
from kubesvc.storage.memory import MemoryBackend
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings

_N = TypeVar("_N", int, float)

BackendFactory = Callable[[str], Backend]
"""Builds a backend from the full URL (its scheme already matched)."""


def _memory(url: str) -> Backend:
    return MemoryBackend()


def _sqlite(url: str) -> Backend:
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
        raise ValueError(
            f"bad sqlite URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    settings = SqliteSettings()
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        if name == "compact_interval":
            settings = replace(settings, compact_interval=_number(float, name, raw))
        elif name == "compact_keep":
            settings = replace(settings, compact_keep=_number(int, name, raw))
        else:
            raise ValueError(
                f"unknown sqlite URL parameter {name!r} (known: compact_interval, compact_keep)"
            )
    return SqliteBackend(parts.path[1:], settings)


def _number(convert: Callable[[str], _N], name: str, raw: str) -> _N:
    try:
        value = convert(raw)
    except ValueError:
        value = convert("-1")
    if value < 0:
        raise ValueError(f"bad value {raw!r} for sqlite URL parameter {name!r}")
    return value


_FACTORIES: dict[str, BackendFactory] = {
    "memory": _memory,
    "sqlite": _sqlite,
}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make ``scheme://...`` URLs open with ``factory`` (replacing any earlier one)."""
    _FACTORIES[scheme] = factory


def known_schemes() -> list[str]:
    return sorted(_FACTORIES)


def open_backend(url: str) -> Backend:
    """The backend ``url`` names, not yet started (``await backend.start()``).

    Raises ``ValueError`` for an unknown scheme or a malformed URL."""
    scheme, sep, _ = url.partition("://")
    factory = _FACTORIES.get(scheme) if sep else None
    if factory is None:
        known = ", ".join(f"{name}://" for name in known_schemes())
        raise ValueError(f"unknown storage URL {url!r}; known schemes: {known}")
    return factory(url)
