"""Which file answers ``kubectl logs``: the agent's ``LogSource`` over its pod workers.

Each attempt of a container writes ``<attempt>.log`` in the container's
directory. The *current* log is the running attempt's, or, while the
container waits to restart (CrashLoopBackOff) or has ended for good, the
latest attempt's; ``--previous`` is the attempt before the running one, or the
latest ended one while it waits (kubelet's lastState). Logs of older attempts
are pruned: a container keeps its current and previous log only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kubesvc.node import podstate as S
from kubesvc.node import server as answers
from kubesvc.node.layout import PodDir
from kubesvc.node.server import LogError, LogLocation

if TYPE_CHECKING:
    from kubesvc.node.podworker import PodWorker


def attempts_on_disk(pd: PodDir, container: str) -> list[int]:
    found = []
    for path in pd.container_dir(container).glob("*.log"):
        with contextlib.suppress(ValueError):
            found.append(int(path.stem))
    return sorted(found)


def locate(
    workers: Iterable[PodWorker], namespace: str, pod: str, container: str, previous: bool
) -> LogLocation | LogError:
    worker = next(
        (w for w in workers if w.record.namespace == namespace and w.record.name == pod), None
    )
    if worker is None:
        return answers.pod_not_found(pod)
    rec = next(
        (
            r
            for r in worker.record.containers + worker.record.init_containers
            if r.name == container
        ),
        None,
    )
    if rec is None:
        return answers.container_not_found(container, pod)
    pd = worker.pod_dir
    attempts = attempts_on_disk(pd, container)
    handle = rec.handle
    if handle is not None:
        if not previous:
            return LogLocation(
                pd.log(container, handle.attempt),
                pd.log_index(container, handle.attempt),
                lambda: rec.handle is handle,
            )
        older = [a for a in attempts if a < handle.attempt]
        if not older:
            return answers.previous_not_found(container, pod)
        return _ended(pd, container, older[-1])
    if not attempts:
        return answers.waiting_to_start(container, pod, rec.waiting_reason or S.CONTAINER_CREATING)
    waiting = rec.terminated is None  # between attempts: the latest one is "previous" too
    if previous and not waiting:
        older = attempts[:-1]
        if not older:
            return answers.previous_not_found(container, pod)
        return _ended(pd, container, older[-1])
    return _ended(pd, container, attempts[-1])


def _ended(pd: PodDir, container: str, attempt: int) -> LogLocation:
    return LogLocation(pd.log(container, attempt), pd.log_index(container, attempt), lambda: False)


def prune(pd: PodDir, container: str, current: int) -> None:
    """Remove logs of attempts older than ``current - 1``."""
    for attempt in attempts_on_disk(pd, container):
        if attempt < current - 1:
            for path in (pd.log(container, attempt), pd.log_index(container, attempt)):
                path.unlink(missing_ok=True)
