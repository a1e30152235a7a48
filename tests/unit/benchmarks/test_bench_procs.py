"""Processes end by process group, also their children and also on errors."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from benchmarks.procs import CommandFailed, Processes, group_members, wrap


@pytest.mark.parametrize(
    ("cpu", "netns", "expected"),
    [
        pytest.param(None, None, ["wrk", "-t1"], id="bare"),
        pytest.param(1, None, ["taskset", "-c", "1", "wrk", "-t1"], id="pinned"),
        pytest.param(
            0,
            "ns-cli",
            ["ip", "netns", "exec", "ns-cli", "taskset", "-c", "0", "wrk", "-t1"],
            id="pinned-in-namespace",
        ),
    ],
)
def test_wrap(cpu: int | None, netns: str | None, expected: list[str]) -> None:
    assert wrap(["wrk", "-t1"], cpu=cpu, netns=netns) == expected


# A parent that starts a child which ignores SIGTERM, then waits: the child must still end.
FAMILY = (
    "import signal, subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', "
    "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
    "time.sleep(60)\n"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_ends_the_whole_group(tmp_path: Path) -> None:
    with Processes(tmp_path) as procs:
        started = procs.start("family", [sys.executable, "-c", FAMILY])
        deadline = time.monotonic() + 10
        while len(group_members(started.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # the parent is still starting its child
        assert len(group_members(started.pid)) == 2
        assert started.pid in procs.pgids
        procs.stop(started, grace=0.5)
        assert group_members(started.pid) == []
        assert procs.pgids == frozenset()
        assert procs.history == frozenset({started.pid})


def test_leaving_the_context_ends_everything_even_on_error(tmp_path: Path) -> None:
    pids = []
    with pytest.raises(RuntimeError), Processes(tmp_path) as procs:
        pids = [procs.start(f"sleep{i}", ["sleep", "60"]).pid for i in range(2)]
        raise RuntimeError("scenario failed")
    assert not any(_alive(pid) for pid in pids)


def test_run_returns_output(tmp_path: Path) -> None:
    with Processes(tmp_path) as procs:
        done = procs.run("echo", ["sh", "-c", "echo hello; echo oops >&2"], timeout=5)
        assert done.returncode == 0
        assert done.text() == "hello\n"
        assert done.stderr == "oops\n"
        assert procs.pgids == frozenset()


@pytest.mark.parametrize(
    ("argv", "timeout", "message"),
    [
        pytest.param(["sh", "-c", "echo broken >&2; exit 3"], 5.0, "exited with 3", id="fails"),
        pytest.param(["sleep", "60"], 0.2, "timed out", id="hangs"),
    ],
)
def test_run_raises_and_leaves_nothing(
    tmp_path: Path, argv: list[str], timeout: float, message: str
) -> None:
    with Processes(tmp_path) as procs:
        with pytest.raises(CommandFailed, match=message):
            procs.run("tool", argv, timeout=timeout)
        (pgid,) = procs.history
        assert group_members(pgid) == []
        assert procs.pgids == frozenset()
