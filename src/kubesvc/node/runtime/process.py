"""The process runtime: each container a session of its own on the host.

A container is the wrapper (``wrapper``) running the container's command,
started as a new session (``setsid``): stdout and stderr appended (one open
file, ``O_APPEND``) to its log, the command's stdin /dev/null, the exit file
as the wrapper's fd 0. The agent holds no pipe to it, so the container
survives the agent being killed and never gets SIGPIPE from it.

``ProcessRuntime`` ties the parts together; each lives in a module of its own:

* ``records``: ``<attempt>.json`` and ``<attempt>.exit``. ``start`` records a
  container (pending) before it makes anything on the host, then with its PID;
  ``adopt`` returns the complete records and undoes the pending ones;
* ``wrapper``: the wrapper's command line and what its statuses mean;
* ``podsetup``: mounts and namespaces, decided as an ``nsenter.ChildSetup``,
  and the mount points made for (and removed with) containers;
* ``spawn``: starting a process after its setup (preexec or launcher);
* ``watch``: seeing a container's wrapper end (pidfd, else /proc polling).

The PID is paired with the process's start time (``procfs``) wherever it is
used, so a reused PID is never signalled. When the wrapper ends, what is left
of its process group and cgroups is killed: a container ends with its main
process, as in a PID namespace. ``stop`` sends SIGTERM only once the command
has been exec'd (``wrapper.term_reaches_command``), waiting at most
``SETTLE_SECONDS`` for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kubesvc import __version__
from kubesvc.node.layout import StateDir
from kubesvc.node.runtime import cgroups as cg
from kubesvc.node.runtime import nsenter, procfs
from kubesvc.node.runtime.base import (
    ContainerHandle,
    ContainerSpec,
    ExecResult,
    ExitStatus,
    Mount,
    StartError,
)
from kubesvc.node.runtime.nsenter import RUN_ERROR
from kubesvc.node.runtime.podsetup import (
    CREATE_ERROR,
    MountPlan,
    container_setup,
    exec_binds,
    in_use,
    make_mountpoints,
    namespace_differs,
    plan_mounts,
    pod_setup,
    remove_created,
    sandbox_mounts,
)
from kubesvc.node.runtime.records import (
    RECORDS,
    RuntimeExtras,
    exit_file_of,
    parse_exit_file,
    try_read_record,
    write_record,
)
from kubesvc.node.runtime.spawn import kill_group, run_to_end, spawn
from kubesvc.node.runtime.watch import ExitWatches, within
from kubesvc.node.runtime.wrapper import (
    Signals,
    container_env,
    exit_status,
    term_reaches_command,
    wrapper_argv,
)
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.util.clock import Clock, RealClock

log = logging.getLogger(__name__)

ID_PREFIX = "kubesvc://"
SETTLE_SECONDS = 0.2
"""Longest ``stop`` waits for a just-started wrapper to have exec'd the command (see
``term_reaches_command``)."""


@dataclass
class _Started:
    """A child of this agent: reaped by it once it exits."""

    popen: subprocess.Popen[bytes]


class ProcessRuntime:
    """``ContainerRuntime`` for processes on this host (see the module docstring)."""

    name = f"process://{__version__}"

    def __init__(
        self,
        state: StateDir,
        *,
        clock: Clock | None = None,
        cgroups: bool | cg.Cgroups = True,
        launcher: bool = False,
        shell: str = "/bin/sh",
    ) -> None:
        self._state = state
        self._clock: Clock = clock or RealClock()
        self._launcher = launcher
        self._shell = shell
        self.cgroup_reason: str | None = None
        """Why limits are not enforced (None when they are); for the agent's Event."""
        self._cgroups: cg.Cgroups | None
        if isinstance(cgroups, cg.Cgroups):
            self._cgroups = cgroups
        elif cgroups:
            layout = cg.detect()
            if isinstance(layout, str):
                self._cgroups, self.cgroup_reason = None, layout
            else:
                self._cgroups = cg.Cgroups(layout)
        else:
            self._cgroups, self.cgroup_reason = None, "cgroups are disabled for this runtime"
        self._children: dict[str, _Started] = {}
        self._watches = ExitWatches(self._finish, self._clock)
        self._extras: dict[str, RuntimeExtras] = {}
        self._starting: set[str] = set()
        self._removed: set[str] = set()

    # ------------------------------------------------------------ start

    async def start(self, spec: ContainerSpec) -> ContainerHandle:
        pod = self._state.pod(spec.pod_uid)
        is_root = os.geteuid() == 0
        if spec.mounts and not is_root:
            raise StartError(
                RUN_ERROR,
                f'cannot mount volumes into container "{spec.name}": '
                "mounts need the node agent to run as root",
            )
        if not spec.argv:
            raise StartError(CREATE_ERROR, f'container "{spec.name}" has no command')
        log_path = spec.log_path if spec.log_path != Path() else pod.log(spec.name, spec.attempt)
        record_path = pod.container_record(spec.name, spec.attempt)
        exit_path = pod.exit_file(spec.name, spec.attempt)
        env = container_env(spec.env)
        cwd = spec.working_dir or str(pod.root)

        mounts: list[Mount] = []
        if is_root:
            mounts.extend(sandbox_mounts(spec.sandbox))
        mounts.extend(spec.mounts)
        plan = plan_mounts(mounts, os.path.lexists, os.path.isdir)
        cgroup_dirs = (
            self._cgroups.dirs(spec.pod_uid, spec.name, spec.attempt) if self._cgroups else ()
        )
        uid, gid = spec.run_as if spec.run_as is not None else (None, None)
        extras = RuntimeExtras(
            cgroups=tuple(str(d) for d in cgroup_dirs),
            created=tuple(p for p, _ in plan.create),
            mountpoints=plan.mountpoints,
            uid=uid,
            gid=gid,
            cwd=cwd,
        )
        container_id = ID_PREFIX + secrets.token_hex(8)
        handle = ContainerHandle(
            container_id=container_id,
            pod_uid=spec.pod_uid,
            name=spec.name,
            attempt=spec.attempt,
            pid=0,
            start_ticks=0,
            started_at=0.0,
            log_path=log_path,
            record_path=record_path,
            init=bool(getattr(spec, "init", False)),
        )
        self._starting.add(container_id)
        try:
            try:
                pod.root.mkdir(parents=True, exist_ok=True)
                record_path.parent.mkdir(parents=True, exist_ok=True)
                log_path.parent.mkdir(parents=True, exist_ok=True)
                write_record(handle, extras)  # pending: before anything is made
            except OSError as e:
                raise StartError(CREATE_ERROR, f"cannot record container: {e}") from None
            try:
                setup = self._prepare(spec, plan, cgroup_dirs, extras, env)
                popen = await self._spawn(spec.argv, env, setup, log_path, exit_path)
            except BaseException:
                self._undo(handle, extras)
                raise
            ticks = procfs.start_ticks(popen.pid) or 0
            handle = replace(handle, pid=popen.pid, start_ticks=ticks, started_at=self._now())
            write_record(handle, extras)
        finally:
            self._starting.discard(container_id)
        self._children[container_id] = _Started(popen)
        self._extras[container_id] = extras
        log.debug("container started id=%s pid=%d", container_id, popen.pid)
        return handle

    def _prepare(
        self,
        spec: ContainerSpec,
        plan: MountPlan,
        cgroup_dirs: Sequence[Path],
        extras: RuntimeExtras,
        env: dict[str, str],
    ) -> nsenter.ChildSetup:
        """Make what the container needs on the host (already recorded); say what its child
        does before exec."""
        try:
            make_mountpoints(plan.create)
        except OSError as e:
            raise StartError(CREATE_ERROR, f"cannot create mount point: {e}") from None
        procs: tuple[Path, ...] = ()
        if self._cgroups is not None and cgroup_dirs:
            try:
                procs = self._cgroups.create(cgroup_dirs, spec.limits)
            except OSError as e:
                raise StartError(CREATE_ERROR, f"cannot create cgroup: {e}") from None
        return pod_setup(
            spec.sandbox,
            plan.binds,
            executable=spec.argv[0],
            path=env["PATH"],
            cwd=extras.cwd,
            cgroup_procs=tuple(str(p) for p in procs),
            uid=extras.uid,
            gid=extras.gid,
        )

    async def _spawn(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        setup: nsenter.ChildSetup,
        log_path: Path,
        exit_path: Path,
    ) -> subprocess.Popen[bytes]:
        """Start the wrapper running ``argv``, its exit file as fd 0 and its log as 1 and 2."""
        # Both opened here, as the agent: the wrapper may run as a user who could not.
        try:
            exit_fd = os.open(
                exit_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644
            )
        except OSError as e:
            raise StartError(CREATE_ERROR, f"cannot create the exit file: {e}") from None
        try:
            log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as e:
            os.close(exit_fd)
            raise StartError(CREATE_ERROR, f"cannot open the container's log: {e}") from None
        try:
            return await spawn(
                wrapper_argv(self._shell, argv),
                env,
                setup,
                (exit_fd, log_fd, log_fd),
                launcher=self._launcher,
            )
        finally:
            os.close(log_fd)
            os.close(exit_fd)

    def _undo(self, handle: ContainerHandle, extras: RuntimeExtras) -> None:
        """Remove what a failed start made (its record last)."""
        if extras.cgroups:
            cg.remove(Path(d) for d in extras.cgroups)
        self._release_mountpoints(handle, extras)
        exit_file_of(handle).unlink(missing_ok=True)
        handle.record_path.unlink(missing_ok=True)

    # ------------------------------------------------------------ observe

    def running(self, handle: ContainerHandle) -> bool:
        if self._watches.exited(handle.container_id):
            return False
        return procfs.is_alive(handle.pid, handle.start_ticks)

    async def wait(self, handle: ContainerHandle) -> ExitStatus:
        return await asyncio.shield(self._watches.watch(handle))

    def _finish(self, handle: ContainerHandle) -> ExitStatus:
        """The leader has exited: end what is left of the container, reap, read the status."""
        cid = handle.container_id
        started = self._children.pop(cid, None)
        extras = self._extras_of(handle)
        dirs = [Path(d) for d in extras.cgroups]
        if started is not None:
            # Our zombie still holds the group's number: killpg cannot reach a stranger.
            kill_group(handle.pid, signal.SIGKILL)
        elif handle.pid > 0 and _number_not_reused(handle):
            _kill(procfs.group_members(handle.pid, handle.start_ticks))
        cg.kill_members(dirs)
        waited = started.popen.wait() if started is not None else None
        exit_path = exit_file_of(handle)
        recorded: int | None = None
        finished = self._now()
        try:
            recorded = parse_exit_file(exit_path.read_text())
            if recorded is not None:
                finished = exit_path.stat().st_mtime
        except OSError:
            pass
        status = exit_status(recorded, waited, cg.oom_killed(dirs), finished)
        if recorded is None and cid not in self._removed and handle.record_path.exists():
            with contextlib.suppress(OSError):
                exit_path.write_text(f"{status.exit_code}\n")
                os.utime(exit_path, (finished, finished))
        log.debug("container exited id=%s code=%d", cid, status.exit_code)
        return status

    def _extras_of(self, handle: ContainerHandle) -> RuntimeExtras:
        extras = self._extras.get(handle.container_id)
        if extras is None:
            record = try_read_record(handle.record_path)
            extras = record[1] if record is not None else RuntimeExtras()
            self._extras[handle.container_id] = extras
        return extras

    # ------------------------------------------------------------ stop

    async def stop(self, handle: ContainerHandle, grace: float) -> ExitStatus:
        exited = self._watches.watch(handle)
        if exited.done():
            return exited.result()
        await self._settle(handle, exited)
        self._signal(handle, signal.SIGTERM)
        if grace > 0:
            await within(self._clock, exited, grace)
        if not exited.done():
            self._signal(handle, signal.SIGKILL)
        return await asyncio.shield(exited)

    async def _settle(self, handle: ContainerHandle, exited: asyncio.Future[ExitStatus]) -> None:
        """Wait (briefly, only right after a start) until SIGTERM would reach the command."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while not exited.done() and loop.time() < deadline:
            wrapper = _signals(handle.pid)
            kids = procfs.children(handle.pid) if wrapper is not None else []
            child = _signals(kids[0]) if kids else None
            if term_reaches_command(wrapper, child):
                return
            await asyncio.sleep(0.001)

    def _signal(self, handle: ContainerHandle, sig: int) -> None:
        """Signal the container's group, while its recorded PID still names its wrapper."""
        if handle.pid > 0 and procfs.is_same(handle.pid, handle.start_ticks):
            kill_group(handle.pid, sig)

    # ------------------------------------------------------------ adopt, remove

    def adopt(self) -> list[ContainerHandle]:
        handles: list[ContainerHandle] = []
        for path in sorted(self._state.pods.glob(RECORDS)):
            record = try_read_record(path)
            if record is None:
                log.warning("unreadable container record path=%s", path)
                continue
            handle, extras = record
            if handle.container_id in self._starting:
                continue
            if handle.pid <= 0:
                log.info("removing a container that never started path=%s", path)
                self._undo(replace(handle, record_path=path), extras)
                continue
            self._extras.setdefault(handle.container_id, extras)
            handles.append(handle)
        return handles

    def remove(self, handle: ContainerHandle) -> None:
        cid = handle.container_id
        self._removed.add(cid)
        extras = self._extras_of(handle)
        started = self._children.pop(cid, None)
        self._signal(handle, signal.SIGKILL)
        if started is not None:
            try:
                started.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("container did not die on SIGKILL id=%s", cid)
        if extras.cgroups:
            cg.remove(Path(d) for d in extras.cgroups)
        self._release_mountpoints(handle, extras)
        exit_file_of(handle).unlink(missing_ok=True)
        handle.record_path.unlink(missing_ok=True)
        self._extras.pop(cid, None)
        self._watches.forget(cid)

    def _release_mountpoints(self, handle: ContainerHandle, extras: RuntimeExtras) -> None:
        """Remove the mount points this container made, unless another recorded container
        uses one (at or below it): that container's record takes it over."""
        if not extras.created:
            return
        others: list[tuple[Path, ContainerHandle, RuntimeExtras]] = []
        for path in self._state.pods.glob(RECORDS):
            if path == handle.record_path:
                continue
            record = try_read_record(path)
            if record is not None:
                others.append((path, *record))
        remaining = list(extras.created)
        for path, other, other_extras in others:
            taken = [p for p in remaining if in_use(p, other_extras.mountpoints)]
            if not taken:
                continue
            merged = replace(other_extras, created=(*other_extras.created, *taken))
            write_record(replace(other, record_path=path), merged)
            self._extras[other.container_id] = merged
            remaining = [p for p in remaining if p not in taken]
        remove_created(remaining)

    async def cleanup(self) -> None:
        """``kubesvc node --cleanup``: kill and remove every recorded container, then the
        cgroups of every pod under the state directory (leaving other agents' alone)."""
        for handle in self.adopt():
            await self.stop(handle, 0)
            self.remove(handle)
        if self._cgroups is not None and self._state.pods.is_dir():
            for pod in self._state.pods.iterdir():
                for h in self._cgroups.layout.hierarchies:
                    cg.remove_tree(h.base / pod.name)

    # ------------------------------------------------------------ exec

    async def exec(
        self,
        sandbox: SandboxInfo,
        argv: tuple[str, ...],
        env: dict[str, str],
        timeout: float,  # noqa: ASYNC109 (the protocol's name; the clock enforces it)
        *,
        handle: ContainerHandle | None = None,
    ) -> ExecResult:
        """Run ``argv`` in the pod's namespaces; with ``handle`` (a running container),
        in that container's namespaces, cgroups, user and working directory."""
        if not argv:
            return ExecResult(exit_code=127, output=b"exec: no command")
        env = container_env(env)
        setup = self._exec_setup(sandbox, argv, env, handle)
        out_r, out_w = os.pipe()
        try:
            stdio = (subprocess.DEVNULL, out_w, out_w)
            popen = await spawn(list(argv), env, setup, stdio, launcher=self._launcher)
        except StartError as e:
            os.close(out_r)
            code = 126 if "permission denied" in e.message else 127
            return ExecResult(exit_code=code, output=e.message.encode())
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
        return await run_to_end(popen, out_r, timeout, self._clock)

    def _exec_setup(
        self,
        sandbox: SandboxInfo,
        argv: tuple[str, ...],
        env: dict[str, str],
        handle: ContainerHandle | None,
    ) -> nsenter.ChildSetup:
        pod_dir = (
            sandbox.pod_dir if sandbox.pod_dir != Path() else self._state.pod(sandbox.pod_uid).root
        )
        cwd = str(pod_dir) if pod_dir.is_dir() else "/"
        is_root = os.geteuid() == 0
        if handle is not None and is_root and procfs.is_alive(handle.pid, handle.start_ticks):
            return container_setup(
                handle.pid,
                self._extras_of(handle),
                executable=argv[0],
                path=env["PATH"],
                cwd=cwd,
                differs=namespace_differs,
            )
        return pod_setup(
            sandbox, exec_binds(sandbox), executable=argv[0], path=env["PATH"], cwd=cwd
        )

    # ------------------------------------------------------------ helpers

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _number_not_reused(handle: ContainerHandle) -> bool:
    """The recorded PID is still the container's wrapper, or names no process at all."""
    stat = procfs.read_stat(handle.pid)
    return stat is None or stat.start_ticks == handle.start_ticks


def _signals(pid: int) -> Signals | None:
    caught = procfs.caught_signals(pid)
    return None if caught is None else Signals(procfs.executable(pid), caught)
