"""SQLite specifics the contract suite cannot see: the file, compaction steps, auto-compaction."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from kubesvc.storage.interface import StorageError
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings, prefix_end


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        pytest.param("", None, id="empty-prefix-is-unbounded"),
        pytest.param("/a/", "/a0", id="slash-becomes-zero"),
        pytest.param("/a", "/b", id="last-letter-bumped"),
        pytest.param("/a\U0010ffff", "/b", id="max-code-point-carries"),
        pytest.param("\U0010ffff", None, id="all-max-is-unbounded"),
        pytest.param("/\ud7ff", "/\ue000", id="surrogates-skipped"),
    ],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


async def test_start_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.db"
    backend = SqliteBackend(path, SqliteSettings(compact_interval=0))
    await backend.start()
    await backend.create("/x", b"1")
    await backend.close()
    assert path.exists()


async def test_a_second_server_on_the_same_file_fails_to_start(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SqliteBackend(path, SqliteSettings(compact_interval=0))
    await first.start()
    second = SqliteBackend(path, SqliteSettings(compact_interval=0, busy_timeout=0.05))
    with pytest.raises(StorageError, match="cannot open"):
        await second.start()
    await first.close()
    await second.start()  # free again once the first one closed
    await second.close()


async def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    backend = SqliteBackend(path, SqliteSettings(compact_interval=0))
    await backend.start()
    await backend.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 99 WHERE name = 'schema'")
    db.close()
    with pytest.raises(StorageError, match="schema version 99"):
        await backend.start()


async def test_operations_before_start_fail_clearly(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "state.db")
    with pytest.raises(StorageError, match="not started"):
        await backend.create("/a", b"1")


def log_revisions(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        revs = [row[0] for row in db.execute("SELECT rev FROM log ORDER BY rev")]
    db.close()
    return revs


async def test_compaction_deletes_superseded_rows_and_tombstones(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    backend = SqliteBackend(path, SqliteSettings(compact_interval=0, compact_batch=2))
    await backend.start()
    await backend.create("/a", b"1")  # 1 superseded by 3
    await backend.create("/b", b"1")  # 2 superseded by 4 (a delete)
    await backend.update("/a", b"2")  # 3 kept: the value of /a at 5
    await backend.delete("/b")  # 4 tombstone
    await backend.create("/c", b"1")  # 5 kept
    await backend.update("/c", b"2")  # 6 above the compaction
    await backend.compact(5)  # three steps of two revisions
    await backend.close()
    assert log_revisions(path) == [3, 5, 6]


async def test_auto_compaction_keeps_the_configured_history(tmp_path: Path) -> None:
    ticks: list[float] = []
    tick = asyncio.Event()
    compacted = asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) > 1:
            compacted.set()  # the first round finished and the loop sleeps again
        await tick.wait()
        tick.clear()

    settings = SqliteSettings(compact_interval=60, compact_keep=5)
    backend = SqliteBackend(tmp_path / "state.db", settings, sleep=fake_sleep)
    await backend.start()
    for i in range(20):
        await backend.create(f"/k/{i}", b"x")
    tick.set()
    async with asyncio.timeout(5):
        await compacted.wait()
    assert ticks == [60, 60]
    assert await backend.compacted_revision() == 15
    await backend.close()  # cancels the sleeping compactor
