"""Choosing a storage backend by URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.storage.interface import Backend
from kubesvc.storage.memory import MemoryBackend
from kubesvc.storage.registry import known_schemes, open_backend, register_backend
from kubesvc.storage.sqlite import SqliteBackend


@pytest.mark.parametrize(
    ("url", "path", "interval", "keep"),
    [
        pytest.param("sqlite:///state.db", "state.db", 300.0, 10_000, id="relative"),
        pytest.param("sqlite:///data/kube/state.db", "data/kube/state.db", 300.0, 10_000,
                     id="relative-nested"),
        pytest.param("sqlite:////srv/state.db", "/srv/state.db", 300.0, 10_000, id="absolute"),
        pytest.param("sqlite:///s.db?compact_interval=0", "s.db", 0.0, 10_000,
                     id="compaction-off"),
        pytest.param("sqlite:///s.db?compact_interval=30&compact_keep=500", "s.db", 30.0, 500,
                     id="compaction-tuned"),
    ],
)  # fmt: skip
def test_sqlite_urls(url: str, path: str, interval: float, keep: int) -> None:
    backend = open_backend(url)
    assert isinstance(backend, SqliteBackend)
    assert backend.path == path
    assert (backend.settings.compact_interval, backend.settings.compact_keep) == (interval, keep)


def test_memory_url() -> None:
    assert isinstance(open_backend("memory://"), MemoryBackend)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("etcd://127.0.0.1:2379", "known schemes: memory://, sqlite://",
                     id="unknown-scheme"),
        pytest.param("state.db", "unknown storage URL", id="no-scheme"),
        pytest.param("sqlite://state.db", "bad sqlite URL", id="two-slashes"),
        pytest.param("sqlite:///", "bad sqlite URL", id="no-path"),
        pytest.param("sqlite:///s.db?bogus=1", "unknown sqlite URL parameter 'bogus'",
                     id="unknown-parameter"),
        pytest.param("sqlite:///s.db?compact_keep=many", "bad value 'many'", id="not-a-number"),
        pytest.param("sqlite:///s.db?compact_interval=-1", "bad value '-1'", id="negative"),
    ],
)  # fmt: skip
def test_bad_urls_raise_value_error(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_backend(url)


async def test_sqlite_url_opens_a_working_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    backend = open_backend("sqlite:///nested/dir/state.db?compact_interval=0")
    await backend.start()
    await backend.create("/a", b"1")
    await backend.close()
    assert (tmp_path / "nested" / "dir" / "state.db").exists()


def test_new_schemes_register_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubesvc.storage import registry

    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    made: list[str] = []

    def factory(url: str) -> Backend:
        made.append(url)
        return MemoryBackend()

    register_backend("etcd", factory)
    assert "etcd" in known_schemes()
    open_backend("etcd://127.0.0.1:2379")
    assert made == ["etcd://127.0.0.1:2379"]
