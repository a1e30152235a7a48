"""The container runtime contract (``runtime.base``), on ``FakeRuntime`` and ``ProcessRuntime``.

Every case runs on both: the process runtime in loopback mode (no namespaces, no
cgroups) with real short processes under ``tmp_path``, and the fake in memory. A
case says what its container does (``Exits``, ``Runs``, ``CatchesTerm``,
``IgnoresTerm``); each runtime's harness turns that into a program or a script,
ends a running container when the test says (a flag file; ``FakeRuntime.exit``)
and makes a "restarted agent": a new instance on the same state directory (for
the fake, on the old instance's state). Both run on a ``FakeClock``, so a grace
period passes when the test advances it.

The fake's own knobs (script steps, exec results) are tested at the end.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from kubesvc.node.layout import StateDir
from kubesvc.node.runtime.base import (
    ContainerHandle,
    ContainerRuntime,
    ContainerSpec,
    ExecResult,
    ExitStatus,
    StartError,
)
from kubesvc.node.runtime.fake import RUN, FakeRuntime
from kubesvc.node.runtime.process import ProcessRuntime
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.util.clock import FakeClock

PY = sys.executable
UID = "pod-1"
WAIT = 5.0
"""Seconds a real process may take to do what the test waits for."""


@dataclass(frozen=True)
class Exits:
    """Exits with ``code`` at once."""

    code: int


@dataclass(frozen=True)
class Runs:
    """Runs until the test ends it (``Harness.end``); SIGTERM ends it (143)."""


@dataclass(frozen=True)
class CatchesTerm:
    """Runs; exits with ``code`` on SIGTERM."""

    code: int


@dataclass(frozen=True)
class IgnoresTerm:
    """Runs; only SIGKILL ends it."""


Does = Exits | Runs | CatchesTerm | IgnoresTerm


class Harness(Protocol):
    clock: FakeClock
    state: StateDir
    runtime: ContainerRuntime

    async def start(self, name: str, does: Does, *, attempt: int = 0) -> ContainerHandle:
        """Start a container that does ``does``; returns once it would see SIGTERM."""
        ...

    def end(self, handle: ContainerHandle, code: int) -> None:
        """Make a ``Runs`` container exit with ``code``."""
        ...

    def restarted(self) -> ContainerRuntime:
        """A new runtime over what this one left (an agent restart)."""
        ...

    def exec_argv(self, code: int, output: bytes) -> tuple[str, ...]:
        """A command whose exec returns ``code`` and ``output``."""
        ...

    async def close(self) -> None: ...


def make_spec(
    state: StateDir, name: str, argv: tuple[str, ...], *, attempt: int = 0, init: bool = False
) -> ContainerSpec:
    return ContainerSpec(
        pod_uid=UID,
        pod_namespace="default",
        pod_name="p",
        name=name,
        attempt=attempt,
        argv=argv,
        env={},
        log_path=state.pod(UID).log(name, attempt),
        init=init,
    )


async def until(check: Callable[[], bool], seconds: float = WAIT) -> None:
    """Poll a real process's effect (no clock moves a process along)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


async def settle() -> None:
    """Let the event loop run what is ready (a woken waiter, a completed watch)."""
    for _ in range(20):
        await asyncio.sleep(0)


CATCH_TERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit({code}))\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)
IGNORE_TERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(30)\n"
)


class ProcessHarness:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.state = StateDir(tmp_path / "state")
        self.flags = tmp_path / "flags"
        self.flags.mkdir()
        self.runtime: ProcessRuntime = self._new()
        self.instances = [self.runtime]
        self.started: list[ContainerHandle] = []

    def _new(self) -> ProcessRuntime:
        return ProcessRuntime(self.state, clock=self.clock, cgroups=False)

    def _flag(self, name: str, attempt: int) -> Path:
        return self.flags / f"{name}-{attempt}"

    def _argv(self, name: str, attempt: int, does: Does) -> tuple[str, ...]:
        match does:
            case Exits(code):
                return ("sh", "-c", f"exit {code}")
            case Runs():
                flag = self._flag(name, attempt)
                loop = f'while [ ! -e "{flag}" ]; do sleep 0.01; done; exit "$(cat "{flag}")"'
                return ("sh", "-c", loop)
            case CatchesTerm(code):
                return (PY, "-c", CATCH_TERM.format(code=code))
            case IgnoresTerm():
                return (PY, "-c", IGNORE_TERM)

    async def start(self, name: str, does: Does, *, attempt: int = 0) -> ContainerHandle:
        argv = self._argv(name, attempt, does)
        handle = await self.runtime.start(make_spec(self.state, name, argv, attempt=attempt))
        self.started.append(handle)
        if isinstance(does, CatchesTerm | IgnoresTerm):  # its handler is in place
            await until(lambda: handle.log_path.exists() and "ready" in handle.log_path.read_text())
        return handle

    def end(self, handle: ContainerHandle, code: int) -> None:
        flag = self._flag(handle.name, handle.attempt)
        tmp = flag.with_suffix(".tmp")
        tmp.write_text(f"{code}\n")
        tmp.replace(flag)  # never seen half written

    def restarted(self) -> ContainerRuntime:
        runtime = self._new()
        self.instances.append(runtime)
        return runtime

    def exec_argv(self, code: int, output: bytes) -> tuple[str, ...]:
        return ("sh", "-c", f"printf '{output.decode()}'; exit {code}")

    async def close(self) -> None:
        # the first instance is the parent: stopping there reaps every child
        for handle in self.started:
            await self.runtime.stop(handle, 0)
        for runtime in self.instances:
            for handle in runtime.adopt():
                await runtime.stop(handle, 0)
                runtime.remove(handle)


class FakeHarness:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.state = StateDir(tmp_path / "state")
        self.runtime = FakeRuntime(clock=self.clock)

    async def start(self, name: str, does: Does, *, attempt: int = 0) -> ContainerHandle:
        match does:
            case Exits(code):
                self.runtime.script(name, code)
            case Runs():
                self.runtime.script(name, RUN)
            case CatchesTerm(code):
                self.runtime.script(name, RUN, term=code)
            case IgnoresTerm():
                self.runtime.script(name, RUN, term=None)
        return await self.runtime.start(make_spec(self.state, name, ("app",), attempt=attempt))

    def end(self, handle: ContainerHandle, code: int) -> None:
        self.runtime.exit(handle.container_id, code)

    def restarted(self) -> ContainerRuntime:
        return FakeRuntime(clock=self.clock, state=self.runtime.state)

    def exec_argv(self, code: int, output: bytes) -> tuple[str, ...]:
        argv = ("check", str(code))
        self.runtime.script_exec(argv, ExecResult(exit_code=code, output=output))
        return argv

    async def close(self) -> None:
        pass


@pytest.fixture(params=["fake", "process"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    harness: Harness = (
        FakeHarness(tmp_path) if request.param == "fake" else ProcessHarness(tmp_path)
    )
    try:
        yield harness
    finally:
        await harness.close()


def summary(status: ExitStatus) -> tuple[int, int, str]:
    return status.exit_code, status.signal, status.reason


async def wait(runtime: ContainerRuntime, handle: ContainerHandle) -> ExitStatus:
    return await asyncio.wait_for(runtime.wait(handle), WAIT)


# -- start and wait ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(0, (0, 0, "Completed"), id="success"),
        pytest.param(3, (3, 0, "Error"), id="failure"),
        pytest.param(137, (137, 9, "Error"), id="code-of-sigkill-means-the-signal"),
    ],
)
async def test_wait_returns_the_exit_status(
    h: Harness, code: int, expected: tuple[int, int, str]
) -> None:
    handle = await h.start("c", Exits(code), attempt=2)
    assert (handle.pod_uid, handle.name, handle.attempt) == (UID, "c", 2)
    status = await wait(h.runtime, handle)
    assert summary(status) == expected
    assert await wait(h.runtime, handle) == status  # asked again: the same answer
    assert not h.runtime.running(handle)


async def test_a_running_container_ends_with_its_own_exit(h: Harness) -> None:
    handle = await h.start("c", Runs())
    assert h.runtime.running(handle)
    first = asyncio.ensure_future(h.runtime.wait(handle))
    second = asyncio.ensure_future(h.runtime.wait(handle))
    await settle()
    assert not first.done()
    h.end(handle, 5)
    status = await asyncio.wait_for(first, WAIT)
    assert summary(status) == (5, 0, "Error")
    assert await second == status
    assert not h.runtime.running(handle)


async def test_every_start_is_a_new_container(h: Harness) -> None:
    a = await h.start("c", Exits(0))
    b = await h.start("c", Exits(0), attempt=1)
    assert a.container_id != b.container_id
    assert (a.attempt, b.attempt) == (0, 1)


async def test_a_start_without_a_command_fails_and_leaves_nothing(h: Harness) -> None:
    with pytest.raises(StartError) as err:
        await h.runtime.start(make_spec(h.state, "c", ()))
    assert err.value.reason == "CreateContainerError"
    assert h.runtime.adopt() == []


# -- stop ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("does", "grace", "expected"),
    [
        pytest.param(Runs(), 30, (143, 15, "Error"), id="sigterm-ends-it"),
        pytest.param(CatchesTerm(0), 30, (0, 0, "Completed"), id="exits-cleanly-on-sigterm"),
        pytest.param(IgnoresTerm(), 0, (137, 9, "Error"), id="no-grace-kills-at-once"),
        pytest.param(Exits(4), 30, (4, 0, "Error"), id="already-exited"),
    ],
)
async def test_stop_returns_the_exit_status(
    h: Harness, does: Does, grace: float, expected: tuple[int, int, str]
) -> None:
    handle = await h.start("c", does)
    if isinstance(does, Exits):
        await wait(h.runtime, handle)
    status = await asyncio.wait_for(h.runtime.stop(handle, grace), WAIT)
    assert summary(status) == expected
    assert not h.runtime.running(handle)
    assert await h.runtime.stop(handle, grace) == status  # stopping it again
    assert await wait(h.runtime, handle) == status


async def test_stop_waits_the_grace_period_on_the_clock_then_kills(h: Harness) -> None:
    handle = await h.start("c", IgnoresTerm())
    stopping = asyncio.ensure_future(h.runtime.stop(handle, 30))
    await asyncio.wait_for(h.clock.wait_for_timers(1), WAIT)
    h.clock.advance(29)
    await settle()
    assert not stopping.done()
    assert h.runtime.running(handle)
    h.clock.advance(1)
    status = await asyncio.wait_for(stopping, WAIT)
    assert summary(status) == (137, 9, "Error")
    assert not h.runtime.running(handle)


# -- adopt and remove ----------------------------------------------------------------------


async def test_a_restarted_runtime_adopts_running_and_exited_containers(h: Harness) -> None:
    running = await h.start("web", Runs())
    done = await h.start("job", Exits(0))
    await wait(h.runtime, done)

    restarted = h.restarted()
    adopted = {a.container_id: a for a in restarted.adopt()}
    assert adopted == {running.container_id: running, done.container_id: done}
    assert restarted.running(running)
    assert not restarted.running(done)
    assert summary(await wait(restarted, done)) == (0, 0, "Completed")

    h.end(running, 7)
    assert summary(await wait(restarted, running)) == (7, 0, "Error")
    assert not restarted.running(running)


async def test_remove_forgets_a_container_and_kills_a_running_one(h: Harness) -> None:
    running = await h.start("web", Runs())
    done = await h.start("job", Exits(0))
    await wait(h.runtime, done)

    h.runtime.remove(done)
    assert [a.container_id for a in h.runtime.adopt()] == [running.container_id]
    h.runtime.remove(running)
    assert not h.runtime.running(running)
    assert h.runtime.adopt() == []
    assert h.restarted().adopt() == []


# -- exec ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "output"),
    [
        pytest.param(0, b"fine", id="success"),
        pytest.param(3, b"broken", id="failure"),
    ],
)
async def test_exec_returns_code_and_output(h: Harness, code: int, output: bytes) -> None:
    sandbox = SandboxInfo(pod_uid=UID, ip="127.1.0.2")
    result = await h.runtime.exec(sandbox, h.exec_argv(code, output), {}, 5)
    assert (result.exit_code, result.output, result.timed_out) == (code, output, False)


async def test_exec_without_a_command_is_127(h: Harness) -> None:
    result = await h.runtime.exec(SandboxInfo(pod_uid=UID), (), {}, 5)
    assert result.exit_code == 127


# -- the fake's own knobs ----------------------------------------------------------------


async def test_fake_script_steps_go_one_per_start_and_the_last_repeats(tmp_path: Path) -> None:
    runtime = FakeRuntime(clock=FakeClock())
    state = StateDir(tmp_path)
    failure = StartError("RunContainerError", "no such file")
    runtime.script("c", [failure, 1, RUN])
    with pytest.raises(StartError):
        await runtime.start(make_spec(state, "c", ("app",)))
    first = await runtime.start(make_spec(state, "c", ("app",)))
    assert summary(await runtime.wait(first)) == (1, 0, "Error")
    for attempt in (1, 2):
        handle = await runtime.start(make_spec(state, "c", ("app",), attempt=attempt))
        assert runtime.running(handle)
    assert [s.attempt for s in runtime.starts] == [0, 0, 1, 2]
    assert len(runtime.handles("c")) == 3


async def test_fake_records_stops_removals_and_execs(tmp_path: Path) -> None:
    runtime = FakeRuntime(clock=FakeClock())
    handle = await runtime.start(make_spec(StateDir(tmp_path), "c", ("app",)))
    runtime.script_exec(("probe",), ExecResult(1, b"no"), ExecResult(0, b"yes"))
    sandbox = SandboxInfo(pod_uid=UID)
    outputs = [(await runtime.exec(sandbox, ("probe",), {}, 1)).output for _ in range(3)]
    assert outputs == [b"no", b"yes", b"yes"]
    await runtime.stop(handle, 12)
    runtime.remove(handle)
    assert runtime.stops == [(handle.container_id, 12)]
    assert runtime.removed == [handle.container_id]
    assert runtime.execs == [("probe",)] * 3
    with pytest.raises(ValueError, match="not running"):
        runtime.exit(handle.container_id, 0)
