"""ProbeManager on a fake clock with scripted probe results: when it probes, what it reports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubesvc.node.probes.check import Outcome
from kubesvc.node.probes.manager import ProbeManager
from kubesvc.node.probes.spec import ProbeSpec
from kubesvc.node.probes.state import Result
from kubesvc.util.clock import FakeClock

OK = Outcome(Result.SUCCESS, "fine")
BAD = Outcome(Result.FAILURE, "HTTP probe failed with statuscode: 500")
GRPC = Outcome(Result.UNKNOWN, error="gRPC probes are not supported by kubesvc")


def probe(**extra: Any) -> dict[str, Any]:
    return {"httpGet": {"path": "/healthz", "port": 8080}, **extra}


def pod(**probes: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "app", **probes}, {"name": "plain"}]}}


@dataclass
class Harness:
    clock: FakeClock
    scripts: dict[str, list[Outcome]]
    manager: ProbeManager | None = None
    calls: list[tuple[float, str]] = field(default_factory=list)
    changes: list[tuple[float, bool, bool]] = field(default_factory=list)
    kills: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, str, bool]] = field(default_factory=list)

    async def check(self, spec: ProbeSpec, container: str, probe_type: str) -> Outcome:
        self.calls.append((self.clock.monotonic(), probe_type))
        script = self.scripts[probe_type]
        return script.pop(0) if len(script) > 1 else script[0]

    def changed(self) -> None:
        assert self.manager is not None
        m = self.manager
        self.changes.append((self.clock.monotonic(), m.started("app"), m.ready("app")))

    async def run_for(self, seconds: float) -> None:
        """Move time on one second at a time, letting the workers run after each step."""
        for _ in range(int(seconds)):
            await settle()
            self.clock.advance(1)
        await settle()

    def types_called(self) -> list[str]:
        return [t for _, t in self.calls]


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture
async def make() -> AsyncIterator[Any]:
    made: list[ProbeManager] = []

    def build(spec: dict[str, Any], **scripts: list[Outcome]) -> Harness:
        h = Harness(FakeClock(), scripts)
        h.manager = ProbeManager(
            spec,
            pod_ip="127.1.0.5",
            exec_fn=None,
            on_change=h.changed,
            on_kill=lambda c, m: h.kills.append((c, m)),
            on_event=lambda r, m, w: h.events.append((r, m, w)),
            clock=h.clock,
            check=h.check,
        )
        made.append(h.manager)
        return h

    yield build
    for m in made:
        await m.close()


async def test_no_probes_ready_and_started(make: Any) -> None:
    h = make(pod())
    m = h.manager
    m.start_container("app")
    await h.run_for(30)
    assert (m.started("app"), m.ready("app"), m.ready("plain"), m.started("plain")) == (
        True,
        True,
        True,
        True,
    )
    assert h.calls == [] and h.changes == []


async def test_readiness_delay_period_and_failure_threshold(make: Any) -> None:
    h = make(
        pod(readinessProbe=probe(initialDelaySeconds=5, periodSeconds=10, failureThreshold=3)),
        Readiness=[OK, BAD, BAD, BAD, OK],
    )
    m = h.manager
    m.start_container("app")
    await settle()
    assert not m.ready("app") and m.started("app")
    await h.run_for(45)
    assert [t for t, _ in h.calls] == [5, 15, 25, 35, 45]
    assert h.changes == [(5, True, True), (35, True, False), (45, True, True)]
    assert (
        h.events
        == [("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", True)]
        * 3
    )
    assert h.kills == []


async def test_readiness_success_threshold(make: Any) -> None:
    h = make(pod(readinessProbe=probe(periodSeconds=1, successThreshold=3)), Readiness=[OK])
    h.manager.start_container("app")
    await h.run_for(3)
    assert h.changes == [(2, True, True)]


async def test_liveness_failure_kills_once_and_stops_probing(make: Any) -> None:
    h = make(pod(livenessProbe=probe(periodSeconds=10, failureThreshold=3)), Liveness=[BAD])
    h.manager.start_container("app")
    await h.run_for(60)
    assert [t for t, _ in h.calls] == [0, 10, 20]
    assert h.kills == [("app", "Container app failed liveness probe, will be restarted")]
    assert len(h.events) == 3
    assert h.changes == []


async def test_restart_probes_again(make: Any) -> None:
    h = make(pod(livenessProbe=probe(periodSeconds=1, failureThreshold=1)), Liveness=[BAD])
    m = h.manager
    m.start_container("app")
    await h.run_for(2)
    m.stop_container("app")
    await h.run_for(5)
    m.start_container("app")
    await h.run_for(2)
    assert [t for t, _ in h.calls] == [0, 7]
    assert len(h.kills) == 2


async def test_startup_gates_liveness_and_readiness(make: Any) -> None:
    h = make(
        pod(
            startupProbe=probe(periodSeconds=5, failureThreshold=10),
            livenessProbe=probe(periodSeconds=10),
            readinessProbe=probe(periodSeconds=10),
        ),
        Startup=[BAD, BAD, OK],
        Liveness=[OK],
        Readiness=[OK],
    )
    m = h.manager
    m.start_container("app")
    await settle()
    assert (m.started("app"), m.ready("app")) == (False, False)
    await h.run_for(20)
    assert h.calls[:3] == [(0, "Startup"), (5, "Startup"), (10, "Startup")]
    assert sorted(h.calls[3:5]) == [(10, "Liveness"), (10, "Readiness")]
    assert h.types_called().count("Startup") == 3  # the startup worker ends once passed
    assert h.changes == [(10, True, False), (10, True, True)]


async def test_startup_without_readiness_makes_ready(make: Any) -> None:
    h = make(pod(startupProbe=probe(periodSeconds=1)), Startup=[OK])
    m = h.manager
    m.start_container("app")
    assert (m.started("app"), m.ready("app")) == (False, False)
    await h.run_for(1)
    assert h.changes == [(0, True, True)]


async def test_startup_failure_kills(make: Any) -> None:
    h = make(pod(startupProbe=probe(periodSeconds=1, failureThreshold=2)), Startup=[BAD])
    h.manager.start_container("app")
    await h.run_for(5)
    assert h.kills == [("app", "Container app failed startup probe, will be restarted")]
    assert not h.manager.started("app")


async def test_stop_container_resets_and_reports(make: Any) -> None:
    h = make(pod(readinessProbe=probe(periodSeconds=1)), Readiness=[OK])
    m = h.manager
    m.start_container("app")
    await h.run_for(1)
    assert m.ready("app")
    m.stop_container("app")
    assert not m.ready("app")
    assert h.changes == [(0, True, True), (1, True, False)]
    await h.run_for(5)
    assert len(h.calls) == 2  # nothing probes a stopped container


async def test_unsupported_probe_changes_nothing(make: Any) -> None:
    h = make(
        pod(livenessProbe={"grpc": {"port": 9000}, "periodSeconds": 1, "failureThreshold": 1}),
        Liveness=[GRPC],
    )
    h.manager.start_container("app")
    await h.run_for(3)
    assert h.kills == []
    assert h.events[0] == (
        "Unhealthy",
        "Liveness probe errored and resulted in unknown state: "
        "gRPC probes are not supported by kubesvc",
        True,
    )


async def test_sidecar_probes(make: Any) -> None:
    spec = {
        "spec": {
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "readinessProbe": probe()},
                {"name": "init"},
            ],
            "containers": [{"name": "app"}],
        }
    }
    h = make(spec, Readiness=[OK])
    m = h.manager
    assert set(m.probes("side")) == {"Readiness"} and m.probes("init") == {}
    m.start_container("side")
    await h.run_for(1)
    assert m.ready("side")
