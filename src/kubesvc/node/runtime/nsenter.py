"""Entering a pod: what a container's process does between fork and exec.

The runtime describes the steps as plain data (``ChildSetup``) in the parent;
``apply`` performs them in the child, in this order:

1. join the container's cgroups (its own PID into each ``cgroup.procs``), so
   nothing the container runs is ever outside its limits;
2. join namespaces by file: the pod's network namespace (``/run/netns/...`` or
   the agent's state directory), or a running container's ``net``, ``uts`` and
   ``mnt`` namespaces (``/proc/<pid>/ns/...``, for exec into it);
3. unshare new mount and UTS namespaces; make ``/`` a recursive slave, so mounts
   made here never propagate back to the host; set the hostname;
4. bind-mount files and directories (resolv.conf, hosts, volumes), remounting
   read-only where asked;
5. drop to the container's user (no supplementary groups, then gid, then uid);
6. change to the working directory;
7. look up the executable in the container's ``PATH``, so that a missing or
   non-executable command is reported (as runc words it) instead of run.

Two ways to run it: as ``subprocess``'s ``preexec_fn`` in the forked child, or
as a launcher process (``python nsenter.py SETUP_JSON ERROR_FD -- ARGV...``)
that applies it and then execs ``ARGV``. Either way a failure is written to the
error pipe as ``reason\\nmessage`` and the exec does not happen.

This module imports only the standard library (the launcher runs it with
``-I -S`` for a fast start) and, after fork, makes only system calls: no
imports, no logging, no locks.

Python 3.11 has no ``os.setns``/``os.unshare``: they, ``mount`` and
``sethostname`` come from libc through ctypes, resolved at import time.
"""

from __future__ import annotations

import ctypes
import json
import os
import stat
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000

RUN_ERROR = "RunContainerError"

_libc = ctypes.CDLL(None, use_errno=True)


def _libc_fn(name: str, argtypes: list[Any]) -> Any:
    fn = getattr(_libc, name, None)
    if fn is not None:
        fn.argtypes = argtypes
        fn.restype = ctypes.c_int
    return fn


_setns = _libc_fn("setns", [ctypes.c_int, ctypes.c_int])
_unshare = _libc_fn("unshare", [ctypes.c_int])
_mount = _libc_fn(
    "mount", [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
)
_sethostname = _libc_fn("sethostname", [ctypes.c_char_p, ctypes.c_size_t])


def _raise_errno(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def _need(fn: Any, name: str) -> Any:
    if fn is None:
        raise OSError(38, f"{name} is not available on this system")  # ENOSYS
    return fn


def setns(fd: int, nstype: int) -> None:
    if _need(_setns, "setns")(fd, nstype) != 0:
        _raise_errno("setns")


def unshare(flags: int) -> None:
    if _need(_unshare, "unshare")(flags) != 0:
        _raise_errno("unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    src = source.encode() if source is not None else None
    fs = fstype.encode() if fstype is not None else None
    if _need(_mount, "mount")(src, target.encode(), fs, flags, None) != 0:
        _raise_errno("mount")


def sethostname(name: str) -> None:
    raw = name.encode()
    if _need(_sethostname, "sethostname")(raw, len(raw)) != 0:
        _raise_errno("sethostname")


@dataclass(frozen=True)
class Bind:
    source: str
    target: str
    read_only: bool = False
    optional: bool = False
    """Skipped when the target does not exist (exec's resolv.conf/hosts: nothing is created)."""


@dataclass(frozen=True)
class ChildSetup:
    """What a container's process does before exec (see the module docstring)."""

    cgroup_procs: tuple[str, ...] = ()
    join: tuple[tuple[str, int], ...] = ()
    """(namespace file, CLONE_NEW* type), joined in this order."""
    unshare: int = 0
    hostname: str = ""
    binds: tuple[Bind, ...] = ()
    uid: int | None = None
    gid: int | None = None
    cwd: str = ""
    executable: str = ""
    """The container's command (argv[0]) to look up; empty: no check."""
    path: str = ""
    """The container's ``PATH``, for the lookup."""
    env: dict[str, str] = field(default_factory=dict)
    """The launcher's exec environment (the preexec route passes it to subprocess)."""

    @property
    def empty(self) -> bool:
        """Nothing to do in the child: subprocess can spawn without a preexec_fn."""
        return (
            not self.cgroup_procs
            and not self.join
            and not self.unshare
            and not self.binds
            and self.uid is None
            and self.gid is None
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ChildSetup:
        raw = json.loads(text)
        return cls(
            cgroup_procs=tuple(raw["cgroup_procs"]),
            join=tuple((str(p), int(t)) for p, t in raw["join"]),
            unshare=int(raw["unshare"]),
            hostname=raw["hostname"],
            binds=tuple(Bind(**b) for b in raw["binds"]),
            uid=raw["uid"],
            gid=raw["gid"],
            cwd=raw["cwd"],
            executable=raw["executable"],
            path=raw["path"],
            env=dict(raw["env"]),
        )


class SetupError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def encode(self) -> bytes:
        return f"{self.reason}\n{self.message}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> SetupError:
        reason, _, message = raw.decode(errors="replace").partition("\n")
        return cls(reason or RUN_ERROR, message or "the container's process could not start")


def why(e: OSError) -> str:
    """An OS error as Go words it: lower case, no errno number."""
    text = os.strerror(e.errno) if e.errno else str(e)
    return text[:1].lower() + text[1:]


def find_executable(name: str, path: str, cwd: str = "") -> str:
    """Where ``name`` is, as exec would find it, or a ``SetupError`` worded like runc's.

    Relative paths (a name with a slash, empty or relative ``PATH`` entries) are
    taken from ``cwd`` when given, else from the current directory.
    """
    if not name:
        raise SetupError(RUN_ERROR, 'exec: "": executable file not found in $PATH')
    if "/" in name:
        try:
            st = os.stat(os.path.join(cwd, name))
        except OSError as e:
            raise SetupError(RUN_ERROR, f'exec: "{name}": stat {name}: {why(e)}') from None
        if stat.S_ISDIR(st.st_mode) or not os.access(os.path.join(cwd, name), os.X_OK):
            raise SetupError(RUN_ERROR, f'exec: "{name}": permission denied')
        return name
    for directory in path.split(":"):
        candidate = os.path.join(directory or ".", name)
        full = os.path.join(cwd, candidate)
        try:
            st = os.stat(full)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(full, os.X_OK):
            return candidate
    raise SetupError(RUN_ERROR, f'exec: "{name}": executable file not found in $PATH')


def apply(setup: ChildSetup) -> str:
    """Perform ``setup`` in this (child) process; returns the executable found (or "")."""
    pid = str(os.getpid()).encode()
    for procs in setup.cgroup_procs:
        try:
            fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        except OSError as e:
            raise SetupError(RUN_ERROR, f"cannot join cgroup {procs}: {why(e)}") from None
    opened: list[tuple[int, int, str]] = []
    try:
        for path, nstype in setup.join:
            try:
                opened.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), nstype, path))
            except OSError as e:
                raise SetupError(RUN_ERROR, f"cannot open namespace {path}: {why(e)}") from None
        for fd, nstype, path in opened:
            try:
                setns(fd, nstype)
            except OSError as e:
                raise SetupError(RUN_ERROR, f"cannot enter namespace {path}: {why(e)}") from None
    finally:
        for fd, _, _ in opened:
            os.close(fd)
    if setup.unshare:
        try:
            unshare(setup.unshare)
            if setup.unshare & CLONE_NEWNS:
                mount(None, "/", None, MS_REC | MS_SLAVE)
        except OSError as e:
            raise SetupError(RUN_ERROR, f"cannot create namespaces: {why(e)}") from None
    if setup.hostname:
        try:
            sethostname(setup.hostname)
        except OSError as e:
            raise SetupError(RUN_ERROR, f"cannot set hostname: {why(e)}") from None
    for b in setup.binds:
        if b.optional and not os.path.exists(b.target):
            continue
        try:
            mount(b.source, b.target, None, MS_BIND | MS_REC)
            if b.read_only:
                mount(None, b.target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        except OSError as e:
            raise SetupError(
                RUN_ERROR, f'error mounting "{b.source}" to rootfs at "{b.target}": {why(e)}'
            ) from None
    # As runc does: the directory as the agent first (it may be where the user cannot go,
    # like the pod's directory), again as the user only if that failed.
    in_cwd = False
    if setup.cwd:
        try:
            os.chdir(setup.cwd)
            in_cwd = True
        except OSError:
            pass
    if setup.uid is not None or setup.gid is not None:
        try:
            os.setgroups([])
            if setup.gid is not None:
                os.setgid(setup.gid)
            if setup.uid is not None:
                os.setuid(setup.uid)
        except OSError as e:
            who = f"{setup.uid}:{setup.gid}"
            raise SetupError(RUN_ERROR, f"cannot switch to user {who}: {why(e)}") from None
    if setup.cwd and not in_cwd:
        try:
            os.chdir(setup.cwd)
        except OSError as e:
            raise SetupError(RUN_ERROR, f'chdir to cwd ("{setup.cwd}") failed: {why(e)}') from None
    if setup.executable:
        return find_executable(setup.executable, setup.path)
    return ""


def preexec(setup: ChildSetup, error_fd: int) -> None:
    """``apply`` as subprocess's preexec_fn: a failure goes to ``error_fd``, then raises (so
    subprocess reaps the child and raises in the parent)."""
    try:
        apply(setup)
    except SetupError as e:
        os.write(error_fd, e.encode())
        raise
    except BaseException as e:
        os.write(error_fd, SetupError(RUN_ERROR, f"container setup failed: {e}").encode())
        raise


def main(argv: list[str]) -> int:
    """The launcher: ``SETUP_JSON ERROR_FD -- ARGV...``; execs ARGV (argv[0] resolved through
    the setup's PATH when it has no slash) or exits 127 after reporting why not."""
    try:
        sep = argv.index("--")
        setup = ChildSetup.from_json(argv[0])
        error_fd = int(argv[1])
        command = argv[sep + 1 :]
    except (ValueError, IndexError, KeyError) as e:
        sys.stderr.write(f"usage: nsenter SETUP_JSON ERROR_FD -- ARGV... ({e})\n")
        return 2
    os.set_inheritable(error_fd, False)
    try:
        apply(setup)
        target = command[0]
        if "/" not in target:
            target = find_executable(target, setup.path)
        os.execve(target, command, setup.env)
    except SetupError as e:
        os.write(error_fd, e.encode())
    except OSError as e:
        os.write(error_fd, SetupError(RUN_ERROR, f'exec: "{command[0]}": {why(e)}').encode())
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
