from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from benchmarks.node_load import (
    descendants,
    end_leftovers,
    memory_figures,
    parse_ppid,
    parse_pss_kib,
    parse_start_ticks,
    parse_vmrss_kib,
    read_parents,
    start_ticks,
)

STATUS = "Name:\tpython3\nVmPeak:\t  200000 kB\nVmRSS:\t   51200 kB\nThreads:\t2\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(STATUS, 51200, id="process"),
        pytest.param("Name:\tkthreadd\nThreads:\t1\n", None, id="kernel-thread-has-none"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_vmrss_kib(text: str, expected: int | None) -> None:
    assert parse_vmrss_kib(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Rss:\t1716 kB\nPss:\t318 kB\nPss_Dirty:\t108 kB\n", 318, id="rollup"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_pss_kib(text: str, expected: int | None) -> None:
    assert parse_pss_kib(text) == expected


@pytest.mark.parametrize(
    ("stat", "ppid"),
    [
        pytest.param("42 (sleep) S 7 42 42 0 -1", 7, id="plain"),
        pytest.param("42 (a b) (c)) R 9 42 42 0 -1", 9, id="parens-and-spaces-in-comm"),
    ],
)
def test_parse_ppid(stat: str, ppid: int) -> None:
    assert parse_ppid(stat) == ppid


@pytest.mark.parametrize(
    ("parents", "root", "expected"),
    [
        pytest.param({1: 0, 10: 1, 11: 10, 12: 10}, 10, {11, 12}, id="children"),
        pytest.param({1: 0, 10: 1, 11: 10, 20: 11, 30: 20}, 10, {11, 20, 30}, id="grandchildren"),
        pytest.param({1: 0, 10: 1, 11: 1}, 10, set(), id="siblings-are-not-below"),
        pytest.param({1: 0, 11: 10}, 10, {11}, id="root-already-gone"),
        pytest.param({10: 11, 11: 10}, 10, {11}, id="cycle-terminates"),
    ],
)
def test_descendants(parents: dict[int, int], root: int, expected: set[int]) -> None:
    assert descendants(parents, root) == expected


def _proc(root: Path, pid: int, ppid: int, rss_kib: int | None) -> None:
    d = root / str(pid)
    d.mkdir()
    (d / "stat").write_text(f"{pid} (x) S {ppid} {pid} {pid} 0 -1\n")
    rss = f"VmRSS:\t{rss_kib} kB\n" if rss_kib is not None else ""
    (d / "status").write_text(f"Name:\tx\n{rss}")
    if rss_kib is not None:
        (d / "smaps_rollup").write_text(f"Rss:\t{rss_kib} kB\nPss:\t{rss_kib // 4} kB\n")


def test_memory_figures_from_a_fake_proc(tmp_path: Path) -> None:
    _proc(tmp_path, 1, 0, 1000)
    _proc(tmp_path, 100, 1, 40 * 1024)  # the agent
    _proc(tmp_path, 101, 100, 512)  # a pod
    _proc(tmp_path, 102, 100, 512)  # another pod
    _proc(tmp_path, 103, 102, 1024)  # a pod's child
    _proc(tmp_path, 200, 1, 9999)  # someone else
    (tmp_path / "self").mkdir()
    assert read_parents(tmp_path) == {1: 0, 100: 1, 101: 100, 102: 100, 103: 102, 200: 1}
    assert memory_figures(100, tmp_path) == {
        "agent_rss_mib": 40.0,
        "pods_rss_mib": 2.0,
        "pods_pss_mib": 0.5,
        "pod_processes": 3.0,
    }


def test_memory_figures_of_a_gone_agent(tmp_path: Path) -> None:
    assert memory_figures(100, tmp_path) == {
        "agent_rss_mib": 0.0,
        "pods_rss_mib": 0.0,
        "pods_pss_mib": 0.0,
        "pod_processes": 0.0,
    }


@pytest.mark.parametrize(
    ("stat", "ticks"),
    [
        pytest.param(
            "42 (sleep) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0", 12345, id="plain"
        ),
        pytest.param(
            "42 (a) b) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777 0", 777, id="paren-comm"
        ),
    ],
)
def test_parse_start_ticks(stat: str, ticks: int) -> None:
    assert parse_start_ticks(stat) == ticks


def test_end_leftovers_ends_only_the_process_it_recorded() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        (ticks,) = start_ticks([child.pid]).values()
        assert end_leftovers({child.pid: ticks + 1}) == []  # a reused PID: not ours
        assert child.poll() is None
        assert end_leftovers({child.pid: ticks}) == [child.pid]
        assert child.wait(timeout=5) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_end_leftovers_of_gone_processes(tmp_path: Path) -> None:
    assert end_leftovers({123456: 1}, tmp_path) == []
