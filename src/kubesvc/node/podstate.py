"""What the pod worker knows of a pod's containers: the input of ``podstatus``.

The worker owns these records and changes them as containers start, exit,
back off and pass probes; ``podstatus.compute`` turns them (pure) into the
Kubernetes ``status`` it reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubesvc.node.runtime.base import ContainerHandle, ExitStatus

# waiting reasons, as kubelet shows them
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
CREATE_CONFIG_ERROR = "CreateContainerConfigError"
CREATE_ERROR = "CreateContainerError"
RUN_ERROR = "RunContainerError"
NO_COMMAND = "NoCommand"
"""kubesvc's own: the container names an image but no command, and kubesvc runs commands."""


@dataclass
class Terminated:
    exit: ExitStatus
    started_at: float
    container_id: str
    message: str = ""


@dataclass
class ContainerRecord:
    name: str
    image: str
    init: bool = False
    restartable_init: bool = False
    """An init container with restartPolicy Always (a sidecar)."""
    restart_count: int = 0
    handle: ContainerHandle | None = None
    """The running attempt; None while waiting or after it terminated."""
    waiting_reason: str = CONTAINER_CREATING
    waiting_message: str = ""
    terminated: Terminated | None = None
    """The current attempt's end, while not running (state.terminated)."""
    last_terminated: Terminated | None = None
    """The previous attempt's end (lastState.terminated)."""
    ready: bool = False
    """Readiness probe result (True without a probe once running and started)."""
    started: bool = False
    """Startup probe passed (True without a probe once running)."""

    @property
    def running(self) -> bool:
        return self.handle is not None


@dataclass
class PodRecord:
    uid: str
    namespace: str
    name: str
    ip: str = ""
    host_ip: str = ""
    start_time: float | None = None
    """When the agent first took the pod on (status.startTime)."""
    sandbox_ready: bool = False
    init_containers: list[ContainerRecord] = field(default_factory=list)
    containers: list[ContainerRecord] = field(default_factory=list)
    initialized: bool = False
    """Every init container completed (stays True once set, as kubelet's Initialized)."""
    terminal_phase: str = ""
    """``Succeeded`` or ``Failed`` once decided; the pod never runs again."""
    message: str = ""
    reason: str = ""
