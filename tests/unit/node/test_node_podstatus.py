"""Pod status from the worker's records: phase, conditions, container statuses, and what
``kubectl get pods`` makes of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kubesvc.apiserver.printers.pod import pod_status as printed_columns
from kubesvc.node import podstatus
from kubesvc.node.podstate import (
    CRASH_LOOP_BACK_OFF,
    CREATE_CONFIG_ERROR,
    ContainerRecord,
    PodRecord,
    Terminated,
)
from kubesvc.node.runtime.base import ContainerHandle, ExitStatus

T0 = 1_767_323_045.0  # 2026-01-02T03:04:05Z
NOW = T0 + 100


def _handle(name: str, started: float = T0 + 10) -> ContainerHandle:
    return ContainerHandle(
        container_id=f"kubesvc://{name}-id",
        pod_uid="u-1",
        name=name,
        attempt=0,
        pid=100,
        start_ticks=1,
        started_at=started,
        log_path=Path("x.log"),
        record_path=Path("x.json"),
    )


def _exit(code: int, finished: float = T0 + 20, reason: str = "") -> Terminated:
    return Terminated(
        exit=ExitStatus(exit_code=code, finished_at=finished, reason=reason),
        started_at=T0 + 10,
        container_id="kubesvc://old-id",
    )


def running(name: str = "app", *, ready: bool = True, **kw: Any) -> ContainerRecord:
    return ContainerRecord(
        name=name, image="python:3", handle=_handle(name), ready=ready, started=True, **kw
    )


def waiting(name: str = "app", reason: str = "ContainerCreating", **kw: Any) -> ContainerRecord:
    return ContainerRecord(name=name, image="python:3", waiting_reason=reason, **kw)


def exited(name: str = "app", code: int = 0, **kw: Any) -> ContainerRecord:
    return ContainerRecord(name=name, image="python:3", terminated=_exit(code), **kw)


def crashloop(name: str = "app", restarts: int = 3) -> ContainerRecord:
    return ContainerRecord(
        name=name,
        image="python:3",
        restart_count=restarts,
        waiting_reason=CRASH_LOOP_BACK_OFF,
        waiting_message="back-off 40s restarting failed container=app",
        last_terminated=_exit(1, finished=NOW - 5),
    )


def pod(
    containers: tuple[str, ...] = ("app",),
    init: tuple[str, ...] = (),
    sidecars: tuple[str, ...] = (),
    restart_policy: str = "Always",
    gates: tuple[str, ...] = (),
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": restart_policy,
        "containers": [{"name": n, "image": "python:3"} for n in containers],
    }
    init_specs = [{"name": n, "image": "busybox"} for n in init]
    init_specs += [{"name": n, "image": "proxy", "restartPolicy": "Always"} for n in sidecars]
    if init_specs:
        spec["initContainers"] = init_specs
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    return {
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1"},
        "spec": spec,
    }


def record(
    containers: list[ContainerRecord],
    init: list[ContainerRecord] | None = None,
    **kw: Any,
) -> PodRecord:
    defaults: dict[str, Any] = {
        "ip": "10.244.0.5",
        "host_ip": "192.168.1.2",
        "start_time": T0,
        "sandbox_ready": True,
    }
    defaults.update(kw)
    return PodRecord(
        uid="u-1",
        namespace="shop",
        name="web-1",
        init_containers=init or [],
        containers=containers,
        **defaults,
    )


def _conditions(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        c["type"]: (c["status"], c.get("reason", ""), c.get("message", ""))
        for c in status["conditions"]
    }


def _columns(p: dict[str, Any], status: dict[str, Any]) -> tuple[str, str, str]:
    when = datetime.fromtimestamp(NOW, UTC)
    return printed_columns({**p, "status": status}, when)


# --------------------------------------------------------------------------------------------
# Table: phase and kubectl columns

_CASES = [
    pytest.param(
        pod(),
        record([waiting()], sandbox_ready=False),
        "Pending",
        ("0/1", "ContainerCreating", "0"),
        id="creating",
    ),
    pytest.param(pod(), record([running()]), "Running", ("1/1", "Running", "0"), id="running"),
    pytest.param(
        pod(), record([running(ready=False)]), "Running", ("0/1", "Running", "0"), id="not-ready"
    ),
    pytest.param(
        pod(),
        record([crashloop()]),
        "Running",
        ("0/1", "CrashLoopBackOff", "3 (5s ago)"),
        id="crashloop",
    ),
    pytest.param(
        pod(restart_policy="Never"),
        record([exited(code=0)]),
        "Succeeded",
        ("0/1", "Completed", "0"),
        id="never-succeeded",
    ),
    pytest.param(
        pod(restart_policy="Never"),
        record([exited(code=2)]),
        "Failed",
        ("0/1", "Error", "0"),
        id="never-failed",
    ),
    pytest.param(
        pod(restart_policy="OnFailure"),
        record([exited(code=1)]),
        "Running",
        ("0/1", "Error", "0"),
        id="onfailure-will-restart",
    ),
    pytest.param(
        pod(restart_policy="Always"),
        record([exited(code=0)]),
        "Running",
        ("0/1", "Completed", "0"),
        id="always-will-restart",
    ),
    pytest.param(
        pod(),
        record([exited(code=137)], terminal_phase="Failed"),
        "Failed",
        ("0/1", "Error", "0"),
        id="terminal-phase-wins",
    ),
    pytest.param(
        pod(containers=("a", "b")),
        record([running("a"), waiting("b")]),
        "Pending",
        ("1/2", "ContainerCreating", "0"),
        id="one-still-waiting",
    ),
    pytest.param(
        pod(init=("init",)),
        record([waiting()], [waiting("init")]),
        "Pending",
        ("0/1", "Init:0/1", "0"),
        id="init-being-created",
    ),
    pytest.param(
        pod(init=("i1", "i2")),
        record([waiting()], [exited("i1"), running("i2")]),
        "Pending",
        ("0/1", "Init:1/2", "0"),
        id="second-init-running",
    ),
    pytest.param(
        pod(init=("init",)),
        record([waiting()], [crashloop("init")]),
        "Pending",
        ("0/1", "Init:CrashLoopBackOff", "3 (5s ago)"),
        id="init-crashloop",
    ),
    pytest.param(
        pod(init=("init",), restart_policy="Never"),
        record([waiting()], [exited("init", 1)]),
        "Failed",
        ("0/1", "Init:Error", "0"),
        id="init-failed-never",
    ),
    pytest.param(
        pod(init=("init",)),
        record([waiting()], [exited("init")], initialized=True),
        "Pending",
        ("0/1", "PodInitializing", "0"),
        id="init-done-container-creating",
    ),
    pytest.param(
        pod(init=("init",)),
        record([running()], [exited("init")], initialized=True),
        "Running",
        ("1/1", "Running", "0"),
        id="init-done-running",
    ),
    pytest.param(
        pod(sidecars=("proxy",)),
        record([waiting()], [running("proxy")]),
        "Pending",
        ("1/2", "PodInitializing", "0"),
        id="sidecar-started",
    ),
    pytest.param(
        pod(sidecars=("proxy",)),
        record([running()], [running("proxy")], initialized=True),
        "Running",
        ("2/2", "Running", "0"),
        id="sidecar-and-app",
    ),
    pytest.param(
        pod(),
        record([waiting(reason=CREATE_CONFIG_ERROR, waiting_message='configmap "x" not found')]),
        "Pending",
        ("0/1", "CreateContainerConfigError", "0"),
        id="config-error",
    ),
]


@pytest.mark.parametrize(("p", "rec", "phase", "columns"), _CASES)
def test_phase_and_columns(
    p: dict[str, Any], rec: PodRecord, phase: str, columns: tuple[str, str, str]
) -> None:
    status = podstatus.compute(p, rec, now=NOW, old_status={})
    assert status["phase"] == phase
    assert _columns(p, status) == columns


# --------------------------------------------------------------------------------------------
# Conditions

_NOT_READY = ("False", "ContainersNotReady", "containers with unready status: [app]")


@pytest.mark.parametrize(
    ("p", "rec", "expected"),
    [
        pytest.param(
            pod(),
            record([running()]),
            {
                "PodReadyToStartContainers": ("True", "", ""),
                "Initialized": ("True", "", ""),
                "Ready": ("True", "", ""),
                "ContainersReady": ("True", "", ""),
                "PodScheduled": ("True", "", ""),
            },
            id="all-ready",
        ),
        pytest.param(
            pod(),
            record([waiting()], sandbox_ready=False),
            {
                "PodReadyToStartContainers": ("False", "", ""),
                "Initialized": ("True", "", ""),
                "Ready": _NOT_READY,
                "ContainersReady": _NOT_READY,
                "PodScheduled": ("True", "", ""),
            },
            id="no-sandbox-yet",
        ),
        pytest.param(
            pod(containers=("a", "b", "c")),
            record([running("a", ready=False), running("b"), waiting("c")]),
            {
                "PodReadyToStartContainers": ("True", "", ""),
                "Initialized": ("True", "", ""),
                "Ready": ("False", "ContainersNotReady", "containers with unready status: [a c]"),
                "ContainersReady": (
                    "False",
                    "ContainersNotReady",
                    "containers with unready status: [a c]",
                ),
                "PodScheduled": ("True", "", ""),
            },
            id="unready-list",
        ),
        pytest.param(
            pod(init=("i1", "i2")),
            record([waiting()], [exited("i1"), running("i2")]),
            {
                "PodReadyToStartContainers": ("True", "", ""),
                "Initialized": (
                    "False",
                    "ContainersNotInitialized",
                    "containers with incomplete status: [i2]",
                ),
                "Ready": _NOT_READY,
                "ContainersReady": _NOT_READY,
                "PodScheduled": ("True", "", ""),
            },
            id="initializing",
        ),
        pytest.param(
            pod(restart_policy="Never"),
            record([exited()]),
            {
                "PodReadyToStartContainers": ("True", "", ""),
                "Initialized": ("True", "PodCompleted", ""),
                "Ready": ("False", "PodCompleted", ""),
                "ContainersReady": ("False", "PodCompleted", ""),
                "PodScheduled": ("True", "", ""),
            },
            id="succeeded",
        ),
        pytest.param(
            pod(restart_policy="Never"),
            record([exited(code=1)]),
            {
                "PodReadyToStartContainers": ("True", "", ""),
                "Initialized": ("True", "", ""),
                "Ready": ("False", "PodFailed", ""),
                "ContainersReady": ("False", "PodFailed", ""),
                "PodScheduled": ("True", "", ""),
            },
            id="failed",
        ),
        pytest.param(
            pod(gates=("example.com/lb",)),
            record([running()]),
            {
                "PodReadyToStartContainers": ("True", "", ""),
                "Initialized": ("True", "", ""),
                "Ready": (
                    "False",
                    "ReadinessGatesNotReady",
                    'corresponding condition of pod readiness gate "example.com/lb" '
                    "does not exist.",
                ),
                "ContainersReady": ("True", "", ""),
                "PodScheduled": ("True", "", ""),
            },
            id="readiness-gate-missing",
        ),
    ],
)
def test_conditions(
    p: dict[str, Any], rec: PodRecord, expected: dict[str, tuple[str, str, str]]
) -> None:
    status = podstatus.compute(p, rec, now=NOW, old_status={})
    assert _conditions(status) == expected
    assert [c["type"] for c in status["conditions"]] == list(expected)


def test_transition_times_and_foreign_conditions() -> None:
    p = pod(gates=("example.com/lb",))
    old = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            },
            {
                "type": "example.com/lb",
                "status": "True",
                "lastTransitionTime": "2026-01-01T00:00:01Z",
            },
            {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-01-01T00:00:02Z"},
            {"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:03Z"},
        ],
    }
    status = podstatus.compute(p, record([running()]), now=NOW, old_status=old)
    by_type = {c["type"]: c for c in status["conditions"]}
    # other components' conditions come first, untouched
    assert status["conditions"][0] == old["conditions"][1]
    assert by_type["PodScheduled"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert by_type["Initialized"]["lastTransitionTime"] == "2026-01-01T00:00:02Z"
    assert by_type["Ready"]["status"] == "True"  # the gate is met
    assert by_type["Ready"]["lastTransitionTime"] == podstatus.rfc3339(NOW)
    assert by_type["ContainersReady"]["lastTransitionTime"] == "2026-01-02T03:05:45Z"
    assert by_type["Ready"]["lastProbeTime"] is None


# --------------------------------------------------------------------------------------------
# Container statuses and the rest


def test_container_statuses_in_spec_order() -> None:
    p = pod(containers=("b", "a"), init=("init",))
    rec = record(
        [running("a"), crashloop("b")],
        [exited("init")],
        initialized=True,
    )
    status = podstatus.compute(p, rec, now=NOW, old_status={})
    assert [s["name"] for s in status["containerStatuses"]] == ["b", "a"]
    b, a = status["containerStatuses"]
    assert a == {
        "name": "a",
        "state": {"running": {"startedAt": "2026-01-02T03:04:15Z"}},
        "lastState": {},
        "ready": True,
        "restartCount": 0,
        "image": "python:3",
        "imageID": "python:3",
        "started": True,
        "containerID": "kubesvc://a-id",
    }
    assert b["state"] == {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": "back-off 40s restarting failed container=app",
        }
    }
    assert b["lastState"] == {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": "2026-01-02T03:04:15Z",
            "finishedAt": "2026-01-02T03:05:40Z",
            "containerID": "kubesvc://old-id",
        }
    }
    assert b["containerID"] == "kubesvc://old-id"
    assert (b["ready"], b["started"], b["restartCount"]) == (False, False, 3)
    (init,) = status["initContainerStatuses"]
    assert init["state"]["terminated"]["reason"] == "Completed"
    assert (init["ready"], init["started"]) == (True, False)


def test_missing_records_wait_and_signal_shows() -> None:
    p = pod(containers=("app", "later"), init=("init",))
    killed = Terminated(
        exit=ExitStatus(exit_code=137, signal=9, finished_at=T0 + 30, reason="OOMKilled"),
        started_at=T0,
        container_id="kubesvc://k",
        message="out of memory",
    )
    rec = record([], [replace(exited("init"), terminated=killed)])
    status = podstatus.compute(p, rec, now=NOW, old_status={})
    assert [s["state"] for s in status["containerStatuses"]] == [
        {"waiting": {"reason": "PodInitializing"}},
        {"waiting": {"reason": "PodInitializing"}},
    ]
    assert status["containerStatuses"][0]["imageID"] == ""
    terminated = status["initContainerStatuses"][0]["state"]["terminated"]
    assert terminated["signal"] == 9
    assert terminated["message"] == "out of memory"
    assert terminated["reason"] == "OOMKilled"
    assert _columns(p, status)[1] == "Init:OOMKilled"


def test_addresses_start_time_and_qos() -> None:
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    status = podstatus.compute(p, record([running()]), now=NOW, old_status={})
    assert status["hostIP"] == "192.168.1.2"
    assert status["hostIPs"] == [{"ip": "192.168.1.2"}]
    assert status["podIP"] == "10.244.0.5"
    assert status["podIPs"] == [{"ip": "10.244.0.5"}]
    assert status["startTime"] == "2026-01-02T03:04:05Z"
    assert status["qosClass"] == "Guaranteed"
    assert "initContainerStatuses" not in status


def test_terminal_pod_keeps_addresses_and_phase() -> None:
    old = {
        "phase": "Succeeded",
        "podIP": "10.244.0.9",
        "podIPs": [{"ip": "10.244.0.9"}],
        "hostIP": "192.168.1.2",
        "startTime": "2026-01-01T00:00:00Z",
        "reason": "Evicted",
    }
    rec = record([exited(code=1)], ip="", host_ip="", start_time=None, sandbox_ready=False)
    status = podstatus.compute(pod(), rec, now=NOW, old_status=old)
    assert status["phase"] == "Succeeded"
    assert status["podIP"] == "10.244.0.9"
    assert status["hostIPs"] == [{"ip": "192.168.1.2"}]
    assert status["startTime"] == "2026-01-01T00:00:00Z"
    assert status["reason"] == "Evicted"


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        pytest.param(0.0, "1970-01-01T00:00:00Z", id="epoch"),
        pytest.param(T0 + 0.999, "2026-01-02T03:04:05Z", id="truncated"),
    ],
)
def test_rfc3339(epoch: float, text: str) -> None:
    assert podstatus.rfc3339(epoch) == text
