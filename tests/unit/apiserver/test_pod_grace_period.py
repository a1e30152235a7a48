"""Graceful pod deletion: the pod grace period, ``before_delete`` and the store's DELETE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesvc.api.resources import lookup
from kubesvc.apiserver.store import ObjectStore
from kubesvc.apiserver.strategy import (
    PENDING,
    REMOVE_NOW,
    DeleteDecision,
    before_delete,
    pod_grace_period,
    strategy_for,
)
from kubesvc.storage.memory import MemoryBackend

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def pod(*, node: str = "n1", phase: str = "Running", grace: int | None = 30, **meta: Any) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "x"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {
        "metadata": {"name": "p", "namespace": "default", **meta},
        "spec": spec,
        "status": {"phase": phase},
    }


@pytest.mark.parametrize(
    ("obj", "requested", "expected"),
    [
        pytest.param(pod(), None, 30, id="spec-default"),
        pytest.param(pod(grace=5), None, 5, id="spec-value"),
        pytest.param(pod(grace=None), None, 0, id="unset-is-zero"),
        pytest.param(pod(), 10, 10, id="request-wins"),
        pytest.param(pod(), 0, 0, id="force"),
        pytest.param(pod(), -5, 1, id="negative-request-is-one"),
        pytest.param(pod(grace=-3), None, 1, id="negative-spec-is-one"),
        pytest.param(pod(node=""), None, 0, id="unscheduled"),
        pytest.param(pod(node=""), 10, 0, id="unscheduled-ignores-request"),
        pytest.param(pod(phase="Succeeded"), None, 0, id="succeeded"),
        pytest.param(pod(phase="Failed"), 20, 0, id="failed"),
        pytest.param(pod(phase="Pending"), None, 30, id="pending-on-a-node"),
    ],
)
def test_pod_grace_period(obj: Obj, requested: int | None, expected: int) -> None:
    assert pod_grace_period(obj, requested) == expected


def _pod_check(obj: Obj, requested: int | None) -> int | None:
    return pod_grace_period(obj, requested)


def _no_grace(obj: Obj, requested: int | None) -> int | None:
    return None


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


TERMINATING = pod(
    deletionTimestamp=stamp(NOW + timedelta(seconds=20)), deletionGracePeriodSeconds=30
)


@pytest.mark.parametrize(
    ("obj", "requested", "check", "expected"),
    [
        pytest.param(pod(), None, _no_grace, REMOVE_NOW, id="kind-without-graceful-delete"),
        pytest.param(
            pod(),
            None,
            _pod_check,
            DeleteDecision(True, False, NOW + timedelta(seconds=30), 30),
            id="bound-pod-default-grace",
        ),
        pytest.param(
            pod(),
            5,
            _pod_check,
            DeleteDecision(True, False, NOW + timedelta(seconds=5), 5),
            id="bound-pod-requested-grace",
        ),
        pytest.param(
            pod(), 0, _pod_check, DeleteDecision(True, False, NOW, 0), id="grace-zero-marks-now"
        ),
        pytest.param(
            pod(),
            -1,
            _pod_check,
            DeleteDecision(True, False, NOW + timedelta(seconds=1), 1),
            id="negative-request-is-one-second",
        ),
        pytest.param(
            pod(node=""), None, _pod_check, DeleteDecision(True, False, NOW, 0), id="unbound"
        ),
        pytest.param(TERMINATING, None, _pod_check, PENDING, id="again-without-grace-pending"),
        pytest.param(TERMINATING, 30, _pod_check, PENDING, id="same-grace-pending"),
        pytest.param(TERMINATING, 60, _pod_check, PENDING, id="never-lengthened"),
        pytest.param(
            TERMINATING,
            10,
            _pod_check,
            DeleteDecision(True, False, NOW, 10),
            id="shortened-from-the-first-delete",
        ),
        pytest.param(
            TERMINATING,
            0,
            _pod_check,
            DeleteDecision(True, False, NOW - timedelta(seconds=10), 0),
            id="agent-finishes-with-zero",
        ),
        pytest.param(
            pod(deletionTimestamp=stamp(NOW), deletionGracePeriodSeconds=0),
            None,
            _pod_check,
            REMOVE_NOW,
            id="already-at-zero-removes",
        ),
        pytest.param(
            pod(deletionTimestamp=stamp(NOW)),
            30,
            _pod_check,
            REMOVE_NOW,
            id="no-stored-grace-removes",
        ),
        pytest.param(
            pod(deletionTimestamp=stamp(NOW), deletionGracePeriodSeconds=-4),
            None,
            _pod_check,
            PENDING,
            id="negative-stored-grace-is-one",
        ),
    ],
)
def test_before_delete(
    obj: Obj, requested: int | None, check: Any, expected: DeleteDecision
) -> None:
    assert before_delete(obj, requested, check, NOW) == expected


# -- the store ----------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def pods() -> AsyncIterator[tuple[ObjectStore, Clock]]:
    backend = MemoryBackend()
    await backend.start()
    resource = lookup("", "v1", "pods")
    assert resource is not None
    clock = Clock()
    yield ObjectStore(resource, strategy_for(resource), backend, clock=clock), clock
    await backend.close()


async def test_a_bound_pod_is_marked_then_removed_by_grace_zero(
    pods: tuple[ObjectStore, Clock],
) -> None:
    store, clock = pods
    created = await store.create("default", pod())
    marked, removed = await store.delete("default", "p")
    assert not removed
    meta = marked["metadata"]
    assert meta["deletionTimestamp"] == "2024-05-01T12:00:30Z"
    assert meta["deletionGracePeriodSeconds"] == 30
    assert meta["generation"] == created["metadata"]["generation"] + 1
    assert (await store.get("default", "p"))["metadata"]["deletionTimestamp"]

    # A status update in the grace period keeps it (only grace 0 removes).
    current = await store.get("default", "p")
    current["status"] = {"phase": "Running", "message": "stopping"}
    await store.update("default", "p", current, subresource="status")

    clock.now = NOW + timedelta(seconds=5)
    again, removed = await store.delete("default", "p")
    assert not removed and again["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:30Z"

    shorter, removed = await store.delete("default", "p", grace_period=10)
    assert not removed
    assert shorter["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:10Z"
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 10

    _, removed = await store.delete("default", "p", grace_period=0)
    assert removed
    assert (await store.list("default")).items == []


@pytest.mark.parametrize(
    ("obj", "grace"),
    [
        pytest.param(pod(node=""), None, id="unbound"),
        pytest.param(pod(phase="Succeeded"), None, id="terminal"),
        pytest.param(pod(), 0, id="force"),
    ],
)
async def test_pods_nothing_runs_go_at_once(
    pods: tuple[ObjectStore, Clock], obj: Obj, grace: int | None
) -> None:
    store, _ = pods
    created = await store.create("default", obj)
    created["status"] = obj["status"]  # create resets the status, as upstream does
    await store.update("default", "p", created, subresource="status")
    _, removed = await store.delete("default", "p", grace_period=grace)
    assert removed


async def test_finalizers_hold_a_pod_after_grace_zero(pods: tuple[ObjectStore, Clock]) -> None:
    store, _ = pods
    await store.create("default", pod(finalizers=["example.com/hold"]))
    marked, removed = await store.delete("default", "p")
    assert not removed and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    held, removed = await store.delete("default", "p", grace_period=0)
    assert not removed
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0
    assert held["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:00Z"
    current = await store.get("default", "p")
    current["metadata"]["finalizers"] = []
    await store.update("default", "p", current)
    assert (await store.list("default")).items == []


async def test_removing_finalizers_in_the_grace_period_keeps_the_pod(
    pods: tuple[ObjectStore, Clock],
) -> None:
    store, _ = pods
    await store.create("default", pod(finalizers=["example.com/hold"]))
    await store.delete("default", "p")
    current = await store.get("default", "p")
    current["metadata"]["finalizers"] = []
    kept, _ = await store.update("default", "p", current)
    assert kept["metadata"]["deletionGracePeriodSeconds"] == 30
    _, removed = await store.delete("default", "p", grace_period=0)
    assert removed


async def test_dry_run_marks_nothing(pods: tuple[ObjectStore, Clock]) -> None:
    store, _ = pods
    await store.create("default", pod())
    marked, removed = await store.delete("default", "p", dry_run=True)
    assert not removed and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "deletionTimestamp" not in (await store.get("default", "p"))["metadata"]
