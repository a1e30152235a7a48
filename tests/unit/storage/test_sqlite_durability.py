"""SQLite durability: restarts keep everything, and ``kill -9`` loses no acknowledged write."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from kubesvc.storage.interface import KeyValue
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings

SETTINGS = SqliteSettings(compact_interval=0)


async def reopen(path: Path) -> SqliteBackend:
    backend = SqliteBackend(path, SETTINGS)
    await backend.start()
    return backend


async def test_restart_keeps_data_and_revisions_keep_increasing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    backend = await reopen(path)
    await backend.create("/a", b"1")
    await backend.create("/b", b"1")
    await backend.update("/a", b"2")
    await backend.delete("/b")
    await backend.close()

    backend = await reopen(path)
    assert await backend.current_revision() == 4
    assert await backend.get("/a") == KeyValue("/a", b"2", 1, 3)
    assert await backend.get("/b", revision=2) == KeyValue("/b", b"1", 2, 2)
    assert (await backend.create("/c", b"1")).mod_revision == 5
    # compaction deletes the newest log rows (a trailing delete); the revision stays
    await backend.delete("/c")
    await backend.compact(6)
    await backend.close()

    backend = await reopen(path)
    assert (await backend.current_revision(), await backend.compacted_revision()) == (6, 6)
    assert [kv.key for kv in (await backend.list("")).kvs] == ["/a"]
    assert (await backend.create("/d", b"1")).mod_revision == 7
    await backend.close()


async def test_watch_after_restart_replays_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    backend = await reopen(path)
    for i in range(5):
        await backend.create(f"/k/{i}", b"x")
    await backend.close()
    backend = await reopen(path)
    watch = backend.watch("/k/", 2)
    await backend.update("/k/0", b"y")
    got = []
    async with asyncio.timeout(5):
        async for ev in watch:
            got.append(ev.revision)
            if len(got) == 4:
                break
    assert got == [3, 4, 5, 6]
    watch.close()
    await backend.close()


# The child writes forever and prints "<revision> <op> <key>" after each write
# returns; a printed line is an acknowledged write.
CHILD = """
import asyncio, sys
from kubesvc.storage.sqlite import SqliteBackend, SqliteSettings

async def main():
    backend = SqliteBackend(sys.argv[1], SqliteSettings(compact_interval=0))
    await backend.start()
    i = 0
    while True:
        key = f"/k/{i:06d}"
        kv = await backend.create(key, b"v%d" % i)
        print(kv.mod_revision, "create", key, flush=True)
        if i % 3 == 2:
            kv = await backend.update(key, b"u%d" % i)
            print(kv.mod_revision, "update", key, flush=True)
        if i % 5 == 4:
            kv = await backend.delete(f"/k/{i - 1:06d}")
            print(kv.mod_revision, "delete", kv.key, flush=True)
        i += 1

asyncio.run(main())
"""


async def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(path), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    lines: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(lines) < 400:
                line = await child.stdout.readline()
                assert line, "child exited early"
                lines.append(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest = await child.stdout.read()
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    lines += rest.splitlines(keepends=True)
    acked = [line.split() for line in lines if line.endswith(b"\n")]

    model: dict[str, bytes] = {}
    for n, (rev, op, key) in enumerate(acked, start=1):
        assert int(rev) == n  # the child's writes are all acknowledged in order
        i = int(key.rsplit(b"/", 1)[1])
        if op == b"create":
            model[key.decode()] = b"v%d" % i
        elif op == b"update":
            model[key.decode()] = b"u%d" % i
        else:
            del model[key.decode()]
    last = len(acked)

    backend = await reopen(path)
    # At most one write was committed but not yet acknowledged when the child died.
    assert last <= await backend.current_revision() <= last + 1
    state = await backend.list("/k/", revision=last)
    assert {kv.key: kv.value for kv in state.kvs} == model
    assert (await backend.create("/after", b"x")).mod_revision > last
    await backend.close()
