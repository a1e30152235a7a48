from __future__ import annotations

from typing import Any

import pytest

from benchmarks.node_load import (
    Tracker,
    is_ready,
    is_scheduled,
    latency_summary,
    pod_body,
    startup_figures,
)


def pod(
    name: str, *, node: str = "", ready: str | None = None, scheduled: str | None = None
) -> dict[str, Any]:
    conditions = []
    if scheduled is not None:
        conditions.append({"type": "PodScheduled", "status": scheduled})
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready})
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"name": name}, "spec": spec, "status": {"conditions": conditions}}


@pytest.mark.parametrize(
    ("obj", "ready", "scheduled"),
    [
        pytest.param(pod("a"), False, False, id="new-pod"),
        pytest.param(pod("a", node="n"), False, True, id="bound"),
        pytest.param(pod("a", scheduled="True"), False, True, id="scheduled-condition"),
        pytest.param(pod("a", scheduled="False"), False, False, id="unschedulable"),
        pytest.param(pod("a", node="n", ready="False"), False, True, id="not-ready-yet"),
        pytest.param(pod("a", node="n", ready="True"), True, True, id="ready"),
        pytest.param({"metadata": {"name": "a"}}, False, False, id="no-spec-no-status"),
    ],
)
def test_pod_states(obj: dict[str, Any], ready: bool, scheduled: bool) -> None:
    assert is_ready(obj) is ready
    assert is_scheduled(obj) is scheduled


def test_pod_body_runs_a_command_without_probes() -> None:
    body = pod_body("p-1")
    (container,) = body["spec"]["containers"]
    assert body["metadata"]["name"] == "p-1"
    assert container["command"] == ["sleep", "3600"]
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param(
            [("ADDED", pod("a"), 1.0), ("MODIFIED", pod("a", node="n"), 1.2)],
            (1.2, None, None),
            id="scheduled-only",
        ),
        pytest.param(
            [
                ("ADDED", pod("a", node="n"), 1.1),
                ("MODIFIED", pod("a", node="n", ready="True"), 1.5),
                ("MODIFIED", pod("a", node="n", ready="True"), 1.9),
            ],
            (1.1, 1.5, None),
            id="first-ready-sighting-counts",
        ),
        pytest.param(
            [
                ("MODIFIED", pod("a", node="n", ready="True"), 1.5),
                ("MODIFIED", pod("a", node="n", ready="False"), 2.0),
                ("DELETED", pod("a", node="n", ready="False"), 2.5),
                ("DELETED", pod("a", node="n", ready="False"), 3.0),
            ],
            (1.5, 1.5, 2.5),
            id="ready-then-gone",
        ),
    ],
)
def test_tracker_apply(
    events: list[tuple[str, dict[str, Any], float]],
    expected: tuple[float | None, float | None, float | None],
) -> None:
    tracker = Tracker()
    tracker.sent("a", 1.0)
    for etype, obj, now in events:
        tracker.apply(etype, obj, now)
    t = tracker.pods["a"]
    assert (t.scheduled, t.ready, t.gone) == expected


def test_tracker_count_ignores_unknown_names() -> None:
    tracker = Tracker()
    tracker.sent("a", 0.0)
    tracker.sent("b", 0.0)
    tracker.apply("MODIFIED", pod("a", node="n", ready="True"), 0.5)
    assert tracker.count(["a", "b", "zzz"], "ready") == 1
    assert tracker.count(["a", "b"], "scheduled") == 1
    assert tracker.count(["a", "b"], "gone") == 0


def test_tracker_sent_starts_a_pod_afresh() -> None:
    tracker = Tracker()
    tracker.sent("a", 0.0)
    tracker.apply("MODIFIED", pod("a", node="n", ready="True"), 0.5)
    tracker.sent("a", 10.0)
    assert tracker.pods["a"].ready is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], {}, id="none"),
        pytest.param([7.0], {"p50_ms": 7.0, "p99_ms": 7.0, "min_ms": 7.0, "max_ms": 7.0}, id="one"),
        pytest.param(
            [float(v) for v in range(1, 101)],
            {"p50_ms": 50.5, "p99_ms": 99.01, "min_ms": 1.0, "max_ms": 100.0},
            id="1-to-100",
        ),
    ],
)
def test_latency_summary(values: list[float], expected: dict[str, float]) -> None:
    assert latency_summary(values) == pytest.approx(expected)


def test_latency_summary_prefix() -> None:
    assert set(latency_summary([1.0], "scheduled_")) == {
        "scheduled_p50_ms",
        "scheduled_p99_ms",
        "scheduled_min_ms",
        "scheduled_max_ms",
    }


def _tracker(rows: dict[str, tuple[float, float | None, float | None]]) -> Tracker:
    tracker = Tracker()
    for name, (sent, scheduled, ready) in rows.items():
        tracker.sent(name, sent)
        t = tracker.pods[name]
        t.scheduled, t.ready = scheduled, ready
    return tracker


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            {"a": (10.0, 10.1, 10.5)},
            {
                "pods": 1.0,
                "ready": 1.0,
                "not_ready": 0.0,
                "p50_ms": 500.0,
                "p99_ms": 500.0,
                "scheduled_p50_ms": 100.0,
                "all_ready_s": 0.5,
            },
            id="one-pod",
        ),
        pytest.param(
            {"a": (10.0, 10.1, 11.0), "b": (10.5, 10.6, 12.5)},
            {
                "pods": 2.0,
                "ready": 2.0,
                "not_ready": 0.0,
                "p50_ms": 1500.0,
                "min_ms": 1000.0,
                "max_ms": 2000.0,
                "all_ready_s": 2.5,
            },
            id="all-ready-from-first-create-to-last-ready",
        ),
        pytest.param(
            {"a": (10.0, 10.1, 11.0), "b": (10.5, None, None)},
            {"pods": 2.0, "ready": 1.0, "not_ready": 1.0, "p50_ms": 1000.0},
            id="one-never-ready",
        ),
    ],
)
def test_startup_figures(
    rows: dict[str, tuple[float, float | None, float | None]], expected: dict[str, float]
) -> None:
    figures = startup_figures(_tracker(rows), list(rows))
    assert {k: figures[k] for k in expected} == pytest.approx(expected)
    if expected["not_ready"]:
        assert "all_ready_s" not in figures


def test_startup_figures_counts_pods_never_sent_as_not_ready() -> None:
    figures = startup_figures(_tracker({"a": (0.0, 0.1, 0.2)}), ["a", "b"])
    assert (figures["ready"], figures["not_ready"]) == (1.0, 1.0)
    assert "all_ready_s" not in figures
