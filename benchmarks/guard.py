"""The busy-machine guard: did something other than our processes use the cores we measured on?

A measurement on a shared 2-core machine is only worth reporting if the cores were ours. Before
and after each measurement we sample

- ``/proc/stat``: busy, idle and steal ticks per core (``busy`` = user + nice + system + irq +
  softirq; guest time is already inside user);
- the CPU ticks of our own processes: this runner (its own time plus that of the children it
  has reaped, such as a finished wrk) and every live process in a process group we created
  (servers with all their workers and threads);
- the CPU ticks of kernel threads (ksoftirqd, kworkers), which mostly carry our own network
  load and are therefore not counted against the run;
- ``/proc/loadavg``, recorded for the reader.

Foreign time = busy ticks on the watched cores - our ticks - kernel-thread ticks. Because the
runner pins itself and everything it starts to the watched cores, our ticks all land there. If
the foreign share of the interval (or the hypervisor's steal share) exceeds its threshold the
measurement is repeated (bounded) or flagged. Parsing and the verdict are pure; ``take_sample``
is the only function that reads /proc.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
PF_KTHREAD = 0x00200000
"""The per-process flag of kernel threads (include/linux/sched.h)."""


@dataclass(frozen=True)
class CpuTicks:
    """Cumulative ticks of one core from /proc/stat."""

    busy: int
    idle: int
    steal: int

    @property
    def total(self) -> int:
        return self.busy + self.idle + self.steal


@dataclass(frozen=True)
class ProcTicks:
    """One process's CPU accounting from /proc/<pid>/stat (clock ticks)."""

    pid: int
    comm: str
    ppid: int
    pgid: int
    flags: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def own(self) -> int:
        return self.utime + self.stime

    @property
    def is_kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD) or self.pid == 2 or self.ppid == 2


@dataclass(frozen=True)
class GuardSample:
    """One reading of the machine, taken just before or just after a measurement."""

    cpus: Mapping[int, CpuTicks]
    ours: int
    """Ticks used so far by this runner, its reaped children and our live process groups."""
    kernel: int
    """Ticks used so far by live kernel threads."""
    loadavg: float
    """1-minute load average."""
    others: Mapping[int, tuple[str, int]] = field(default_factory=dict)
    """Other processes' ticks so far (pid -> (name, ticks)), to name the culprits."""


@dataclass(frozen=True)
class Verdict:
    """The guard's judgement of one measurement interval."""

    busy: bool
    foreign_share: float
    """Share of the watched cores' time used by other processes."""
    steal_share: float
    """Share of the watched cores' time stolen by the hypervisor."""
    kernel_share: float
    """Share used by kernel threads (not counted as foreign)."""
    ours_share: float
    loadavg_before: float
    loadavg_after: float
    reason: str = ""
    top_others: tuple[str, ...] = ()
    """The other processes that used most of the watched cores, e.g. ``python[412] 18%``."""


def parse_proc_stat(text: str) -> dict[int, CpuTicks]:
    """Per-core ticks from the text of /proc/stat (the ``cpuN`` lines)."""
    cores: dict[int, CpuTicks] = {}
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        fields = line.split()
        index = int(fields[0][3:])
        values = [int(v) for v in fields[1:]] + [0] * 10
        user, nice, system, idle, iowait, irq, softirq, steal = values[:8]
        cores[index] = CpuTicks(
            busy=user + nice + system + irq + softirq, idle=idle + iowait, steal=steal
        )
    return cores


def parse_pid_stat(text: str) -> ProcTicks:
    """The fields we need from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may itself hold spaces or parentheses, so
    the fields are counted from the last ``)``.
    """
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition("(")
    pid = int(pid_text)
    fields = rest.split()
    # rest starts at field 3 (state): ppid=4, pgrp=5, flags=9, utime..cstime=14..17.
    return ProcTicks(
        pid=pid,
        comm=comm,
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        flags=int(fields[6]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


@dataclass(frozen=True)
class Accounting:
    """A snapshot of all processes' ticks, split into ours, kernel threads' and others'."""

    ours: int
    kernel: int
    others: Mapping[int, tuple[str, int]]
    """Other processes: pid -> (command name, ticks so far)."""


def account(procs: Iterable[ProcTicks], self_pid: int, pgids: frozenset[int]) -> Accounting:
    """Split a snapshot of all processes.

    Ours: this runner (own time plus reaped children) and every process in one of ``pgids``.
    """
    ours = 0
    kernel = 0
    others: dict[int, tuple[str, int]] = {}
    for proc in procs:
        if proc.pid == self_pid:
            ours += proc.own + proc.cutime + proc.cstime
        elif proc.pgid in pgids:
            ours += proc.own
        elif proc.is_kernel_thread:
            kernel += proc.own
        elif proc.own:
            others[proc.pid] = (proc.comm, proc.own)
    return Accounting(ours=ours, kernel=kernel, others=others)


def assess(
    before: GuardSample,
    after: GuardSample,
    cpus: frozenset[int],
    foreign_threshold: float,
    steal_threshold: float,
) -> Verdict:
    """Judge the interval between two samples on the watched ``cpus``."""
    watched = [c for c in cpus if c in before.cpus and c in after.cpus]
    busy = sum(after.cpus[c].busy - before.cpus[c].busy for c in watched)
    steal = sum(after.cpus[c].steal - before.cpus[c].steal for c in watched)
    total = sum(after.cpus[c].total - before.cpus[c].total for c in watched)
    ours = after.ours - before.ours
    kernel = max(0, after.kernel - before.kernel)
    if total <= 0:
        return Verdict(
            busy=False,
            foreign_share=0.0,
            steal_share=0.0,
            kernel_share=0.0,
            ours_share=0.0,
            loadavg_before=before.loadavg,
            loadavg_after=after.loadavg,
            reason="interval too short to judge",
        )
    foreign = max(0, busy - ours - kernel)
    foreign_share = foreign / total
    steal_share = max(0, steal) / total
    culprits = top_others(before, after, total)
    reasons = []
    if foreign_share > foreign_threshold:
        named = f": {', '.join(culprits)}" if culprits else ""
        reasons.append(
            f"other processes used {foreign_share:.0%} of the measured cores "
            f"(limit {foreign_threshold:.0%}){named}"
        )
    if steal_share > steal_threshold:
        reasons.append(
            f"the hypervisor stole {steal_share:.0%} of the measured cores "
            f"(limit {steal_threshold:.0%})"
        )
    return Verdict(
        busy=bool(reasons),
        foreign_share=foreign_share,
        steal_share=steal_share,
        kernel_share=kernel / total,
        ours_share=min(ours, busy) / total,
        loadavg_before=before.loadavg,
        loadavg_after=after.loadavg,
        reason="; ".join(reasons),
        top_others=culprits,
    )


def top_others(
    before: GuardSample, after: GuardSample, total: int, limit: int = 3
) -> tuple[str, ...]:
    """The other processes that used the most ticks between two samples (at least 1%)."""
    used = []
    for pid, (comm, ticks) in after.others.items():
        start = before.others.get(pid, (comm, 0))[1]
        if ticks - start > 0:
            used.append((ticks - start, pid, comm))
    used.sort(reverse=True)
    return tuple(
        f"{comm}[{pid}] {delta / total:.0%}"
        for delta, pid, comm in used[:limit]
        if delta / total >= 0.01
    )


def take_sample(pgids: frozenset[int], proc: Path = PROC) -> GuardSample:
    """Read /proc now: per-core ticks, our ticks, kernel-thread ticks, load average."""
    cpus = parse_proc_stat((proc / "stat").read_text())
    snapshot = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            snapshot.append(parse_pid_stat((entry / "stat").read_text()))
        except (OSError, ValueError, IndexError):
            continue  # the process exited while we looked
    split = account(snapshot, os.getpid(), pgids)
    loadavg = float((proc / "loadavg").read_text().split()[0])
    return GuardSample(
        cpus=cpus, ours=split.ours, kernel=split.kernel, loadavg=loadavg, others=split.others
    )
