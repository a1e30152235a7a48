"""The pod worker's decisions, through a whole node agent running on fakes.

A ``NodeAgent`` runs against the in-process API server (the ``api`` fixture)
with a ``FakeRuntime`` (each test scripts what its containers do) and a
``FakeSandbox``, in loopback mode, on a ``FakeClock``. Pods are created bound to
the agent's node; the tests read what the agent reports through the API (phase,
container states, restart counts, Events) and what it asked of the runtime.

Time: the agent's own waits (CrashLoopBackOff, retries, and the grace period in
the fake runtime's ``stop``) are on the FakeClock, which the tests advance; the
fake clock fits the agent's loop because everything that must wait long takes
it, while the pod worker's few short real-time pauses (settling a burst of
status changes) pass by themselves. Waiting for an effect polls the API
(``eventually``), never sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import events_for, eventually

from kubesvc.api import errors
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.node.agent import NodeAgent
from kubesvc.node.podworker import PREPARE_RETRY
from kubesvc.node.runtime.base import ExecResult
from kubesvc.node.runtime.fake import RUN, FakeRuntime, Step
from kubesvc.node.sandbox.fake import FakeSandbox
from kubesvc.node.settings import LOOPBACK, NodeSettings
from kubesvc.util.clock import FakeClock

Obj = dict[str, Any]
PODS = resolve(("v1", "Pod"))
CONFIG_MAPS = resolve(("v1", "ConfigMap"))
NODE = "node-a"
NS = "default"
BASE, CAP = 10.0, 40.0
"""CrashLoopBackOff delays here: 10 s doubling to 40 s (kubelet: 10 s to 5 min)."""
WAIT = 5.0


@dataclass
class Node:
    """One node agent on fakes, and a client for the test; ``restart`` replaces the agent."""

    client: ApiClient
    settings: NodeSettings
    clock: FakeClock
    runtime: FakeRuntime
    sandbox: FakeSandbox
    agent: NodeAgent
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def create(self, pod: Obj) -> Obj:
        return await self.client.create(PODS, pod)

    async def get(self, name: str) -> Obj:
        return await self.client.get(PODS, NS, name)

    async def pod_until(self, name: str, check: Callable[[Obj], bool], what: str) -> Obj:
        async def matches() -> Obj | None:
            pod = await self.get(name)
            return pod if check(pod) else None

        return await eventually(matches, what, seconds=WAIT)

    async def restart(self) -> None:
        """Stop the agent (its pods keep running) and start a new one over what it left."""
        await self.shutdown()
        await self.start_again()

    async def start_again(self) -> None:
        """Start a new agent with new runtime and sandbox instances on the old ones' state."""
        self.runtime = FakeRuntime(clock=self.clock, state=self.runtime.state)
        self.sandbox = FakeSandbox(state_dir=self.settings.state_dir, state=self.sandbox.state)
        self.agent, self.stop, self.task = await start_agent(
            self.client, self.settings, self.clock, self.runtime, self.sandbox
        )

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, WAIT)


async def start_agent(
    client: ApiClient,
    settings: NodeSettings,
    clock: FakeClock,
    runtime: FakeRuntime,
    sandbox: FakeSandbox,
) -> tuple[NodeAgent, asyncio.Event, asyncio.Task[None]]:
    agent = NodeAgent(client, settings, runtime=runtime, sandbox=sandbox, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    ready = asyncio.ensure_future(agent.ready.wait())
    await asyncio.wait({ready, task}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        stop.set()
        await task  # raises what stopped it, if anything
        raise AssertionError("the node agent did not become ready")
    return agent, stop, task


@pytest.fixture
async def node(api: Api, tmp_path: Path) -> AsyncIterator[Node]:
    settings = NodeSettings(
        node_name=NODE,
        state_dir=tmp_path / "node",
        network_mode=LOOPBACK,
        crashloop_backoff_base=BASE,
        crashloop_backoff_cap=CAP,
    )
    clock = FakeClock()
    runtime = FakeRuntime(clock=clock)
    sandbox = FakeSandbox(state_dir=settings.state_dir)
    client = ApiClient(ClientConfig(api.base), field_manager="kubelet")
    try:
        agent, stop, task = await start_agent(client, settings, clock, runtime, sandbox)
        running = Node(client, settings, clock, runtime, sandbox, agent, stop, task)
        try:
            yield running
        finally:
            await running.shutdown()
    finally:
        await client.close()


# -- what pods and statuses look like ------------------------------------------------------


def container(name: str = "c", *, command: tuple[str, ...] = ("app",), **extra: Any) -> Obj:
    c: Obj = {"name": name, "image": "registry.example/app:1", **extra}
    if command:
        c["command"] = list(command)
    return c


def pod(name: str, containers: list[Obj], **spec: Any) -> Obj:
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {"nodeName": NODE, "containers": containers, **spec},
    }


def phase(p: Obj) -> str:
    return str((p.get("status") or {}).get("phase") or "")


def status_of(p: Obj, name: str) -> Obj:
    status = p.get("status") or {}
    for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if s["name"] == name:
            return dict(s)
    return {}


def described(state: Obj | None) -> tuple[Any, ...]:
    """A container state in brief: (), ("running",), ("waiting", reason), or
    ("terminated", exitCode, reason)."""
    if not state:
        return ()
    kind, detail = next(iter(state.items()))
    if kind == "running":
        return ("running",)
    if kind == "waiting":
        return ("waiting", detail.get("reason"))
    return ("terminated", detail.get("exitCode"), detail.get("reason"))


def now(p: Obj, name: str = "c") -> tuple[Any, ...]:
    return described(status_of(p, name).get("state"))


def restarts(p: Obj, name: str = "c") -> int:
    return int(status_of(p, name).get("restartCount") or 0)


def pod_gone(node: Node, name: str) -> Callable[[], Awaitable[bool]]:
    async def gone() -> bool:
        with contextlib.suppress(errors.NotFound):
            await node.get(name)
            return False
        return True

    return gone


async def settle() -> None:
    """Let the agent run what is ready (woken by a clock advance) before checking nothing
    happened."""
    for _ in range(50):
        await asyncio.sleep(0)


# -- restart policies ------------------------------------------------------------------------

RUNNING = ("running",)


@pytest.mark.parametrize(
    ("policy", "exits", "expected_phase", "expected_restarts", "state", "last"),
    [
        pytest.param(
            "Always", [0, RUN], "Running", 1, RUNNING, ("terminated", 0, "Completed"),
            id="always-restarts-after-success",
        ),
        pytest.param(
            "Always", [1, RUN], "Running", 1, RUNNING, ("terminated", 1, "Error"),
            id="always-restarts-after-failure",
        ),
        pytest.param(
            "OnFailure", [0], "Succeeded", 0, ("terminated", 0, "Completed"), (),
            id="on-failure-ends-after-success",
        ),
        pytest.param(
            "OnFailure", [2, RUN], "Running", 1, RUNNING, ("terminated", 2, "Error"),
            id="on-failure-restarts-after-failure",
        ),
        pytest.param(
            "Never", [0], "Succeeded", 0, ("terminated", 0, "Completed"), (),
            id="never-succeeds",
        ),
        pytest.param(
            "Never", [3], "Failed", 0, ("terminated", 3, "Error"), (),
            id="never-fails",
        ),
    ],
)  # fmt: skip
async def test_restart_policy_decides_phase_and_restarts(
    node: Node,
    policy: str,
    exits: list[Step],
    expected_phase: str,
    expected_restarts: int,
    state: tuple[Any, ...],
    last: tuple[Any, ...],
) -> None:
    node.runtime.script("c", exits)
    created = await node.create(pod("p", [container()], restartPolicy=policy))
    got = await node.pod_until(
        "p",
        lambda p: (phase(p), restarts(p), now(p)) == (expected_phase, expected_restarts, state),
        f"{expected_phase} with {expected_restarts} restarts",
    )
    c = status_of(got, "c")
    assert described(c.get("lastState")) == last
    handles = node.runtime.handles("c")
    assert [h.attempt for h in handles] == list(range(expected_restarts + 1))
    assert c["containerID"] == handles[-1].container_id
    if last:
        assert c["lastState"]["terminated"]["containerID"] == handles[0].container_id
    if expected_phase != "Running":  # terminal: the sandbox goes, nothing starts again

        async def torn_down() -> bool:
            return created["metadata"]["uid"] in node.sandbox.teardowns

        await eventually(torn_down, "the sandbox torn down", seconds=WAIT)
        await settle()
        assert len(node.runtime.starts) == 1


async def test_crash_loop_back_off_doubles_to_the_cap(node: Node) -> None:
    """No delay before the first restart, then ``base``, doubling up to ``cap``."""
    node.runtime.script("c", 1)
    await node.create(pod("p", [container()]))

    async def restarted_at_once() -> bool:
        return len(node.runtime.starts) == 2

    await eventually(restarted_at_once, "the first restart, the clock not moved", seconds=WAIT)
    for restarted, delay in enumerate([10, 20, 40, 40], start=2):
        message = f"back-off {delay}s restarting failed container=c pod=p_default("
        await node.pod_until(
            "p",
            lambda p, n=restarted, m=message: (
                restarts(p) == n
                and now(p) == ("waiting", "CrashLoopBackOff")
                and status_of(p, "c")["state"]["waiting"]["message"].startswith(m)
            ),
            f"restart {restarted} backing off {delay}s",
        )
        assert len(node.runtime.starts) == restarted
        node.clock.advance(delay - 0.5)
        await settle()
        assert len(node.runtime.starts) == restarted, f"started before {delay}s passed"
        node.clock.advance(0.5)

        async def started(n: int = restarted) -> bool:
            return len(node.runtime.starts) == n + 1

        await eventually(started, f"restart {restarted + 1}", seconds=WAIT)
    back_offs = [e for e in await events_for(node.client, NS, "p") if e["reason"] == "BackOff"]
    assert [e["type"] for e in back_offs] == ["Warning"]  # one Event, counted up


async def test_a_container_that_ran_long_enough_starts_over_without_delay(node: Node) -> None:
    node.runtime.script("c", [1, 1, RUN, 1])
    await node.create(pod("p", [container()]))
    await node.pod_until(
        "p", lambda p: restarts(p) == 2 and now(p)[0] == "waiting", "backing off after two"
    )
    node.clock.advance(BASE)
    await node.pod_until("p", lambda p: now(p) == RUNNING, "the third attempt running")
    third = node.runtime.handles("c")[-1]
    node.clock.advance(node.settings.crashloop_reset_after)
    node.runtime.exit(third.container_id, 1)

    async def restarted_at_once() -> bool:
        return len(node.runtime.starts) == 4

    await eventually(restarted_at_once, "a restart without delay", seconds=WAIT)
    await node.pod_until(
        "p",
        lambda p: (
            restarts(p) == 4
            and status_of(p, "c")["state"]
            .get("waiting", {})
            .get("message", "")
            .startswith("back-off 10s ")
        ),
        "the next back-off at the base delay again",
    )


# -- init containers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "scripts", "expected_phase", "starts", "first_init"),
    [
        pytest.param(
            "Always", {"i1": 0, "i2": 0}, "Running", ["i1", "i2", "c"],
            ("terminated", 0, "Completed"), id="in-order-then-the-containers",
        ),
        pytest.param(
            "OnFailure", {"i1": [1, 0], "i2": 0}, "Running", ["i1", "i1", "i2", "c"],
            ("terminated", 0, "Completed"), id="a-failed-init-container-runs-again",
        ),
        pytest.param(
            "Never", {"i1": 1, "i2": 0}, "Failed", ["i1"],
            ("terminated", 1, "Error"), id="a-failed-init-container-fails-the-pod-under-never",
        ),
    ],
)  # fmt: skip
async def test_init_containers(
    node: Node,
    policy: str,
    scripts: dict[str, Step | list[Step]],
    expected_phase: str,
    starts: list[str],
    first_init: tuple[Any, ...],
) -> None:
    for name, exits in scripts.items():
        node.runtime.script(name, exits)
    spec = pod("p", [container()], restartPolicy=policy)
    spec["spec"]["initContainers"] = [container("i1"), container("i2")]
    await node.create(spec)
    got = await node.pod_until(
        "p", lambda p: phase(p) == expected_phase, f"the pod {expected_phase}"
    )
    await settle()
    assert [s.name for s in node.runtime.starts] == starts
    assert [s.init for s in node.runtime.starts] == [n != "c" for n in starts]
    assert now(got, "i1") == first_init
    assert restarts(got, "i1") == starts.count("i1") - 1
    if expected_phase == "Failed":
        assert now(got, "c")[0] == "waiting"


# -- sandbox ---------------------------------------------------------------------------------


async def test_a_failed_sandbox_is_retried_with_a_warning(node: Node) -> None:
    node.sandbox.fail_setups(2)
    await node.create(pod("p", [container()]))

    async def warned() -> Obj | None:
        events = await events_for(node.client, NS, "p")
        return next((e for e in events if e["reason"] == "FailedCreatePodSandBox"), None)

    event = await eventually(warned, "the FailedCreatePodSandBox Event", seconds=WAIT)
    assert event["type"] == "Warning"
    assert event["message"] == "Failed to create pod sandbox: fake sandbox failure"
    assert phase(await node.get("p")) == "Pending"
    for attempt in (2, 3):
        await settle()
        assert len(node.sandbox.setups) == attempt - 1  # no retry before the clock moves
        node.clock.advance(PREPARE_RETRY)

        async def retried(n: int = attempt) -> bool:
            return len(node.sandbox.setups) == n

        await eventually(retried, f"setup attempt {attempt}", seconds=WAIT)
    got = await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    assert got["status"]["podIP"] == "10.88.0.2"
    assert [s.name for s in node.runtime.starts] == ["c"]


# -- containers that cannot start ------------------------------------------------------------


async def test_a_container_without_command_waits_with_no_command(node: Node) -> None:
    await node.create(pod("p", [container(command=())]))
    got = await node.pod_until(
        "p", lambda p: now(p) == ("waiting", "NoCommand"), "waiting with NoCommand"
    )
    assert "kubesvc runs commands, not images" in status_of(got, "c")["state"]["waiting"]["message"]
    assert phase(got) == "Pending"

    async def failed_event() -> Obj | None:
        return next(
            (e for e in await events_for(node.client, NS, "p") if e["reason"] == "Failed"), None
        )

    event = await eventually(failed_event, "the Failed Event", seconds=WAIT)
    assert event["type"] == "Warning"
    assert event["message"].startswith("Error: kubesvc runs commands, not images")
    assert node.runtime.starts == []


async def test_a_missing_config_map_holds_the_container_until_it_exists(node: Node) -> None:
    env = [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "hello"}}}]
    await node.create(pod("p", [container(env=env)]))
    got = await node.pod_until(
        "p",
        lambda p: now(p) == ("waiting", "CreateContainerConfigError"),
        "waiting with CreateContainerConfigError",
    )
    assert status_of(got, "c")["state"]["waiting"]["message"] == 'configmap "cm" not found'
    assert node.runtime.starts == []

    await node.client.create(CONFIG_MAPS, {"metadata": {"name": "cm"}, "data": {"hello": "hi"}})

    async def seen() -> bool:
        return node.agent.config_maps.get(NS, "cm") is not None

    await eventually(seen, "the ConfigMap in the agent's cache", seconds=WAIT)
    node.clock.advance(BASE)  # the next attempt, after the first back-off
    await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    [spec] = node.runtime.starts
    assert spec.env["GREETING"] == "hi"


# -- graceful deletion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delete_grace", "term", "grace", "exit_code"),
    [
        pytest.param(None, None, 7, 137, id="the-pod-grace-period-then-sigkill"),
        pytest.param(2, None, 2, 137, id="the-delete-grace-period-then-sigkill"),
        pytest.param(None, 143, 7, 143, id="sigterm-ends-it-at-once"),
    ],
)
async def test_deleting_a_pod_stops_its_containers_with_the_grace_period(
    node: Node, delete_grace: int | None, term: int | None, grace: float, exit_code: int
) -> None:
    node.runtime.script("c", RUN, term=term)
    created = await node.create(pod("p", [container()], terminationGracePeriodSeconds=7))
    uid = created["metadata"]["uid"]
    await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    [handle] = node.runtime.handles("c")

    await node.client.delete(PODS, NS, "p", grace_period_seconds=delete_grace)

    async def stopped() -> bool:
        return bool(node.runtime.stops)

    await eventually(stopped, "the container stopped", seconds=WAIT)
    assert node.runtime.stops == [(handle.container_id, grace)]
    if term is None:  # SIGTERM is ignored: the pod stays until the grace period passed
        await settle()
        assert (await node.get("p"))["metadata"]["deletionTimestamp"]
        node.clock.advance(grace)

    await eventually(pod_gone(node, "p"), "the pod removed from the API", seconds=WAIT)
    status = node.runtime.container(handle.container_id).status
    assert status is not None and status.exit_code == exit_code
    assert node.sandbox.teardowns == [uid]
    assert len(node.runtime.starts) == 1


async def test_deleting_a_pod_in_back_off_ends_it_at_once(node: Node) -> None:
    node.runtime.script("c", 1)
    await node.create(pod("p", [container()]))
    await node.pod_until(
        "p", lambda p: now(p) == ("waiting", "CrashLoopBackOff"), "in CrashLoopBackOff"
    )
    await node.client.delete(PODS, NS, "p")
    await eventually(pod_gone(node, "p"), "the pod removed from the API", seconds=WAIT)
    assert node.runtime.stops == []  # nothing was running
    assert node.runtime.removed == [h.container_id for h in node.runtime.handles("c")]
    assert len(node.runtime.starts) == 2


async def test_a_finished_pod_keeps_its_containers_until_deleted(node: Node) -> None:
    node.runtime.script("c", 0)
    await node.create(pod("p", [container()], restartPolicy="Never"))
    await node.pod_until("p", lambda p: phase(p) == "Succeeded", "Succeeded")
    await settle()
    [handle] = node.runtime.handles("c")
    assert node.runtime.removed == []  # its log stays readable
    await node.client.delete(PODS, NS, "p")
    await eventually(pod_gone(node, "p"), "the pod removed from the API", seconds=WAIT)
    assert (node.runtime.stops, node.runtime.removed) == ([], [handle.container_id])


async def test_a_finished_pod_stops_its_sidecars_for_good(node: Node) -> None:
    node.runtime.script("c", 0)
    spec = pod("p", [container()], restartPolicy="Never")
    spec["spec"]["initContainers"] = [container("side", restartPolicy="Always")]
    await node.create(spec)
    await node.pod_until("p", lambda p: phase(p) == "Succeeded", "Succeeded")
    side = node.runtime.handles("side")[0]

    async def stopped() -> bool:
        return bool(node.runtime.stops)

    await eventually(stopped, "the sidecar stopped", seconds=WAIT)
    await settle()
    assert node.runtime.stops == [(side.container_id, 30.0)]
    assert [s.name for s in node.runtime.starts] == ["side", "c"]
    await node.client.delete(PODS, NS, "p")
    await eventually(pod_gone(node, "p"), "the pod removed from the API", seconds=WAIT)
    assert [h.container_id for h in node.runtime.handles() if node.runtime.running(h)] == []


async def test_a_failing_pre_stop_hook_is_reported_and_the_container_still_stops(
    node: Node,
) -> None:
    lifecycle = {"preStop": {"exec": {"command": ["drain"]}}}
    node.runtime.script_exec(["drain"], ExecResult(exit_code=1, output=b"busy"))
    await node.create(pod("p", [container(lifecycle=lifecycle)], terminationGracePeriodSeconds=7))
    await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    [handle] = node.runtime.handles("c")
    # Event names come from the clock (client-go's "<pod>.<nanoseconds>"): on a clock that
    # stands still only the first Event of the pod is stored, so move it on first.
    node.clock.advance(1)
    await node.client.delete(PODS, NS, "p")
    await eventually(pod_gone(node, "p"), "the pod removed from the API", seconds=WAIT)
    assert node.runtime.execs == [("drain",)]
    assert node.runtime.stops == [(handle.container_id, 7.0)]
    events = await events_for(node.client, NS, "p")
    [failed] = [e for e in events if e["reason"] == "FailedPreStopHook"]
    assert failed["type"] == "Warning"


async def test_a_pre_stop_sleep_hook_waits_on_the_agent_clock(node: Node) -> None:
    lifecycle = {"preStop": {"sleep": {"seconds": 5}}}
    await node.create(pod("p", [container(lifecycle=lifecycle)], terminationGracePeriodSeconds=7))
    await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    [handle] = node.runtime.handles("c")
    timers = node.clock.pending
    await node.client.delete(PODS, NS, "p")
    await asyncio.wait_for(node.clock.wait_for_timers(timers + 1), 1.0)  # the hook sleeps
    await settle()
    assert node.runtime.stops == []
    node.clock.advance(5)

    async def stopped() -> bool:
        return bool(node.runtime.stops)

    await eventually(stopped, "the container stopped", seconds=WAIT)
    assert node.runtime.stops == [(handle.container_id, 2.0)]  # what the hook left of 7 s


# -- a restarted agent -----------------------------------------------------------------------


async def test_a_restarted_agent_takes_running_containers_over(node: Node) -> None:
    node.runtime.script("init", 0)
    spec = pod("p", [container()])
    spec["spec"]["initContainers"] = [container("init")]
    created = await node.create(spec)
    uid = created["metadata"]["uid"]
    before = await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    [handle] = node.runtime.handles("c")

    await node.restart()  # the init container is done and is not run again either

    async def taken_over() -> bool:
        worker = node.agent.workers.get(uid)
        return worker is not None and worker.record.containers[0].handle == handle

    await eventually(taken_over, "the container adopted", seconds=WAIT)
    await settle()
    assert (node.runtime.starts, node.runtime.stops, node.runtime.removed) == ([], [], [])
    after = await node.get("p")
    assert status_of(after, "c")["containerID"] == handle.container_id
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert (phase(after), restarts(after)) == ("Running", 0)

    # the new agent watches it: when it exits, it restarts it
    node.runtime.exit(handle.container_id, 1)
    got = await node.pod_until(
        "p", lambda p: restarts(p) == 1 and now(p) == RUNNING, "restarted once"
    )
    assert described(status_of(got, "c")["lastState"]) == ("terminated", 1, "Error")
    assert [s.attempt for s in node.runtime.starts] == [1]


async def test_a_restarted_agent_removes_what_belongs_to_no_pod(node: Node) -> None:
    created = await node.create(pod("p", [container()]))
    uid = created["metadata"]["uid"]
    await node.pod_until("p", lambda p: now(p) == RUNNING, "the container running")
    [handle] = node.runtime.handles("c")

    await node.shutdown()
    await node.client.delete(PODS, NS, "p", grace_period_seconds=0)  # while the agent is away
    await node.start_again()

    assert node.runtime.stops == [(handle.container_id, 0)]
    assert node.runtime.removed == [handle.container_id]
    assert node.sandbox.teardowns == [uid]
    assert node.runtime.starts == []
