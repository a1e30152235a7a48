"""What the process runtime reads from /proc: start ticks, liveness, group members.

A PID alone does not name a process for long: once it is reaped the kernel may
hand the number to another. Every check here therefore pairs a PID with its
start time (field 22 of ``/proc/<pid>/stat``, clock ticks since boot), which
never changes over a process's life, ``exec`` included, and differs for a
later process with the same number.

Parsing is pure (``parse_stat``); the rest are thin readers around it. Nothing
here signals or changes a process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    """One letter: R, S, D, Z (zombie: exited, not yet reaped), T, ..."""
    ppid: int
    pgrp: int
    session: int
    start_ticks: int

    @property
    def exited(self) -> bool:
        return self.state in ("Z", "X", "x")


def parse_stat(text: str) -> ProcStat:
    """Parse ``/proc/<pid>/stat``. The command name (field 2) may hold spaces and
    parentheses, so fields are counted from the last ``)``."""
    open_paren = text.index("(")
    close_paren = text.rindex(")")
    pid = int(text[:open_paren])
    rest = text[close_paren + 2 :].split()
    # rest[0] is field 3 (state); field N is rest[N - 3]
    return ProcStat(
        pid=pid,
        state=rest[0],
        ppid=int(rest[1]),
        pgrp=int(rest[2]),
        session=int(rest[3]),
        start_ticks=int(rest[19]),
    )


def read_stat(pid: int, proc: Path = PROC) -> ProcStat | None:
    """The process's stat, or None when no process has this PID."""
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None


def start_ticks(pid: int, proc: Path = PROC) -> int | None:
    stat = read_stat(pid, proc)
    return stat.start_ticks if stat is not None else None


def is_alive(pid: int, ticks: int, proc: Path = PROC) -> bool:
    """The process started at ``ticks`` with this PID exists and has not exited."""
    stat = read_stat(pid, proc)
    return stat is not None and stat.start_ticks == ticks and not stat.exited


def is_same(pid: int, ticks: int, proc: Path = PROC) -> bool:
    """This PID still names the process started at ``ticks`` (running or a zombie)."""
    stat = read_stat(pid, proc)
    return stat is not None and stat.start_ticks == ticks


def group_members(leader: int, since_ticks: int, proc: Path = PROC) -> list[int]:
    """Live processes in the process group or session led by ``leader`` (other than it),
    started no earlier than the leader: a container's descendants that kept its group.

    The start-time bound keeps out an unrelated process that happens to reuse the
    leader's number as its group after the leader is gone.
    """
    members: list[int] = []
    try:
        entries = os.listdir(proc)
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == leader:
            continue
        stat = read_stat(pid, proc)
        if stat is None or stat.exited or stat.start_ticks < since_ticks:
            continue
        if leader in (stat.pgrp, stat.session):
            members.append(pid)
    return members


def parse_caught_signals(status_text: str) -> int:
    """The ``SigCgt`` mask of /proc/<pid>/status: bit N-1 set when signal N has a handler."""
    for line in status_text.splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    return 0


def caught_signals(pid: int, proc: Path = PROC) -> int | None:
    try:
        return parse_caught_signals((proc / str(pid) / "status").read_text())
    except (OSError, ValueError, IndexError):
        return None


def executable(pid: int, proc: Path = PROC) -> str:
    try:
        return os.readlink(proc / str(pid) / "exe")
    except OSError:
        return ""


def children(pid: int, proc: Path = PROC) -> list[int]:
    """The process's children (its main thread's, which is all a shell has)."""
    try:
        return [
            int(p) for p in (proc / str(pid) / "task" / str(pid) / "children").read_text().split()
        ]
    except (OSError, ValueError):
        pass
    found: list[int] = []
    for entry in os.listdir(proc):
        if entry.isdigit():
            stat = read_stat(int(entry), proc)
            if stat is not None and stat.ppid == pid:
                found.append(stat.pid)
    return found
