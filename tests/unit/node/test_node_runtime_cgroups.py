"""cgroup layout and values (pure), and /proc parsing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubesvc.node.runtime import cgroups as cg
from kubesvc.node.runtime import procfs
from kubesvc.node.runtime.base import Limits

V1_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_OWN = "4:memory:/agent/x\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n"
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
NS_MOUNTINFO = "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"


def test_parse_mountinfo() -> None:
    assert cg.parse_mountinfo(V1_MOUNTINFO) == [
        cg.CgroupMount("/sys/fs/cgroup/cpu,cpuacct", "/", 1, frozenset({"cpu"})),
        cg.CgroupMount("/sys/fs/cgroup/memory", "/", 1, frozenset({"memory"})),
        cg.CgroupMount("/sys/fs/cgroup/systemd", "/", 1, frozenset()),
        cg.CgroupMount("/sys/fs/cgroup/unified", "/", 2),
    ]


def test_parse_mountinfo_unescapes_paths() -> None:
    line = "1 2 0:3 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n"
    assert cg.parse_mountinfo(line)[0].mount_point == "/mnt/with space"


def test_parse_proc_cgroup() -> None:
    assert cg.parse_proc_cgroup(V1_OWN) == {
        "memory": "/agent/x",
        "cpu": "/",
        "cpuacct": "/",
        "name=systemd": "/",
        "": "/",
    }


BOTH = frozenset({"memory", "cpu"})


@pytest.mark.parametrize(
    ("mountinfo", "own", "v2", "delegated", "expected"),
    [
        pytest.param(
            V1_MOUNTINFO,
            V1_OWN,
            frozenset(),
            frozenset(),
            cg.Layout(
                1,
                (
                    cg.Hierarchy(frozenset({"cpu"}), Path("/sys/fs/cgroup/cpu,cpuacct/kubesvc")),
                    cg.Hierarchy(
                        frozenset({"memory"}), Path("/sys/fs/cgroup/memory/agent/x/kubesvc")
                    ),
                ),
            ),
            id="v1-under-own-cgroup",
        ),
        pytest.param(
            V2_MOUNTINFO,
            "0::/user.slice/session-1.scope\n",
            frozenset({"cpu", "memory", "io"}),
            frozenset({"cpu", "memory"}),
            cg.Layout(2, (cg.Hierarchy(BOTH, Path("/sys/fs/cgroup/kubesvc")),)),
            id="v2-at-root",
        ),
        pytest.param(
            V2_MOUNTINFO,
            "0::/\n",
            frozenset({"cpu", "memory"}),
            frozenset({"cpu"}),
            "cgroup v2 memory controller is not enabled for child cgroups of /sys/fs/cgroup "
            "(cgroup.subtree_control)",
            id="v2-not-delegated",
        ),
        pytest.param(
            V2_MOUNTINFO,
            "0::/\n",
            frozenset({"pids"}),
            frozenset(),
            "cgroup v2 has no cpu or memory controller",
            id="v2-no-controllers",
        ),
        pytest.param(
            "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
            "4:memory:/\n",
            frozenset(),
            frozenset(),
            "cgroup v1 cpu controller is not mounted",
            id="v1-missing-cpu",
        ),
        pytest.param(
            "",
            "",
            frozenset(),
            frozenset(),
            "no cgroup filesystem with the memory and cpu controllers is mounted",
            id="none",
        ),
        pytest.param(
            NS_MOUNTINFO + "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
            "4:memory:/docker/abc/inner\n2:cpu:/\n",
            frozenset(),
            frozenset(),
            cg.Layout(
                1,
                (
                    cg.Hierarchy(
                        frozenset({"memory"}), Path("/sys/fs/cgroup/memory/inner/kubesvc")
                    ),
                    cg.Hierarchy(frozenset({"cpu"}), Path("/sys/fs/cgroup/cpu/kubesvc")),
                ),
            ),
            id="v1-mount-root-not-slash",
        ),
    ],
)
def test_plan_layout(
    mountinfo: str,
    own: str,
    v2: frozenset[str],
    delegated: frozenset[str],
    expected: cg.Layout | str,
) -> None:
    layout = cg.plan_layout(cg.parse_mountinfo(mountinfo), cg.parse_proc_cgroup(own), v2, delegated)
    assert layout == expected


def test_layout_dirs() -> None:
    layout = cg.Layout(2, (cg.Hierarchy(BOTH, Path("/sys/fs/cgroup/kubesvc")),))
    assert layout.dirs("uid", "web", 3) == (Path("/sys/fs/cgroup/kubesvc/uid/web-3"),)
    with pytest.raises(ValueError):
        layout.dirs("../x", "web", 0)


@pytest.mark.parametrize(
    ("millis", "quota"),
    [
        pytest.param(500, 50_000, id="half-cpu"),
        pytest.param(2000, 200_000, id="two-cpus"),
        pytest.param(1, 1_000, id="kernel-minimum"),
        pytest.param(10, 1_000, id="below-minimum"),
        pytest.param(15, 1_500, id="just-above-minimum"),
    ],
)
def test_cpu_quota(millis: int, quota: int) -> None:
    assert cg.cpu_quota_us(millis) == quota


@pytest.mark.parametrize(
    ("limits", "version", "writes"),
    [
        pytest.param(Limits(), 1, [], id="none"),
        pytest.param(
            Limits(memory_bytes=64 << 20, cpu_millis=250),
            1,
            [
                ("memory", "memory.limit_in_bytes", "67108864", False),
                ("memory", "memory.memsw.limit_in_bytes", "67108864", True),
                ("cpu", "cpu.cfs_period_us", "100000", False),
                ("cpu", "cpu.cfs_quota_us", "25000", False),
            ],
            id="v1",
        ),
        pytest.param(
            Limits(memory_bytes=1 << 30, cpu_millis=1500),
            2,
            [
                ("memory", "memory.max", "1073741824", False),
                ("memory", "memory.swap.max", "0", True),
                ("cpu", "cpu.max", "150000 100000", False),
            ],
            id="v2",
        ),
        pytest.param(
            Limits(cpu_millis=100), 2, [("cpu", "cpu.max", "10000 100000", False)], id="v2-cpu"
        ),
    ],
)
def test_limit_writes(
    limits: Limits, version: int, writes: list[tuple[str, str, str, bool]]
) -> None:
    assert [
        (w.controller, w.file, w.value, w.optional) for w in cg.limit_writes(limits, version)
    ] == writes


@pytest.mark.parametrize(
    ("text", "kills"),
    [
        pytest.param("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", 2, id="v1-oom-control"),
        pytest.param("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n", 1, id="v2-events"),
        pytest.param("oom_kill_disable 0\nunder_oom 0\n", 0, id="old-kernel"),
    ],
)
def test_parse_oom_kills(text: str, kills: int) -> None:
    assert cg.parse_oom_kills(text) == kills


def test_remove_tree_of_plain_directories(tmp_path: Path) -> None:
    base = tmp_path / "kubesvc"
    (base / "pod" / "c-0").mkdir(parents=True)
    (base / "pod" / "c-1").mkdir()
    assert cg.remove_tree(base)
    assert not base.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "42 (sh) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1 2",
            procfs.ProcStat(42, "S", 1, 42, 42, 12345),
            id="plain",
        ),
        pytest.param(
            "7 (a) b (c)) Z 3 5 6 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 1 2",
            procfs.ProcStat(7, "Z", 3, 5, 6, 99),
            id="parens-and-spaces-in-name",
        ),
    ],
)
def test_parse_stat(text: str, expected: procfs.ProcStat) -> None:
    assert procfs.parse_stat(text) == expected


def test_own_process_is_alive_and_start_ticks_tell_reuse() -> None:
    ticks = procfs.start_ticks(os.getpid())
    assert ticks is not None
    assert procfs.is_alive(os.getpid(), ticks)
    assert not procfs.is_alive(os.getpid(), ticks + 1)
    assert procfs.read_stat(2**22 + 1) is None


def test_parse_caught_signals() -> None:
    assert procfs.parse_caught_signals("SigIgn:\t0\nSigCgt:\t0000000000014007\n") == 0x14007
    assert procfs.parse_caught_signals("") == 0


@pytest.mark.parametrize("version", [1, 2])
def test_create_writes_limits_into_plain_directories(tmp_path: Path, version: int) -> None:
    """The filesystem side of ``Cgroups`` on ordinary files (a real cgroupfs needs root)."""
    if version == 1:
        layout = cg.Layout(
            1,
            (
                cg.Hierarchy(frozenset({"memory"}), tmp_path / "memory" / "kubesvc"),
                cg.Hierarchy(frozenset({"cpu"}), tmp_path / "cpu" / "kubesvc"),
            ),
        )
    else:
        layout = cg.Layout(2, (cg.Hierarchy(BOTH, tmp_path / "unified" / "kubesvc"),))
        (tmp_path / "unified").mkdir()
    cgroups = cg.Cgroups(layout)
    dirs = cgroups.dirs("uid", "web", 0)
    procs = cgroups.create(dirs, Limits(memory_bytes=1 << 20, cpu_millis=500))
    assert procs == tuple(d / "cgroup.procs" for d in dirs)
    written = {
        f"{p.parent.name}/{p.name}": p.read_text()
        for d in dirs
        for p in sorted(d.parent.parent.rglob("*"))
        if p.is_file()
    }
    if version == 1:
        assert written == {
            "web-0/memory.limit_in_bytes": "1048576",
            "web-0/cpu.cfs_period_us": "100000",
            "web-0/cpu.cfs_quota_us": "50000",
        }
    else:
        assert written == {
            "kubesvc/cgroup.subtree_control": "+cpu +memory",
            "uid/cgroup.subtree_control": "+cpu +memory",
            "web-0/memory.max": "1048576",
            "web-0/cpu.max": "50000 100000",
        }
    (dirs[0] / "memory.events").write_text("oom 1\noom_kill 1\n")
    assert cg.oom_killed(dirs)
