"""The process runtime: each container a session of its own on the host.

A container is ``/bin/sh -c WRAPPER sh ARGV...``, started as a new session
(``setsid``): stdout and stderr appended (one open file, ``O_APPEND``) to its
log, the command's stdin /dev/null. The agent holds no pipe to it, so the
container survives the agent being killed and never gets SIGPIPE from it.

The wrapper is a tiny shell script that runs ``ARGV`` as its child and writes
the child's status (a number, as a shell reports it: 128+N for signal N) to the
exit file beside the log; that is how an exit code outlives an agent restart.
The agent opens the exit file and hands it over as the wrapper's fd 0, so a
wrapper running as another user needs no access to the state directory.
The wrapper traps TERM, INT, HUP and QUIT with a command (``:``), which the
command does not inherit (trapped signals revert to their default in a
subshell and on exec), so SIGTERM to the group ends the command while the
wrapper lives on to record 143. ``stop`` sends SIGTERM only once the command
has been exec'd (``term_reaches_command``): in the moment between the fork and
the exec, the signal would be caught and lost. The wrapper's own complaints go
to /dev/null ("Terminated" is no part of a container's log); the command's
stderr goes to the log. SIGKILL to the group ends the wrapper too: a parent
agent sees signal 9 from ``waitpid``, an adopting one finds an empty exit file
once the process is gone; both report (and record) 137.

Records: ``start`` writes ``<attempt>.json`` (the ``ContainerHandle`` plus this
runtime's own ``runtime`` section: cgroups, mount points it created, user,
working directory) twice: first with ``pid`` 0, before it makes anything on the
host (cgroups, mount points), then with the PID once the process exists. A
restarted agent's ``adopt`` returns the complete records and undoes the ones
left pending. The PID is paired with the process's start time
(``procfs``) wherever it is used, so a reused PID is never signalled.

Exit is observed through a pidfd (Linux 5.3+) on the event loop, for children
and adopted processes alike; children are then reaped. When the wrapper ends,
what is left of its process group and cgroups is killed: a container ends with
its main process, as in a PID namespace.

Namespaces, mounts, user and cgroup joining happen in the child between fork
and exec (``nsenter.ChildSetup``), as a ``preexec_fn`` (default) or through a
launcher process (``launcher=True``). With nothing to do there (loopback mode,
no cgroups), subprocess spawns with vfork and the executable and working
directory are checked in the parent instead.

Mount points missing on the host are made before the container starts
(recorded first) and removed with it when still empty; one still in use by
another recorded container is handed over to that container's record instead,
since removing a mount point detaches it in every mount namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

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
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.util.clock import Clock, RealClock

log = logging.getLogger(__name__)

RUN_ERROR = "RunContainerError"
CREATE_ERROR = "CreateContainerError"
ID_PREFIX = "kubesvc://"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""What a container gets when its env has no PATH (Docker's default for images without one)."""
WRAPPER = (
    "exec 3>&2 2>/dev/null; "
    "trap : TERM INT HUP QUIT; "
    '(exec "$@") </dev/null 2>&3 3>&-; '
    's=$?; echo "$s" >&0; exit "$s"'
)
"""Run ``$@`` (stdin /dev/null, stderr the log), write its status to fd 0 (the exit file)."""
PROBE_OUTPUT_CAP = 10 * 1024
"""Exec output kept (kubelet keeps 10 KiB of a probe's output)."""
KILLED = 128 + signal.SIGKILL
TERM_BIT = 1 << (signal.SIGTERM - 1)
SETTLE_SECONDS = 0.2
"""Longest ``stop`` waits for a just-started wrapper to have exec'd the command (see
``term_reaches_command``)."""
DRAIN_SECONDS = 0.5
"""How long exec waits for output after its process ended (a detached child may hold the pipe)."""


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class RuntimeExtras:
    """This runtime's part of a container record: what it made and how the process runs."""

    cgroups: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    """Host paths made as mount points (removed with the container when still empty)."""
    mountpoints: tuple[str, ...] = ()
    """Host paths of every mount point (tells whether a path another record made is in use)."""
    uid: int | None = None
    gid: int | None = None
    cwd: str = ""


def record_json(handle: ContainerHandle, extras: RuntimeExtras) -> dict[str, Any]:
    return {
        "containerID": handle.container_id,
        "podUID": handle.pod_uid,
        "name": handle.name,
        "attempt": handle.attempt,
        "pid": handle.pid,
        "startTicks": handle.start_ticks,
        "startedAt": handle.started_at,
        "logPath": str(handle.log_path),
        "recordPath": str(handle.record_path),
        "init": handle.init,
        "runtime": {
            "cgroups": list(extras.cgroups),
            "created": list(extras.created),
            "mountpoints": list(extras.mountpoints),
            "uid": extras.uid,
            "gid": extras.gid,
            "cwd": extras.cwd,
        },
    }


def parse_record(raw: dict[str, Any]) -> tuple[ContainerHandle, RuntimeExtras]:
    """The inverse of ``record_json``; raises KeyError/TypeError/ValueError on a bad record."""
    handle = ContainerHandle(
        container_id=str(raw["containerID"]),
        pod_uid=str(raw["podUID"]),
        name=str(raw["name"]),
        attempt=int(raw["attempt"]),
        pid=int(raw["pid"]),
        start_ticks=int(raw["startTicks"]),
        started_at=float(raw["startedAt"]),
        log_path=Path(raw["logPath"]),
        record_path=Path(raw["recordPath"]),
        init=bool(raw.get("init", False)),
    )
    rt = raw.get("runtime") or {}
    extras = RuntimeExtras(
        cgroups=tuple(str(p) for p in rt.get("cgroups", ())),
        created=tuple(str(p) for p in rt.get("created", ())),
        mountpoints=tuple(str(p) for p in rt.get("mountpoints", ())),
        uid=None if rt.get("uid") is None else int(rt["uid"]),
        gid=None if rt.get("gid") is None else int(rt["gid"]),
        cwd=str(rt.get("cwd", "")),
    )
    return handle, extras


def read_record(path: Path) -> tuple[ContainerHandle, RuntimeExtras]:
    return parse_record(json.loads(path.read_text()))


def write_record(handle: ContainerHandle, extras: RuntimeExtras) -> None:
    """Atomically (write and rename), so a crash never leaves half a record."""
    path = handle.record_path
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record_json(handle, extras), indent=1))
    os.replace(tmp, path)


def exit_file_of(handle: ContainerHandle) -> Path:
    """``<attempt>.exit`` beside ``<attempt>.json`` (``PodDir.exit_file``)."""
    return handle.record_path.with_suffix(".exit")


def parse_exit_file(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------- pure decisions


def wrapper_argv(shell: str, argv: Sequence[str]) -> list[str]:
    """The wrapper's command line: ``$0`` is ``sh``, ``$@`` the container's argv."""
    return [shell, "-c", WRAPPER, "sh", *argv]


def container_env(env: dict[str, str]) -> dict[str, str]:
    """The container's environment: as given, with a default PATH when it has none."""
    out = dict(env)
    out.setdefault("PATH", DEFAULT_PATH)
    return out


def exit_status(
    recorded: int | None, waited: int | None, oom: bool, finished_at: float
) -> ExitStatus:
    """The status to report.

    ``recorded``: what the wrapper wrote (the command's status); ``waited``: the
    wrapper's own status from waitpid (``Popen.returncode``: negative for a
    signal), when this agent is its parent. Neither: the process vanished while
    no agent watched it, and no wrapper recorded why; only SIGKILL does that.
    """
    sig = 0
    if recorded is not None:
        code = recorded
    elif waited is not None:
        code = 128 - waited if waited < 0 else waited
    else:
        code = KILLED
    if 128 < code < 128 + 65:
        sig = code - 128
    if code == 0:
        reason = "Completed"
    elif oom:
        reason = "OOMKilled"
    else:
        reason = "Error"
    return ExitStatus(exit_code=code, signal=sig, finished_at=finished_at, reason=reason)


@dataclass(frozen=True)
class Signals:
    """What /proc shows of a process's signal handling."""

    exe: str
    caught: int
    """SigCgt: bit N-1 for each signal N with a handler."""


def term_reaches_command(wrapper: Signals | None, child: Signals | None) -> bool:
    """Whether SIGTERM sent to the container's group now reaches its command.

    The wrapper traps TERM and then forks the command; the forked shell keeps
    the wrapper's handlers until it resets them just before exec. A SIGTERM
    arriving in between is swallowed and the command never sees it. Reading the
    wrapper's state and then signalling is a race (it may trap and fork in
    between), so only the child's state counts, and it only moves forward: safe
    once the child has no TERM handler (reset, or exec'd) or is another program
    (exec'd, with handlers of its own), or when the wrapper is gone. A command
    that is the same shell with a TERM trap of its own looks unsettled: ``stop``
    sends after ``SETTLE_SECONDS`` anyway.
    """
    if wrapper is None:
        return True
    if child is None:
        return False
    return child.exe != wrapper.exe or not child.caught & TERM_BIT


@dataclass(frozen=True)
class MountPlan:
    binds: tuple[nsenter.Bind, ...]
    mountpoints: tuple[str, ...]
    """Host paths of the mount points, in bind order."""
    create: tuple[tuple[str, bool], ...]
    """(host path, is a directory) to make, outermost first."""


def plan_mounts(
    mounts: Sequence[Mount],
    exists: Callable[[str], bool],
    is_dir: Callable[[str], bool],
) -> MountPlan:
    """Bind order and the mount points to make on the host.

    Binds go shallowest target first (as containerd orders them), so a mount
    inside another mount lands in it. A mount point below an earlier mount's
    target is made in that mount's source (where it will be once that mount is
    in place); the rest are made on the host, each missing ancestor included.
    """
    ordered = sorted(mounts, key=lambda m: _depth(m.target))
    binds: list[nsenter.Bind] = []
    mountpoints: list[str] = []
    create: list[tuple[str, bool]] = []
    planned: set[str] = set()
    placed: list[tuple[str, str]] = []  # (target, source) of earlier binds
    for m in ordered:
        target = os.path.normpath(m.target)
        if not os.path.isabs(target):
            raise StartError(CREATE_ERROR, f'mount target "{m.target}" is not absolute')
        source = str(m.source)
        host = _host_path(target, placed)
        binds.append(nsenter.Bind(source, target, m.read_only))
        mountpoints.append(host)
        wanted_dir = is_dir(source)
        chain: list[tuple[str, bool]] = []
        path = host
        kind = wanted_dir
        while path not in planned and not exists(path):
            chain.append((path, kind))
            parent = os.path.dirname(path)
            if parent == path:
                break
            path, kind = parent, True
        for item in reversed(chain):
            planned.add(item[0])
            create.append(item)
        placed.append((target, source))
    return MountPlan(tuple(binds), tuple(mountpoints), tuple(create))


def _depth(path: str) -> int:
    return len([p for p in os.path.normpath(path).split("/") if p])


def _host_path(target: str, placed: Sequence[tuple[str, str]]) -> str:
    """Where ``target`` is on the host once the earlier binds are in place."""
    for earlier, source in reversed(placed):
        if target.startswith(earlier.rstrip("/") + "/"):
            return os.path.join(source, os.path.relpath(target, earlier))
    return target


def sandbox_mounts(sandbox: SandboxInfo) -> list[Mount]:
    """resolv.conf and hosts of the pod's sandbox, when it made them."""
    files = ((sandbox.resolv_conf, "/etc/resolv.conf"), (sandbox.hosts, "/etc/hosts"))
    return [
        Mount(source=source, target=target)
        for source, target in files
        if source is not None and source != Path()
    ]


def namespace_flags(
    sandbox: SandboxInfo, has_binds: bool
) -> tuple[tuple[tuple[str, int], ...], int]:
    """Namespaces to join and to make: the pod's network (with a mount and UTS namespace of
    the container's own) in netns mode; a mount namespace alone when mounts need one."""
    join: tuple[tuple[str, int], ...] = ()
    flags = 0
    if sandbox.netns:
        join = ((sandbox.netns, nsenter.CLONE_NEWNET),)
        flags = nsenter.CLONE_NEWNS | nsenter.CLONE_NEWUTS
    if has_binds:
        flags |= nsenter.CLONE_NEWNS
    return join, flags


# ---------------------------------------------------------------- the runtime


@dataclass
class _Watch:
    """One container's exit, observed once and shared by every waiter."""

    future: asyncio.Future[ExitStatus]
    pidfd: int = -1
    timer: asyncio.TimerHandle | None = None


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
        self._watches: dict[str, _Watch] = {}
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
                popen = await self._spawn(spec, plan, cgroup_dirs, extras, env, log_path, exit_path)
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

    async def _spawn(
        self,
        spec: ContainerSpec,
        plan: MountPlan,
        cgroup_dirs: Sequence[Path],
        extras: RuntimeExtras,
        env: dict[str, str],
        log_path: Path,
        exit_path: Path,
    ) -> subprocess.Popen[bytes]:
        setup = self._prepare(spec, plan, cgroup_dirs, extras, env)
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
            return await self._popen(
                wrapper_argv(self._shell, spec.argv), env, setup, (exit_fd, log_fd, log_fd)
            )
        finally:
            os.close(log_fd)
            os.close(exit_fd)

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
            _make_mountpoints(plan.create)
        except OSError as e:
            raise StartError(CREATE_ERROR, f"cannot create mount point: {e}") from None
        procs: tuple[Path, ...] = ()
        if self._cgroups is not None and cgroup_dirs:
            try:
                procs = self._cgroups.create(cgroup_dirs, spec.limits)
            except OSError as e:
                raise StartError(CREATE_ERROR, f"cannot create cgroup: {e}") from None
        join, flags = namespace_flags(spec.sandbox, bool(plan.binds))
        return nsenter.ChildSetup(
            cgroup_procs=tuple(str(p) for p in procs),
            join=join,
            unshare=flags,
            hostname=spec.sandbox.hostname if spec.sandbox.netns else "",
            binds=plan.binds,
            uid=extras.uid,
            gid=extras.gid,
            cwd=extras.cwd,
            executable=spec.argv[0],
            path=env["PATH"],
        )

    async def _popen(
        self,
        argv: list[str],
        env: dict[str, str],
        setup: nsenter.ChildSetup,
        stdio: tuple[int, int, int],
    ) -> subprocess.Popen[bytes]:
        """Spawn ``argv`` as a new session after ``setup``; a setup failure raises StartError."""
        if setup.empty:
            return _spawn_direct(argv, env, setup, stdio)  # vfork: well under 1 ms
        if not self._launcher:
            # fork + setup can take milliseconds (joining a cgroup waits for RCU): not on the loop.
            loop = asyncio.get_running_loop()
            spawning = loop.run_in_executor(
                None, functools.partial(_spawn_direct, argv, env, setup, stdio)
            )
            try:
                return await asyncio.shield(spawning)
            except asyncio.CancelledError:
                with contextlib.suppress(StartError):
                    _kill_group_and_reap(await spawning)
                raise
        err_r, err_w = os.pipe()
        try:
            popen = _spawn_launcher(argv, env, setup, stdio, err_w)
            os.close(err_w)
            err_w = -1
            try:
                failure = await _read_to_eof(err_r)
            except BaseException:
                _kill_group_and_reap(popen)
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

    def _undo(self, handle: ContainerHandle, extras: RuntimeExtras) -> None:
        """Remove what a failed start made (its record last)."""
        if extras.cgroups:
            cg.remove(Path(d) for d in extras.cgroups)
        _remove_created(extras.created)
        exit_file_of(handle).unlink(missing_ok=True)
        handle.record_path.unlink(missing_ok=True)

    # ------------------------------------------------------------ observe

    def running(self, handle: ContainerHandle) -> bool:
        watch = self._watches.get(handle.container_id)
        if watch is not None and watch.future.done():
            return False
        return procfs.is_alive(handle.pid, handle.start_ticks)

    async def wait(self, handle: ContainerHandle) -> ExitStatus:
        return await asyncio.shield(self._watch(handle).future)

    def _watch(self, handle: ContainerHandle) -> _Watch:
        watch = self._watches.get(handle.container_id)
        if watch is not None:
            return watch
        loop = asyncio.get_running_loop()
        watch = _Watch(loop.create_future())
        self._watches[handle.container_id] = watch
        pidfd = -1
        if handle.pid > 0:
            try:
                pidfd = os.pidfd_open(handle.pid)
            except ProcessLookupError:
                pidfd = -1
            except OSError as e:
                if e.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL):
                    raise
                self._poll(handle, watch)
                return watch
        if pidfd < 0 or not procfs.is_same(handle.pid, handle.start_ticks):
            if pidfd >= 0:
                os.close(pidfd)
            self._complete(handle, watch)
            return watch
        watch.pidfd = pidfd
        loop.add_reader(pidfd, self._complete, handle, watch)
        return watch

    def _poll(self, handle: ContainerHandle, watch: _Watch) -> None:
        """Without pidfds: look at /proc ten times a second."""
        if procfs.is_alive(handle.pid, handle.start_ticks):
            loop = asyncio.get_running_loop()
            watch.timer = loop.call_later(0.1, self._poll, handle, watch)
        else:
            self._complete(handle, watch)

    def _complete(self, handle: ContainerHandle, watch: _Watch) -> None:
        if watch.pidfd >= 0:
            asyncio.get_running_loop().remove_reader(watch.pidfd)
            os.close(watch.pidfd)
            watch.pidfd = -1
        if watch.timer is not None:
            watch.timer.cancel()
        if watch.future.done():
            return
        try:
            status = self._finish(handle)
        except Exception:  # every waiter must get a status, whatever failed around it
            log.exception("container exit handling failed id=%s", handle.container_id)
            status = exit_status(None, None, False, self._now())
        watch.future.set_result(status)

    def _finish(self, handle: ContainerHandle) -> ExitStatus:
        """The leader has exited: end what is left of the container, reap, read the status."""
        cid = handle.container_id
        started = self._children.pop(cid, None)
        extras = self._extras_of(handle)
        dirs = [Path(d) for d in extras.cgroups]
        if started is not None:
            # Our zombie still holds the group's number: killpg cannot reach a stranger.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, signal.SIGKILL)
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
            try:
                _, extras = read_record(handle.record_path)
            except (OSError, ValueError, KeyError, TypeError):
                extras = RuntimeExtras()
            self._extras[handle.container_id] = extras
        return extras

    # ------------------------------------------------------------ stop

    async def stop(self, handle: ContainerHandle, grace: float) -> ExitStatus:
        watch = self._watch(handle)
        if watch.future.done():
            return watch.future.result()
        await self._settle(handle, watch)
        self._signal(handle, signal.SIGTERM)
        if grace > 0:
            loop = asyncio.get_running_loop()
            expired: asyncio.Future[None] = loop.create_future()
            timer = self._clock.call_later(grace, functools.partial(_set_done, expired))
            try:
                await _first(watch.future, expired)
            finally:
                timer.cancel()
                expired.cancel()
        if not watch.future.done():
            self._signal(handle, signal.SIGKILL)
        return await asyncio.shield(watch.future)

    async def _settle(self, handle: ContainerHandle, watch: _Watch) -> None:
        """Wait (briefly, only right after a start) until SIGTERM would reach the command."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while not watch.future.done() and loop.time() < deadline:
            wrapper = _signals(handle.pid)
            kids = procfs.children(handle.pid) if wrapper is not None else []
            child = _signals(kids[0]) if kids else None
            if term_reaches_command(wrapper, child):
                return
            await asyncio.sleep(0.001)

    def _signal(self, handle: ContainerHandle, sig: int) -> None:
        if handle.pid > 0 and procfs.is_same(handle.pid, handle.start_ticks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, sig)

    # ------------------------------------------------------------ adopt, remove

    def adopt(self) -> list[ContainerHandle]:
        handles: list[ContainerHandle] = []
        for path in sorted(self._state.pods.glob("*/containers/*/*.json")):
            try:
                handle, extras = read_record(path)
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("unreadable container record path=%s", path)
                continue
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
        if handle.pid > 0 and procfs.is_same(handle.pid, handle.start_ticks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, signal.SIGKILL)
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

    def _release_mountpoints(self, handle: ContainerHandle, extras: RuntimeExtras) -> None:
        """Remove the mount points this container made, unless another recorded container
        uses one (at or below it): that container's record takes it over."""
        if not extras.created:
            return
        others: list[tuple[Path, ContainerHandle, RuntimeExtras]] = []
        for path in self._state.pods.glob("*/containers/*/*.json"):
            if path == handle.record_path:
                continue
            try:
                other, other_extras = read_record(path)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            others.append((path, other, other_extras))
        remaining = list(extras.created)
        for path, other, other_extras in others:
            taken = [p for p in remaining if _in_use(p, other_extras.mountpoints)]
            if not taken:
                continue
            merged = replace(other_extras, created=(*other_extras.created, *taken))
            write_record(replace(other, record_path=path), merged)
            self._extras[other.container_id] = merged
            remaining = [p for p in remaining if p not in taken]
        _remove_created(remaining)

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
            popen = await self._popen(list(argv), env, setup, stdio)
        except StartError as e:
            os.close(out_r)
            code = 126 if "permission denied" in e.message else 127
            return ExecResult(exit_code=code, output=e.message.encode())
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
        return await self._collect(popen, out_r, timeout)

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
            extras = self._extras_of(handle)
            ns = Path("/proc") / str(handle.pid) / "ns"
            join = tuple(
                (str(ns / name), kind)
                for name, kind in (
                    ("net", nsenter.CLONE_NEWNET),
                    ("uts", nsenter.CLONE_NEWUTS),
                    ("mnt", nsenter.CLONE_NEWNS),
                )
                if _differs(ns / name)
            )
            return nsenter.ChildSetup(
                cgroup_procs=tuple(str(Path(d) / "cgroup.procs") for d in extras.cgroups),
                join=join,
                uid=extras.uid,
                gid=extras.gid,
                cwd=extras.cwd or cwd,
                executable=argv[0],
                path=env["PATH"],
            )
        join, flags = namespace_flags(sandbox, False)
        binds: tuple[nsenter.Bind, ...] = ()
        if sandbox.netns:
            binds = tuple(
                nsenter.Bind(str(m.source), m.target, optional=True)
                for m in sandbox_mounts(sandbox)
            )
        return nsenter.ChildSetup(
            join=join,
            unshare=flags,
            hostname=sandbox.hostname if sandbox.netns else "",
            binds=binds,
            cwd=cwd,
            executable=argv[0],
            path=env["PATH"],
        )

    async def _collect(
        self, popen: subprocess.Popen[bytes], out_r: int, seconds: float
    ) -> ExecResult:
        loop = asyncio.get_running_loop()
        output = _CappedReader(loop, out_r, PROBE_OUTPUT_CAP)
        exited: asyncio.Future[None] = loop.create_future()
        expired: asyncio.Future[None] = loop.create_future()
        pidfd = os.pidfd_open(popen.pid)

        def on_exit() -> None:
            loop.remove_reader(pidfd)
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(pidfd, on_exit)
        timer = self._clock.call_later(seconds, functools.partial(_set_done, expired))
        timed_out = False
        try:
            await _first(exited, expired)
            timed_out = not exited.done()
            # The exec'd process's zombie keeps its group's number: kill what it left behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(popen.pid, signal.SIGKILL)
            if timed_out:
                await exited
            code = popen.wait()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(output.eof), DRAIN_SECONDS)
        finally:
            timer.cancel()
            expired.cancel()
            loop.remove_reader(pidfd)
            os.close(pidfd)
            output.close(loop)
            if popen.returncode is None:  # cancelled: the command goes with the caller
                _kill_group_and_reap(popen)
        exit_code = 128 - code if code < 0 else code
        return ExecResult(exit_code=exit_code, output=output.data, timed_out=timed_out)

    # ------------------------------------------------------------ helpers

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _spawn_direct(
    argv: list[str], env: dict[str, str], setup: nsenter.ChildSetup, stdio: tuple[int, int, int]
) -> subprocess.Popen[bytes]:
    """Fork and exec (returns once ``argv`` runs), with ``setup`` as the preexec_fn; with
    nothing to set up, check the executable and directory here and let subprocess vfork."""
    if setup.empty:
        try:
            nsenter.find_executable(setup.executable, setup.path, setup.cwd)
        except nsenter.SetupError as e:
            raise StartError(e.reason, e.message) from None
        if not os.path.isdir(setup.cwd):
            raise StartError(
                RUN_ERROR, f'chdir to cwd ("{setup.cwd}") failed: no such file or directory'
            )
        try:
            return subprocess.Popen(
                argv,
                env=env,
                cwd=setup.cwd,
                stdin=stdio[0],
                stdout=stdio[1],
                stderr=stdio[2],
                start_new_session=True,
            )
        except OSError as e:
            raise StartError(RUN_ERROR, f'exec: "{argv[0]}": {nsenter.why(e)}') from None
    err_r, err_w = os.pipe()
    try:
        try:
            return subprocess.Popen(
                argv,
                env=env,
                stdin=stdio[0],
                stdout=stdio[1],
                stderr=stdio[2],
                start_new_session=True,
                preexec_fn=functools.partial(nsenter.preexec, setup, err_w),
            )
        except subprocess.SubprocessError:
            # The child wrote why before subprocess reaped it.
            os.close(err_w)
            err_w = -1
            err = nsenter.SetupError.decode(_read_now(err_r))
            raise StartError(err.reason, err.message) from None
        except OSError as e:
            raise StartError(RUN_ERROR, f'exec: "{argv[0]}": {nsenter.why(e)}') from None
    finally:
        if err_w >= 0:
            os.close(err_w)
        os.close(err_r)


def _spawn_launcher(
    argv: list[str],
    env: dict[str, str],
    setup: nsenter.ChildSetup,
    stdio: tuple[int, int, int],
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
    try:
        return subprocess.Popen(
            launcher,
            env={},
            stdin=stdio[0],
            stdout=stdio[1],
            stderr=stdio[2],
            start_new_session=True,
            pass_fds=(err_w,),
        )
    except OSError as e:
        raise StartError(RUN_ERROR, f"cannot start the launcher: {nsenter.why(e)}") from None


async def _first(*futures: asyncio.Future[Any]) -> None:
    """Until one of ``futures`` is done (none is cancelled)."""
    await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
        if not self.eof.done():
            self.eof.set_result(None)

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


def _kill_group_and_reap(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    popen.wait()


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


def _differs(ns: Path) -> bool:
    """The namespace file names another namespace than this process's own of that kind."""
    try:
        theirs = ns.stat()
        ours = (Path("/proc/self/ns") / ns.name).stat()
    except OSError:
        return True
    return (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino)


def _make_mountpoints(create: Iterable[tuple[str, bool]]) -> None:
    for path, is_dir in create:
        if is_dir:
            os.makedirs(path, exist_ok=True)
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def _remove_created(paths: Iterable[str]) -> None:
    """Remove mount points made for containers, deepest first, only while empty."""
    for path in sorted(set(paths), key=_depth, reverse=True):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            elif st.st_size == 0 and not os.path.islink(path):
                os.unlink(path)
        except OSError as e:
            log.info("mount point kept path=%s error=%s", path, e.strerror)


def _in_use(path: str, mountpoints: Iterable[str]) -> bool:
    prefix = path.rstrip("/") + "/"
    return any(m == path or m.startswith(prefix) for m in mountpoints)
