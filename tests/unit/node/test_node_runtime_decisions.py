"""The process runtime's pure decisions: wrapper, env, exit statuses, records, mounts,
namespaces, the SIGTERM settle rule, and the child setup's wire form."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from kubesvc.node.runtime import nsenter
from kubesvc.node.runtime.base import ContainerHandle, ExitStatus, Mount, StartError
from kubesvc.node.runtime.podsetup import namespace_flags, plan_mounts, sandbox_mounts
from kubesvc.node.runtime.records import (
    RuntimeExtras,
    exit_file_of,
    parse_exit_file,
    parse_record,
    record_json,
)
from kubesvc.node.runtime.wrapper import (
    DEFAULT_PATH,
    TERM_BIT,
    WRAPPER,
    Signals,
    container_env,
    exit_status,
    term_reaches_command,
    wrapper_argv,
)
from kubesvc.node.sandbox.base import SandboxInfo


def test_wrapper_argv_passes_the_command_as_positional_parameters() -> None:
    argv = wrapper_argv("/bin/sh", ("python", "-c", "print('a b')"))
    assert argv == ["/bin/sh", "-c", WRAPPER, "sh", "python", "-c", "print('a b')"]
    assert ">&0" in WRAPPER  # the status goes to fd 0, the exit file
    assert "</dev/null" in WRAPPER  # the command's stdin


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, {"PATH": DEFAULT_PATH}, id="default-path"),
        pytest.param({"PATH": "/opt/bin"}, {"PATH": "/opt/bin"}, id="own-path-kept"),
        pytest.param({"A": "1"}, {"A": "1", "PATH": DEFAULT_PATH}, id="others-kept"),
    ],
)
def test_container_env(env: dict[str, str], expected: dict[str, str]) -> None:
    assert container_env(env) == expected


@pytest.mark.parametrize(
    ("recorded", "waited", "oom", "expected"),
    [
        pytest.param(0, None, False, ExitStatus(0, 0, 1.0, "Completed"), id="completed"),
        pytest.param(3, None, False, ExitStatus(3, 0, 1.0, "Error"), id="error"),
        pytest.param(143, 143, False, ExitStatus(143, 15, 1.0, "Error"), id="sigterm-recorded"),
        pytest.param(None, -9, False, ExitStatus(137, 9, 1.0, "Error"), id="sigkill-waited"),
        pytest.param(None, 5, False, ExitStatus(5, 0, 1.0, "Error"), id="wrapper-exit-waited"),
        pytest.param(None, None, False, ExitStatus(137, 9, 1.0, "Error"), id="vanished-unwatched"),
        pytest.param(137, None, True, ExitStatus(137, 9, 1.0, "OOMKilled"), id="oom"),
        pytest.param(0, None, True, ExitStatus(0, 0, 1.0, "Completed"), id="oom-but-succeeded"),
        pytest.param(7, -9, False, ExitStatus(7, 0, 1.0, "Error"), id="recorded-wins"),
        pytest.param(255, None, False, ExitStatus(255, 0, 1.0, "Error"), id="not-a-signal"),
    ],
)
def test_exit_status(
    recorded: int | None, waited: int | None, oom: bool, expected: ExitStatus
) -> None:
    assert exit_status(recorded, waited, oom, 1.0) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("143\n", 143, id="number"),
        pytest.param("", None, id="empty-not-finished"),
        pytest.param("garbage", None, id="garbage"),
    ],
)
def test_parse_exit_file(text: str, expected: int | None) -> None:
    assert parse_exit_file(text) == expected


def test_record_round_trips() -> None:
    handle = ContainerHandle(
        container_id="kubesvc://0123456789abcdef",
        pod_uid="uid-1",
        name="web",
        attempt=2,
        pid=4242,
        start_ticks=987654,
        started_at=1700000000.5,
        log_path=Path("pods/uid-1/containers/web/2.log"),
        record_path=Path("pods/uid-1/containers/web/2.json"),
        init=True,
    )
    extras = RuntimeExtras(
        cgroups=("/sys/fs/cgroup/memory/kubesvc/uid-1/web-2",),
        created=("/etc/config",),
        mountpoints=("/etc/config",),
        uid=1000,
        gid=1000,
        cwd="/srv",
    )
    assert parse_record(record_json(handle, extras)) == (handle, extras)
    assert exit_file_of(handle) == Path("pods/uid-1/containers/web/2.exit")


def test_record_without_runtime_section_reads_with_defaults() -> None:
    raw = record_json(
        ContainerHandle("kubesvc://x", "u", "c", 0, 1, 2, 3.0, Path("l"), Path("r.json")),
        RuntimeExtras(),
    )
    del raw["runtime"]
    assert parse_record(raw)[1] == RuntimeExtras()


@pytest.mark.parametrize(
    ("raw",),
    [
        pytest.param({}, id="empty"),
        pytest.param({"containerID": "x", "podUID": "u", "name": "c", "attempt": "z"}, id="bad"),
    ],
)
def test_bad_records_raise(raw: dict[str, object]) -> None:
    with pytest.raises((KeyError, ValueError, TypeError)):
        parse_record(raw)


EXISTING = {"/", "/etc", "/etc/hosts", "/srv", "/vol/a", "/vol/b", "/vol/file"}
DIRS = {"/", "/etc", "/srv", "/vol/a", "/vol/b"}


@pytest.mark.parametrize(
    ("mounts", "binds", "mountpoints", "create"),
    [
        pytest.param(
            [Mount(Path("/vol/a"), "/srv")],
            [("/vol/a", "/srv", False)],
            ("/srv",),
            (),
            id="existing-target",
        ),
        pytest.param(
            [Mount(Path("/vol/a"), "/etc/config/app", read_only=True)],
            [("/vol/a", "/etc/config/app", True)],
            ("/etc/config/app",),
            (("/etc/config", True), ("/etc/config/app", True)),
            id="missing-dir-with-parent",
        ),
        pytest.param(
            [Mount(Path("/vol/file"), "/etc/app.conf")],
            [("/vol/file", "/etc/app.conf", False)],
            ("/etc/app.conf",),
            (("/etc/app.conf", False),),
            id="missing-file",
        ),
        pytest.param(
            [Mount(Path("/vol/file"), "/data/conf/x.conf"), Mount(Path("/vol/b"), "/data")],
            [("/vol/b", "/data", False), ("/vol/file", "/data/conf/x.conf", False)],
            ("/data", "/vol/b/conf/x.conf"),
            (("/data", True), ("/vol/b/conf", True), ("/vol/b/conf/x.conf", False)),
            id="nested-goes-into-the-outer-source",
        ),
        pytest.param(
            [Mount(Path("/vol/a"), "/x/one"), Mount(Path("/vol/b"), "/x/two")],
            [("/vol/a", "/x/one", False), ("/vol/b", "/x/two", False)],
            ("/x/one", "/x/two"),
            (("/x", True), ("/x/one", True), ("/x/two", True)),
            id="shared-parent-made-once",
        ),
    ],
)
def test_plan_mounts(
    mounts: list[Mount],
    binds: list[tuple[str, str, bool]],
    mountpoints: tuple[str, ...],
    create: tuple[tuple[str, bool], ...],
) -> None:
    plan = plan_mounts(mounts, EXISTING.__contains__, DIRS.__contains__)
    assert [(b.source, b.target, b.read_only) for b in plan.binds] == binds
    assert plan.mountpoints == mountpoints
    assert plan.create == create


def test_plan_mounts_rejects_relative_targets() -> None:
    with pytest.raises(StartError) as info:
        plan_mounts([Mount(Path("/vol/a"), "relative")], EXISTING.__contains__, DIRS.__contains__)
    assert info.value.reason == "CreateContainerError"


NETNS = SandboxInfo(
    pod_uid="u",
    netns="/run/netns/pod",
    hostname="web-0",
    resolv_conf=Path("/state/etc/resolv.conf"),
    hosts=Path("/state/etc/hosts"),
)


@pytest.mark.parametrize(
    ("sandbox", "has_binds", "join", "flags"),
    [
        pytest.param(SandboxInfo(pod_uid="u"), False, (), 0, id="loopback"),
        pytest.param(
            SandboxInfo(pod_uid="u"), True, (), nsenter.CLONE_NEWNS, id="loopback-root-mounts"
        ),
        pytest.param(
            NETNS,
            False,
            (("/run/netns/pod", nsenter.CLONE_NEWNET),),
            nsenter.CLONE_NEWNS | nsenter.CLONE_NEWUTS,
            id="netns",
        ),
    ],
)
def test_namespace_flags(
    sandbox: SandboxInfo, has_binds: bool, join: tuple[tuple[str, int], ...], flags: int
) -> None:
    assert namespace_flags(sandbox, has_binds) == (join, flags)


def test_sandbox_mounts() -> None:
    assert sandbox_mounts(NETNS) == [
        Mount(Path("/state/etc/resolv.conf"), "/etc/resolv.conf"),
        Mount(Path("/state/etc/hosts"), "/etc/hosts"),
    ]
    assert sandbox_mounts(SandboxInfo(pod_uid="u")) == []


SH = "/usr/bin/dash"
TRAPPED = TERM_BIT | (1 << (signal.SIGCHLD - 1)) | (1 << (signal.SIGINT - 1))


@pytest.mark.parametrize(
    ("wrapper", "child", "ready"),
    [
        pytest.param(None, None, True, id="wrapper-gone"),
        pytest.param(Signals(SH, 0), None, False, id="wrapper-starting"),
        pytest.param(Signals(SH, TRAPPED), None, False, id="trapped-not-forked"),
        pytest.param(Signals(SH, TRAPPED), Signals(SH, TRAPPED), False, id="forked-not-reset"),
        pytest.param(Signals(SH, TRAPPED), Signals(SH, 0), True, id="handlers-reset"),
        pytest.param(
            Signals(SH, TRAPPED), Signals("/usr/bin/python3", TERM_BIT), True, id="exec-d"
        ),
    ],
)
def test_term_reaches_command(wrapper: Signals | None, child: Signals | None, ready: bool) -> None:
    assert term_reaches_command(wrapper, child) is ready


def test_child_setup_json_round_trips() -> None:
    setup = nsenter.ChildSetup(
        cgroup_procs=("/sys/fs/cgroup/memory/kubesvc/u/c-0/cgroup.procs",),
        join=(("/run/netns/pod", nsenter.CLONE_NEWNET),),
        unshare=nsenter.CLONE_NEWNS | nsenter.CLONE_NEWUTS,
        hostname="web-0",
        binds=(nsenter.Bind("/a", "/b", read_only=True, optional=True),),
        uid=1000,
        gid=1001,
        cwd="/srv",
        executable="python",
        path="/usr/bin",
        env={"A": "1"},
    )
    assert nsenter.ChildSetup.from_json(setup.to_json()) == setup


@pytest.mark.parametrize(
    ("setup", "empty"),
    [
        pytest.param(nsenter.ChildSetup(cwd="/srv", executable="x"), True, id="nothing-to-do"),
        pytest.param(nsenter.ChildSetup(uid=1), False, id="user"),
        pytest.param(nsenter.ChildSetup(cgroup_procs=("p",)), False, id="cgroup"),
        pytest.param(nsenter.ChildSetup(unshare=nsenter.CLONE_NEWNS), False, id="namespace"),
    ],
)
def test_child_setup_empty(setup: nsenter.ChildSetup, empty: bool) -> None:
    assert setup.empty is empty


def test_setup_error_wire_form() -> None:
    err = nsenter.SetupError("RunContainerError", 'exec: "x": permission denied')
    back = nsenter.SetupError.decode(err.encode())
    assert (back.reason, back.message) == (err.reason, err.message)
    assert nsenter.SetupError.decode(b"").reason == "RunContainerError"


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("name", "path", "message"),
    [
        pytest.param("tool", "bin", None, id="found-in-path"),
        pytest.param(
            "missing", "bin", 'exec: "missing": executable file not found in $PATH', id="nf"
        ),
        pytest.param(
            "./nothere",
            "bin",
            'exec: "./nothere": stat ./nothere: no such file or directory',
            id="relative-missing",
        ),
        pytest.param("./plain.txt", "", 'exec: "./plain.txt": permission denied', id="not-exec"),
        pytest.param("./bin", "", 'exec: "./bin": permission denied', id="directory"),
        pytest.param("bin/tool", "", None, id="relative-found"),
        pytest.param(
            "plain.txt",
            "bin:.",
            'exec: "plain.txt": executable file not found in $PATH',
            id="skip-non-exec",
        ),
    ],
)
def test_find_executable(tmp_path: Path, name: str, path: str, message: str | None) -> None:
    (tmp_path / "bin").mkdir()
    _executable(tmp_path / "bin" / "tool")
    (tmp_path / "plain.txt").write_text("x")
    search = ":".join(str(tmp_path / p) if p not in ("", ".") else p for p in path.split(":"))
    if message is None:
        found = nsenter.find_executable(name, search, str(tmp_path))
        assert (tmp_path / found).exists()
    else:
        with pytest.raises(nsenter.SetupError) as info:
            nsenter.find_executable(name, search, str(tmp_path))
        assert info.value.message == message
        assert info.value.reason == "RunContainerError"
