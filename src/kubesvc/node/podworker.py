"""One pod's life on this node: sandbox, volumes, init containers, containers, the end.

A ``PodWorker`` is a task that owns one pod UID. Its steps:

1. **Prepare**: the sandbox (address, namespaces) and the volumes; failures are
   retried every few seconds with a Warning Event (FailedCreatePodSandBox,
   FailedMount), as kubelet does.
2. **Initialise**: init containers one at a time, each to a successful exit;
   a failure restarts it with back-off, or fails the pod under
   ``restartPolicy: Never``.
3. **Run**: one task per container: start, wait, and by the restart policy
   start again after the CrashLoopBackOff delay (none the first time, then
   ``base``, doubling up to ``cap``; reset after ``reset_after`` of good
   running). Probes decide ``ready``/``started``; a failed liveness or startup
   probe stops the container, which then restarts by the same rules.
4. **End**: when the pod is deleted (``deletionTimestamp``) or vanishes: preStop
   hooks, SIGTERM, the grace period, SIGKILL, the sandbox torn down, and the
   pod removed from the API with ``gracePeriodSeconds=0``. When every container
   is done and none restarts, the pod is terminal (Succeeded/Failed): its
   sandbox goes, its logs stay until the pod is deleted.

Every change of the ``PodRecord`` marks the status changed; the pod's
``statusreport.StatusReporter`` writes it (when, what, how seldom: see there).

Starting (from the sandbox until every container runs, or until the start
waits on something: an init container, a retry, a back-off; at most
``START_HOLD`` seconds) takes one of the agent's ``start_slots``, so that a
burst of pods starts a few at a time and each is running sooner, rather than
all of them interleaved step by step and running together at the end. While a
pod waits for a slot or starts, its status writes are held back, so that a pod
that starts promptly is reported in one write rather than one per step (each
write is a patch, a watch event to every pod watcher and an echo back here);
likewise a deleted pod's stopped containers and removed sandbox go out as one
write (held at most ``END_HOLD``). Events go out in order from one task per pod and never hold
the pod's progress up (kubelet's recorder is asynchronous too); the end of the
pod waits for them.

A worker started with adopted containers (a restarted agent) takes them over
instead of starting new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubesvc.node import hooks, logsource, podconfig
from kubesvc.node import podstate as S
from kubesvc.node.hooks import run_handler
from kubesvc.node.podconfig import ConfigError
from kubesvc.node.probes.manager import ProbeManager
from kubesvc.node.runtime.base import (
    ContainerHandle,
    ContainerRuntime,
    ExecResult,
    ExitStatus,
    StartError,
)
from kubesvc.node.sandbox.base import Sandbox, SandboxInfo
from kubesvc.node.settings import NodeSettings
from kubesvc.node.statusreport import StatusReporter
from kubesvc.util.backoff import Backoff, BackoffPolicy
from kubesvc.util.clock import Clock
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
PREPARE_RETRY = 2.0
"""Seconds between attempts to make a sandbox or mount volumes (kubelet retries similarly)."""
DEFAULT_GRACE = 30
START_HOLD = 1.0
"""Longest a pod holds its start slot (and its status writes) once it has one."""
END_HOLD = 1.0
"""Longest the end of a deleted pod holds its status writes while it stops its containers
and sandbox (so that both go out in one write)."""
END_WAIT = 5.0
"""How long the end of a worker waits for its last status and Events to be sent."""
_RNG = random.Random()
"""Back-off jitter source shared by all workers (seeding one per container costs more)."""


class PodHost(Protocol):
    """What a pod worker needs from its agent (implemented by ``agent.NodeAgent``)."""

    settings: NodeSettings
    runtime: ContainerRuntime
    sandbox: Sandbox
    clock: Clock
    start_slots: asyncio.Semaphore
    """How many pods may be starting at once (see the module docstring)."""

    def sources(self) -> podconfig.Sources: ...

    async def event(self, pod: Obj, warning: bool, reason: str, message: str) -> None: ...

    async def patch_status(self, pod: Obj, status: Obj) -> Obj:
        """Send the pod's status; returns the pod as stored."""
        ...

    async def finish(self, pod: Obj) -> bool:
        """Delete the pod from the API (grace 0, uid precondition); NotFound is fine.
        False when it could not be deleted (the next event about it starts a worker again)."""
        ...

    def track_log(self, handle: ContainerHandle) -> None: ...

    def untrack_log(self, handle: ContainerHandle) -> None: ...


@dataclass
class _Running:
    handle: ContainerHandle
    kill_reason: str = ""
    waiter: asyncio.Task[ExitStatus] | None = None


@dataclass
class _Stop:
    """Why and how the pod is ending."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    grace: float = DEFAULT_GRACE
    vanished: bool = False


class PodWorker:
    def __init__(self, host: PodHost, pod: Obj, adopted: list[ContainerHandle]) -> None:
        self.host = host
        self.pod = pod
        meta = pod["metadata"]
        self.uid = str(meta["uid"])
        self.key = f"{meta.get('namespace', '')}/{meta['name']}"
        spec = pod.get("spec") or {}
        self.record = S.PodRecord(self.uid, str(meta.get("namespace", "")), str(meta["name"]))
        self.record.init_containers = [
            S.ContainerRecord(
                str(c["name"]),
                str(c.get("image") or ""),
                init=True,
                restartable_init=c.get("restartPolicy") == "Always",
            )
            for c in spec.get("initContainers") or []
        ]
        self.record.containers = [
            S.ContainerRecord(str(c["name"]), str(c.get("image") or ""))
            for c in spec.get("containers") or []
        ]
        self.adopted = _latest_attempts(adopted)
        self.sandbox: SandboxInfo | None = None
        self.pod_dir = podconfig.pod_dir(host.settings, self.uid)
        self.running: dict[str, _Running] = {}
        self.loops: list[asyncio.Task[None]] = []
        self.side_tasks: set[asyncio.Future[None]] = set()
        self.previous: dict[str, ContainerHandle] = {}
        """The last ended attempt per container: kept on disk for adoption and ``--previous``."""
        self.stop = _Stop()
        self.done = asyncio.Event()
        self.removed = False
        """The pod was removed from the API at its end: nothing more to do for its UID."""
        self.probes: ProbeManager | None = None
        self.status = StatusReporter(self)
        self._warned: set[str] = set()
        self._start_slot = False
        self._events: deque[tuple[Obj, bool, str, str]] = deque()
        self._event_task: asyncio.Task[None] | None = None

    # -- inputs from the agent ------------------------------------------------------
    def update(self, pod: Obj) -> None:
        """A newer version of the pod from the informer. It marks the status dirty only when
        that can change it: a new spec or a deletion; a status other than the one stored for
        our last write is checked again a little later (``StatusReporter.observe``)."""
        old_spec = self.pod.get("spec")
        self.pod = pod
        self.status.observe(pod)
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            grace = meta.get("deletionGracePeriodSeconds")
            self._request_stop(float(grace) if grace is not None else self._spec_grace())
            self.status.changed()
        elif pod.get("spec") != old_spec:
            self.status.changed()

    def vanished(self) -> None:
        """The pod is gone from the API (force-deleted): stop with its own grace period."""
        self.stop.vanished = True
        self._request_stop(self._spec_grace())

    def _spec_grace(self) -> float:
        grace = (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(grace) if grace is not None else DEFAULT_GRACE

    def _request_stop(self, grace: float) -> None:
        if self.stop.event.is_set():
            self.stop.grace = min(self.stop.grace, grace)
            return
        self.stop.grace = grace
        self.stop.event.set()
        self._start_over()
        for run in list(self.running.values()):
            if run.waiter is not None:
                run.waiter.cancel()

    # -- the life -----------------------------------------------------------------
    async def run(self) -> None:
        """The pod's whole life here. Cancelling it (agent shutdown) leaves containers
        running for the next agent to adopt."""
        status_task = asyncio.ensure_future(self.status.run(self.done))
        try:
            await self._live()
            await self._end()
        finally:
            for task in self.loops:
                task.cancel()
            self.done.set()
            self._start_over()
            self.status.closing()
            senders = {status_task}
            if self._event_task is not None:
                senders.add(self._event_task)
            try:
                if asyncio.current_task() is not None and not _cancelling():
                    await asyncio.wait(senders, timeout=END_WAIT)
            finally:
                for task in senders:
                    task.cancel()

    async def _live(self) -> None:
        self.record.start_time = self.record.start_time or self.host.clock.now().timestamp()
        self.status.changed()
        if not await until_stopped(self.host.start_slots.acquire(), self.stop.event):
            return
        self._start_slot = True
        if self.stop.event.is_set():
            self._start_over()
            return
        self.status.hold(START_HOLD, self._start_over)
        if not await self._prepare():
            return
        assert self.sandbox is not None
        self.probes = ProbeManager(
            self.pod,
            pod_ip=self.sandbox.ip,
            exec_fn=self._exec,
            on_change=self._probe_changed,
            on_kill=self._probe_kill,
            on_event=self._probe_event,
            clock=self.host.clock,
            container_exec=self._exec_in,
        )
        try:
            if not await self._initialise():
                return
            self.record.initialized = True
            self.status.changed()
            main = [
                self._spawn(self._container_loop(c, rec, init=False))
                for c, rec in zip(self._spec_containers(), self.record.containers, strict=True)
            ]
            if main:
                await asyncio.wait(main)
            if not self.stop.event.is_set():
                self._decide_terminal()
        finally:
            self.probes.stop()

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self.loops.append(task)
        return task

    def _spec_containers(self) -> list[Obj]:
        return list((self.pod.get("spec") or {}).get("containers") or [])

    def _spec_init_containers(self) -> list[Obj]:
        return list((self.pod.get("spec") or {}).get("initContainers") or [])

    def _restart_policy(self) -> str:
        return str((self.pod.get("spec") or {}).get("restartPolicy") or "Always")

    # -- 1. prepare -----------------------------------------------------------------
    async def _prepare(self) -> bool:
        while not self.stop.event.is_set():
            try:
                self.sandbox = await self.host.sandbox.setup(self.pod)
                break
            except Exception as exc:  # any failure is reported and retried
                logger.warning("pod sandbox failed pod=%s error=%s", self.key, exc)
                self._warn_once("FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
                if await self._sleep(PREPARE_RETRY):
                    return False
        if self.sandbox is None:
            return False
        self.record.ip = self.sandbox.ip
        self.record.host_ip = self.host.sandbox.node_ip
        self.record.sandbox_ready = True
        self.status.changed()
        for reason, message in podconfig.pod_warnings(
            self.pod, self.host.settings, self.host.runtime.cgroup_reason
        ):
            self._event(True, reason, message)
        while not self.stop.event.is_set():
            problems = podconfig.write_volumes(
                self.pod, self.sandbox, self.host.sources(), self.host.settings
            )
            for reason, message, warning in problems.events:
                if reason + message not in self._warned:
                    self._warned.add(reason + message)
                    self._event(warning, reason, message)
            if not problems.blocking:
                return True
            if await self._sleep(PREPARE_RETRY):
                return False
        return False

    # -- 2. init containers -----------------------------------------------------------
    async def _initialise(self) -> bool:
        for c, rec in zip(self._spec_init_containers(), self.record.init_containers, strict=True):
            if rec.restartable_init:
                self._spawn(self._container_loop(c, rec, init=True))
                continue
            if not await self._run_init(c, rec):
                return False
        return not self.stop.event.is_set()

    async def _run_init(self, c: Obj, rec: S.ContainerRecord) -> bool:
        """Run one init container until it exits 0; False when the pod must not go on."""
        backoff = self._backoff()
        while not self.stop.event.is_set():
            status = await self._run_once(c, rec)
            if status is None:
                if self.stop.event.is_set():
                    return False
                if await self._back_off(rec, backoff):
                    return False
                continue
            if status.exit_code == 0:
                return True
            if self._restart_policy() == "Never":
                self.record.terminal_phase = "Failed"
                self.status.changed()
                return False
            if await self._back_off(rec, backoff):
                return False
        return False

    # -- 3. containers ------------------------------------------------------------------
    async def _container_loop(self, c: Obj, rec: S.ContainerRecord, *, init: bool) -> None:
        backoff = self._backoff()
        policy = "Always" if init else self._restart_policy()
        while not self._ending():
            began = self.host.clock.monotonic()
            status = await self._run_once(c, rec)
            if self._ending():
                return
            if status is not None:
                if policy == "Never" or (policy == "OnFailure" and status.exit_code == 0):
                    return
                if self.host.clock.monotonic() - began >= self.host.settings.crashloop_reset_after:
                    backoff.reset()
            if await self._back_off(rec, backoff):
                return

    def _ending(self) -> bool:
        """Deleted, or finished for good (a sidecar stopped at the end must stay stopped)."""
        return self.stop.event.is_set() or bool(self.record.terminal_phase)

    async def _run_once(self, c: Obj, rec: S.ContainerRecord) -> ExitStatus | None:
        """Start (or adopt) one attempt and wait for its end; None if it never started."""
        assert self.sandbox is not None
        handle = self.adopted.pop(rec.name, None)
        if handle is not None:
            rec.restart_count = handle.attempt
        else:
            try:
                spec = podconfig.container_spec(
                    self.pod,
                    c,
                    rec,
                    self.sandbox,
                    self.host.sources(),
                    self.host.settings,
                    init=rec.init,
                )
                handle = await self.host.runtime.start(spec)
                older = self.previous.pop(rec.name, None)
                if older is not None:
                    self.host.runtime.remove(older)
                logsource.prune(self.pod_dir, rec.name, handle.attempt)
            except (ConfigError, StartError) as exc:
                rec.waiting_reason, rec.waiting_message = exc.reason, exc.message
                self.status.changed()
                self._warn_once("Failed", f"Error: {exc.message}", key=f"{rec.name}/{exc.reason}")
                return None
            self._event(False, "Created", f"Created container: {rec.name}")
            self._event(False, "Started", f"Started container {rec.name}")
        return await self._watch(c, rec, handle)

    async def _watch(
        self, c: Obj, rec: S.ContainerRecord, handle: ContainerHandle
    ) -> ExitStatus | None:
        run = _Running(handle)
        self.running[rec.name] = run
        rec.handle = handle
        rec.waiting_reason = rec.waiting_message = ""
        if rec.terminated is not None:
            rec.last_terminated = rec.terminated
        rec.terminated = None
        self.host.track_log(handle)
        assert self.probes is not None
        if not rec.init or rec.restartable_init:
            self.probes.start_container(rec.name)
        self._probe_changed()
        try:
            if not rec.init or rec.restartable_init:
                await self._post_start(c, rec)
            if rec.init or all(r.handle is not None for r in self.record.containers):
                self._start_over()  # an init container runs, or every container does
            run.waiter = asyncio.ensure_future(self.host.runtime.wait(handle))
            try:
                status = await run.waiter
            except asyncio.CancelledError:
                if not self.stop.event.is_set():
                    raise
                return None  # the pod is ending: _end stops this container
        finally:
            self.probes.stop_container(rec.name)
            if not self.stop.event.is_set():
                self._finish_attempt(rec, run)
        return self._record_exit(rec, handle, status)

    def _finish_attempt(self, rec: S.ContainerRecord, run: _Running) -> None:
        self.running.pop(rec.name, None)
        rec.handle = None
        rec.ready = False
        rec.started = False
        self.host.untrack_log(run.handle)

    def _record_exit(
        self, rec: S.ContainerRecord, handle: ContainerHandle, status: ExitStatus
    ) -> ExitStatus:
        rec.terminated = S.Terminated(status, handle.started_at, handle.container_id)
        self.previous[rec.name] = handle
        self.status.changed()
        return status

    async def _post_start(self, c: Obj, rec: S.ContainerRecord) -> None:
        handler = ((c.get("lifecycle") or {}).get("postStart")) or None
        if not handler or self.sandbox is None:
            return
        ok, message = await run_handler(
            handler,
            pod_ip=self.sandbox.ip,
            container=c,
            exec_fn=functools.partial(self._exec_in, rec.name),
            timeout=30.0,
            pod=self.pod,
            clock=self.host.clock,
        )
        if not ok:
            self._event(True, hooks.FAILED_POST_START_HOOK, message)
            self._probe_kill(rec.name, f"PostStartHook failed: {message}")

    def _backoff(self) -> Backoff:
        s = self.host.settings
        policy = BackoffPolicy(initial=s.crashloop_backoff_base, cap=s.crashloop_backoff_cap)
        return Backoff(policy, _RNG)

    async def _back_off(self, rec: S.ContainerRecord, backoff: Backoff) -> bool:
        """Wait before the next attempt (none before the first restart); True if stopping."""
        delay = 0.0 if backoff.attempts == 0 and rec.terminated is not None else backoff.next()
        if backoff.attempts == 0:
            backoff.attempts = 1  # the next failure waits ``base``
        if rec.terminated is not None:
            rec.last_terminated = rec.terminated
            rec.terminated = None
            rec.restart_count += 1
        if delay > 0:
            if not rec.waiting_reason:
                rec.waiting_reason = S.CRASH_LOOP_BACK_OFF
                rec.waiting_message = (
                    f"back-off {_duration(delay)} restarting failed container={rec.name} "
                    f"pod={self.record.name}_{self.record.namespace}({self.uid})"
                )
            self.status.changed()
            self._event(
                True,
                "BackOff",
                f"Back-off restarting failed container {rec.name} in pod "
                f"{self.record.name}_{self.record.namespace}({self.uid})",
            )
        return await self._sleep(delay)

    def _decide_terminal(self) -> None:
        records = self.record.containers
        if not records or any(r.terminated is None for r in records):
            return
        failed = any(r.terminated is not None and r.terminated.exit.exit_code != 0 for r in records)
        self.record.terminal_phase = "Failed" if failed else "Succeeded"
        self.status.changed()

    # -- probes ---------------------------------------------------------------------
    def _probe_changed(self) -> None:
        if self.probes is None:
            return
        for rec in self.record.containers + self.record.init_containers:
            if rec.handle is None:
                continue
            rec.started = self.probes.started(rec.name)
            rec.ready = rec.started and self.probes.ready(rec.name)
        self.status.changed()

    def _probe_kill(self, container: str, message: str) -> None:
        run = self.running.get(container)
        if run is None or run.kill_reason:
            return
        run.kill_reason = message
        self._background(self._kill(run, message))

    async def _kill(self, run: _Running, message: str) -> None:
        self._event(False, "Killing", message)
        await self.host.runtime.stop(run.handle, self._spec_grace())

    def _probe_event(self, reason: str, message: str, warning: bool) -> None:
        self._event(warning, reason, message)

    async def _exec(self, argv: tuple[str, ...], seconds: float) -> ExecResult:
        assert self.sandbox is not None
        env = podconfig.base_env(self.sandbox, self.host.settings)
        return await self.host.runtime.exec(self.sandbox, argv, env, seconds)

    async def _exec_in(self, container: str, argv: tuple[str, ...], seconds: float) -> ExecResult:
        """Exec inside a running container (its mounts, user, cgroup), else in the pod."""
        assert self.sandbox is not None
        env = podconfig.base_env(self.sandbox, self.host.settings)
        run = self.running.get(container)
        handle = run.handle if run is not None else None
        return await self.host.runtime.exec(self.sandbox, argv, env, seconds, handle=handle)

    def _background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.side_tasks.add(task)
        task.add_done_callback(self.side_tasks.discard)

    # -- 4. the end -------------------------------------------------------------------
    async def _end(self) -> None:
        """Stop what still runs; tear the sandbox down; when deleted, remove all and finish.

        A terminal pod (Succeeded/Failed) keeps its files (logs) and waits here
        until it is deleted."""
        deadline = self.host.clock.monotonic() + self.stop.grace
        if self.stop.event.is_set():
            self.status.hold(END_HOLD, self.status.release)
            await self._pre_stop(deadline)
        stops = [self._stop_container(name, run, deadline) for name, run in self.running.items()]
        stops += [self._stop_adopted(h) for h in self.adopted.values()]
        self.adopted.clear()
        await asyncio.gather(*stops)
        await self._teardown_sandbox()
        self.status.release()
        if not self.stop.event.is_set():
            await self.stop.event.wait()  # terminal: logs stay readable until deletion
        for handle in self.previous.values():
            self.host.runtime.remove(handle)
        podconfig.remove_pod_files(self.host.settings, self.uid)
        if not self.stop.vanished:
            await self.status.flush()
            await self._events_sent()
            self.removed = await self.host.finish(self.pod)

    async def _teardown_sandbox(self) -> None:
        try:
            await self.host.sandbox.teardown(self.uid)
        except Exception as exc:  # logged; cleanup retries at the next start
            logger.warning("pod sandbox teardown failed pod=%s error=%s", self.key, exc)
        self.record.sandbox_ready = False
        self.status.changed()

    async def _pre_stop(self, deadline: float) -> None:
        hooks = []
        for c in self._spec_containers():
            handler = (c.get("lifecycle") or {}).get("preStop")
            if handler and c.get("name") in self.running and self.sandbox is not None:
                hooks.append(self._one_pre_stop(c, handler, deadline))
        if hooks:
            await asyncio.gather(*hooks)

    async def _one_pre_stop(self, c: Obj, handler: Obj, deadline: float) -> None:
        """Run a preStop hook within what is left of the grace period (on the agent's clock)."""
        assert self.sandbox is not None
        budget = max(0.0, deadline - self.host.clock.monotonic())
        hook = asyncio.ensure_future(
            run_handler(
                handler,
                pod_ip=self.sandbox.ip,
                container=c,
                exec_fn=functools.partial(self._exec_in, str(c.get("name"))),
                timeout=budget,
                pod=self.pod,
                clock=self.host.clock,
            )
        )
        timer = asyncio.ensure_future(self.host.clock.sleep(budget))
        try:
            await asyncio.wait({hook, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not hook.done():
                hook.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hook
        if hook.cancelled():
            return
        ok, message = hook.result()
        if not ok:
            self._event(True, hooks.FAILED_PRE_STOP_HOOK, message)

    async def _stop_container(self, name: str, run: _Running, deadline: float) -> None:
        grace = max(0.0, deadline - self.host.clock.monotonic())
        self._event(False, "Killing", f"Stopping container {name}")
        status = await self.host.runtime.stop(run.handle, grace)
        rec = self._find(name)
        if rec is not None:
            rec.handle = None
            rec.ready = False
            self._record_exit(rec, run.handle, status)
        self.host.untrack_log(run.handle)

    async def _stop_adopted(self, handle: ContainerHandle) -> None:
        await self.host.runtime.stop(handle, 0)
        self.previous[handle.name] = handle

    def _find(self, name: str) -> S.ContainerRecord | None:
        for rec in self.record.containers + self.record.init_containers:
            if rec.name == name:
                return rec
        return None

    def _start_over(self) -> None:
        """The start no longer holds anything back: give the slot back, let status out."""
        self.status.release()
        if self._start_slot:
            self._start_slot = False
            self.host.start_slots.release()

    # -- helpers ----------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the pod is ending; True if it is."""
        if self.stop.event.is_set():
            return True
        if seconds <= 0:
            return False
        self._start_over()  # waiting on a timer: report where the pod stands
        sleeper = asyncio.ensure_future(self.host.clock.sleep(seconds))
        waiter = asyncio.ensure_future(self.stop.event.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()
        return self.stop.event.is_set()

    def _event(self, warning: bool, reason: str, message: str) -> None:
        """Queue an Event about the pod; one task sends the pod's Events in order."""
        self._events.append((self.pod, warning, reason, message))
        if self._event_task is None or self._event_task.done():
            self._event_task = asyncio.ensure_future(self._send_events())

    async def _send_events(self) -> None:
        while self._events:
            pod, warning, reason, message = self._events.popleft()
            try:
                await self.host.event(pod, warning, reason, message)
            except Exception as exc:  # best effort, as the recorder itself
                logger.warning(
                    "pod event not sent pod=%s reason=%s error=%s", self.key, reason, exc
                )

    async def _events_sent(self) -> None:
        """Wait (at most ``END_WAIT``) until the queued Events are sent."""
        task = self._event_task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=END_WAIT)

    def _warn_once(self, reason: str, message: str, key: str = "") -> None:
        token = key or reason + message
        if token in self._warned:
            return
        self._warned.add(token)
        self._event(True, reason, message)


def _latest_attempts(handles: list[ContainerHandle]) -> dict[str, ContainerHandle]:
    latest: dict[str, ContainerHandle] = {}
    for h in handles:
        if h.name not in latest or h.attempt > latest[h.name].attempt:
            latest[h.name] = h
    return latest


def _duration(seconds: float) -> str:
    """Go's time.Duration text for whole seconds and minutes (``10s``, ``5m0s``)."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    return f"{s // 60}m{s % 60}s"


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
