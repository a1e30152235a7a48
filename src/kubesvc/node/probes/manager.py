"""``ProbeManager``: the probe workers of one pod.

The pod worker makes one manager per pod and calls ``start_container(name)``
each time a container (re)starts and ``stop_container(name)`` when it exits.
Each start begins one worker task per probe of that container:

* the startup worker probes until its result is Success (``started`` turns
  True, the worker ends) or Failure (the container must be restarted);
* liveness and readiness workers wait for ``started`` first; every worker waits
  until ``initialDelaySeconds`` after the container's start, then probes every
  ``periodSeconds``;
* a liveness or startup result of Failure calls ``on_kill(container, message)``
  once and ends that worker ("on hold" until the next ``start_container``).

``ready(name)`` is True once the container has started and its readiness
result is Success (or it has no readiness probe); ``started(name)`` is True
once the startup probe passed (or there is none). ``on_change()`` is called
after either changes. Every failed or errored probe (and every warning) is
reported through ``on_event(reason, message, warning)`` with
kubelet's text; the event recorder aggregates repeats into counts.

Time comes from the injected clock; the checks themselves are injected too
(``check``) so tests script results without sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesvc.node.probes import check as checks
from kubesvc.node.probes.spec import ProbeSpec
from kubesvc.node.probes.state import (
    LIVENESS,
    READINESS,
    STARTUP,
    Result,
    initial,
    kill_message,
    kills,
    observe,
)
from kubesvc.node.runtime.base import ExecResult
from kubesvc.util.clock import Clock, RealClock

logger = logging.getLogger(__name__)

CheckFn = Callable[[ProbeSpec, str, str], Awaitable[checks.Outcome]]
"""``check(spec, container, probe_type)``: run one probe."""
EventFn = Callable[[str, str, bool], None]
"""``on_event(reason, message, warning)``."""

_FIELDS = ((STARTUP, "startupProbe"), (LIVENESS, "livenessProbe"), (READINESS, "readinessProbe"))


@dataclass
class _Container:
    name: str
    probes: dict[str, ProbeSpec]
    started: bool = False
    ready: bool = False
    started_at: float = 0.0
    started_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def probed_containers(pod: Mapping[str, Any]) -> dict[str, dict[str, ProbeSpec]]:
    """Each container's probes by type: app containers and sidecars (restartable init)."""
    spec = pod.get("spec") or {}
    out: dict[str, dict[str, ProbeSpec]] = {}
    sidecars = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for c in [*sidecars, *(spec.get("containers") or ())]:
        name = str(c.get("name", ""))
        out[name] = {
            kind: ProbeSpec.parse(c[key], c)
            for kind, key in _FIELDS
            if isinstance(c.get(key), Mapping)
        }
    return out


ContainerExecFn = Callable[[str, tuple[str, ...], float], Awaitable[ExecResult]]


class ProbeManager:
    def __init__(
        self,
        pod: Mapping[str, Any],
        *,
        pod_ip: str,
        exec_fn: checks.ExecFn | None,
        on_change: Callable[[], None],
        on_kill: Callable[[str, str], None],
        on_event: EventFn | None = None,
        clock: Clock | None = None,
        check: CheckFn | None = None,
        container_exec: ContainerExecFn | None = None,
    ) -> None:
        """``container_exec(container, argv, timeout)``, when given, runs exec probes inside
        that container (its mounts, user and cgroup) instead of ``exec_fn``."""
        self.pod_ip = pod_ip
        self._exec_fn = exec_fn
        self._container_exec = container_exec
        self._on_change = on_change
        self._on_kill = on_kill
        self._on_event = on_event
        self._clock: Clock = clock or RealClock()
        self._check: CheckFn = check or self._run_check
        self._containers = {
            name: _Container(name, probes) for name, probes in probed_containers(pod).items()
        }
        for c in self._containers.values():
            self._reset(c)

    # -- queries -------------------------------------------------------------------
    def started(self, name: str) -> bool:
        c = self._containers.get(name)
        return True if c is None else c.started

    def ready(self, name: str) -> bool:
        c = self._containers.get(name)
        return True if c is None else c.ready

    def probes(self, name: str) -> dict[str, ProbeSpec]:
        c = self._containers.get(name)
        return dict(c.probes) if c else {}

    # -- lifecycle -----------------------------------------------------------------
    def start_container(self, name: str) -> None:
        """A new attempt of ``name`` is running: (re)start its probe workers."""
        c = self._containers.get(name)
        if c is None:
            return
        self._cancel(c)
        changed = self._reset(c)
        c.started_at = self._clock.monotonic()
        loop = asyncio.get_running_loop()
        for kind, spec in c.probes.items():
            c.tasks.append(loop.create_task(self._worker(c, kind, spec)))
        if changed:
            self._on_change()

    def stop_container(self, name: str) -> None:
        """``name`` is no longer running: stop its workers and forget its results."""
        c = self._containers.get(name)
        if c is None:
            return
        self._cancel(c)
        if self._reset(c):
            self._on_change()

    def stop(self) -> None:
        """Stop every worker (results are kept; nothing is reported)."""
        for c in self._containers.values():
            self._cancel(c)

    async def close(self) -> None:
        """``stop()`` and wait until the workers are gone."""
        tasks = [t for c in self._containers.values() for t in c.tasks]
        self.stop()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- internals -----------------------------------------------------------------
    @staticmethod
    def _cancel(c: _Container) -> None:
        for task in c.tasks:
            task.cancel()
        c.tasks = []

    @staticmethod
    def _reset(c: _Container) -> bool:
        """Back to the results before any probe ran; True if ready/started changed."""
        before = (c.started, c.ready)
        c.started = STARTUP not in c.probes
        c.ready = c.started and READINESS not in c.probes
        c.started_event = asyncio.Event()
        if c.started:
            c.started_event.set()
        return before != (c.started, c.ready)

    async def _run_check(self, spec: ProbeSpec, container: str, probe_type: str) -> checks.Outcome:
        exec_fn = self._exec_fn
        if self._container_exec is not None:
            exec_fn = functools.partial(self._container_exec, container)
        return await checks.run(spec, pod_ip=self.pod_ip, exec_fn=exec_fn)

    async def _worker(self, c: _Container, kind: str, spec: ProbeSpec) -> None:
        try:
            await self._probe_loop(c, kind, spec)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("probe worker failed container=%s probe=%s", c.name, kind)

    async def _probe_loop(self, c: _Container, kind: str, spec: ProbeSpec) -> None:
        if kind != STARTUP:
            await c.started_event.wait()
        clock = self._clock
        await clock.sleep(c.started_at + spec.initial_delay - clock.monotonic())
        state = initial(kind)
        next_at = clock.monotonic()
        while True:
            outcome = await self._check(spec, c.name, kind)
            self._report(c.name, kind, outcome)
            after = observe(
                state,
                outcome.result,
                success_threshold=spec.success_threshold,
                failure_threshold=spec.failure_threshold,
            )
            if kills(kind, state, after):
                logger.info("probe failed container=%s probe=%s", c.name, kind)
                self._on_kill(c.name, kill_message(c.name, kind))
                return
            if kind == STARTUP and after.value is Result.SUCCESS:
                self._set(c, started=True)
                return
            if kind == READINESS and after.value is not state.value:
                self._set(c, ready=after.value is Result.SUCCESS)
            state = after
            next_at += spec.period
            await clock.sleep(next_at - clock.monotonic())

    def _set(
        self, c: _Container, *, started: bool | None = None, ready: bool | None = None
    ) -> None:
        before = (c.started, c.ready)
        if started is not None:
            c.started = started
            if started:
                c.started_event.set()
                if READINESS not in c.probes:
                    c.ready = True
        if ready is not None:
            c.ready = ready and c.started
        if (c.started, c.ready) != before:
            self._on_change()

    def _report(self, container: str, kind: str, outcome: checks.Outcome) -> None:
        event = checks.event_for(kind, outcome)
        if event is not None and self._on_event is not None:
            reason, message = event
            self._on_event(reason, message, True)
