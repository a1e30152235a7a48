"""Reading a container's log as kubelet answers ``containerLogs``.

Options (``LogOptions``, the fields of PodLogOptions kubelet acts on):

* ``tail_lines``: start at the last N lines (0: none of the backlog);
* ``since_seconds`` / ``since_time``: skip lines stamped before that time;
* ``timestamps``: prefix each line with its time in RFC 3339 with nine
  fractional digits and a space (``2026-11-25T10:00:00.123456789Z ``), as the
  CRI log format keeps them;
* ``limit_bytes``: stop after that many bytes of output (mid-line if need be);
* ``follow``: after the backlog, stream lines as they are written until the
  container stops and its file is drained.

A line's time is that of the first index entry at or past the line's end
(``logs.index``); lines not yet indexed get ``now``. While the container runs
only complete lines are sent; its last, unterminated line is sent once it has
stopped (``running()`` is False).

``Formatter`` is the pure part (bytes in, bytes out, no files); ``read`` and
``follow`` move a cursor through the files around it.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from kubesvc.node.logs.index import unix_ns
from kubesvc.util.clock import Clock, RealClock

_CHUNK = 64 * 1024
_NS = 1_000_000_000


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None

    def since_ns(self, now_ns: int) -> int | None:
        """The earliest line time to send, if any (``since_time`` wins)."""
        if self.since_time is not None:
            return unix_ns(self.since_time)
        if self.since_seconds is not None:
            return now_ns - self.since_seconds * _NS
        return None


def format_timestamp(ns: int) -> bytes:
    """RFC 3339 with exactly nine fractional digits, in UTC (``...Z``)."""
    secs, frac = divmod(ns, _NS)
    stamp = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z".encode()


class Index:
    """A log's index entries, read incrementally from its file."""

    def __init__(self, entries: list[tuple[int, int]] | None = None) -> None:
        self.offsets: list[int] = []
        self.times: list[int] = []
        self._pos = 0
        self._rest = b""
        for offset, ns in entries or ():
            self._add(offset, ns)

    def _add(self, offset: int, ns: int) -> None:
        if self.offsets and (offset < self.offsets[-1] or ns < self.times[-1]):
            return
        self.offsets.append(offset)
        self.times.append(ns)

    def refresh(self, path: Path) -> None:
        """Take in the entries appended to ``path`` since the last call."""
        try:
            with path.open("rb") as f:
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return
        self._pos += len(data)
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                self._add(int(parts[0]), int(parts[1]))

    def stamp(self, end: int, now_ns: int) -> int:
        """The time of a line ending at offset ``end``."""
        k = bisect.bisect_left(self.offsets, end)
        return self.times[k] if k < len(self.times) else now_ns

    def start_for(self, since_ns: int) -> int:
        """An offset at or before the start of the first line stamped at or after ``since_ns``
        (every byte below it was stamped earlier)."""
        k = bisect.bisect_left(self.times, since_ns)
        return self.offsets[k - 1] if k > 0 else 0


class Formatter:
    """Turns raw log bytes into the answer's bytes (pure, incremental)."""

    def __init__(
        self,
        index: Index,
        *,
        now_ns: int,
        timestamps: bool = False,
        since_ns: int | None = None,
        limit_bytes: int | None = None,
    ) -> None:
        self.index = index
        self.now_ns = now_ns
        self.timestamps = timestamps
        self.since_ns = since_ns
        self.left = limit_bytes

    @property
    def done(self) -> bool:
        """The byte limit is used up: nothing more will be sent."""
        return self.left is not None and self.left <= 0

    def feed(self, data: bytes, base: int, *, final: bool) -> tuple[bytes, int]:
        """Format the lines of ``data`` (which starts at a line start, at file offset
        ``base``): the output and how many bytes of ``data`` were used. Complete lines
        only, unless ``final`` (the writer has stopped): then the unterminated rest too."""
        out: list[bytes] = []
        i = 0
        while i < len(data) and not self.done:
            j = data.find(b"\n", i)
            if j < 0:
                if not final:
                    break
                j = len(data) - 1
            line = data[i : j + 1]
            i = j + 1
            ts = self.index.stamp(base + i, self.now_ns)
            if self.since_ns is not None and ts < self.since_ns:
                continue
            if self.timestamps:
                line = format_timestamp(ts) + b" " + line
            if self.left is not None:
                line = line[: self.left]
                self.left -= len(line)
            out.append(line)
        return b"".join(out), i


def _back(f: BinaryIO, pos: int, count: int) -> int:
    """The offset just past the ``count``-th newline before ``pos`` (0 if there are fewer)."""
    if count <= 0:
        return pos
    found = 0
    while pos > 0:
        n = min(_CHUNK, pos)
        pos -= n
        f.seek(pos)
        block = f.read(n)
        i = len(block)
        while (i := block.rfind(b"\n", 0, i)) >= 0:
            found += 1
            if found == count:
                return pos + i + 1
    return 0


class _Cursor:
    """A position in a log file and the formatter the bytes from there go through."""

    def __init__(self, log_path: Path, fmt: Formatter) -> None:
        self.log_path = log_path
        self.fmt = fmt
        self.pos = 0
        self._file: BinaryIO | None = None

    def open(self) -> BinaryIO | None:
        if self._file is None:
            try:
                self._file = self.log_path.open("rb")
            except FileNotFoundError:
                return None
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def seek_start(self, opts: LogOptions, *, final: bool) -> None:
        """Place the cursor where the backlog starts (tail and since)."""
        f = self.open()
        if f is None:
            return
        size = os.fstat(f.fileno()).st_size
        start = 0
        if opts.tail_lines is not None:
            # The lines that count end at the last newline while the writer runs.
            end = size if final else _back(f, size, 1)
            if opts.tail_lines == 0 or end == 0:
                start = end
            else:
                f.seek(end - 1)
                last = end - 1 if f.read(1) == b"\n" else end  # the last line's own newline
                start = _back(f, last, opts.tail_lines)
        if self.fmt.since_ns is not None:
            offset = min(self.fmt.index.start_for(self.fmt.since_ns), size)
            start = max(start, _back(f, offset, 1))
        self.pos = start

    def drain(self, *, final: bool) -> Iterator[bytes]:
        """Everything from the cursor to the end of the file, formatted."""
        f = self.open()
        if f is None:
            return
        size = os.fstat(f.fileno()).st_size
        want = _CHUNK
        while self.pos < size and not self.fmt.done:
            f.seek(self.pos)
            data = f.read(min(want, size - self.pos))
            if not data:
                return
            eof = self.pos + len(data) >= size
            out, used = self.fmt.feed(data, self.pos, final=final and eof)
            self.pos += used
            if out:
                yield out
            if used == 0:
                if eof:
                    return
                want *= 2  # a line longer than the window: read more of it at once
            else:
                want = _CHUNK


def _cursor(log_path: Path, index: Index, opts: LogOptions, now_ns: int) -> _Cursor:
    fmt = Formatter(
        index,
        now_ns=now_ns,
        timestamps=opts.timestamps,
        since_ns=opts.since_ns(now_ns),
        limit_bytes=opts.limit_bytes,
    )
    return _Cursor(log_path, fmt)


def read(
    log_path: Path, index_path: Path, opts: LogOptions, now: datetime, *, running: bool = False
) -> bytes:
    """The backlog as one answer (``follow`` is ignored)."""
    index = Index()
    index.refresh(index_path)
    cursor = _cursor(log_path, index, opts, unix_ns(now))
    try:
        cursor.seek_start(opts, final=not running)
        return b"".join(cursor.drain(final=not running))
    finally:
        cursor.close()


async def follow(
    log_path: Path,
    index_path: Path,
    opts: LogOptions,
    running: Callable[[], bool],
    poll: float = 0.1,
    *,
    clock: Clock | None = None,
) -> AsyncGenerator[bytes, None]:
    """The backlog, then (with ``opts.follow``) new lines every ``poll`` seconds until
    ``running()`` is False and the file is drained. Without ``opts.follow`` only the
    backlog, streamed in chunks."""
    clock = clock or RealClock()
    index = Index()
    index.refresh(index_path)
    cursor = _cursor(log_path, index, opts, unix_ns(clock.now()))
    try:
        alive = running()
        cursor.seek_start(opts, final=not alive)
        for chunk in cursor.drain(final=not alive):
            yield chunk
        while opts.follow and alive and not cursor.fmt.done:
            await clock.sleep(poll)
            alive = running()
            index.refresh(index_path)
            cursor.fmt.now_ns = unix_ns(clock.now())
            for chunk in cursor.drain(final=not alive):
                yield chunk
    finally:
        cursor.close()
