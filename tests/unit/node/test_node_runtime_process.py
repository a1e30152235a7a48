"""The process runtime with real, short processes in loopback mode (no namespaces).

Most tests run without cgroups (as a non-root agent would); the ones that need
root (users, cgroups, the launcher) skip without it. A "restarted agent" is a
second ``ProcessRuntime`` on the same state directory: it is not the parent of
the first one's processes as far as it knows, so it takes the adoption paths.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from kubesvc.node.layout import StateDir
from kubesvc.node.runtime import procfs
from kubesvc.node.runtime.base import ContainerHandle, ContainerSpec, Limits, Mount, StartError
from kubesvc.node.runtime.process import ProcessRuntime
from kubesvc.node.runtime.records import exit_file_of
from kubesvc.node.runtime.spawn import PROBE_OUTPUT_CAP
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.util.clock import FakeClock

PY = sys.executable
UID = "pod-1"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "state")


@pytest.fixture
async def runtime(state: StateDir) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime(state, cgroups=False)
    yield rt
    await _clear(rt)


async def _clear(rt: ProcessRuntime) -> None:
    for handle in rt.adopt():
        await rt.stop(handle, 0)
        rt.remove(handle)


def spec(
    state: StateDir, argv: tuple[str, ...], *, name: str = "c", attempt: int = 0
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
    )


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll a real process's effect (no clock can move a process along)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def log_has(handle: ContainerHandle, text: str) -> Callable[[], bool]:
    return lambda: handle.log_path.exists() and text in handle.log_path.read_text()


@pytest.mark.parametrize(
    ("argv", "code", "sig", "reason"),
    [
        pytest.param(("sh", "-c", "exit 0"), 0, 0, "Completed", id="success"),
        pytest.param(("sh", "-c", "exit 3"), 3, 0, "Error", id="failure"),
        pytest.param(
            (PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"),
            143,
            15,
            "Error",
            id="own-sigterm",
        ),
        pytest.param(("sh", "-c", "kill -KILL $$"), 137, 9, "Error", id="own-sigkill"),
    ],
)
async def test_exit_status_is_recorded(
    runtime: ProcessRuntime,
    state: StateDir,
    argv: tuple[str, ...],
    code: int,
    sig: int,
    reason: str,
) -> None:
    handle = await runtime.start(spec(state, argv))
    status = await runtime.wait(handle)
    assert (status.exit_code, status.signal, status.reason) == (code, sig, reason)
    assert status.finished_at >= handle.started_at - 1
    assert exit_file_of(handle).read_text().strip() == str(code)
    assert handle.container_id.startswith("kubesvc://")
    assert handle.record_path == state.pod(UID).container_record("c", 0)


async def test_record_is_written_before_start_returns(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handle = await runtime.start(spec(state, ("sleep", "30")))
    raw = json.loads(handle.record_path.read_text())
    assert (raw["containerID"], raw["pid"], raw["startTicks"]) == (
        handle.container_id,
        handle.pid,
        handle.start_ticks,
    )
    assert runtime.running(handle)
    assert runtime.name.startswith("process://")


async def test_log_gets_stdout_and_stderr_appended(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    log = state.pod(UID).log("c", 0)
    log.parent.mkdir(parents=True)
    log.write_text("earlier\n")
    script = "import sys; print('out', flush=True); print('err', file=sys.stderr)"
    handle = await runtime.start(spec(state, (PY, "-c", script)))
    await runtime.wait(handle)
    assert log.read_text() == "earlier\nout\nerr\n"


async def test_wrapper_adds_nothing_to_the_log(runtime: ProcessRuntime, state: StateDir) -> None:
    handle = await runtime.start(spec(state, ("sleep", "30")))
    await runtime.stop(handle, 5)
    assert handle.log_path.read_text() == ""


async def test_environment_session_and_working_directory(
    runtime: ProcessRuntime, state: StateDir, tmp_path: Path
) -> None:
    script = (
        "import json, os; print(json.dumps({'cwd': os.getcwd(), 'env': dict(os.environ),"
        " 'sid': os.getsid(0), 'pgid': os.getpgid(0), 'stdin': os.readlink('/proc/self/fd/0')}))"
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    for attempt, working_dir, expected in [
        (0, "", state.pod(UID).root),
        (1, str(workdir), workdir),
    ]:
        s = replace(
            spec(state, (PY, "-c", script), attempt=attempt),
            env={"GREETING": "hi"},
            working_dir=working_dir,
        )
        handle = await runtime.start(s)
        assert (await runtime.wait(handle)).exit_code == 0
        seen = json.loads(handle.log_path.read_text())
        assert _same_dir(seen["cwd"], expected)
        assert seen["env"]["GREETING"] == "hi"
        assert seen["env"]["PATH"]
        assert "KUBESVC_EXIT_FILE" not in seen["env"]
        assert seen["sid"] == seen["pgid"] == handle.pid
        assert seen["stdin"] == "/dev/null"


def _same_dir(a: str, b: Path) -> bool:
    return os.path.samefile(a, b)


async def test_stop_sends_sigterm_and_returns_the_status(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    script = (
        "import signal, sys, time\n"
        "def bye(*_):\n    print('bye', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye); print('ready', flush=True); time.sleep(30)\n"
    )
    handle = await runtime.start(spec(state, (PY, "-c", script)))
    await until(log_has(handle, "ready"))
    status = await runtime.stop(handle, 30)
    assert (status.exit_code, status.reason) == (0, "Completed")
    assert "bye" in handle.log_path.read_text()
    assert not runtime.running(handle)
    assert await runtime.stop(handle, 30) == status  # stopping an exited container


async def test_stop_right_after_start_still_reaches_the_command(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    for attempt in range(50):
        handle = await runtime.start(spec(state, ("sleep", "30"), attempt=attempt))
        assert (await runtime.stop(handle, 5)).exit_code == 143
        runtime.remove(handle)


async def test_stop_escalates_to_sigkill_after_the_grace_period(state: StateDir) -> None:
    clock = FakeClock()
    rt = ProcessRuntime(state, clock=clock, cgroups=False)
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('ready', flush=True); time.sleep(30)"
    )
    handle = await rt.start(spec(state, (PY, "-c", script)))
    try:
        await until(log_has(handle, "ready"))
        stopping = asyncio.ensure_future(rt.stop(handle, 30))
        await clock.wait_for_timers(1)
        assert rt.running(handle)  # SIGTERM ignored; the grace period runs
        clock.advance(30)
        status = await stopping
        assert (status.exit_code, status.signal, status.reason) == (137, 9, "Error")
    finally:
        await _clear(rt)


def _alive(pids: list[tuple[int, int]]) -> bool:
    return any(procfs.is_alive(pid, ticks) for pid, ticks in pids)


def _pids_in(handle: ContainerHandle) -> list[tuple[int, int]]:
    pids = [int(p) for p in handle.log_path.read_text().split()]
    return [(p, procfs.start_ticks(p) or -1) for p in pids]


async def test_stop_kills_what_the_container_left_in_its_group(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    script = (
        f"import subprocess, time\n"
        f"a = subprocess.Popen(['sleep', '60'])\n"
        f"b = subprocess.Popen([{PY!r}, '-c', {stubborn!r}])\n"
        f"print(a.pid, b.pid, flush=True)\n"
        f"time.sleep(60)\n"
    )
    handle = await runtime.start(spec(state, (PY, "-c", script)))
    await until(lambda: len(handle.log_path.read_text().split()) == 2)
    children = _pids_in(handle)
    assert _alive(children)
    status = await runtime.stop(handle, 10)
    assert status.exit_code == 143  # the main process ended on SIGTERM
    await until(lambda: not _alive(children), 2)


async def test_container_ends_with_its_main_process(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handle = await runtime.start(spec(state, ("sh", "-c", "sleep 60 & echo $!; exit 0")))
    await until(lambda: handle.log_path.read_text().strip().isdigit())
    background = _pids_in(handle)
    assert (await runtime.wait(handle)).exit_code == 0
    await until(lambda: not _alive(background), 2)


async def test_wait_is_shared_and_repeatable(runtime: ProcessRuntime, state: StateDir) -> None:
    handle = await runtime.start(spec(state, ("sh", "-c", "sleep 0.2; exit 4")))
    first, second = await asyncio.gather(runtime.wait(handle), runtime.wait(handle))
    assert first == second
    assert first.exit_code == 4
    assert await runtime.wait(handle) == first
    assert not runtime.running(handle)


async def test_a_cancelled_waiter_does_not_disturb_others(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handle = await runtime.start(spec(state, ("sleep", "30")))
    impatient = asyncio.ensure_future(runtime.wait(handle))
    await asyncio.sleep(0)
    impatient.cancel()
    status = await runtime.stop(handle, 5)
    assert status.exit_code == 143


async def test_restarted_agent_adopts_and_reads_the_exit_file(
    runtime: ProcessRuntime, state: StateDir, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    script = f"while [ ! -e {flag} ]; do sleep 0.01; done; exit 7"
    handle = await runtime.start(spec(state, ("sh", "-c", script)))
    restarted = ProcessRuntime(state, cgroups=False)
    assert restarted.adopt() == [handle]
    assert restarted.running(handle)
    flag.touch()
    status = await restarted.wait(handle)
    assert (status.exit_code, status.reason) == (7, "Error")
    assert status.finished_at == exit_file_of(handle).stat().st_mtime
    assert (await runtime.wait(handle)).exit_code == 7  # the parent reaps its child


async def test_killed_while_the_agent_was_down_reports_137(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handle = await runtime.start(spec(state, ("sleep", "30")))
    restarted = ProcessRuntime(state, cgroups=False)
    os.killpg(handle.pid, signal.SIGKILL)
    [adopted] = restarted.adopt()
    await until(lambda: not restarted.running(adopted))
    status = await restarted.wait(adopted)
    assert (status.exit_code, status.signal, status.reason) == (137, 9, "Error")
    assert exit_file_of(handle).read_text().strip() == "137"
    again = await ProcessRuntime(state, cgroups=False).wait(adopted)
    assert again == status  # the status was recorded, finish time included
    await runtime.wait(handle)


async def test_a_reused_pid_is_never_signalled(
    runtime: ProcessRuntime, state: StateDir, tmp_path: Path
) -> None:
    handle = await runtime.start(spec(state, ("sleep", "30")))
    stranger = replace(
        handle,
        container_id="kubesvc://stale",
        start_ticks=handle.start_ticks - 1,
        record_path=tmp_path / "gone" / "0.json",
    )
    assert not runtime.running(stranger)
    status = await runtime.stop(stranger, 0)
    assert status.exit_code == 137  # unknown: nothing recorded it
    assert runtime.running(handle)


@pytest.mark.parametrize(
    ("argv", "working_dir", "message"),
    [
        pytest.param(
            ("no-such-command-kubesvc",),
            "",
            'exec: "no-such-command-kubesvc": executable file not found in $PATH',
            id="not-in-path",
        ),
        pytest.param(
            ("/no/such/binary",),
            "",
            'exec: "/no/such/binary": stat /no/such/binary: no such file or directory',
            id="absolute-missing",
        ),
        pytest.param(("/etc/passwd",), "", 'exec: "/etc/passwd": permission denied', id="noexec"),
        pytest.param(
            ("true",),
            "/no/such/dir",
            'chdir to cwd ("/no/such/dir") failed: no such file or directory',
            id="working-dir-missing",
        ),
    ],
)
async def test_start_errors_leave_nothing_behind(
    runtime: ProcessRuntime,
    state: StateDir,
    argv: tuple[str, ...],
    working_dir: str,
    message: str,
) -> None:
    s = replace(spec(state, argv), working_dir=working_dir)
    with pytest.raises(StartError) as info:
        await runtime.start(s)
    assert (info.value.reason, info.value.message) == ("RunContainerError", message)
    pod = state.pod(UID)
    assert not pod.container_record("c", 0).exists()
    assert not pod.exit_file("c", 0).exists()
    assert runtime.adopt() == []


async def test_mounts_need_root(
    runtime: ProcessRuntime, state: StateDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    s = replace(spec(state, ("true",)), mounts=(Mount(tmp_path, "/data"),))
    with pytest.raises(StartError) as info:
        await runtime.start(s)
    assert info.value.reason == "RunContainerError"
    assert "root" in info.value.message


async def test_adopt_discards_a_record_that_never_started(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handle = await runtime.start(spec(state, ("true",)))
    await runtime.wait(handle)
    raw = json.loads(handle.record_path.read_text())
    pending = state.pod(UID).container_record("c", 1)
    pending.write_text(json.dumps({**raw, "pid": 0, "recordPath": str(pending), "attempt": 1}))
    (pending.parent / "garbage.json").write_text("{")
    assert runtime.adopt() == [handle]
    assert not pending.exists()


async def test_remove_forgets_the_container_but_keeps_its_log(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handle = await runtime.start(spec(state, ("sh", "-c", "echo kept")))
    await runtime.wait(handle)
    runtime.remove(handle)
    runtime.remove(handle)  # twice is fine
    assert not handle.record_path.exists()
    assert not exit_file_of(handle).exists()
    assert handle.log_path.read_text() == "kept\n"
    assert runtime.adopt() == []


async def test_remove_kills_a_running_container(runtime: ProcessRuntime, state: StateDir) -> None:
    handle = await runtime.start(spec(state, ("sleep", "30")))
    runtime.remove(handle)
    assert not runtime.running(handle)


async def test_cleanup_stops_and_removes_everything(
    runtime: ProcessRuntime, state: StateDir
) -> None:
    handles = [await runtime.start(spec(state, ("sleep", "30"), name=name)) for name in ("a", "b")]
    await runtime.cleanup()
    assert runtime.adopt() == []
    assert not any(runtime.running(h) for h in handles)


SANDBOX = SandboxInfo(pod_uid=UID)


@pytest.mark.parametrize(
    ("argv", "code", "output"),
    [
        pytest.param(("sh", "-c", "echo hi; echo err >&2; exit 3"), 3, b"hi\nerr\n", id="output"),
        pytest.param(
            ("no-such-probe-kubesvc",),
            127,
            b'exec: "no-such-probe-kubesvc": executable file not found in $PATH',
            id="missing",
        ),
        pytest.param(
            (PY, "-c", "print('x' * 20000)"), 0, b"x" * PROBE_OUTPUT_CAP, id="output-capped"
        ),
        pytest.param(("sh", "-c", "sleep 60 & exit 0"), 0, b"", id="leftovers-do-not-hold-it"),
    ],
)
async def test_exec(
    runtime: ProcessRuntime, argv: tuple[str, ...], code: int, output: bytes
) -> None:
    result = await runtime.exec(SANDBOX, argv, {}, 10)
    assert (result.exit_code, result.output, result.timed_out) == (code, output, False)


async def test_exec_times_out(state: StateDir) -> None:
    clock = FakeClock()
    rt = ProcessRuntime(state, clock=clock, cgroups=False)
    running = asyncio.ensure_future(rt.exec(SANDBOX, ("sleep", "60"), {}, 1))
    await clock.wait_for_timers(1)
    clock.advance(1)
    result = await running
    assert (result.exit_code, result.timed_out) == (137, True)


async def test_a_cancelled_exec_takes_its_command_along(state: StateDir, tmp_path: Path) -> None:
    clock = FakeClock()
    rt = ProcessRuntime(state, clock=clock, cgroups=False)
    pidfile = tmp_path / "pid"
    running = asyncio.ensure_future(
        rt.exec(SANDBOX, ("sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"), {}, 60)
    )
    await until(lambda: pidfile.exists() and pidfile.read_text().strip().isdigit())
    pid = int(pidfile.read_text())
    ticks = procfs.start_ticks(pid) or -1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert not procfs.is_alive(pid, ticks)


# ------------------------------------------------------------------ root only


@root_only
@pytest.mark.parametrize("launcher", [False, True], ids=["preexec", "launcher"])
async def test_run_as_another_user(state: StateDir, launcher: bool) -> None:
    rt = ProcessRuntime(state, cgroups=False, launcher=launcher)
    try:
        script = "id -u; id -g; id -G; exit 3"
        handle = await rt.start(replace(spec(state, ("sh", "-c", script)), run_as=(65534, 65534)))
        status = await ProcessRuntime(state, cgroups=False).wait(handle)  # from the exit file
        assert status.exit_code == 3
        assert handle.log_path.read_text().split() == ["65534", "65534", "65534"]
        await rt.wait(handle)
    finally:
        await _clear(rt)


@root_only
async def test_launcher_reports_start_errors(state: StateDir) -> None:
    rt = ProcessRuntime(state, cgroups=False, launcher=True)
    s = replace(spec(state, ("no-such-command-kubesvc",)), run_as=(65534, 65534))
    with pytest.raises(StartError) as info:
        await rt.start(s)
    assert info.value.message == (
        'exec: "no-such-command-kubesvc": executable file not found in $PATH'
    )
    assert rt.adopt() == []


def _cgroup_runtime(state: StateDir) -> ProcessRuntime:
    rt = ProcessRuntime(state)
    if rt.cgroup_reason is not None:
        pytest.skip(rt.cgroup_reason)
    return rt


def _cgroups_of(handle: ContainerHandle) -> list[Path]:
    return [Path(d) for d in json.loads(handle.record_path.read_text())["runtime"]["cgroups"]]


def _read_limit(dirs: list[Path], *names: str) -> str:
    for d in dirs:
        for name in names:
            if (d / name).exists():
                return (d / name).read_text().strip()
    raise AssertionError(f"none of {names} in {dirs}")


@root_only
async def test_limits_are_applied_in_a_cgroup_that_goes_with_the_container(
    state: StateDir,
) -> None:
    rt = _cgroup_runtime(state)
    try:
        limits = Limits(memory_bytes=48 << 20, cpu_millis=250)
        handle = await rt.start(replace(spec(state, ("sleep", "30")), limits=limits))
        dirs = _cgroups_of(handle)
        assert dirs and all(d.is_dir() for d in dirs)
        assert _read_limit(dirs, "memory.limit_in_bytes", "memory.max") == str(48 << 20)
        assert _read_limit(dirs, "cpu.cfs_quota_us", "cpu.max").split()[0] == "25000"
        assert all(str(handle.pid) in (d / "cgroup.procs").read_text().split() for d in dirs)
        await rt.stop(handle, 5)
        rt.remove(handle)
        assert not any(d.exists() for d in dirs)
        assert not any(d.parent.exists() for d in dirs)  # the pod's cgroup too
    finally:
        await _clear(rt)


@root_only
async def test_oom_kill_is_reported(state: StateDir) -> None:
    rt = _cgroup_runtime(state)
    try:
        hog = (PY, "-c", "x = b'x' * (256 << 20)")
        handle = await rt.start(replace(spec(state, hog), limits=Limits(memory_bytes=32 << 20)))
        status = await rt.wait(handle)
        assert (status.exit_code, status.reason) == (137, "OOMKilled")
    finally:
        await _clear(rt)


@root_only
async def test_processes_that_left_the_session_die_with_the_container(state: StateDir) -> None:
    rt = _cgroup_runtime(state)
    try:
        script = (
            "import os, time\n"
            "pid = os.fork()\n"
            "if pid == 0:\n    os.setsid(); time.sleep(60)\n"
            "print(pid, flush=True); time.sleep(60)\n"
        )
        handle = await rt.start(spec(state, (PY, "-c", script)))
        await until(lambda: handle.log_path.read_text().strip().isdigit())
        escaped = _pids_in(handle)
        dirs = _cgroups_of(handle)
        await rt.stop(handle, 5)
        await until(lambda: not _alive(escaped), 2)
        rt.remove(handle)
        assert not any(d.exists() for d in dirs)
    finally:
        await _clear(rt)
