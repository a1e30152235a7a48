"""Starting a process as a session of its own after its ``nsenter.ChildSetup``, and running
an exec'd one to its end.

Namespaces, mounts, user and cgroup joining happen in the child between fork
and exec, in one of two ways:

* as subprocess's ``preexec_fn`` (the default), in a worker thread, since fork
  plus setup can take milliseconds (joining a cgroup waits for RCU);
* through a launcher process (``python nsenter.py``, ``launcher=True``) that
  applies the setup and execs the command.

With nothing to do there (loopback mode, no cgroups), subprocess spawns with
vfork and the executable and working directory are checked in the parent
instead. Either way a setup failure comes back (through an error pipe) as a
``StartError`` worded like runc's, and nothing is left running.

Every process is a new session (``setsid``), so its PID names its process
group: ``kill_group`` reaches everything it started that kept the group.
``run_to_end`` collects an exec's output (capped, as kubelet caps a probe's)
until it exits or its deadline on the injected clock passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace

from kubesvc.node.runtime import nsenter
from kubesvc.node.runtime.base import ExecResult, StartError
from kubesvc.node.runtime.nsenter import RUN_ERROR
from kubesvc.node.runtime.watch import set_done, within
from kubesvc.util.clock import Clock

Stdio = tuple[int, int, int]
"""The new process's stdin, stdout and stderr."""

PROBE_OUTPUT_CAP = 10 * 1024
"""Exec output kept (kubelet keeps 10 KiB of a probe's output)."""
DRAIN_SECONDS = 0.5
"""How long exec waits for output after its process ended (a detached child may hold the pipe)."""


async def spawn(
    argv: list[str],
    env: dict[str, str],
    setup: nsenter.ChildSetup,
    stdio: Stdio,
    *,
    launcher: bool,
) -> subprocess.Popen[bytes]:
    """Spawn ``argv`` as a new session after ``setup``; a setup failure raises StartError."""
    if setup.empty:
        return _spawn_direct(argv, env, setup, stdio)  # vfork: well under 1 ms
    if not launcher:
        # fork + setup can take milliseconds (joining a cgroup waits for RCU): not on the loop.
        loop = asyncio.get_running_loop()
        spawning = loop.run_in_executor(
            None, functools.partial(_spawn_direct, argv, env, setup, stdio)
        )
        try:
            return await asyncio.shield(spawning)
        except asyncio.CancelledError:
            with contextlib.suppress(StartError):
                kill_group_and_reap(await spawning)
            raise
    err_r, err_w = os.pipe()
    try:
        popen = _spawn_launcher(argv, env, setup, stdio, err_w)
        os.close(err_w)
        err_w = -1
        try:
            failure = await _read_to_eof(err_r)
        except BaseException:
            kill_group_and_reap(popen)
            raise
    finally:
        if err_w >= 0:
            os.close(err_w)
        os.close(err_r)
    if failure:
        await asyncio.to_thread(popen.wait)
        err = nsenter.SetupError.decode(failure)
        raise StartError(err.reason, err.message)
    return popen


def _spawn_direct(
    argv: list[str], env: dict[str, str], setup: nsenter.ChildSetup, stdio: Stdio
) -> subprocess.Popen[bytes]:
    """Fork and exec (returns once ``argv`` runs), with ``setup`` as the preexec_fn; with
    nothing to set up, check the executable and directory here and let subprocess vfork."""
    failed = f'exec: "{argv[0]}"'
    if setup.empty:
        try:
            nsenter.find_executable(setup.executable, setup.path, setup.cwd)
        except nsenter.SetupError as e:
            raise StartError(e.reason, e.message) from None
        if not os.path.isdir(setup.cwd):
            raise StartError(
                RUN_ERROR, f'chdir to cwd ("{setup.cwd}") failed: no such file or directory'
            )
        return _session(argv, env, stdio, failed, cwd=setup.cwd)
    err_r, err_w = os.pipe()
    try:
        try:
            preexec = functools.partial(nsenter.preexec, setup, err_w)
            return _session(argv, env, stdio, failed, preexec_fn=preexec)
        except subprocess.SubprocessError:
            # The child wrote why before subprocess reaped it.
            os.close(err_w)
            err_w = -1
            err = nsenter.SetupError.decode(_read_now(err_r))
            raise StartError(err.reason, err.message) from None
    finally:
        if err_w >= 0:
            os.close(err_w)
        os.close(err_r)


def _spawn_launcher(
    argv: list[str],
    env: dict[str, str],
    setup: nsenter.ChildSetup,
    stdio: Stdio,
    err_w: int,
) -> subprocess.Popen[bytes]:
    """Start the launcher (``nsenter.main``): it applies ``setup`` and execs ``argv``."""
    launcher = [
        sys.executable,
        "-I",
        "-S",
        nsenter.__file__,
        replace(setup, env=env).to_json(),
        str(err_w),
        "--",
        *argv,
    ]
    return _session(launcher, {}, stdio, "cannot start the launcher", pass_fds=(err_w,))


def _session(
    argv: list[str],
    env: dict[str, str],
    stdio: Stdio,
    failed: str,
    *,
    cwd: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    """``Popen`` as a new session; an OS error raises StartError as ``failed: why``."""
    try:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=stdio[0],
            stdout=stdio[1],
            stderr=stdio[2],
            start_new_session=True,
            preexec_fn=preexec_fn,
            pass_fds=pass_fds,
        )
    except OSError as e:
        raise StartError(RUN_ERROR, f"{failed}: {nsenter.why(e)}") from None


async def run_to_end(
    popen: subprocess.Popen[bytes], out_r: int, seconds: float, clock: Clock
) -> ExecResult:
    """Collect ``popen``'s output from ``out_r`` (closed after) until it exits, or kill it
    once ``seconds`` have passed; then kill what it left in its group. Cancelled: it is
    killed and reaped."""
    loop = asyncio.get_running_loop()
    output = _CappedReader(loop, out_r, PROBE_OUTPUT_CAP)
    exited: asyncio.Future[None] = loop.create_future()
    pidfd = os.pidfd_open(popen.pid)

    def on_exit() -> None:
        loop.remove_reader(pidfd)
        set_done(exited)

    loop.add_reader(pidfd, on_exit)
    timed_out = False
    try:
        timed_out = not await within(clock, exited, seconds)
        # The exec'd process's zombie keeps its group's number: kill what it left behind.
        kill_group(popen.pid, signal.SIGKILL)
        if timed_out:
            await exited
        code = popen.wait()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(output.eof), DRAIN_SECONDS)
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        output.close(loop)
        if popen.returncode is None:  # cancelled: the command goes with the caller
            kill_group_and_reap(popen)
    exit_code = 128 - code if code < 0 else code
    return ExecResult(exit_code=exit_code, output=output.data, timed_out=timed_out)


def kill_group(pid: int, sig: int) -> None:
    """Signal the process group ``pid`` leads, if it (still) exists and may be signalled."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_group_and_reap(popen: subprocess.Popen[bytes]) -> None:
    kill_group(popen.pid, signal.SIGKILL)
    popen.wait()


class _CappedReader:
    """Reads a pipe to EOF on the event loop, keeping the first ``cap`` bytes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, cap: int) -> None:
        self.fd = fd
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.eof: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)[: self.cap]

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            if self.size < self.cap:
                self.chunks.append(data)
                self.size += len(data)
            return
        asyncio.get_running_loop().remove_reader(self.fd)
        set_done(self.eof)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_reader(self.fd)
        os.close(self.fd)
        self.eof.cancel()


async def _read_to_eof(fd: int) -> bytes:
    """Everything written to a pipe until its last writer closes it, without blocking."""
    loop = asyncio.get_running_loop()
    reader = _CappedReader(loop, fd, 1 << 16)
    try:
        await reader.eof
    finally:
        loop.remove_reader(fd)
    return reader.data


def _read_now(fd: int) -> bytes:
    """A pipe whose writers are all gone, read to EOF."""
    chunks: list[bytes] = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)
