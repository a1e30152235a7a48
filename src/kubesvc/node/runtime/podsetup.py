"""What a process started in a pod gets of it: bind mounts, namespaces, and the mount points.

The runtime describes a process's entry into its pod as an ``nsenter.ChildSetup``
(performed between fork and exec); this module decides that description:

* ``plan_mounts``: bind order (shallowest target first, as containerd orders
  them) and the mount points missing on the host;
* ``namespace_flags``: the pod's network namespace to join, with a mount and
  UTS namespace of the process's own (netns mode), or a mount namespace alone
  when mounts need one;
* ``pod_setup`` for a container or an exec into the pod, ``container_setup``
  for an exec into a running container (its namespaces, cgroups, user and
  working directory).

These are pure: what they need of the host comes in as callables.

Mount points missing on the host are made before the container starts (the
runtime records them first) and removed with it when still empty
(``make_mountpoints``, ``remove_created``); one still in use by another
recorded container (``in_use``) is handed over to that container's record
instead, since removing a mount point detaches it in every mount namespace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubesvc.node.runtime import nsenter
from kubesvc.node.runtime.base import Mount, StartError
from kubesvc.node.runtime.records import RuntimeExtras
from kubesvc.node.sandbox.base import SandboxInfo

log = logging.getLogger(__name__)

CREATE_ERROR = "CreateContainerError"
CONTAINER_NAMESPACES = (
    ("net", nsenter.CLONE_NEWNET),
    ("uts", nsenter.CLONE_NEWUTS),
    ("mnt", nsenter.CLONE_NEWNS),
)
"""The namespaces of a running container an exec into it joins (``/proc/<pid>/ns/<name>``)."""


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


def exec_binds(sandbox: SandboxInfo) -> tuple[nsenter.Bind, ...]:
    """What an exec into the pod binds: in netns mode the sandbox's files, each only where
    its target exists (an exec creates nothing)."""
    if not sandbox.netns:
        return ()
    return tuple(
        nsenter.Bind(str(m.source), m.target, optional=True) for m in sandbox_mounts(sandbox)
    )


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


def pod_setup(
    sandbox: SandboxInfo,
    binds: tuple[nsenter.Bind, ...],
    *,
    executable: str,
    path: str,
    cwd: str,
    cgroup_procs: tuple[str, ...] = (),
    uid: int | None = None,
    gid: int | None = None,
) -> nsenter.ChildSetup:
    """A process entering the pod: its namespaces (``namespace_flags``), hostname (netns
    mode) and ``binds``; then cgroups, user and directory as given."""
    join, flags = namespace_flags(sandbox, bool(binds))
    return nsenter.ChildSetup(
        cgroup_procs=cgroup_procs,
        join=join,
        unshare=flags,
        hostname=sandbox.hostname if sandbox.netns else "",
        binds=binds,
        uid=uid,
        gid=gid,
        cwd=cwd,
        executable=executable,
        path=path,
    )


def container_setup(
    pid: int,
    extras: RuntimeExtras,
    *,
    executable: str,
    path: str,
    cwd: str,
    differs: Callable[[Path], bool],
) -> nsenter.ChildSetup:
    """A process entering the running container whose wrapper is ``pid``: those of its
    namespaces that ``differs`` from the agent's own, its cgroups, user and directory
    (``cwd`` when it recorded none)."""
    ns = Path("/proc") / str(pid) / "ns"
    join = tuple(
        (str(ns / name), kind) for name, kind in CONTAINER_NAMESPACES if differs(ns / name)
    )
    return nsenter.ChildSetup(
        cgroup_procs=tuple(str(Path(d) / "cgroup.procs") for d in extras.cgroups),
        join=join,
        uid=extras.uid,
        gid=extras.gid,
        cwd=extras.cwd or cwd,
        executable=executable,
        path=path,
    )


def namespace_differs(ns: Path) -> bool:
    """The namespace file names another namespace than this process's own of that kind."""
    try:
        theirs = ns.stat()
        ours = (Path("/proc/self/ns") / ns.name).stat()
    except OSError:
        return True
    return (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino)


def make_mountpoints(create: Iterable[tuple[str, bool]]) -> None:
    """Make the planned mount points (``MountPlan.create``), in order."""
    for path, is_dir in create:
        if is_dir:
            os.makedirs(path, exist_ok=True)
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def remove_created(paths: Iterable[str]) -> None:
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


def in_use(path: str, mountpoints: Iterable[str]) -> bool:
    """``path`` is one of ``mountpoints`` or holds one of them."""
    prefix = path.rstrip("/") + "/"
    return any(m == path or m.startswith(prefix) for m in mountpoints)
