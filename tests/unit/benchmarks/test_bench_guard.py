"""The busy-machine guard on synthetic /proc samples."""

from __future__ import annotations

import pytest

from benchmarks.guard import (
    CpuTicks,
    GuardSample,
    ProcTicks,
    account,
    assess,
    parse_pid_stat,
    parse_proc_stat,
)

PROC_STAT = """\
cpu  8104 0 5837 73139 544 0 921 999 0 0
cpu0 2549 0 2476 38749 143 0 370 492 0 0
cpu1 5554 0 3360 34389 400 0 550 507 0 0
intr 1234 0 0
ctxt 99
"""


def test_parse_proc_stat_per_core() -> None:
    cores = parse_proc_stat(PROC_STAT)
    assert set(cores) == {0, 1}
    # busy = user + nice + system + irq + softirq; idle includes iowait
    assert cores[0] == CpuTicks(busy=2549 + 2476 + 370, idle=38749 + 143, steal=492)
    assert cores[1].total == 5554 + 3360 + 550 + 34389 + 400 + 507


@pytest.mark.parametrize(
    ("text", "pid", "comm", "pgid", "own"),
    [
        pytest.param(
            "4242 (nginx) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 250 7 9 20 0 1 0 100",
            4242,
            "nginx",
            4242,
            400,
            id="plain",
        ),
        pytest.param(
            "77 (my (odd) name) R 1 70 70 0 -1 4194304 0 0 0 0 3 4 0 0 20 0 1 0 5",
            77,
            "my (odd) name",
            70,
            7,
            id="parentheses-and-spaces-in-name",
        ),
    ],
)
def test_parse_pid_stat(text: str, pid: int, comm: str, pgid: int, own: int) -> None:
    proc = parse_pid_stat(text)
    assert (proc.pid, proc.comm, proc.pgid, proc.own) == (pid, comm, pgid, own)


def _proc(
    pid: int, pgid: int, own: int, *, ppid: int = 1, flags: int = 0, child: int = 0
) -> ProcTicks:
    return ProcTicks(
        pid=pid,
        comm=f"p{pid}",
        ppid=ppid,
        pgid=pgid,
        flags=flags,
        utime=own,
        stime=0,
        cutime=child,
        cstime=0,
    )


def test_account_splits_ours_kernel_and_others() -> None:
    split = account(
        [
            _proc(10, 10, 5, child=40),  # the runner: own + reaped children
            _proc(20, 20, 100),  # a server we started
            _proc(21, 20, 50, ppid=20),  # its worker
            _proc(30, 30, 70),  # someone else's process
            _proc(40, 0, 9, ppid=2),  # a kernel thread
        ],
        self_pid=10,
        pgids=frozenset({20}),
    )
    assert split.ours == 5 + 40 + 100 + 50
    assert split.kernel == 9
    assert split.others == {30: ("p30", 70)}


def _sample(
    busy: tuple[int, int],
    idle: tuple[int, int],
    *,
    ours: int,
    kernel: int = 0,
    steal: tuple[int, int] = (0, 0),
    others: dict[int, tuple[str, int]] | None = None,
) -> GuardSample:
    return GuardSample(
        cpus={i: CpuTicks(busy=busy[i], idle=idle[i], steal=steal[i]) for i in (0, 1)},
        ours=ours,
        kernel=kernel,
        loadavg=1.0,
        others=others or {},
    )


BEFORE = _sample((1000, 1000), (5000, 5000), ours=300, kernel=50, others={99: ("make", 10)})
CPUS = frozenset({0, 1})


@pytest.mark.parametrize(
    ("after", "busy", "foreign"),
    [
        pytest.param(
            _sample((1190, 1195), (5010, 5005), ours=300 + 380, kernel=55),
            False,
            0.0,
            id="quiet-all-busy-time-is-ours",
        ),
        pytest.param(
            _sample((1200, 1200), (5000, 5000), ours=300 + 300, kernel=50 + 90),
            False,
            0.025,
            id="kernel-threads-do-not-count",
        ),
        pytest.param(
            _sample(
                (1200, 1200), (5000, 5000), ours=300 + 300, kernel=50, others={99: ("make", 110)}
            ),
            True,
            0.25,
            id="another-process-took-a-quarter",
        ),
        pytest.param(
            _sample((1200, 1120), (5000, 5080), ours=300 + 312, kernel=50),
            False,
            0.02,
            id="foreign-below-threshold",
        ),
        pytest.param(
            _sample((1150, 1150), (5000, 5000), ours=300 + 400, kernel=50),
            False,
            0.0,
            id="more-ours-than-busy-is-tick-noise-not-negative",
        ),
    ],
)
def test_assess_foreign_load(after: GuardSample, busy: bool, foreign: float) -> None:
    verdict = assess(BEFORE, after, CPUS, foreign_threshold=0.05, steal_threshold=0.10)
    assert verdict.busy is busy
    assert verdict.foreign_share == pytest.approx(foreign)
    assert bool(verdict.reason) is busy


def test_assess_names_the_culprit() -> None:
    after = _sample(
        (1200, 1200), (5000, 5000), ours=300 + 300, kernel=50, others={99: ("make", 110)}
    )
    verdict = assess(BEFORE, after, CPUS, foreign_threshold=0.05, steal_threshold=0.10)
    assert verdict.top_others == ("make[99] 25%",)
    assert "make[99]" in verdict.reason


def test_assess_flags_hypervisor_steal() -> None:
    after = _sample((1180, 1180), (5000, 5000), ours=300 + 360, steal=(30, 30), kernel=50)
    verdict = assess(BEFORE, after, CPUS, foreign_threshold=0.05, steal_threshold=0.10)
    assert verdict.busy
    assert verdict.steal_share == pytest.approx(60 / 420)
    assert verdict.foreign_share == pytest.approx(0.0)


def test_assess_watches_only_the_given_cores() -> None:
    # core 1 is busy with someone else's work, but we only pinned to core 0
    after = _sample((1100, 1200), (5000, 5000), ours=300 + 100, kernel=50)
    verdict = assess(BEFORE, after, frozenset({0}), foreign_threshold=0.05, steal_threshold=0.1)
    assert not verdict.busy


def test_assess_zero_interval_is_not_busy() -> None:
    verdict = assess(BEFORE, BEFORE, CPUS, foreign_threshold=0.05, steal_threshold=0.10)
    assert not verdict.busy
    assert verdict.reason
