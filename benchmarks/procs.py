"""Processes the runner starts, and how they end.

Every server and load generator starts in its own session, so its process group holds exactly
it and its descendants (nginx workers, HAProxy threads). The group id (= the leader's PID) is
what the busy guard counts as "ours" and what we signal to end it: SIGTERM to the group, SIGKILL
after a grace period, then SIGKILL to any member left behind. The leader is reaped only after
its group is empty, so the group id cannot be reused by an unrelated process while we signal it.
``Processes`` is a context manager that ends everything it started, also on Ctrl-C or an
exception; nothing is ever signalled by name.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

PROC = Path("/proc")


def wrap(argv: Sequence[str], *, cpu: int | None = None, netns: str | None = None) -> list[str]:
    """``argv`` run inside network namespace ``netns`` and pinned to core ``cpu``.

    Both wrappers exec their command, so the PID we get is the program's own.
    """
    prefix: list[str] = []
    if netns is not None:
        prefix += ["ip", "netns", "exec", netns]
    if cpu is not None:
        prefix += ["taskset", "-c", str(cpu)]
    return prefix + list(argv)


@dataclass
class Started:
    """A process we started, with where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, limit: int = 2000) -> str:
        """The end of its stderr and stdout, for error messages."""
        parts = []
        for path in (self.stderr, self.stdout):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                parts.append(text[-limit:])
        return "\n".join(parts).strip()


@dataclass(frozen=True)
class Finished:
    """A load generator's exit status and output."""

    returncode: int
    stdout: Path
    stderr: str

    def text(self) -> str:
        return self.stdout.read_text(errors="replace")


class CommandFailed(RuntimeError):
    """A command we ran exited non-zero or timed out."""


class Processes:
    """Starts processes in their own process groups and ends every one of them."""

    def __init__(self, log_dir: Path, *, record: Path | None = None) -> None:
        """Logs go to ``log_dir``; each new process group id is appended to ``record``, if
        given, as it starts (so a leak check can find them even after a crash)."""
        self._log_dir = log_dir
        self._record = record
        self._live: dict[int, Started] = {}
        self._history: set[int] = set()
        self._counter = 0

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    @property
    def pgids(self) -> frozenset[int]:
        """Process groups started and not yet ended."""
        return frozenset(self._live)

    @property
    def history(self) -> frozenset[int]:
        """Every process group ever started here (to check that none outlives the run)."""
        return frozenset(self._history)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cpu: int | None = None,
        netns: str | None = None,
        stdout: Path | None = None,
    ) -> Started:
        """Start ``argv`` in a new session; its output goes to files in the log directory."""
        self._counter += 1
        base = self._log_dir / f"{self._counter:03d}-{name}"
        out_path = stdout if stdout is not None else base.with_suffix(".out")
        err_path = base.with_suffix(".err")
        command = wrap(argv, cpu=cpu, netns=netns)
        logger.debug("starting process name=%s argv=%s", name, command)
        with out_path.open("wb") as out, err_path.open("wb") as err:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        started = Started(name=name, popen=popen, stdout=out_path, stderr=err_path)
        self._live[popen.pid] = started
        self._history.add(popen.pid)
        if self._record is not None:
            with self._record.open("a") as record:
                record.write(f"{popen.pid}\n")
        return started

    def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        timeout: float,
        cpu: int | None = None,
        netns: str | None = None,
        stdout: Path | None = None,
        check: bool = True,
    ) -> Finished:
        """Run ``argv`` to completion (at most ``timeout`` seconds) and return its output."""
        started = self.start(name, argv, cpu=cpu, netns=netns, stdout=stdout)
        try:
            exited = _wait_exit(started.pid, timeout)
        except BaseException:
            self.stop(started)
            raise
        self.stop(started)  # reaps it and any member of its group left behind
        returncode = started.popen.returncode
        stderr = started.stderr.read_text(errors="replace")
        if check and (not exited or returncode != 0):
            what = "timed out" if not exited else f"exited with {returncode}"
            raise CommandFailed(f"{name} {what}: {started.log_tail()}")
        return Finished(returncode=returncode, stdout=started.stdout, stderr=stderr)

    def alive(self, started: Started) -> bool:
        """Whether the process has not exited yet (it is not reaped by this check)."""
        return started.popen.returncode is None and not _exited(started.pid)

    def stop(self, started: Started, grace: float = 5.0) -> None:
        """End ``started``'s whole process group and reap its leader.

        Ctrl-C and SIGTERM wait until it is done, so that a second Ctrl-C during clean-up
        cannot leave a process behind.
        """
        with signals_deferred():
            self._stop(started, grace)

    def _stop(self, started: Started, grace: float) -> None:
        pgid = started.pid
        if started.popen.returncode is None:
            if not _exited(pgid):
                _signal_group(pgid, signal.SIGTERM)
                if not _wait_exit(pgid, grace):
                    logger.warning("process ignored SIGTERM name=%s pid=%d", started.name, pgid)
                    _signal_group(pgid, signal.SIGKILL)
                    _wait_exit(pgid, grace)
            # The leader has exited but is not reaped, so ``pgid`` still names our group.
            if group_members(pgid, exclude=pgid):
                _signal_group(pgid, signal.SIGKILL)
                _wait_group_empty(pgid, grace)
            started.popen.wait()
        self._live.pop(pgid, None)

    def leftovers(self) -> list[int]:
        """Processes still alive in any group ever started here (should be none after
        ``stop_all``)."""
        return [pid for pgid in sorted(self._history) for pid in group_members(pgid)]

    def stop_all(self) -> None:
        """End every process still running, newest first (proxies before their backends)."""
        for started in reversed(list(self._live.values())):
            try:
                self.stop(started)
            except Exception:
                logger.exception("could not stop process name=%s", started.name)


DEFERRED = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (they are delivered then)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def group_members(pgid: int, *, exclude: int | None = None, proc: Path = PROC) -> list[int]:
    """PIDs of the live processes in process group ``pgid``."""
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _exited(pid: int) -> bool:
    """Whether child ``pid`` has exited, without reaping it."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None and info.si_pid == pid


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` s for child ``pid`` to exit, without reaping it."""
    deadline = time.monotonic() + timeout
    pause = 0.002
    while not _exited(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return True


def _wait_group_empty(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while group_members(pgid, exclude=pgid) and time.monotonic() < deadline:
        time.sleep(0.01)
