"""The controllers: EndpointSlice reconciliation at scale (issue #4).

A fresh ``kubesvc up`` (memory store, pinned to the server core) per measurement, driven by
``benchmarks.controllers_load`` from the load core: Services x pods (pods bound to a node
and marked Ready through their status, as a node agent would), then

- the row's figure: seconds from the last Service created until every slice holds all its
  ready endpoints (convergence);
- p50/p99: latency from one pod's readiness change to its updated slice, over 100 flips.

A full run uses 100 Services x 100 pods (10,000 endpoints) so that the whole run stays
within its 15 minutes; the issue's 1,000 x 100 scale runs the same script by hand
(``python -m benchmarks.controllers_load --url URL``), see BENCHMARKS.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field

from benchmarks.env import Env, free_port
from benchmarks.model import Sample
from benchmarks.procs import Started
from benchmarks.readiness import wait_listening
from benchmarks.registry import Probe, Scenario, register

FULL = (100, 100)
QUICK = (20, 10)


@dataclass
class _ControllersProbe:
    env: Env
    services: int
    pods: int
    current: list[int] = field(default_factory=list)

    @contextmanager
    def _cluster(self) -> Iterator[Started]:
        work = self.env.workdir("kubesvc-up")
        port = free_port()
        argv = [
            sys.executable, "-m", "kubesvc", "up", "--storage", "memory://",
            "--data-dir", str(work), "--port", str(port),
        ]  # fmt: skip
        started = self.env.procs.start("kubesvc-up", argv, cpu=self.env.settings.server_cpu)
        try:
            wait_listening(self.env.procs, started, [port], timeout=30.0)
            self.current.append(port)
            yield started
        finally:
            self.current.clear()
            self.env.procs.stop(started)

    def fresh(self) -> AbstractContextManager[object]:
        return self._cluster()

    def warm(self, seconds: int) -> None:
        """Each measurement starts from an empty cluster: nothing to warm."""

    def measure(self, seconds: int) -> Sample:
        port = self.current[-1]
        argv = [
            sys.executable, "-m", "benchmarks.controllers_load",
            "--url", f"http://127.0.0.1:{port}",
            "--services", str(self.services), "--pods-per-service", str(self.pods),
        ]  # fmt: skip
        done = self.env.procs.run(
            "controllers-load", argv, timeout=900.0, cpu=self.env.settings.load_cpu
        )
        result = json.loads(done.text().strip().splitlines()[-1])
        converge = result["converge"]
        flip = result["flip"]
        return Sample(
            value=converge["seconds_after_last_service"],
            p50_ms=flip["p50_ms"],
            p99_ms=flip["p99_ms"],
            extra={
                "endpoints": float(converge["endpoints"]),
                "slices": float(converge["slices"]),
                "seconds_from_first_service": converge["seconds_from_first_service"],
            },
            latency_note="p50/p99: readiness change to updated slice",
        )


def _setup(env: Env, stack: ExitStack) -> Probe:
    services, pods = QUICK if env.settings.mode == "quick" else FULL
    return _ControllersProbe(env, services, pods)


register(
    Scenario(
        name="controllers-endpointslices",
        family="controllers",
        what="EndpointSlice controller, 100 Services x 100 pods: seconds to converge after the "
        "last Service; p50/p99 readiness change to updated slice",
        unit="s",
        group="controllers",
        setup=_setup,
        issue=4,
    ),
)
