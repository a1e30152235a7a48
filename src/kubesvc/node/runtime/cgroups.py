"""Per-container cgroups: memory and CPU limits, OOM detection, and none left behind.

Each container attempt gets one cgroup, ``kubesvc/<pod_uid>/<container>-<attempt>``,
in every hierarchy that carries the ``memory`` or ``cpu`` controller:

* cgroup v1 (``memory`` and ``cpu`` mounted as hierarchies of their own): under
  the agent's own cgroup of each hierarchy, so containers stay inside whatever
  limits and accounting the agent itself runs under (v1 allows children of a
  cgroup that has processes).
* cgroup v2 (a unified hierarchy whose ``cgroup.controllers`` lists ``memory``
  and ``cpu``): under the root of the hierarchy, the one place from which those
  controllers can be handed down without moving the agent itself (v2 forbids
  controllers in children of a cgroup that has processes).

Values, as kubelet sets them for a container's limits:

* v1: ``memory.limit_in_bytes``, and ``memory.memsw.limit_in_bytes`` equal to it
  where swap is accounted (no swapping beyond the limit); ``cpu.cfs_period_us``
  100000 and ``cpu.cfs_quota_us`` = millicores * 100 (at least 1000, the kernel's
  minimum).
* v2: ``memory.max``, ``memory.swap.max`` 0 where present, ``cpu.max`` as
  ``"<quota> 100000"``.

A container's process joins its cgroups before it runs the container's command
(the runtime's child setup writes its PID to each ``cgroup.procs``), so the
command never runs unconstrained. An OOM kill shows in v1's
``memory.oom_control`` and v2's ``memory.events`` as ``oom_kill N``.

Invariants: the runtime records a container's cgroup directories before they
are made; ``remove`` kills whatever is still inside before removing a cgroup, and the
pod's and the base ``kubesvc`` cgroup once they are empty; ``remove_tree``
removes one pod's subtree (the runtime's cleanup of its own pods only).
Deciding the layout and the values is pure (``plan_layout``, ``limit_writes``);
``Cgroups`` only applies them.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubesvc.node.runtime.base import Limits

log = logging.getLogger(__name__)

BASE = "kubesvc"
CFS_PERIOD_US = 100_000
MIN_CFS_QUOTA_US = 1_000
CONTROLLERS = frozenset({"memory", "cpu"})
REMOVE_ATTEMPTS = 50
"""How many times ``rmdir`` is retried (10 ms apart) while killed processes leave a cgroup."""


@dataclass(frozen=True)
class CgroupMount:
    """One cgroup filesystem mount, from /proc/self/mountinfo."""

    mount_point: str
    root: str
    """The cgroup shown at the mount point (``/`` unless in a cgroup namespace or bind)."""
    version: int
    controllers: frozenset[str] = frozenset()
    """v1: the controllers of this hierarchy (from the super options); v2: empty."""


@dataclass(frozen=True)
class Hierarchy:
    controllers: frozenset[str]
    """Which of ``memory`` and ``cpu`` this hierarchy serves."""
    base: Path
    """The ``kubesvc`` directory under which pods' cgroups are made."""


@dataclass(frozen=True)
class Layout:
    version: int
    hierarchies: tuple[Hierarchy, ...]

    def dirs(self, pod_uid: str, name: str, attempt: int) -> tuple[Path, ...]:
        """The cgroup directories of one container attempt, one per hierarchy."""
        for part in (pod_uid, name):
            if not part or "/" in part or part in (".", ".."):
                raise ValueError(f"not usable in a cgroup path: {part!r}")
        return tuple(h.base / pod_uid / f"{name}-{attempt}" for h in self.hierarchies)


@dataclass(frozen=True)
class LimitWrite:
    controller: str
    file: str
    value: str
    optional: bool = False
    """Skipped when the file does not exist (swap accounting is a kernel option)."""


def parse_mountinfo(text: str) -> list[CgroupMount]:
    """The cgroup (v1) and cgroup2 mounts listed in /proc/self/mountinfo."""
    mounts: list[CgroupMount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        after = right.split()
        if len(fields) < 5 or len(after) < 3:
            continue
        fstype, super_options = after[0], after[2]
        root, mount_point = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            mounts.append(CgroupMount(mount_point, root, 2))
        elif fstype == "cgroup":
            options = frozenset(super_options.split(","))
            mounts.append(CgroupMount(mount_point, root, 1, options & CONTROLLERS))
    return mounts


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/self/cgroup as ``{controller: path}``; the v2 entry under the key ``""``."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            own[""] = path
            continue
        for controller in controllers.split(","):
            own[controller] = path
    return own


def _relative(own: str, mount_root: str) -> str:
    """The agent's cgroup below a mount whose root is ``mount_root``."""
    own_parts = [p for p in own.split("/") if p]
    root_parts = [p for p in mount_root.split("/") if p]
    if own_parts[: len(root_parts)] == root_parts:
        return "/".join(own_parts[len(root_parts) :])
    return ""


def plan_layout(
    mounts: Sequence[CgroupMount],
    own: dict[str, str],
    v2_controllers: frozenset[str] = frozenset(),
    v2_delegated: frozenset[str] = frozenset(),
) -> Layout | str:
    """Where kubesvc's cgroups go, or why limits cannot be enforced.

    ``v2_controllers`` and ``v2_delegated`` are the contents of the unified
    hierarchy's root ``cgroup.controllers`` and ``cgroup.subtree_control``
    (v1 hierarchies take precedence: on hybrid systems v2 holds no controllers).
    """
    v1 = [m for m in mounts if m.version == 1 and m.controllers]
    covered = frozenset().union(*(m.controllers for m in v1)) if v1 else frozenset()
    if covered >= CONTROLLERS:
        hierarchies: list[Hierarchy] = []
        seen: set[str] = set()
        for m in v1:
            if m.mount_point in seen:
                continue
            seen.add(m.mount_point)
            controller = sorted(m.controllers)[0]
            rel = _relative(own.get(controller, "/"), m.root)
            base = Path(m.mount_point) / rel / BASE if rel else Path(m.mount_point) / BASE
            hierarchies.append(Hierarchy(m.controllers, base))
        return Layout(1, tuple(hierarchies))
    v2 = [m for m in mounts if m.version == 2]
    if v2 and v2_controllers:
        missing = CONTROLLERS - v2_controllers
        if missing:
            return f"cgroup v2 has no {' or '.join(sorted(missing))} controller"
        undelegated = CONTROLLERS - v2_delegated
        if undelegated:
            return (
                f"cgroup v2 {' and '.join(sorted(undelegated))} controller is not enabled for "
                f"child cgroups of {v2[0].mount_point} (cgroup.subtree_control)"
            )
        return Layout(2, (Hierarchy(CONTROLLERS, Path(v2[0].mount_point) / BASE),))
    if v1:
        missing = CONTROLLERS - covered
        return f"cgroup v1 {' and '.join(sorted(missing))} controller is not mounted"
    return "no cgroup filesystem with the memory and cpu controllers is mounted"


def cpu_quota_us(cpu_millis: int) -> int:
    """CFS quota per 100 ms period for a CPU limit in millicores (kubelet's MilliCPUToQuota)."""
    return max(MIN_CFS_QUOTA_US, cpu_millis * CFS_PERIOD_US // 1000)


def limit_writes(limits: Limits, version: int) -> tuple[LimitWrite, ...]:
    """The files to write, in order, to apply ``limits`` to a fresh cgroup."""
    writes: list[LimitWrite] = []
    if version == 1:
        if limits.memory_bytes is not None:
            value = str(limits.memory_bytes)
            writes.append(LimitWrite("memory", "memory.limit_in_bytes", value))
            writes.append(LimitWrite("memory", "memory.memsw.limit_in_bytes", value, True))
        if limits.cpu_millis is not None:
            writes.append(LimitWrite("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US)))
            writes.append(
                LimitWrite("cpu", "cpu.cfs_quota_us", str(cpu_quota_us(limits.cpu_millis)))
            )
    else:
        if limits.memory_bytes is not None:
            writes.append(LimitWrite("memory", "memory.max", str(limits.memory_bytes)))
            writes.append(LimitWrite("memory", "memory.swap.max", "0", True))
        if limits.cpu_millis is not None:
            quota = cpu_quota_us(limits.cpu_millis)
            writes.append(LimitWrite("cpu", "cpu.max", f"{quota} {CFS_PERIOD_US}"))
    return tuple(writes)


def parse_oom_kills(text: str) -> int:
    """The ``oom_kill N`` counter of v1 ``memory.oom_control`` or v2 ``memory.events``."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def current_layout(proc: Path = Path("/proc")) -> Layout | str:
    """This machine's layout for the agent's process, or why there is none."""
    try:
        mounts = parse_mountinfo((proc / "self" / "mountinfo").read_text())
        own = parse_proc_cgroup((proc / "self" / "cgroup").read_text())
    except OSError as e:
        return f"cannot read the process's cgroups: {e.strerror}"
    v2_controllers: frozenset[str] = frozenset()
    v2_delegated: frozenset[str] = frozenset()
    for m in mounts:
        if m.version == 2:
            root = Path(m.mount_point)
            v2_controllers = _read_words(root / "cgroup.controllers")
            v2_delegated = _read_words(root / "cgroup.subtree_control")
            break
    return plan_layout(mounts, own, v2_controllers, v2_delegated)


def detect(proc: Path = Path("/proc")) -> Layout | str:
    """``current_layout`` when this process may make cgroups in it, else why not."""
    layout = current_layout(proc)
    if isinstance(layout, str):
        return layout
    for h in layout.hierarchies:
        existing = h.base
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not os.access(existing, os.W_OK):
            names = " and ".join(sorted(h.controllers))
            return f"cgroup v{layout.version} {names} controller is not writable ({existing})"
    return layout


def cgroup_support() -> str | None:
    """None when memory and CPU limits can be enforced here, else why not (for an Event)."""
    layout = detect()
    return layout if isinstance(layout, str) else None


def _read_words(path: Path) -> frozenset[str]:
    try:
        return frozenset(path.read_text().split())
    except OSError:
        return frozenset()


class Cgroups:
    """Makes, fills and removes kubesvc's cgroups in one ``Layout``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def dirs(self, pod_uid: str, name: str, attempt: int) -> tuple[Path, ...]:
        return self.layout.dirs(pod_uid, name, attempt)

    def create(self, dirs: Sequence[Path], limits: Limits) -> tuple[Path, ...]:
        """Make the cgroups and write the limits; returns the ``cgroup.procs`` files to join."""
        writes = limit_writes(limits, self.layout.version)
        procs: list[Path] = []
        for hierarchy, leaf in zip(self.layout.hierarchies, dirs, strict=True):
            if self.layout.version == 2:
                self._make_v2(hierarchy.base, leaf)
            else:
                leaf.mkdir(parents=True, exist_ok=True)
            for w in writes:
                if w.controller not in hierarchy.controllers:
                    continue
                path = leaf / w.file
                if w.optional and not path.exists():
                    continue
                path.write_text(w.value)
            procs.append(leaf / "cgroup.procs")
        return tuple(procs)

    @staticmethod
    def _make_v2(base: Path, leaf: Path) -> None:
        enable = " ".join(f"+{c}" for c in sorted(CONTROLLERS))
        for parent in (base, leaf.parent):
            parent.mkdir(exist_ok=True)
            wanted = CONTROLLERS - _read_words(parent / "cgroup.subtree_control")
            if wanted:
                (parent / "cgroup.subtree_control").write_text(enable)
        leaf.mkdir(exist_ok=True)


def oom_killed(dirs: Iterable[Path]) -> bool:
    """The kernel OOM-killed a process in one of these cgroups."""
    for d in dirs:
        for name in ("memory.events", "memory.oom_control"):
            try:
                if parse_oom_kills((d / name).read_text()) > 0:
                    return True
            except OSError:
                continue
    return False


def members(d: Path) -> list[int]:
    try:
        return [int(p) for p in (d / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill_members(dirs: Iterable[Path]) -> int:
    """SIGKILL every process still in these cgroups; how many were signalled."""
    killed = 0
    for d in dirs:
        for pid in members(d):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def remove(dirs: Iterable[Path]) -> bool:
    """Remove container cgroups (killing what is left inside) and their pod's cgroup once
    empty. True when every one is gone."""
    ok = True
    for d in dirs:
        ok = _rmdir_cgroup(d) and ok
        if d.parent.parent.name == BASE:
            for empty in (d.parent, d.parent.parent):  # the pod's, then the base once unused
                try:
                    empty.rmdir()
                except OSError:
                    break  # other containers (or pods) still have theirs
    return ok


def remove_tree(base: Path) -> bool:
    """Remove ``base`` and every cgroup below it, deepest first."""
    if not base.is_dir():
        return True
    ok = True
    for dirpath, _, _ in sorted(os.walk(base), key=lambda w: -w[0].count(os.sep)):
        ok = _rmdir_cgroup(Path(dirpath)) and ok
    return ok


def _rmdir_cgroup(d: Path) -> bool:
    for _ in range(REMOVE_ATTEMPTS):
        try:
            d.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                log.warning("cannot remove cgroup cgroup=%s error=%s", d, e.strerror)
                return False
        kill_members([d])
        time.sleep(0.01)
    log.warning("cgroup still busy; left for cleanup cgroup=%s", d)
    return False
