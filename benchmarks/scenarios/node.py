"""The node agent: pod start latency and memory (issue #5).

The group starts one ``kubesvc up --disable-agent`` (memory store; API server, controllers
and scheduler, no node) pinned to the server core. Each measurement starts a fresh node
agent alone (``kubesvc node --network-mode loopback``, also on the server core, its own
process so that its memory is its own) and runs ``benchmarks.node_load`` on the load core:

- ``node-pod-startup-N``: N pods created (20 in flight) after one warm-up pod. The row's
  figure is the seconds from the first create until all N are Ready; p50/p99 are each
  pod's create-to-Ready latency (POST sent to the watch event showing ``Ready=True``; no
  probes, so Ready follows the container's start).
- ``node-memory``: the agent's VmRSS (MiB) 2 s after 100 pods became Ready; the summed
  VmRSS of the processes it started (the pods) and its idle VmRSS go into the extras.

The batches are deleted (gracefully) before the agent stops. Pod processes run in sessions
of their own, outside the agent's process group: any the agent started and left behind are
ended by PID (checked against their start time) after it stops. ``kubesvc node --cleanup``
is not used: it clears the whole ``kubesvc`` cgroup subtree, shared with any other agent.

There is no anchor measured here: the published figures (Kubernetes' pod-startup SLO of
5 s at p99 with pre-pulled images; k3s's agent at 275 MB) are quoted in the rows' text,
not re-measured.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import node_load
from benchmarks.env import Env, free_port
from benchmarks.model import Sample
from benchmarks.procs import Processes, Started
from benchmarks.readiness import NotReady, wait_listening
from benchmarks.registry import Probe, Scenario, register

logger = logging.getLogger(__name__)

NODE_NAME = "bench"
CONCURRENCY = 20
BATCHES = (1, 10, 100)
"""Pods per startup row; the row names carry these counts. ``--quick`` uses them too (the
whole group takes well under a minute), but measures each once."""
MEMORY_PODS = 100
SETTLE_S = 2.0
LOAD_TIMEOUT_S = 300.0
SLO = "Kubernetes SLO, published: p99 <= 5 s with pre-pulled images"


def wait_output(procs: Processes, started: Started, needle: str, timeout: float) -> None:
    """Wait until ``needle`` appears in ``started``'s stdout; raise NotReady otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if needle in started.stdout.read_text(errors="replace"):
                return
        except OSError:
            pass
        if not procs.alive(started):
            raise NotReady(f"{started.name} exited at start-up: {started.log_tail()}")
        if time.monotonic() >= deadline:
            raise NotReady(f"{started.name} not ready within {timeout:.0f} s: {started.log_tail()}")
        time.sleep(0.05)


@dataclass(frozen=True)
class _Cluster:
    """The group's API server with controllers and scheduler, and no node."""

    started: Started
    url: str
    kubeconfig: Path


def _start_cluster(env: Env, stack: ExitStack) -> _Cluster:
    work = env.workdir("kubesvc-up")
    port = free_port()
    argv = [
        sys.executable, "-m", "kubesvc", "up", "--storage", "memory://",
        "--data-dir", str(work), "--port", str(port), "--disable-agent",
    ]  # fmt: skip
    started = env.procs.start("kubesvc-up", argv, cpu=env.settings.server_cpu)
    stack.callback(env.procs.stop, started)
    wait_listening(env.procs, started, [port], timeout=30.0)
    wait_output(env.procs, started, " ready", 30.0)
    return _Cluster(started, f"http://127.0.0.1:{port}", work / "kubeconfig.yaml")


def _left_behind(state: Path) -> bool:
    """Whether the agent's state directory still records any pod."""
    pods = state / "node" / NODE_NAME / "pods"
    try:
        return any(pods.iterdir())
    except OSError:
        return False


@dataclass
class _NodeProbe:
    env: Env
    cluster: _Cluster
    pods: int
    memory: bool
    current: list[Started] = field(default_factory=list)

    def _node_argv(self, data_dir: Path) -> list[str]:
        return [
            sys.executable, "-m", "kubesvc", "node",
            "--kubeconfig", str(self.cluster.kubeconfig), "--data-dir", str(data_dir),
            "--node-name", NODE_NAME, "--network-mode", "loopback",
        ]  # fmt: skip

    @contextmanager
    def _agent(self) -> Iterator[Started]:
        procs = self.env.procs
        data_dir = self.env.workdir("kubesvc-node")
        agent = procs.start(
            "kubesvc-node", self._node_argv(data_dir), cpu=self.env.settings.server_cpu
        )
        try:
            wait_output(procs, agent, f" node {NODE_NAME} ready", 30.0)
            self.current.append(agent)
            yield agent
        finally:
            self.current.clear()
            # The pods' processes live in sessions of their own: the agent's process
            # group does not hold them. Normally the driver deleted every pod already.
            started_below = node_load.start_ticks(
                node_load.descendants(node_load.read_parents(), agent.pid)
            )
            procs.stop(agent, grace=10.0)
            killed = node_load.end_leftovers(started_below)
            if killed:
                logger.warning("ended pod processes the agent left count=%d", len(killed))
            if _left_behind(data_dir):
                logger.warning("node agent state still records pods dir=%s", data_dir)

    def fresh(self) -> AbstractContextManager[object]:
        return self._agent()

    def warm(self, seconds: int) -> None:
        """The driver starts (and deletes) a warm-up pod before the measured batch."""

    def measure(self, seconds: int) -> Sample:
        agent = self.current[-1]
        argv = [
            sys.executable, "-m", "benchmarks.node_load", "--url", self.cluster.url,
            "--pods", str(self.pods), "--concurrency", str(CONCURRENCY),
        ]  # fmt: skip
        if self.memory:
            argv += ["--agent-pid", str(agent.pid), "--settle", str(SETTLE_S)]
        done = self.env.procs.run(
            "node-load", argv, timeout=LOAD_TIMEOUT_S, cpu=self.env.settings.load_cpu
        )
        return to_sample(json.loads(done.text().strip().splitlines()[-1]), memory=self.memory)


def to_sample(result: dict[str, float], *, memory: bool) -> Sample:
    """A measurement from the driver's JSON; a batch that did not get Ready is an error."""
    pods = int(result["pods"])
    if result.get("not_ready", 0) or "all_ready_s" not in result:
        raise RuntimeError(f"{int(result.get('not_ready', pods))} of {pods} pods not Ready")
    errors = int(result.get("not_deleted", 0))
    keys: tuple[str, ...]
    if memory:
        keys = (
            "pods", "agent_rss_idle_mib", "pods_rss_mib", "pods_pss_mib", "pod_processes",
            "all_ready_s",
        )  # fmt: skip
        return Sample(
            value=result["agent_rss_mib"],
            errors=errors,
            extra={k: float(result[k]) for k in keys if k in result},
        )
    keys = (
        "pods", "create_s", "min_ms", "max_ms",
        "scheduled_p50_ms", "scheduled_p99_ms", "delete_all_s",
    )  # fmt: skip
    return Sample(
        value=result["all_ready_s"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        errors=errors,
        extra={k: float(result[k]) for k in keys if k in result},
        latency_note="p50/p99: one pod's create to Ready",
    )


def _startup_what(n: int) -> str:
    batch = (
        "1 pod: seconds until Ready"
        if n == 1
        else f"a batch of {n} pods ({CONCURRENCY} creates in flight): seconds until all Ready"
    )
    return f"node agent (loopback), {batch}; p50/p99 one pod's create to Ready ({SLO})"


def _setup(env: Env, stack: ExitStack, *, pods: int, memory: bool) -> Probe:
    return _NodeProbe(env, env.fixture("node-cluster", _start_cluster), pods, memory)


register(
    *(
        Scenario(
            name=f"node-pod-startup-{n}",
            family="node",
            what=_startup_what(n),
            unit="s",
            group="node",
            setup=functools.partial(_setup, pods=n, memory=False),
            issue=5,
        )
        for n in BATCHES
    ),
    Scenario(
        name="node-memory",
        family="node",
        what=f"node agent resident memory (VmRSS) with {MEMORY_PODS} pods Ready; pods' own "
        "RSS in extras (k3s agent, published: 275 MB)",
        unit="MiB",
        group="node",
        setup=functools.partial(_setup, pods=MEMORY_PODS, memory=True),
        issue=5,
    ),
)
