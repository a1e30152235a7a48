from __future__ import annotations

import pytest

from benchmarks.registry import registered
from benchmarks.scenarios.node import to_sample

STARTUP = {
    "pods": 10.0,
    "ready": 10.0,
    "not_ready": 0.0,
    "p50_ms": 120.0,
    "p99_ms": 300.0,
    "min_ms": 90.0,
    "max_ms": 310.0,
    "scheduled_p50_ms": 20.0,
    "scheduled_p99_ms": 40.0,
    "create_s": 0.2,
    "all_ready_s": 0.45,
    "delete_all_s": 1.5,
    "not_deleted": 0.0,
}
MEMORY = {
    **STARTUP,
    "agent_rss_idle_mib": 40.0,
    "agent_rss_mib": 55.5,
    "pods_rss_mib": 80.0,
    "pods_pss_mib": 20.0,
    "pod_processes": 10.0,
}


def test_startup_sample() -> None:
    sample = to_sample(STARTUP, memory=False)
    assert (sample.value, sample.p50_ms, sample.p99_ms, sample.errors) == (0.45, 120.0, 300.0, 0)
    assert sample.extra["scheduled_p99_ms"] == 40.0
    assert sample.extra["pods"] == 10.0


def test_memory_sample() -> None:
    sample = to_sample(MEMORY, memory=True)
    assert (sample.value, sample.p50_ms, sample.p99_ms) == (55.5, None, None)
    assert sample.extra == {
        "pods": 10.0,
        "agent_rss_idle_mib": 40.0,
        "pods_rss_mib": 80.0,
        "pods_pss_mib": 20.0,
        "pod_processes": 10.0,
        "all_ready_s": 0.45,
    }


def test_forced_deletes_are_errors() -> None:
    assert to_sample({**STARTUP, "not_deleted": 3.0}, memory=False).errors == 3


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({**STARTUP, "ready": 8.0, "not_ready": 2.0}, id="some-not-ready"),
        pytest.param({k: v for k, v in STARTUP.items() if k != "all_ready_s"}, id="no-all-ready"),
    ],
)
def test_batch_not_ready_is_an_error(result: dict[str, float]) -> None:
    with pytest.raises(RuntimeError, match="not Ready"):
        to_sample(result, memory=False)


def test_node_rows_are_registered_and_runnable() -> None:
    rows = {s.name: s for s in registered() if s.family == "node"}
    assert list(rows) == [
        "node-pod-startup-1",
        "node-pod-startup-10",
        "node-pod-startup-100",
        "node-memory",
    ]
    assert all(s.setup is not None and s.group == "node" and s.issue == 5 for s in rows.values())
