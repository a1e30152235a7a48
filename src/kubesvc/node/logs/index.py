"""``LogIndexer``: timestamps for raw log files, kept beside them.

Every ``interval`` the indexer stats each tracked log; when it grew, one line
``<size> <unix-time-ns>`` is appended to the log's index: every byte below
``size`` had been written by that time. Readers give a line the time of the
first entry at or past the line's end (``read``), so a timestamp is late by at
most one interval and never early.

``track`` resumes from the index's last entry (an agent restart loses no
bytes, it only stamps what arrived meanwhile with the time it looked again).
``untrack`` takes one last look first, so a container's final output is
stamped close to its exit.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kubesvc.util.clock import Clock
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TAIL = 4096
"""How much of an index's end is read to find its last entry."""


def unix_ns(when: datetime) -> int:
    """Nanoseconds since the Unix epoch of an aware datetime (microsecond precision)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def parse_entries(data: bytes) -> list[tuple[int, int]]:
    """The complete, well-formed entries of index text, offsets non-decreasing."""
    entries: list[tuple[int, int]] = []
    lines = data.split(b"\n")
    for line in lines[:-1]:  # the last piece has no newline yet: not complete
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            offset, ns = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        if entries and offset < entries[-1][0]:
            continue
        entries.append((offset, ns))
    return entries


def last_offset(index_path: Path) -> int:
    """The offset of the index's last entry (0 without one)."""
    try:
        with index_path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL))
            data = f.read()
    except FileNotFoundError:
        return 0
    if size > _TAIL:
        data = data[data.find(b"\n") + 1 :]
    entries = parse_entries(data)
    return entries[-1][0] if entries else 0


@dataclass
class _Tracked:
    index_path: Path
    offset: int


class LogIndexer:
    def __init__(self, clock: Clock, interval: float = 0.2) -> None:
        self.clock = clock
        self.interval = interval
        self._files: dict[Path, _Tracked] = {}

    def track(self, log_path: Path, index_path: Path) -> None:
        if log_path not in self._files:
            self._files[log_path] = _Tracked(index_path, last_offset(index_path))

    def untrack(self, log_path: Path) -> None:
        tracked = self._files.pop(log_path, None)
        if tracked is not None:
            self._look(log_path, tracked, unix_ns(self.clock.now()))

    @property
    def tracked(self) -> list[Path]:
        return list(self._files)

    def tick(self) -> None:
        """One look at every tracked log."""
        now = unix_ns(self.clock.now())
        for log_path, tracked in list(self._files.items()):
            self._look(log_path, tracked, now)

    def _look(self, log_path: Path, tracked: _Tracked, now: int) -> None:
        try:
            size = log_path.stat().st_size
        except FileNotFoundError:
            return
        if size <= tracked.offset:
            return
        try:
            with tracked.index_path.open("ab") as f:
                f.write(f"{size} {now}\n".encode())
        except OSError as exc:
            logger.warning("log index not written path=%s error=%s", tracked.index_path, exc)
            return
        tracked.offset = size

    async def run(self, stop: asyncio.Event) -> None:
        """Look every ``interval`` until ``stop`` is set, and once more then."""
        while not stop.is_set():
            self.tick()
            await until_stopped(self.clock.sleep(self.interval), stop)
        self.tick()
