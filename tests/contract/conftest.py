"""Backends under the storage contract: every test here runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from kubesvc.storage.broadcaster import BroadcastSettings
from kubesvc.storage.interface import Backend
from kubesvc.storage.memory import MemoryBackend
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings

MakeBackend = Callable[..., Awaitable[Backend]]


def build_backend(kind: str, directory: Path, watch: BroadcastSettings | None = None) -> Backend:
    watch = watch or BroadcastSettings()
    if kind == "memory":
        return MemoryBackend(watch)
    settings = SqliteSettings(compact_interval=0, watch=watch)
    return SqliteBackend(directory / "state.db", settings)


@pytest.fixture(params=["memory", "sqlite"])
async def make_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[MakeBackend]:
    """``await make_backend(watch=BroadcastSettings(...))``: a started backend,
    closed after the test."""
    opened: list[Backend] = []

    async def make(watch: BroadcastSettings | None = None) -> Backend:
        backend = build_backend(request.param, tmp_path / str(len(opened)), watch)
        await backend.start()
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        await backend.close()


@pytest.fixture
async def backend(make_backend: MakeBackend) -> Backend:
    return await make_backend()
