"""``FakeRuntime``: the ``ContainerRuntime`` seam in memory, for tests of the pod worker.

No processes: a container is an entry in a table, and the test says what each
start of it does. It keeps the contract of ``runtime.base`` (checked by the
same contract tests as ``ProcessRuntime``):

* ``script(name, exits)`` says what the starts of containers called ``name``
  do, one step per start (per pod, counting failed starts; the last step
  repeats): an exit code (the container exits with it at once), ``RUN`` (it
  runs until stopped or ``exit``-ed), or a ``StartError`` (that start fails).
  Unscripted containers run. ``term`` is the code a container exits with on
  SIGTERM; ``None``: it ignores SIGTERM, so ``stop`` waits the grace period on
  the injected clock and then kills it (137).
* ``exit(container_id, code)`` ends a running container.
* ``script_exec(argv, results...)`` says what ``exec`` of ``argv`` returns (in
  turn, the last repeating; exit 0 and no output when unscripted).

Everything a "restarted agent" would find (the containers, as records on disk
and processes; what they were scripted to do) is a ``FakeRuntimeState``: give a
new ``FakeRuntime`` the old one's ``state`` and it adopts the same containers.
What was asked of an instance is kept in order in ``starts`` (every spec),
``stops`` (container ID and grace), ``removed`` and ``execs``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from kubesvc import __version__
from kubesvc.node.runtime.base import (
    ContainerHandle,
    ContainerSpec,
    ExecResult,
    ExitStatus,
    StartError,
)
from kubesvc.node.runtime.podsetup import CREATE_ERROR
from kubesvc.node.runtime.watch import within
from kubesvc.node.runtime.wrapper import KILLED, exit_status
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.util.clock import Clock, RealClock

ID_PREFIX = "fake://"
RUN: Final = "run"
TERMINATED = 143
"""What a container that does not catch SIGTERM exits with (128 + 15)."""

Step = int | Literal["run"] | StartError
"""What one start of a container does (see the module docstring)."""


@dataclass(frozen=True)
class Script:
    steps: tuple[Step, ...] = (RUN,)
    term: int | None = TERMINATED

    def step(self, start: int) -> Step:
        return self.steps[min(start, len(self.steps) - 1)]


@dataclass
class FakeContainer:
    """One started container: its handle, spec and, once it ended, its status."""

    handle: ContainerHandle
    spec: ContainerSpec
    term: int | None
    status: ExitStatus | None = None
    removed: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class FakeRuntimeState:
    """What outlives one ``FakeRuntime`` (see the module docstring)."""

    containers: dict[str, FakeContainer] = field(default_factory=dict)
    scripts: dict[str, Script] = field(default_factory=dict)
    exec_results: dict[tuple[str, ...], list[ExecResult]] = field(default_factory=dict)
    start_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    """Starts so far per (pod UID, container name): which script step comes next."""
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class FakeRuntime:
    """``ContainerRuntime`` in memory (see the module docstring)."""

    name = f"fake://{__version__}"
    cgroup_reason: str | None = None

    def __init__(
        self, *, clock: Clock | None = None, state: FakeRuntimeState | None = None
    ) -> None:
        self._clock: Clock = clock or RealClock()
        self.state = state or FakeRuntimeState()
        self.starts: list[ContainerSpec] = []
        self.stops: list[tuple[str, float]] = []
        self.removed: list[str] = []
        self.execs: list[tuple[str, ...]] = []

    # ------------------------------------------------------------ scripting

    def script(
        self, name: str, exits: Step | Sequence[Step] = RUN, *, term: int | None = TERMINATED
    ) -> None:
        """What the starts of containers called ``name`` do, from the next one on."""
        steps = (exits,) if isinstance(exits, int | str | StartError) else tuple(exits)
        if not steps:
            raise ValueError("a script needs at least one step")
        self.state.scripts[name] = Script(steps, term)

    def script_exec(self, argv: Sequence[str], *results: ExecResult) -> None:
        self.state.exec_results[tuple(argv)] = list(results)

    def exit(self, container_id: str, code: int) -> None:
        """End a running container with ``code``."""
        container = self.state.containers[container_id]
        if container.status is not None:
            raise ValueError(f"container {container_id} is not running")
        self._end(container, code)

    def container(self, container_id: str) -> FakeContainer:
        return self.state.containers[container_id]

    def handles(self, name: str | None = None) -> list[ContainerHandle]:
        """Every started container (of that name), oldest first, removed ones included."""
        return [
            c.handle
            for c in self.state.containers.values()
            if name is None or c.handle.name == name
        ]

    def _end(self, container: FakeContainer, code: int) -> None:
        container.status = exit_status(code, None, False, self._now())
        container.ended.set()

    # ------------------------------------------------------------ the protocol

    async def start(self, spec: ContainerSpec) -> ContainerHandle:
        self.starts.append(spec)
        key = (spec.pod_uid, spec.name)
        count = self.state.start_counts.get(key, 0)
        self.state.start_counts[key] = count + 1
        script = self.state.scripts.get(spec.name, Script())
        step = script.step(count)
        if isinstance(step, StartError):
            raise step
        if not spec.argv:
            raise StartError(CREATE_ERROR, f'container "{spec.name}" has no command')
        number = next(self.state.ids)
        handle = ContainerHandle(
            container_id=f"{ID_PREFIX}{number}",
            pod_uid=spec.pod_uid,
            name=spec.name,
            attempt=spec.attempt,
            pid=100_000 + number,
            start_ticks=0,
            started_at=self._now(),
            log_path=spec.log_path,
            record_path=_record_path(spec.log_path),
            init=spec.init,
        )
        container = FakeContainer(handle, spec, script.term)
        self.state.containers[handle.container_id] = container
        if isinstance(step, int):
            self._end(container, step)
        return handle

    async def wait(self, handle: ContainerHandle) -> ExitStatus:
        container = self.state.containers[handle.container_id]
        await container.ended.wait()
        assert container.status is not None
        return container.status

    def running(self, handle: ContainerHandle) -> bool:
        container = self.state.containers.get(handle.container_id)
        return container is not None and container.status is None

    async def stop(self, handle: ContainerHandle, grace: float) -> ExitStatus:
        self.stops.append((handle.container_id, grace))
        container = self.state.containers[handle.container_id]
        if container.status is None and container.term is not None:
            self._end(container, container.term)  # SIGTERM ends it
        if container.status is None and grace > 0:
            ended = asyncio.ensure_future(container.ended.wait())
            try:
                await within(self._clock, ended, grace)
            finally:
                ended.cancel()
        if container.status is None:
            self._end(container, KILLED)  # SIGKILL after the grace period
        assert container.status is not None
        return container.status

    def adopt(self) -> list[ContainerHandle]:
        return [c.handle for c in self.state.containers.values() if not c.removed]

    def remove(self, handle: ContainerHandle) -> None:
        self.removed.append(handle.container_id)
        container = self.state.containers.get(handle.container_id)
        if container is None:
            return
        if container.status is None:
            self._end(container, KILLED)
        container.removed = True

    async def exec(
        self,
        sandbox: SandboxInfo,
        argv: tuple[str, ...],
        env: dict[str, str],
        timeout: float,  # noqa: ASYNC109 (the protocol's name)
        *,
        handle: ContainerHandle | None = None,
    ) -> ExecResult:
        self.execs.append(argv)
        if not argv:
            return ExecResult(exit_code=127, output=b"exec: no command")
        results = self.state.exec_results.get(argv)
        if not results:
            return ExecResult(exit_code=0, output=b"")
        return results.pop(0) if len(results) > 1 else results[0]

    # ------------------------------------------------------------ helpers

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _record_path(log_path: Path) -> Path:
    """Where the real runtime keeps the record: ``<attempt>.json`` beside ``<attempt>.log``."""
    return log_path.with_suffix(".json") if log_path.name else Path()
