"""Graceful pod deletion over HTTP: DELETE marks a pod on a node, grace 0 removes it.

What a node agent relies on: the mark is a MODIFIED event carrying
``deletionTimestamp``/``deletionGracePeriodSeconds``, the agent's DELETE with
``gracePeriodSeconds=0`` is the DELETED event, and a namespace being deleted
waits for its pods to be finished that way. kubectl sees the same: ``get
pods`` says ``Terminating``, ``delete`` waits, ``--grace-period=0 --force``
removes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    eventually,
    finishing_terminating_pods,
)

from kubesvc.api import errors
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.runtime import kubeconfig

Obj = dict[str, Any]
PODS = resolve(("v1", "Pod"))
NAMESPACES = resolve(("v1", "Namespace"))
KUBECTL = shutil.which("kubectl")
POD_PATH = "/api/v1/namespaces/default/pods"


def pod(name: str = "p", node: str = "n1", **spec: Any) -> Obj:
    body: Obj = {"containers": [{"name": "c", "image": "x"}], **spec}
    if node:
        body["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


@contextlib.asynccontextmanager
async def client_of(api: Api) -> Any:
    client = ApiClient(ClientConfig(api.base))
    try:
        yield client
    finally:
        await client.close()


async def test_delete_marks_a_bound_pod_and_grace_zero_removes_it(api: Api) -> None:
    async with client_of(api) as client:
        await client.create(PODS, pod())
        events = client.watch(PODS, "default", name="p", resource_version="0")
        seen = events.__aiter__()
        assert (await seen.__anext__())[0] == "ADDED"

        code, body, _ = await api.call("DELETE", f"{POD_PATH}/p", {"kind": "DeleteOptions"})
        assert code == 200
        assert isinstance(body, dict) and body["kind"] == "Pod"
        assert body["metadata"]["deletionGracePeriodSeconds"] == 30
        assert body["metadata"]["deletionTimestamp"]
        kind, marked = await seen.__anext__()
        assert (kind, marked["metadata"]["deletionGracePeriodSeconds"]) == ("MODIFIED", 30)

        # Deleting again without a shorter grace period changes nothing.
        code, again, _ = await api.call("DELETE", f"{POD_PATH}/p")
        assert code == 200 and isinstance(again, dict)
        assert again["metadata"]["resourceVersion"] == marked["metadata"]["resourceVersion"]

        # The query parameter works as the body field does (the Python client sends it).
        code, body, _ = await api.call(
            "DELETE", f"{POD_PATH}/p", params={"gracePeriodSeconds": "0"}
        )
        assert code == 200
        kind, gone = await seen.__anext__()
        assert (kind, gone["metadata"]["name"]) == ("DELETED", "p")
        await events.aclose()
        with pytest.raises(errors.NotFound):
            await client.get(PODS, "default", "p")


@pytest.mark.parametrize(
    ("node", "spec", "options"),
    [
        pytest.param("", {}, {}, id="unscheduled"),
        pytest.param("n1", {"terminationGracePeriodSeconds": 0}, {}, id="grace-zero-in-spec"),
        pytest.param("n1", {}, {"gracePeriodSeconds": 0}, id="force"),
    ],
)
async def test_pods_with_nothing_to_stop_are_removed_at_once(
    api: Api, node: str, spec: Obj, options: Obj
) -> None:
    code, _, _ = await api.call("POST", POD_PATH, pod(node=node, **spec))
    assert code == 201
    code, _, _ = await api.call("DELETE", f"{POD_PATH}/p", {"kind": "DeleteOptions", **options})
    assert code == 200
    code, _, _ = await api.call("GET", f"{POD_PATH}/p")
    assert code == 404


async def test_a_bad_grace_period_is_a_bad_request(api: Api) -> None:
    await api.call("POST", POD_PATH, pod())
    code, body, _ = await api.call("DELETE", f"{POD_PATH}/p", params={"gracePeriodSeconds": "soon"})
    assert code == 400, body


async def test_namespace_deletion_waits_for_the_node_agent(api: Api) -> None:
    stop = asyncio.Event()
    lifecycle = asyncio.create_task(api.server.lifecycle.run(stop))
    try:
        await _namespace_deletion_waits_for_the_node_agent(api)
    finally:
        stop.set()
        await asyncio.wait_for(lifecycle, 10)


async def _namespace_deletion_waits_for_the_node_agent(api: Api) -> None:
    async with client_of(api) as client:
        await client.create(NAMESPACES, {"metadata": {"name": "work"}})
        await client.create(PODS, pod("a"), namespace="work")
        await client.create(PODS, pod("b", node=""), namespace="work")
        await client.delete(NAMESPACES, "", "work")

        async def terminating() -> list[Obj] | None:
            items = (await client.list(PODS, "work"))["items"]
            names = [p["metadata"]["name"] for p in items]
            marked = names == ["a"] and items[0]["metadata"].get("deletionTimestamp")
            return items if marked else None

        await eventually(terminating, "the bound pod terminating, the unbound one gone")
        assert (await client.get(NAMESPACES, "", "work"))["status"]["phase"] == "Terminating"

        async with finishing_terminating_pods(client):

            async def namespace_gone() -> bool:
                try:
                    await client.get(NAMESPACES, "", "work")
                except errors.NotFound:
                    return True
                return False

            await eventually(namespace_gone, "the namespace removed", seconds=10)


# -- kubectl --------------------------------------------------------------------------------
async def kubectl(config: Path, *args: str) -> tuple[int, str, str]:
    assert KUBECTL is not None
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(config),
        "--cache-dir",
        str(config.parent / "cache"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
async def test_kubectl_delete_shows_terminating_and_force_removes(api: Api, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig.render(api.base))
    async with client_of(api) as client:
        await client.create(PODS, pod())

        rc, out, err = await kubectl(config, "delete", "pod", "p", "--wait=false")
        assert (rc, out.strip()) == (0, 'pod "p" deleted'), err
        rc, out, err = await kubectl(config, "get", "pods", "--no-headers")
        assert rc == 0, err
        assert out.split()[:3] == ["p", "0/1", "Terminating"]

        # --grace-period=0 without --force asks for 1 s (kubectl's safeguard).
        rc, _, err = await kubectl(config, "delete", "pod", "p", "--grace-period=0", "--wait=false")
        assert rc == 0, err
        shortened = await client.get(PODS, "default", "p")
        assert shortened["metadata"]["deletionGracePeriodSeconds"] == 1

        rc, out, err = await kubectl(config, "delete", "pod", "p", "--grace-period=0", "--force")
        assert rc == 0, err
        assert out.strip() == 'pod "p" force deleted'
        assert "Immediate deletion does not wait" in err
        with pytest.raises(errors.NotFound):
            await client.get(PODS, "default", "p")

        # kubectl delete waits until the node agent has removed the pod.
        await client.create(PODS, pod("q"))
        async with finishing_terminating_pods(client):
            rc, out, err = await kubectl(config, "delete", "pod", "q", "--timeout=20s")
        assert (rc, out.strip()) == (0, 'pod "q" deleted'), err
