"""A pod's ``status`` as kubelet reports it, computed from the pod worker's records (pure).

``compute(pod, record, now=..., old_status=...)`` builds:

* ``initContainerStatuses`` / ``containerStatuses`` in spec order: state
  (running / terminated / waiting), lastState, ready, started, restartCount,
  image, imageID, containerID. A container kubelet has not created yet waits
  with ``ContainerCreating``, or ``PodInitializing`` when the pod has init
  containers (kubelet's default waiting state). A finished regular init
  container is ready when it exited 0;
* ``phase`` by kubelet's ``getPhase``: Pending while a regular init container
  or any container has not run yet, Running once all have started and one is
  running (or all are stopped and will restart), Succeeded / Failed when all
  stopped and the restartPolicy will not restart them. The worker's
  ``terminal_phase`` wins, and a terminal phase never changes again;
* ``conditions``: PodReadyToStartContainers (the sandbox), Initialized
  (``containers with incomplete status: [a b]``), Ready and ContainersReady
  (``containers with unready status: [a b]``; ``PodCompleted`` / ``PodFailed``
  once terminal; readiness gates), PodScheduled (kept from the scheduler's).
  Conditions other components own come first, unchanged, as kubelet's status
  manager merges them; ``lastTransitionTime`` moves only when a condition's
  status changes;
* hostIP(s), podIP(s) (the last known ones stay after the sandbox is gone),
  startTime, qosClass.

Times are RFC 3339 in UTC, whole seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kubesvc.node import resources
from kubesvc.node.podstate import (
    CONTAINER_CREATING,
    POD_INITIALIZING,
    ContainerRecord,
    PodRecord,
    Terminated,
)

Obj = dict[str, Any]

PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
TERMINAL_PHASES = (SUCCEEDED, FAILED)

POD_READY_TO_START = "PodReadyToStartContainers"
INITIALIZED = "Initialized"
READY = "Ready"
CONTAINERS_READY = "ContainersReady"
POD_SCHEDULED = "PodScheduled"
KUBELET_CONDITIONS = (POD_READY_TO_START, INITIALIZED, READY, CONTAINERS_READY, POD_SCHEDULED)

# condition reasons
POD_COMPLETED = "PodCompleted"
POD_FAILED = "PodFailed"
CONTAINERS_NOT_READY = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
READINESS_GATES_NOT_READY = "ReadinessGatesNotReady"


def rfc3339(epoch: float) -> str:
    """``2026-01-02T03:04:05Z``: how metav1.Time serialises (seconds, truncated)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _go_list(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"


# --------------------------------------------------------------------------------------------
# Container statuses


def _terminated(t: Terminated) -> Obj:
    exit_ = t.exit
    out: Obj = {"exitCode": exit_.exit_code}
    if exit_.signal:
        out["signal"] = exit_.signal
    out["reason"] = exit_.reason or ("Completed" if exit_.exit_code == 0 else "Error")
    if t.message:
        out["message"] = t.message
    out["startedAt"] = rfc3339(t.started_at)
    out["finishedAt"] = rfc3339(exit_.finished_at)
    if t.container_id:
        out["containerID"] = t.container_id
    return out


def container_status(
    record: ContainerRecord, *, pod_has_init: bool, regular_init: bool = False
) -> Obj:
    """One entry of ``containerStatuses`` / ``initContainerStatuses``; ``regular_init``: an
    init container that is not a sidecar (ready once it exited 0)."""
    running = record.handle is not None
    container_id = ""
    if record.handle is not None:
        state: Obj = {"running": {"startedAt": rfc3339(record.handle.started_at)}}
        container_id = record.handle.container_id
    elif record.terminated is not None:
        state = {"terminated": _terminated(record.terminated)}
        container_id = record.terminated.container_id
    else:
        reason = record.waiting_reason or CONTAINER_CREATING
        if reason == CONTAINER_CREATING and not record.waiting_message and pod_has_init:
            reason = POD_INITIALIZING
        waiting: Obj = {"reason": reason}
        if record.waiting_message:
            waiting["message"] = record.waiting_message
        state = {"waiting": waiting}
        if record.last_terminated is not None:
            container_id = record.last_terminated.container_id
    if regular_init:
        done = record.terminated
        ready = not running and done is not None and done.exit.exit_code == 0
    else:
        ready = running and record.ready
    ever_ran = running or record.terminated is not None or record.last_terminated is not None
    out: Obj = {
        "name": record.name,
        "state": state,
        "lastState": (
            {"terminated": _terminated(record.last_terminated)}
            if record.last_terminated is not None
            else {}
        ),
        "ready": ready,
        "restartCount": record.restart_count,
        "image": record.image,
        "imageID": record.image if ever_ran else "",
        "started": running and record.started,
    }
    if container_id:
        out["containerID"] = container_id
    return out


def _spec_containers(pod: Mapping[str, Any], key: str) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [c for c in spec.get(key) or [] if isinstance(c, dict)]


def _statuses(
    specs: list[Obj], records: list[ContainerRecord], *, init: bool, pod_has_init: bool
) -> list[Obj]:
    by_name = {r.name: r for r in records}
    out = []
    for spec in specs:
        name = str(spec.get("name", ""))
        sidecar = init and spec.get("restartPolicy") == "Always"
        record = by_name.get(name) or ContainerRecord(
            name=name, image=str(spec.get("image") or ""), init=init, restartable_init=sidecar
        )
        status = container_status(
            record, pod_has_init=pod_has_init, regular_init=init and not sidecar
        )
        out.append(status)
    return out


# --------------------------------------------------------------------------------------------
# Phase


def _state(status: Mapping[str, Any], which: str) -> Obj | None:
    found = (status.get("state") or {}).get(which)
    return found if isinstance(found, dict) else None


def _last_terminated(status: Mapping[str, Any]) -> bool:
    return isinstance((status.get("lastState") or {}).get("terminated"), dict)


def _regular_started(statuses: list[Obj]) -> bool:
    return any(_state(s, "running") or _state(s, "terminated") for s in statuses)


def get_phase(
    pod: Mapping[str, Any],
    init_statuses: list[Obj],
    statuses: list[Obj],
    *,
    terminal: bool = False,
    initialized: bool = False,
) -> str:
    """kubelet's ``getPhase`` over generated statuses; ``terminal``: the pod will not run
    again, so stopped containers decide Succeeded or Failed whatever the restartPolicy."""
    spec = pod.get("spec") or {}
    restart_policy = spec.get("restartPolicy") or "Always"
    init_specs = {str(c.get("name")): c for c in _spec_containers(pod, "initContainers")}
    pending_init = pending_sidecars = failed_init = 0
    running = waiting = stopped = succeeded = 0
    for status in init_statuses:
        sidecar = (init_specs.get(str(status.get("name"))) or {}).get("restartPolicy") == "Always"
        if sidecar:
            if _state(status, "running"):
                if status.get("started") is not True:
                    pending_sidecars += 1
                running += 1
            elif _state(status, "waiting") and not _last_terminated(status):
                pending_sidecars += 1
                waiting += 1
            continue
        terminated = _state(status, "terminated")
        if _state(status, "running"):
            pending_init += 1
        elif terminated is not None:
            if terminated.get("exitCode") != 0:
                failed_init += 1
        elif _last_terminated(status):
            if (status["lastState"]["terminated"]).get("exitCode") != 0:
                failed_init += 1
        else:
            pending_init += 1
    for status in statuses:
        terminated = _state(status, "terminated")
        if _state(status, "running"):
            running += 1
        elif terminated is not None:
            stopped += 1
            if terminated.get("exitCode") == 0:
                succeeded += 1
        elif _last_terminated(status):
            stopped += 1
        else:
            waiting += 1

    if failed_init > 0 and restart_policy == "Never":
        return FAILED
    pod_initialized = initialized or _regular_started(statuses)
    if pending_init > 0 or (pending_sidecars > 0 and not pod_initialized) or waiting > 0:
        return PENDING
    if running > 0:
        return RUNNING
    if stopped > 0:
        if terminal:
            return SUCCEEDED if stopped == succeeded else FAILED
        if restart_policy == "Always":
            return RUNNING
        if stopped == succeeded:
            return SUCCEEDED
        if restart_policy == "Never":
            return FAILED
        return RUNNING
    return PENDING


# --------------------------------------------------------------------------------------------
# Conditions


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    out: Obj = {"type": kind, "status": "True" if ok else "False"}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def _initialized_condition(
    pod: Mapping[str, Any],
    init_statuses: list[Obj],
    statuses: list[Obj],
    phase: str,
    initialized: bool,
) -> Obj:
    if phase == SUCCEEDED:
        return _condition(INITIALIZED, True, POD_COMPLETED)
    if initialized or _regular_started(statuses):
        return _condition(INITIALIZED, True)
    sidecars = {
        str(c.get("name"))
        for c in _spec_containers(pod, "initContainers")
        if c.get("restartPolicy") == "Always"
    }
    incomplete = []
    for status in init_statuses:
        name = str(status.get("name"))
        done = status.get("started") if name in sidecars else status.get("ready")
        if done is not True:
            incomplete.append(name)
    if incomplete:
        message = f"containers with incomplete status: {_go_list(incomplete)}"
        return _condition(INITIALIZED, False, CONTAINERS_NOT_INITIALIZED, message)
    return _condition(INITIALIZED, True)


def _containers_ready_condition(
    pod: Mapping[str, Any], init_statuses: list[Obj], statuses: list[Obj], phase: str
) -> Obj:
    if phase == SUCCEEDED:
        return _condition(CONTAINERS_READY, False, POD_COMPLETED)
    if phase == FAILED:
        return _condition(CONTAINERS_READY, False, POD_FAILED)
    sidecars = {
        str(c.get("name"))
        for c in _spec_containers(pod, "initContainers")
        if c.get("restartPolicy") == "Always"
    }
    unready = [
        str(s.get("name"))
        for s in init_statuses
        if str(s.get("name")) in sidecars and s.get("ready") is not True
    ]
    unready += [str(s.get("name")) for s in statuses if s.get("ready") is not True]
    if unready:
        message = f"containers with unready status: {_go_list(unready)}"
        return _condition(CONTAINERS_READY, False, CONTAINERS_NOT_READY, message)
    return _condition(CONTAINERS_READY, True)


def _ready_condition(pod: Mapping[str, Any], containers_ready: Obj, conditions: list[Obj]) -> Obj:
    if containers_ready["status"] != "True":
        return _condition(
            READY,
            False,
            str(containers_ready.get("reason") or ""),
            str(containers_ready.get("message") or ""),
        )
    by_type = {str(c.get("type")): c for c in conditions}
    messages = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        kind = str(gate.get("conditionType", ""))
        found = by_type.get(kind)
        if found is None:
            messages.append(
                f'corresponding condition of pod readiness gate "{kind}" does not exist.'
            )
        elif found.get("status") != "True":
            messages.append(
                f'the status of pod readiness gate "{kind}" is not "True", '
                f"but {found.get('status')}"
            )
    if messages:
        return _condition(READY, False, READINESS_GATES_NOT_READY, ", ".join(messages))
    return _condition(READY, True)


def _with_transition(condition: Obj, old: Mapping[str, Any] | None, now: float) -> Obj:
    keep = old is not None and old.get("status") == condition["status"]
    out: Obj = {"type": condition["type"], "status": condition["status"], "lastProbeTime": None}
    out["lastTransitionTime"] = (
        old.get("lastTransitionTime") if keep and old is not None else rfc3339(now)
    )
    for key in ("reason", "message"):
        if key in condition:
            out[key] = condition[key]
    return out


# --------------------------------------------------------------------------------------------
# The whole status


def compute(
    pod: Mapping[str, Any],
    record: PodRecord,
    *,
    now: float,
    old_status: Mapping[str, Any] | None = None,
) -> Obj:
    """The pod's ``status`` from the worker's ``record``; ``old_status`` is the one last
    reported (or the API's), for transition times and what other components own."""
    old: Mapping[str, Any] = old_status or {}
    init_specs = _spec_containers(pod, "initContainers")
    has_init = bool(init_specs)
    init_statuses = _statuses(init_specs, record.init_containers, init=True, pod_has_init=has_init)
    statuses = _statuses(
        _spec_containers(pod, "containers"), record.containers, init=False, pod_has_init=has_init
    )

    old_phase = old.get("phase")
    if record.terminal_phase:
        phase = record.terminal_phase
    elif old_phase in TERMINAL_PHASES:
        phase = str(old_phase)
    else:
        phase = get_phase(pod, init_statuses, statuses, initialized=record.initialized)

    old_conditions = [c for c in old.get("conditions") or [] if isinstance(c, dict)]
    old_by_type = {str(c.get("type")): c for c in old_conditions}
    others = [c for c in old_conditions if c.get("type") not in KUBELET_CONDITIONS]

    containers_ready = _containers_ready_condition(pod, init_statuses, statuses, phase)
    generated = [
        _condition(POD_READY_TO_START, record.sandbox_ready),
        _initialized_condition(pod, init_statuses, statuses, phase, record.initialized),
        _ready_condition(pod, containers_ready, others),
        containers_ready,
    ]
    conditions = list(others)
    conditions += [_with_transition(c, old_by_type.get(c["type"]), now) for c in generated]
    scheduled = old_by_type.get(POD_SCHEDULED)
    if scheduled is not None and scheduled.get("status") == "True":
        conditions.append(dict(scheduled))
    else:
        conditions.append(_with_transition(_condition(POD_SCHEDULED, True), scheduled, now))

    status: Obj = {"phase": phase, "conditions": conditions}
    reason, message = record.reason, record.message
    if not reason and not message and phase in TERMINAL_PHASES:
        reason, message = str(old.get("reason") or ""), str(old.get("message") or "")
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    if record.host_ip:
        status["hostIP"] = record.host_ip
        status["hostIPs"] = [{"ip": record.host_ip}]
    elif old.get("hostIP"):
        status["hostIP"] = old["hostIP"]
        status["hostIPs"] = old.get("hostIPs") or [{"ip": old["hostIP"]}]
    if record.ip:
        status["podIP"] = record.ip
        status["podIPs"] = [{"ip": record.ip}]
    elif old.get("podIP"):
        status["podIP"] = old["podIP"]
        status["podIPs"] = old.get("podIPs") or [{"ip": old["podIP"]}]
    if record.start_time is not None:
        status["startTime"] = rfc3339(record.start_time)
    elif old.get("startTime"):
        status["startTime"] = old["startTime"]
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = resources.pod_qos_class(pod)
    if old.get("nominatedNodeName"):
        status["nominatedNodeName"] = old["nominatedNodeName"]
    return status
