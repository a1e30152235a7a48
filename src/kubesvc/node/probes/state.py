"""The probe threshold state machine (pure), kubelet's worker arithmetic.

Each probe of a running container keeps the result it reports and a run of
equal raw results. A raw result that differs from the last one starts a new
run of 1; the reported result changes only once a run of successes reaches
``successThreshold`` or a run of failures reaches ``failureThreshold``.

Initial reported results, as kubelet's:

========== ======== ===========================================================
probe      initial  meaning until the first threshold is met
========== ======== ===========================================================
readiness  Failure  not ready (no traffic) until it has passed
liveness   Success  alive until it has failed ``failureThreshold`` times in a row
startup    Unknown  not started; liveness and readiness wait for it
========== ======== ===========================================================

``Unknown`` raw results (a probe kubesvc cannot run) change nothing at all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

LIVENESS = "Liveness"
READINESS = "Readiness"
STARTUP = "Startup"
PROBE_TYPES = (STARTUP, LIVENESS, READINESS)


class Result(enum.Enum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ProbeState:
    value: Result
    """The reported result."""
    last: Result = Result.UNKNOWN
    """The last raw result observed."""
    run: int = 0
    """How many raw results equal to ``last`` came in a row."""


def initial(probe_type: str) -> ProbeState:
    if probe_type == READINESS:
        return ProbeState(Result.FAILURE)
    if probe_type == LIVENESS:
        return ProbeState(Result.SUCCESS)
    return ProbeState(Result.UNKNOWN)


def observe(
    state: ProbeState, result: Result, *, success_threshold: int, failure_threshold: int
) -> ProbeState:
    """The state after one raw result."""
    if result is Result.UNKNOWN:
        return state
    run = state.run + 1 if result is state.last else 1
    threshold = success_threshold if result is Result.SUCCESS else failure_threshold
    value = result if run >= max(1, threshold) else state.value
    return ProbeState(value, result, run)


def kills(probe_type: str, before: ProbeState, after: ProbeState) -> bool:
    """Whether this step makes kubelet restart the container (liveness or startup failed)."""
    return (
        probe_type in (LIVENESS, STARTUP)
        and after.value is Result.FAILURE
        and before.value is not Result.FAILURE
    )


def kill_message(container: str, probe_type: str) -> str:
    """kubelet's message for the Killing event and the container's termination."""
    return f"Container {container} failed {probe_type.lower()} probe, will be restarted"
