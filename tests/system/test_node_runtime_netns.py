"""The process runtime in netns mode, as root: a container in a throwaway network
namespace (only ``lo``, so no route anywhere), with its own mount and UTS
namespaces, the pod's resolv.conf and hosts, a volume mounted where the host has
nothing, and a memory limit. Everything made is removed, also on failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kubesvc.node.layout import StateDir
from kubesvc.node.runtime.base import ContainerSpec, Limits, Mount
from kubesvc.node.runtime.process import ProcessRuntime
from kubesvc.node.sandbox.base import SandboxInfo

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]

UID = "pod-netns-1"
RESOLV = (
    "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5\n"
)
HOSTS = "127.0.0.1\tlocalhost\n10.244.0.7\tweb-0\n"
MEMORY = 96 << 20


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"kubesvc-rt-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield f"/run/netns/{name}"
    finally:
        pids = subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", name], check=False)


@dataclass(frozen=True)
class Pod:
    state: StateDir
    sandbox: SandboxInfo
    volume: Path
    target: Path
    """Where the volume is mounted in the container: nothing is there on the host."""


@pytest.fixture
def pod(tmp_path: Path, netns: str) -> Pod:
    state = StateDir(tmp_path / "state")
    pod_dir = state.pod(UID)
    pod_dir.etc.mkdir(parents=True)
    (pod_dir.etc / "resolv.conf").write_text(RESOLV)
    (pod_dir.etc / "hosts").write_text(HOSTS)
    volume = pod_dir.volume("config")
    volume.mkdir(parents=True)
    (volume / "app.conf").write_text("mode=test\n")
    sandbox = SandboxInfo(
        pod_uid=UID,
        ip="10.244.0.7",
        netns=netns,
        hostname="web-0",
        resolv_conf=pod_dir.etc / "resolv.conf",
        hosts=pod_dir.etc / "hosts",
        pod_dir=pod_dir.root,
    )
    return Pod(state, sandbox, volume, tmp_path / "absent" / "etc" / "config")


@pytest.fixture(params=[False, True], ids=["preexec", "launcher"])
async def runtime(pod: Pod, request: pytest.FixtureRequest) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime(pod.state, launcher=request.param)
    yield rt
    for handle in rt.adopt():
        await rt.stop(handle, 0)
        rt.remove(handle)


SCRIPT = """
ip -o link | cut -d: -f2 | tr -d ' '
echo "hostname=$(hostname)"
cat /etc/resolv.conf /etc/hosts "$TARGET/app.conf"
touch "$TARGET/new" 2>/dev/null || echo read-only
"""


async def test_container_runs_in_the_pods_namespaces(runtime: ProcessRuntime, pod: Pod) -> None:
    host_resolv = _host_resolv()
    spec = ContainerSpec(
        pod_uid=UID,
        pod_namespace="default",
        pod_name="web-0",
        name="web",
        attempt=0,
        argv=("sh", "-c", SCRIPT + "sleep 30"),
        env={"TARGET": str(pod.target)},
        mounts=(Mount(pod.volume, str(pod.target), read_only=True),),
        sandbox=pod.sandbox,
        limits=Limits(memory_bytes=MEMORY),
        log_path=pod.state.pod(UID).log("web", 0),
    )
    handle = await runtime.start(spec)
    assert pod.target.is_dir()  # the mount point, made on the host
    log = handle.log_path

    async def logged() -> str:
        for _ in range(400):
            text = log.read_text()
            if "read-only" in text or text.count("\n") >= 9:
                return text
            await _tick()
        return log.read_text()

    seen = await logged()
    assert seen.split("\n")[0] == "lo"  # the pod's namespace: nothing but loopback
    assert "hostname=web-0" in seen
    assert RESOLV in seen
    assert HOSTS in seen
    assert "mode=test" in seen
    assert "read-only" in seen
    # Nothing propagated back to the host.
    assert _host_resolv() == host_resolv
    assert not _mounted_here(pod.target)
    assert not (pod.target / "app.conf").exists()

    cgroups = [Path(d) for d in _record(handle.record_path)["runtime"]["cgroups"]]
    if runtime.cgroup_reason is None:
        limits = [
            (d / f).read_text().strip()
            for d in cgroups
            for f in ("memory.limit_in_bytes", "memory.max")
            if (d / f).exists()
        ]
        assert limits == [str(MEMORY)]

    result = await runtime.exec(pod.sandbox, ("sh", "-c", "hostname; cat /etc/resolv.conf"), {}, 5)
    assert (result.exit_code, result.output.decode()) == (0, "web-0\n" + RESOLV)
    inside = await runtime.exec(
        pod.sandbox, ("cat", str(pod.target / "app.conf")), {}, 5, handle=handle
    )
    assert (inside.exit_code, inside.output) == (0, b"mode=test\n")

    status = await runtime.stop(handle, 5)
    assert status.exit_code == 143
    runtime.remove(handle)
    assert not pod.target.exists()
    assert not pod.target.parent.exists()  # made for the mount point, so removed too
    assert not any(d.exists() for d in cgroups)


def _host_resolv() -> bytes:
    return Path("/etc/resolv.conf").read_bytes()


def _mounted_here(path: Path) -> bool:
    return str(path) in Path("/proc/self/mountinfo").read_text()


async def _tick() -> None:
    await asyncio.sleep(0.005)


def _record(path: Path) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(path.read_text())
    return raw


def _spec(pod: Pod, name: str, argv: tuple[str, ...]) -> ContainerSpec:
    return ContainerSpec(
        pod_uid=UID,
        pod_namespace="default",
        pod_name="web-0",
        name=name,
        attempt=0,
        argv=argv,
        env={},
        mounts=(Mount(pod.volume, str(pod.target)),),
        sandbox=pod.sandbox,
        log_path=pod.state.pod(UID).log(name, 0),
    )


async def test_a_mount_point_in_use_outlives_the_container_that_made_it(
    runtime: ProcessRuntime, pod: Pod
) -> None:
    first = await runtime.start(_spec(pod, "first", ("sleep", "30")))
    second = await runtime.start(_spec(pod, "second", ("sleep", "30")))
    await runtime.stop(first, 5)
    runtime.remove(first)
    assert pod.target.is_dir()  # the second container still has its volume there
    assert str(pod.target) in _record(second.record_path)["runtime"]["created"]
    result = await runtime.exec(
        pod.sandbox, ("cat", str(pod.target / "app.conf")), {}, 5, handle=second
    )
    assert result.output == b"mode=test\n"
    await runtime.stop(second, 5)
    runtime.remove(second)
    assert not pod.target.exists()
