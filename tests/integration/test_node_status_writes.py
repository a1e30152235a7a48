"""How many status writes a pod's start and end cost the node agent.

Each write is a patch, a watch event to every pod watcher and an echo back to the
agent, so a pod that starts promptly is reported in one write, and a deleted pod's
stopped container and removed sandbox in one more. A ``NodeAgent`` with its real
loopback runtime runs against the in-process API server; the pod is created bound to
its node, so the agent is the only writer of its status. The holds are made long
here (they end by themselves once the container runs or the sandbox is gone), so
that a slow machine does not split the writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import Api

from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.node import podworker
from kubesvc.node.agent import NodeAgent
from kubesvc.node.settings import LOOPBACK, NodeSettings

Obj = dict[str, Any]
PODS = resolve(("v1", "Pod"))
NODE = "node-w"
NS = "default"
WAIT = 20.0


@pytest.fixture
async def client(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ApiClient]:
    monkeypatch.setattr(podworker, "START_HOLD", WAIT)
    monkeypatch.setattr(podworker, "END_HOLD", WAIT)
    settings = NodeSettings(node_name=NODE, state_dir=tmp_path / "node", network_mode=LOOPBACK)
    api_client = ApiClient(ClientConfig(api.base), field_manager="kubelet")
    agent = NodeAgent(api_client, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop, drain=True))
    try:
        await asyncio.wait_for(agent.ready.wait(), WAIT)
        yield api_client
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)
        await api_client.close()


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def test_a_prompt_start_is_one_status_write_and_a_deletion_one_more(
    client: ApiClient,
) -> None:
    rv = (await client.list(PODS, NS))["metadata"]["resourceVersion"]
    seen: list[tuple[str, Obj]] = []
    changed = asyncio.Event()

    async def watch() -> None:
        async for etype, obj in client.watch(PODS, NS, resource_version=rv):
            seen.append((etype, obj))
            changed.set()

    async def until(what: str, check: Callable[[], bool]) -> None:
        try:
            async with asyncio.timeout(WAIT):
                while not check():
                    changed.clear()
                    await changed.wait()
        except TimeoutError:
            raise AssertionError(f"{what} not seen in {WAIT} s: {seen}") from None

    watching = asyncio.create_task(watch())
    try:
        await client.create(
            PODS,
            {
                "metadata": {"name": "prompt", "namespace": NS},
                "spec": {
                    "nodeName": NODE,
                    "terminationGracePeriodSeconds": 2,
                    "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "60"]}],
                },
            },
        )
        await until("Ready", lambda: any(_ready(obj) for _, obj in seen))
        assert [etype for etype, _ in seen] == ["ADDED", "MODIFIED"], "one write: Running, Ready"
        running = seen[-1][1]
        assert running["status"]["phase"] == "Running"
        assert "running" in running["status"]["containerStatuses"][0]["state"]

        await client.delete(PODS, NS, "prompt")
        await until("gone", lambda: seen[-1][0] == "DELETED")
        after = [obj for _, obj in seen[2:]]
        marked, written, gone = after  # deletionTimestamp set; the agent's one write; gone
        assert marked["metadata"].get("deletionTimestamp")
        assert marked["status"] == running["status"]
        state = written["status"]["containerStatuses"][0]["state"]
        assert "terminated" in state, state
        conditions = {c["type"]: c["status"] for c in written["status"]["conditions"]}
        assert conditions["PodReadyToStartContainers"] == "False"
        assert gone["status"] == written["status"]
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
