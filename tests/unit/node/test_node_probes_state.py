"""The probe threshold state machine: initial results, thresholds, restarts."""

from __future__ import annotations

import pytest

from kubesvc.node.probes.state import (
    LIVENESS,
    READINESS,
    STARTUP,
    Result,
    initial,
    kill_message,
    kills,
    observe,
)

S, F, U = Result.SUCCESS, Result.FAILURE, Result.UNKNOWN


def replay(
    probe_type: str, results: list[Result], success: int, failure: int
) -> tuple[list[Result], list[int]]:
    """The reported value after each raw result, and the steps that restart the container."""
    state = initial(probe_type)
    values: list[Result] = []
    killed: list[int] = []
    for i, r in enumerate(results):
        after = observe(state, r, success_threshold=success, failure_threshold=failure)
        if kills(probe_type, state, after):
            killed.append(i)
        values.append(after.value)
        state = after
    return values, killed


@pytest.mark.parametrize(
    ("probe_type", "results", "success", "failure", "values", "killed"),
    [
        pytest.param(READINESS, [], 1, 3, [], [], id="readiness-starts-failed"),
        pytest.param(READINESS, [S], 1, 3, [S], [], id="readiness-one-success"),
        pytest.param(
            READINESS, [S, F, F, F], 1, 3, [S, S, S, F], [], id="readiness-fails-at-threshold"
        ),
        pytest.param(
            READINESS, [F, F, F, F, S], 1, 3, [F, F, F, F, S], [], id="readiness-failures-no-change"
        ),
        pytest.param(
            READINESS, [S, F, S, S], 2, 1, [F, F, F, S], [], id="readiness-success-threshold-resets"
        ),
        pytest.param(
            READINESS, [S, F, F, S, F, F, F], 1, 3, [S, S, S, S, S, S, F], [], id="run-restarts"
        ),
        pytest.param(LIVENESS, [F, F], 1, 3, [S, S], [], id="liveness-starts-alive"),
        pytest.param(LIVENESS, [F, F, F], 1, 3, [S, S, F], [2], id="liveness-kills-at-threshold"),
        pytest.param(LIVENESS, [F, S, F, F], 1, 3, [S, S, S, S], [], id="liveness-success-resets"),
        pytest.param(LIVENESS, [F], 1, 1, [F], [0], id="liveness-threshold-one"),
        pytest.param(STARTUP, [F, S], 1, 3, [U, S], [], id="startup-passes"),
        pytest.param(STARTUP, [F, F], 1, 2, [U, F], [1], id="startup-kills"),
        pytest.param(LIVENESS, [F, U, F, F], 1, 3, [S, S, S, F], [3], id="unknown-changes-nothing"),
        pytest.param(READINESS, [U, U], 1, 3, [F, F], [], id="unknown-keeps-readiness-failed"),
    ],
)
def test_thresholds(
    probe_type: str,
    results: list[Result],
    success: int,
    failure: int,
    values: list[Result],
    killed: list[int],
) -> None:
    assert replay(probe_type, results, success, failure) == (values, killed)


def test_initial_values() -> None:
    assert [initial(t).value for t in (READINESS, LIVENESS, STARTUP)] == [F, S, U]


@pytest.mark.parametrize(
    ("probe_type", "message"),
    [
        pytest.param(LIVENESS, "Container web failed liveness probe, will be restarted", id="live"),
        pytest.param(STARTUP, "Container web failed startup probe, will be restarted", id="start"),
    ],
)
def test_kill_message(probe_type: str, message: str) -> None:
    assert kill_message("web", probe_type) == message
