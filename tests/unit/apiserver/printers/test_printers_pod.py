"""READY, STATUS and RESTARTS of pods in the situations kubectl users meet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesvc.apiserver.printers import build_table, printer_for

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
CREATED = "2024-06-01T11:50:00Z"  # 10m before NOW


def pod(
    *,
    phase: str = "Running",
    containers: int = 1,
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": "web-0", "namespace": "default", "creationTimestamp": CREATED},
        "spec": {
            "containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)],
            "nodeName": "node-1",
        },
        "status": {"phase": phase, "podIPs": [{"ip": "10.244.0.5"}]},
    }
    if statuses is not None:
        obj["status"]["containerStatuses"] = statuses
    if init is not None:
        obj["spec"]["initContainers"] = init
    if init_statuses is not None:
        obj["status"]["initContainerStatuses"] = init_statuses
    if conditions is not None:
        obj["status"]["conditions"] = conditions
    for key, value in extra.items():
        if key == "deletion":
            obj["metadata"]["deletionTimestamp"] = value
        elif key == "reason":
            obj["status"]["reason"] = value
        else:
            raise AssertionError(key)
    return obj


def running(name: str = "c0", ready: bool = True, restarts: int = 0, **last: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": CREATED}},
    }
    if last:
        status["lastState"] = {"terminated": last}
    return status


def waiting(name: str, reason: str, restarts: int = 0, **last: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason}},
    }
    if last:
        status["lastState"] = {"terminated": last}
    return status


def terminated(name: str, exit_code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


READY_TRUE = [{"type": "Ready", "status": "True"}]


@pytest.mark.parametrize(
    ("obj", "ready", "status", "restarts"),
    [
        pytest.param(pod(phase="Pending"), "0/1", "Pending", "0", id="pending-no-statuses"),
        pytest.param(pod(statuses=[running()]), "1/1", "Running", "0", id="running"),
        pytest.param(
            pod(containers=2, statuses=[running("c0"), running("c1", ready=False)]),
            "1/2",
            "Running",
            "0",
            id="one-of-two-ready",
        ),
        pytest.param(
            pod(
                statuses=[
                    waiting(
                        "c0",
                        "CrashLoopBackOff",
                        restarts=4,
                        exitCode=1,
                        finishedAt="2024-06-01T11:55:00Z",
                    )
                ]
            ),
            "0/1",
            "CrashLoopBackOff",
            "4 (5m ago)",
            id="crash-loop-back-off",
        ),
        pytest.param(
            pod(statuses=[running(restarts=2, exitCode=137, finishedAt="2024-06-01T11:59:30Z")]),
            "1/1",
            "Running",
            "2 (30s ago)",
            id="restarted-and-running",
        ),
        pytest.param(
            pod(statuses=[running(restarts=3)]),
            "1/1",
            "Running",
            "3",
            id="restarts-without-termination-time",
        ),
        pytest.param(
            pod(phase="Pending", statuses=[waiting("c0", "ImagePullBackOff")]),
            "0/1",
            "ImagePullBackOff",
            "0",
            id="image-pull-back-off",
        ),
        pytest.param(
            pod(phase="Succeeded", statuses=[terminated("c0", 0, "Completed")]),
            "0/1",
            "Completed",
            "0",
            id="completed",
        ),
        pytest.param(
            pod(phase="Failed", statuses=[terminated("c0", 2, "Error")]),
            "0/1",
            "Error",
            "0",
            id="error",
        ),
        pytest.param(
            pod(phase="Failed", statuses=[terminated("c0", 137)]),
            "0/1",
            "ExitCode:137",
            "0",
            id="exit-code-without-reason",
        ),
        pytest.param(
            pod(phase="Failed", statuses=[terminated("c0", 0, signal=9)]),
            "0/1",
            "Signal:9",
            "0",
            id="signal-without-reason",
        ),
        pytest.param(
            pod(
                containers=2,
                statuses=[running("c0"), terminated("c1", 0, "Completed")],
                conditions=READY_TRUE,
            ),
            "1/2",
            "Running",
            "0",
            id="completed-container-but-one-still-running",
        ),
        pytest.param(
            pod(containers=2, statuses=[running("c0"), terminated("c1", 0, "Completed")]),
            "1/2",
            "NotReady",
            "0",
            id="completed-container-running-one-not-ready",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "init-db"}, {"name": "init-cache"}],
                init_statuses=[
                    terminated("init-db", 0, "Completed"),
                    {"name": "init-cache", "state": {"running": {}}, "restartCount": 0},
                ],
                statuses=[waiting("c0", "PodInitializing")],
            ),
            "0/1",
            "Init:1/2",
            "0",
            id="init-running",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "init-db"}],
                init_statuses=[waiting("init-db", "PodInitializing")],
            ),
            "0/1",
            "Init:0/1",
            "0",
            id="init-pod-initializing-is-counted",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "init-db"}],
                init_statuses=[
                    waiting(
                        "init-db",
                        "CrashLoopBackOff",
                        restarts=3,
                        exitCode=1,
                        finishedAt="2024-06-01T11:58:00Z",
                    )
                ],
            ),
            "0/1",
            "Init:CrashLoopBackOff",
            "3 (2m ago)",
            id="init-crash-loop",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "init-db"}],
                init_statuses=[terminated("init-db", 1, "Error")],
            ),
            "0/1",
            "Init:Error",
            "0",
            id="init-error",
        ),
        pytest.param(
            pod(
                phase="Pending",
                init=[{"name": "init-db"}],
                init_statuses=[terminated("init-db", 3)],
            ),
            "0/1",
            "Init:ExitCode:3",
            "0",
            id="init-exit-code",
        ),
        pytest.param(
            pod(
                init=[{"name": "proxy", "restartPolicy": "Always"}],
                init_statuses=[
                    {
                        "name": "proxy",
                        "started": True,
                        "ready": True,
                        "restartCount": 1,
                        "state": {"running": {}},
                    }
                ],
                statuses=[running()],
            ),
            "2/2",
            "Running",
            "1",
            id="sidecar-counts-as-container",
        ),
        pytest.param(
            pod(statuses=[running()], deletion="2024-06-01T11:59:00Z"),
            "1/1",
            "Terminating",
            "0",
            id="terminating",
        ),
        pytest.param(
            pod(
                phase="Succeeded",
                statuses=[terminated("c0", 0, "Completed")],
                deletion="2024-06-01T11:59:00Z",
            ),
            "0/1",
            "Completed",
            "0",
            id="finished-pod-being-deleted-is-not-terminating",
        ),
        pytest.param(
            pod(reason="NodeLost", statuses=[running()], deletion="2024-06-01T11:59:00Z"),
            "1/1",
            "Unknown",
            "0",
            id="node-lost",
        ),
        pytest.param(
            pod(phase="Failed", reason="Evicted"),
            "0/1",
            "Evicted",
            "0",
            id="status-reason",
        ),
        pytest.param(
            pod(
                phase="Pending",
                conditions=[
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
                ],
            ),
            "0/1",
            "SchedulingGated",
            "0",
            id="scheduling-gated",
        ),
    ],
)
def test_pod_ready_status_restarts(
    obj: dict[str, Any], ready: str, status: str, restarts: str
) -> None:
    cells = printer_for("pods").row(obj, NOW)
    assert cells[1:4] == [ready, status, restarts]


def test_pod_wide_cells() -> None:
    obj = pod(statuses=[running()])
    obj["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}, {"conditionType": "x/y"}]
    obj["status"]["conditions"] = [{"type": "example.com/lb", "status": "True"}]
    assert printer_for("pods").row(obj, NOW) == [
        "web-0",
        "1/1",
        "Running",
        "0",
        "10m",
        "10.244.0.5",
        "node-1",
        "<none>",
        "1/2",
    ]


def test_pod_wide_cells_when_unscheduled() -> None:
    obj = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}, "status": {}}
    assert printer_for("pods").row(obj, NOW) == [
        "p",
        "0/1",
        "",
        "0",
        "<unknown>",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
    ]


@pytest.mark.parametrize(
    ("phase", "conditions"),
    [
        pytest.param(
            "Succeeded",
            [
                {
                    "type": "Completed",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "The pod has completed successfully.",
                }
            ],
            id="succeeded",
        ),
        pytest.param(
            "Failed",
            [
                {
                    "type": "Completed",
                    "status": "True",
                    "reason": "Failed",
                    "message": "The pod failed.",
                }
            ],
            id="failed",
        ),
        pytest.param("Running", None, id="running-has-none"),
    ],
)
def test_finished_pods_carry_a_row_condition(phase: str, conditions: Any) -> None:
    row = build_table(printer_for("pods"), [pod(phase=phase)], now=NOW)["rows"][0]
    assert row.get("conditions") == conditions
