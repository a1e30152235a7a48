"""The process runtime's records on disk: what outlives the agent that started a container.

Two files per container attempt, beside each other under the pod's directory
(``PodDir.container_record`` and ``PodDir.exit_file``):

* ``<attempt>.json``: the ``ContainerHandle`` plus this runtime's own
  ``runtime`` section (``RuntimeExtras``: cgroups, mount points it made, user,
  working directory). ``start`` writes it twice: first with ``pid`` 0 (pending),
  before it makes anything on the host, then with the PID once the process
  exists; a restarted agent adopts the complete ones and undoes the pending.
* ``<attempt>.exit``: the command's status as a number, written by the wrapper
  (or by the agent on its behalf, see ``ProcessRuntime``).

Converting to and from JSON is pure (``record_json``, ``parse_record``,
``parse_exit_file``); the readers and the writer around them are thin. A
record is replaced atomically, so a crash never leaves half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubesvc.node.runtime.base import ContainerHandle

RECORDS = "*/containers/*/*.json"
"""Every container record, relative to the state directory's ``pods``."""
UNREADABLE = (OSError, ValueError, KeyError, TypeError)
"""What reading a vanished, half-written or foreign record raises."""


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
    """Raises one of ``UNREADABLE`` when there is no usable record at ``path``."""
    return parse_record(json.loads(path.read_text()))


def try_read_record(path: Path) -> tuple[ContainerHandle, RuntimeExtras] | None:
    """``read_record``, or None when there is no usable record at ``path``."""
    try:
        return read_record(path)
    except UNREADABLE:
        return None


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
