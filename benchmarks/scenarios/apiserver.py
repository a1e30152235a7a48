"""The API server: request throughput and latency over HTTP with the sqlite store.

The ``apiserver`` scenario starts a fresh ``kubesvc server`` for each measurement (sqlite
storage in the run's temporary directory, pinned to the server core) and drives it with
``benchmarks.apiload`` from the load core. It measures:

- creates per second of N ConfigMaps (the row's figure), with p50/p99 latency per create;
- get throughput and p50/p99 of single objects;
- the time to list all N objects;
- watch delivery: p50/p99 of the delay from sending an update to the event reaching a
  client that watches it;
- creates per second of N Services, and the server's resident memory with them stored.

N is 10,000 in a full run and 1,000 with ``--quick``. The aim (issue #2) is thousands of
writes per second and sub-10 ms watch delivery on a 2-core machine. There is no external
anchor for these rows: they are tracked run to run.
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

FULL_COUNT = 10_000
QUICK_COUNT = 1_000
WATCH_UPDATES = 500


@dataclass
class _ApiProbe:
    env: Env
    count: int
    current: list[tuple[Started, int]] = field(default_factory=list)

    @contextmanager
    def _server(self) -> Iterator[object]:
        work = self.env.workdir("kubesvc-apiserver")
        port = free_port()
        argv = [
            sys.executable, "-m", "kubesvc", "server",
            "--storage", f"sqlite:///{work / 'state.db'}",
            "--data-dir", str(work), "--port", str(port),
        ]  # fmt: skip
        started = self.env.procs.start("kubesvc-server", argv, cpu=self.env.settings.server_cpu)
        try:
            wait_listening(self.env.procs, started, [port], timeout=30.0)
            self.current.append((started, port))
            yield started
        finally:
            self.current.clear()
            self.env.procs.stop(started)

    def fresh(self) -> AbstractContextManager[object]:
        return self._server()

    def warm(self, seconds: int) -> None:
        """The server starts cold for each measurement: that is part of what is measured."""

    def measure(self, seconds: int) -> Sample:
        started, port = self.current[-1]
        argv = [
            sys.executable, "-m", "benchmarks.apiload", "--url", f"http://127.0.0.1:{port}",
            "--count", str(self.count), "--watch-updates", str(WATCH_UPDATES),
            "--pid", str(started.pid),
        ]  # fmt: skip
        done = self.env.procs.run("apiload", argv, timeout=600.0, cpu=self.env.settings.load_cpu)
        result = json.loads(done.text().strip().splitlines()[-1])
        create = result["create"]
        extra = {
            "get_rps": result["get"]["rps"],
            "get_p50_ms": result["get"]["p50_ms"],
            "get_p99_ms": result["get"]["p99_ms"],
            "list_all_s": result["list"]["seconds"],
            "watch_p50_ms": result["watch"]["p50_ms"],
            "watch_p99_ms": result["watch"]["p99_ms"],
            "service_creates_per_s": result["services_create"]["rps"],
            "objects": float(self.count),
        }
        if "rss_mib_with_services" in result:
            extra["rss_mib_with_services"] = result["rss_mib_with_services"]
        return Sample(
            value=create["rps"],
            p50_ms=create["p50_ms"],
            p99_ms=create["p99_ms"],
            extra=extra,
        )


def _setup(env: Env, stack: ExitStack) -> Probe:
    count = QUICK_COUNT if env.settings.mode == "quick" else FULL_COUNT
    return _ApiProbe(env, count)


register(
    Scenario(
        name="apiserver",
        family="apiserver",
        what="API server over HTTP, sqlite: ConfigMap creates (get, list, watch, RSS in extra)",
        unit="creates/s",
        group="apiserver",
        setup=_setup,
        issue=2,
    ),
)
