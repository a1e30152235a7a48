"""``pods/log`` end to end: kubectl and the Python client -> API server -> agent endpoint -> files.

The API server runs in-process (the ``api`` fixture); a ``KubeletServer`` over a
fake ``LogSource`` serves real log and index files from ``tmp_path``; a Node
points at it (by the kubelet-endpoint annotation, or by InternalIP and
``daemonEndpoints``), and pods are bound to that Node at creation.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from tests.integration.conftest import Api

from kubesvc.node.logs.index import unix_ns
from kubesvc.node.logs.read import format_timestamp
from kubesvc.node.server import KubeletServer, LogError, LogLocation, waiting_to_start
from kubesvc.runtime import kubeconfig

KUBECTL = shutil.which("kubectl")
NS = "default"
TIMEOUT = 30.0

# "old" arrived two hours ago, "new" ten seconds ago; "tail" is not indexed yet.
APP_LOG = b"old line\nnew line\n"


@dataclass
class FakeSource:
    """Log files by (namespace, pod, container, previous); ``running`` per container."""

    root: Path
    files: dict[tuple[str, str, str, bool], tuple[Path, Path]] = field(default_factory=dict)
    running: dict[str, bool] = field(default_factory=dict)

    def add(self, pod: str, container: str, data: bytes, *, previous: bool = False) -> Path:
        name = f"{pod}-{container}-{int(previous)}"
        log, idx = self.root / f"{name}.log", self.root / f"{name}.idx"
        log.write_bytes(data)
        self.files[(NS, pod, container, previous)] = (log, idx)
        self.running.setdefault(container, not previous)
        return log

    def locate(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> LogLocation | LogError:
        if container == "waiting":
            return waiting_to_start(container, pod, "ContainerCreating")
        found = self.files.get((namespace, pod, container, previous))
        if found is None:
            if previous:
                return LogError(
                    400, f'previous terminated container "{container}" in pod "{pod}" not found'
                )
            return LogError(404, f'pod "{pod}" does not exist')
        return LogLocation(
            found[0], found[1], lambda: not previous and self.running.get(container, False)
        )


@dataclass
class Cluster:
    api: Api
    source: FakeSource
    kubelet: KubeletServer
    kubeconfig: Path
    cache: Path

    async def kubectl(self, *args: str) -> tuple[int, str, str]:
        proc = await self.start_kubectl(*args)
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def start_kubectl(self, *args: str) -> asyncio.subprocess.Process:
        assert KUBECTL is not None
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        return await asyncio.create_subprocess_exec(
            KUBECTL,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache),
            "--namespace",
            NS,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )

    async def create(self, path: str, body: dict[str, Any]) -> None:
        status, got, _ = await self.api.call("POST", path, body)
        assert status == 201, got

    async def node(self, name: str, **extra: Any) -> None:
        await self.create(
            "/api/v1/nodes", {"metadata": {"name": name, **extra.pop("meta", {})}, **extra}
        )

    async def pod(
        self, name: str, containers: list[str], node: str = "node-a", **spec: Any
    ) -> None:
        body = {
            "metadata": {"name": name},
            "spec": {
                "containers": [{"name": c, "image": "busybox"} for c in containers],
                **({"nodeName": node} if node else {}),
                **spec,
            },
        }
        await self.create(f"/api/v1/namespaces/{NS}/pods", body)

    def python_client(self) -> client.ApiClient:
        cfg = client.Configuration()
        cfg.host = self.api.base
        return client.ApiClient(cfg)


@pytest.fixture
async def cluster(api: Api, tmp_path: Path) -> AsyncIterator[Cluster]:
    source = FakeSource(tmp_path)
    kubelet = KubeletServer(source, "127.0.0.1", 0, poll=0.02)
    await kubelet.start()
    kc = tmp_path / "kubeconfig"
    kc.write_text(kubeconfig.render(api.base))
    c = Cluster(api, source, kubelet, kc, tmp_path / "kube-cache")
    await c.node(
        "node-a", meta={"annotations": {"node.kubesvc.io/kubelet-endpoint": kubelet.endpoint}}
    )
    await c.pod("web", ["app", "side", "waiting"], initContainers=[{"name": "init", "image": "b"}])
    now = datetime.now(UTC)
    log = source.add("web", "app", APP_LOG + b"tail")
    old, new = unix_ns(now - timedelta(hours=2)), unix_ns(now - timedelta(seconds=10))
    log.with_suffix(".idx").write_text(f"9 {old}\n18 {new}\n")
    source.add("web", "app", b"before the restart\n", previous=True)
    source.add("web", "side", b"sidecar says hi\n")
    yield c
    await kubelet.stop()


pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


@pytest.mark.parametrize(
    ("args", "want"),
    [
        pytest.param(("-c", "app"), "old line\nnew line\n", id="running-no-partial-line"),
        pytest.param(("-c", "app", "--tail=1"), "new line\n", id="tail"),
        pytest.param(("-c", "app", "--since=1h"), "new line\n", id="since"),
        pytest.param(("-c", "app", "--limit-bytes=5"), "old l", id="limit-bytes"),
        pytest.param(("-c", "app", "--previous"), "before the restart\n", id="previous"),
        pytest.param(("-c", "side"), "sidecar says hi\n", id="other-container"),
        pytest.param((), "old line\nnew line\n", id="default-container"),
    ],
)
async def test_kubectl_logs(cluster: Cluster, args: tuple[str, ...], want: str) -> None:
    rc, out, err = await cluster.kubectl("logs", "web", *args)
    assert (rc, out) == (0, want), err


async def test_kubectl_logs_timestamps(cluster: Cluster) -> None:
    rc, out, err = await cluster.kubectl("logs", "web", "-c", "app", "--timestamps", "--tail=1")
    assert rc == 0, err
    stamp, line = out.split(" ", 1)
    assert line == "new line\n"
    when = datetime.fromisoformat(stamp)
    assert timedelta(seconds=5) < datetime.now(UTC) - when < timedelta(seconds=60)
    assert len(stamp) == len(format_timestamp(0).decode())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("-c", "waiting"),
            'Error from server (BadRequest): container "waiting" in pod "web" is waiting to '
            "start: ContainerCreating",
            id="waiting",
        ),
        pytest.param(
            ("-c", "side", "--previous"),
            'Error from server (BadRequest): previous terminated container "side" in pod "web" '
            "not found",
            id="no-previous",
        ),
        pytest.param(("-c", "nope"), "container nope is not valid for pod web", id="unknown"),
    ],
)
async def test_kubectl_logs_errors(cluster: Cluster, args: tuple[str, ...], message: str) -> None:
    rc, out, err = await cluster.kubectl("logs", "web", *args)
    assert rc != 0 and out == ""
    assert message in err


async def test_kubectl_logs_follow(cluster: Cluster) -> None:
    proc = await cluster.start_kubectl("logs", "-f", "web", "-c", "app", "--tail=1")
    assert proc.stdout is not None
    try:
        assert await asyncio.wait_for(proc.stdout.readline(), TIMEOUT) == b"new line\n"
        log = cluster.source.files[(NS, "web", "app", False)][0]
        with log.open("ab") as f:
            f.write(b" ends here\nmore")  # completes "tail", starts another line
        assert await asyncio.wait_for(proc.stdout.readline(), TIMEOUT) == b"tail ends here\n"
        cluster.source.running["app"] = False  # the container exits: the stream drains and ends
        rest = await asyncio.wait_for(proc.stdout.read(), TIMEOUT)
        assert rest == b"more"
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_kubectl_logs_through_node_address(cluster: Cluster) -> None:
    await cluster.node(
        "node-b",
        status={
            "addresses": [
                {"type": "Hostname", "address": "b"},
                {"type": "InternalIP", "address": "127.0.0.1"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": cluster.kubelet.port}},
        },
    )
    await cluster.pod("solo", ["main"], node="node-b")
    cluster.source.add("solo", "main", b"via the InternalIP\n")
    rc, out, err = await cluster.kubectl("logs", "solo")
    assert (rc, out) == (0, "via the InternalIP\n"), err


async def test_python_client(cluster: Cluster) -> None:
    api = cluster.python_client()
    v1 = client.CoreV1Api(api)
    try:
        text = await asyncio.to_thread(
            v1.read_namespaced_pod_log, "web", NS, container="app", tail_lines=1, timestamps=True
        )
        assert text.endswith(" new line\n")
        text = await asyncio.to_thread(
            v1.read_namespaced_pod_log, "web", NS, container="app", previous=True
        )
        assert text == "before the restart\n"
        with pytest.raises(ApiException) as info:
            await asyncio.to_thread(v1.read_namespaced_pod_log, "web", NS)
        assert info.value.status == 400
        assert (
            "a container name must be specified for pod web, choose one of: "
            "[app side waiting] or one of the init containers: [init]"
        ) in str(info.value.body)
    finally:
        api.close()


async def test_python_client_follow(cluster: Cluster) -> None:
    api = cluster.python_client()
    v1 = client.CoreV1Api(api)
    try:
        resp = await asyncio.to_thread(
            v1.read_namespaced_pod_log,
            "web",
            NS,
            container="side",
            follow=True,
            _preload_content=False,
        )
        chunks = resp.stream(64)
        first = await asyncio.to_thread(next, chunks)
        assert first == b"sidecar says hi\n"
        log = cluster.source.files[(NS, "web", "side", False)][0]
        with log.open("ab") as f:
            f.write(b"and again\n")
        assert await asyncio.to_thread(next, chunks) == b"and again\n"
        cluster.source.running["side"] = False
        assert await asyncio.to_thread(lambda: b"".join(chunks)) == b""
        resp.release_conn()
    finally:
        api.close()


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        pytest.param("nothere/log", {}, 404, 'pods "nothere" not found', id="no-pod"),
        pytest.param(
            "web/log",
            {"container": "nope"},
            400,
            "container nope is not valid for pod web",
            id="unknown-container",
        ),
        pytest.param(
            "web/log",
            {"container": "app", "tailLines": "-1"},
            422,
            'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater '
            "than or equal to 0",
            id="invalid-options",
        ),
        pytest.param(
            "web/log",
            {"container": "app", "tailLines": "x"},
            400,
            'strconv.ParseInt: parsing "x": invalid syntax',
            id="undecodable-options",
        ),
        pytest.param(
            "ghost/log",
            {},
            404,
            "the server could not find the requested resource ( pods/log ghost)",
            id="kubelet-404",
        ),
    ],
)
async def test_errors(
    cluster: Cluster, path: str, params: dict[str, str], status: int, message: str
) -> None:
    if path.startswith("ghost"):
        await cluster.pod("ghost", ["c"])  # the agent has never heard of it
    got_status, body, _ = await cluster.api.call(
        "GET", f"/api/v1/namespaces/{NS}/pods/{path}", params=params
    )
    assert isinstance(body, dict)
    assert (got_status, body["message"], body["code"]) == (status, message, status)


async def test_unscheduled_pod_has_no_log_yet(cluster: Cluster) -> None:
    await cluster.pod("pending", ["c"], node="")
    status, body, _ = await cluster.api.call("GET", f"/api/v1/namespaces/{NS}/pods/pending/log")
    assert (status, body) == (204, None)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        pytest.param(
            {"meta": {"annotations": {"node.kubesvc.io/kubelet-endpoint": "192.0.2.10:10250"}}},
            'kubelet endpoint 192.0.2.10:10250 of node "far" is not an address of this machine',
            id="remote-address-refused",
        ),
        pytest.param(
            {"meta": {"annotations": {"node.kubesvc.io/kubelet-endpoint": "example.com:10250"}}},
            'kubelet endpoint example.com:10250 of node "far" is not an address of this machine',
            id="names-refused",
        ),
        pytest.param(
            {"status": {"addresses": [{"type": "Hostname", "address": "far"}]}},
            "no preferred addresses found; known addresses: [{Hostname far}]",
            id="no-address",
        ),
    ],
)
async def test_node_endpoint_refused(cluster: Cluster, node: dict[str, Any], message: str) -> None:
    await cluster.node("far", **node)
    await cluster.pod("remote", ["c"], node="far")
    status, body, _ = await cluster.api.call("GET", f"/api/v1/namespaces/{NS}/pods/remote/log")
    assert status == 500
    assert isinstance(body, dict) and message in body["message"]


async def test_kubelet_unreachable(cluster: Cluster) -> None:
    port = cluster.kubelet.port
    await cluster.kubelet.stop()
    status, body, _ = await cluster.api.call(
        "GET", f"/api/v1/namespaces/{NS}/pods/web/log", params={"container": "app"}
    )
    assert status == 500
    assert isinstance(body, dict)
    assert body["message"] == (
        f'Get "http://127.0.0.1:{port}/containerLogs/{NS}/web/app": dial tcp 127.0.0.1:{port}: '
        "connect: connection refused"
    )
    assert "reason" not in body
