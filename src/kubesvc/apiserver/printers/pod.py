"""The Pod printer: READY, STATUS and RESTARTS the way kubectl users know them.

STATUS is not just ``status.phase``. In upstream's order (``printPod``):

1. the phase, or ``status.reason`` when set; ``SchedulingGated`` when the
   PodScheduled condition says so;
2. init containers, in order: a finished one (exit 0) or a started restartable
   ("sidecar") one is skipped; the first other one decides and stops the scan:
   ``Init:<reason>`` / ``Init:Signal:N`` / ``Init:ExitCode:N`` when it failed,
   ``Init:<waiting reason>`` (except PodInitializing), else ``Init:i/n``;
3. unless still initializing (and the Initialized condition is not true), the
   containers from last to first: a waiting reason, a terminated reason,
   ``Signal:N`` / ``ExitCode:N``; a ``Completed`` pod with a container still
   running shows ``Running`` (or ``NotReady`` without the Ready condition);
4. ``Terminating`` when ``deletionTimestamp`` is set on a pod that has not
   finished (``Unknown`` when the node was lost).

RESTARTS adds ``(<age> ago)`` of the latest container termination. Succeeded
and Failed pods carry a ``Completed`` row condition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesvc.apiserver.printers.table import (
    AGE_COLUMN,
    NAME_COLUMN,
    Cell,
    Column,
    Obj,
    Printer,
    as_list,
    as_map,
    dig,
    name_of,
    number,
    text,
)
from kubesvc.apiserver.printers.timefmt import parse_timestamp, since

_NODE_LOST = "NodeLost"
_TERMINAL_PHASES = ("Succeeded", "Failed")
# waiting reasons of an init container that do not show as Init:<reason>
_NOT_INIT_REASONS = ("", "PodInitializing")


def _condition_true(status: Obj, cond_type: str) -> bool:
    """The first condition of the type decides (``isPodInitializedConditionTrue``)."""
    for cond in as_list(status.get("conditions")):
        cond = as_map(cond)
        if cond.get("type") == cond_type:
            return cond.get("status") == "True"
    return False


def _has_ready_condition(status: Obj) -> bool:
    """Any true Ready condition (``hasPodReadyCondition``)."""
    return any(
        as_map(c).get("type") == "Ready" and as_map(c).get("status") == "True"
        for c in as_list(status.get("conditions"))
    )


def _terminated_at(container_status: Obj) -> datetime | None:
    return parse_timestamp(dig(container_status, "lastState", "terminated", "finishedAt"))


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    if current is None or current < candidate:
        return candidate
    return current


def _terminated_reason(terminated: Obj, prefix: str) -> str:
    reason = text(terminated.get("reason"))
    if reason:
        return prefix + reason
    signal = number(terminated.get("signal"))
    if signal != 0:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{number(terminated.get('exitCode'))}"


def pod_status(pod: Obj, now: datetime) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) of a pod, as ``printPod`` computes them."""
    spec = as_map(pod.get("spec"))
    status = as_map(pod.get("status"))
    phase = text(status.get("phase"))
    reason = text(status.get("reason")) or phase
    for cond in as_list(status.get("conditions")):
        cond = as_map(cond)
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs: dict[str, Any] = {}
    total = len(as_list(spec.get("containers")))
    init_containers = as_list(spec.get("initContainers"))
    for c in init_containers:
        c = as_map(c)
        init_specs[text(c.get("name"))] = c
        if c.get("restartPolicy") == "Always":
            total += 1

    def restartable(name: str) -> bool:
        return as_map(init_specs.get(name)).get("restartPolicy") == "Always"

    restarts = 0
    sidecar_restarts = 0
    ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None
    initializing = False
    for i, cs in enumerate(as_list(status.get("initContainerStatuses"))):
        cs = as_map(cs)
        count = number(cs.get("restartCount"))
        restarts += count
        last_restart = _later(last_restart, _terminated_at(cs))
        name = text(cs.get("name"))
        if restartable(name):
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, _terminated_at(cs))
        state = as_map(cs.get("state"))
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(terminated, dict) and number(terminated.get("exitCode")) == 0:
            continue
        if restartable(name) and cs.get("started") is True:
            if cs.get("ready") is True:
                ready += 1
            continue
        if isinstance(terminated, dict):
            reason = _terminated_reason(terminated, "Init:")
        elif isinstance(waiting, dict) and text(waiting.get("reason")) not in _NOT_INIT_REASONS:
            reason = "Init:" + text(waiting.get("reason"))
        else:
            reason = f"Init:{i}/{len(init_containers)}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(as_list(status.get("containerStatuses"))):
            cs = as_map(cs)
            restarts += number(cs.get("restartCount"))
            last_restart = _later(last_restart, _terminated_at(cs))
            state = as_map(cs.get("state"))
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if isinstance(waiting, dict) and text(waiting.get("reason")):
                reason = text(waiting.get("reason"))
            elif isinstance(terminated, dict):
                reason = _terminated_reason(terminated, "")
            elif cs.get("ready") is True and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready_condition(status) else "NotReady"

    if dig(pod, "metadata", "deletionTimestamp") is not None:
        if text(status.get("reason")) == _NODE_LOST:
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_text = f"{restarts} ({since(last_restart.isoformat(), now)} ago)"
    return f"{ready}/{total}", reason, restarts_text


def _readiness_gates(spec: Obj, status: Obj) -> str:
    gates = as_list(spec.get("readinessGates"))
    if not gates:
        return "<none>"
    true_count = 0
    conditions = [as_map(c) for c in as_list(status.get("conditions"))]
    for gate in gates:
        wanted = as_map(gate).get("conditionType")
        for cond in conditions:
            if cond.get("type") == wanted:
                if cond.get("status") == "True":
                    true_count += 1
                break
    return f"{true_count}/{len(gates)}"


def _pod_cells(pod: Obj, now: datetime) -> list[Cell]:
    spec = as_map(pod.get("spec"))
    status = as_map(pod.get("status"))
    ready, reason, restarts = pod_status(pod, now)
    ips = as_list(status.get("podIPs"))
    pod_ip = text(as_map(ips[0]).get("ip")) if ips else ""
    return [
        name_of(pod),
        ready,
        reason,
        restarts,
        since(dig(pod, "metadata", "creationTimestamp"), now),
        pod_ip or "<none>",
        text(spec.get("nodeName")) or "<none>",
        text(status.get("nominatedNodeName")) or "<none>",
        _readiness_gates(spec, status),
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, Any]]:
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


POD = Printer(
    columns=(
        NAME_COLUMN,
        Column("Ready", description="Containers ready to serve, out of all containers."),
        Column("Status", description="Summary of the pod's phase and its containers' states."),
        Column("Restarts", description="Container restarts, and how long ago the last one was."),
        AGE_COLUMN,
        Column("IP", priority=1, description="Primary IP address of the pod."),
        Column("Node", priority=1, description="Node the pod was scheduled to."),
        Column("Nominated Node", priority=1, description="Node picked by preemption, if any."),
        Column("Readiness Gates", priority=1, description="Readiness gates met, out of all."),
    ),
    cells=_pod_cells,
    conditions=_pod_conditions,
)
