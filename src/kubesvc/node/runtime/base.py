"""The container runtime seam: what the pod worker asks of whatever runs containers.

kubesvc runs a container as a process (``runtime.process``); a later runtime
may run images through containerd or podman behind the same protocol. The
pod worker never touches PIDs, signals or namespaces itself.

Contract of every ``ContainerRuntime``:

* ``start`` returns once the process exists; it writes the container's record
  (``ContainerHandle`` as JSON) beside its log before it returns, so a
  restarted agent can ``adopt`` it.
* ``wait`` returns the exit status, for children and adopted processes alike.
  It may be called again after it returned (same answer).
* ``stop`` sends SIGTERM to the container's whole process group, waits up to
  ``grace`` seconds, then SIGKILL; it returns the exit status. Stopping an
  exited container returns its status at once.
* ``adopt`` lists the containers still recorded under the state directory
  (running or exited since), for the pod worker to take over.
* ``remove`` forgets a container: its record, cgroup and exit file (not its log).
* ``exec`` runs a command inside a running pod's namespaces (exec probes,
  preStop hooks) and returns its exit code and output, killed after ``timeout``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kubesvc.node.sandbox.base import SandboxInfo


@dataclass(frozen=True)
class Mount:
    source: Path
    """A file or directory on the host (a volume, or a file of it for subPath)."""
    target: str
    """``mountPath`` inside the pod (absolute)."""
    read_only: bool = False


@dataclass(frozen=True)
class Limits:
    memory_bytes: int | None = None
    cpu_millis: int | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to start one attempt of one container; resolved by the pod worker."""

    pod_uid: str
    pod_namespace: str
    pod_name: str
    name: str
    attempt: int
    """0 for the first start, then the restart count."""
    argv: tuple[str, ...]
    """``command`` + ``args`` with ``$(VAR)`` already expanded; never empty."""
    env: dict[str, str]
    working_dir: str = ""
    """Empty: the pod's directory on the host."""
    mounts: tuple[Mount, ...] = ()
    sandbox: SandboxInfo = field(default_factory=lambda: SandboxInfo(pod_uid=""))
    limits: Limits = field(default_factory=Limits)
    run_as: tuple[int, int] | None = None
    """(uid, gid) to switch to before exec; None keeps the agent's."""
    log_path: Path = Path()
    """The file the process's stdout and stderr are appended to."""
    init: bool = False
    """An init container (recorded in its handle)."""


@dataclass(frozen=True)
class ContainerHandle:
    """A started container, as recorded on disk for re-adoption."""

    container_id: str
    """``kubesvc://<id>``: what containerStatuses[].containerID shows."""
    pod_uid: str
    name: str
    attempt: int
    pid: int
    """Leader of the container's process group (a session of its own)."""
    start_ticks: int
    """Field 22 of /proc/<pid>/stat at start: tells our process from a reused PID."""
    started_at: float
    """Epoch seconds."""
    log_path: Path
    record_path: Path
    init: bool = False
    """An init container (the pod worker records it; the runtime does not care)."""


@dataclass(frozen=True)
class ExitStatus:
    exit_code: int
    """As a shell reports it: 128+N for a process killed by signal N."""
    signal: int = 0
    finished_at: float = 0.0
    reason: str = ""
    """``Completed`` for 0, ``Error`` otherwise, ``OOMKilled`` when the memory cgroup says so."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: bytes
    timed_out: bool = False


class StartError(Exception):
    """A container could not be started; ``reason`` is the waiting reason to show."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ContainerRuntime(Protocol):
    name: str
    """What ``status.nodeInfo.containerRuntimeVersion`` names, e.g. ``process://0.1.0``."""
    cgroup_reason: str | None
    """None when memory and CPU limits are enforced; else why not (for a Warning Event)."""

    async def start(self, spec: ContainerSpec) -> ContainerHandle: ...

    async def wait(self, handle: ContainerHandle) -> ExitStatus: ...

    def running(self, handle: ContainerHandle) -> bool: ...

    async def stop(self, handle: ContainerHandle, grace: float) -> ExitStatus: ...

    def adopt(self) -> list[ContainerHandle]: ...

    def remove(self, handle: ContainerHandle) -> None: ...

    async def exec(
        self,
        sandbox: SandboxInfo,
        argv: tuple[str, ...],
        env: dict[str, str],
        timeout: float,  # noqa: ASYNC109 - the command's deadline in the pod, not the call's
        *,
        handle: ContainerHandle | None = None,
    ) -> ExecResult:
        """With ``handle``, inside that container (its mounts, user, cgroup)."""
        ...
