"""Loopback mode's sandbox end to end on files (no privileges), and choosing a mode by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubesvc.node.layout import StateDir
from kubesvc.node.sandbox import registry
from kubesvc.node.sandbox.loopback import (
    HostFiles,
    LoopbackSandbox,
    SandboxRecord,
    read_record,
)
from kubesvc.node.sandbox.netns import host_veth_name, mac_of, netns_name
from kubesvc.node.settings import NodeSettings


@pytest.fixture
def host(tmp_path: Path) -> HostFiles:
    (tmp_path / "resolv.conf").write_text("nameserver 192.0.2.53\nsearch corp.example\n")
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n192.0.2.7 node-1\n")
    return HostFiles(
        resolv_conf=tmp_path / "resolv.conf",
        upstream_resolv_conf=tmp_path / "missing",
        hosts=tmp_path / "hosts",
        hostname="node-1",
    )


def settings(tmp_path: Path, **kw: Any) -> NodeSettings:
    return NodeSettings(node_name="node-1", state_dir=tmp_path / "state", **kw)


def pod(uid: str, name: str = "web-0", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "name": name, "namespace": "team"}, "spec": spec}


async def test_setup_teardown_restart(tmp_path: Path, host: HostFiles) -> None:
    s = settings(tmp_path, cluster_dns=("10.96.0.10",))
    state = StateDir(s.state_dir)
    sandbox = LoopbackSandbox(s, state, host=host)
    assert sandbox.node_ip == "127.0.0.1"

    a = await sandbox.setup(pod("uid-a", "web-0"))
    b = await sandbox.setup(pod("uid-b", "web-1"))
    assert (a.ip, b.ip) == ("127.1.0.2", "127.1.0.3")
    assert (a.netns, a.host_network, a.hostname) == ("", False, "web-0")
    assert a.pod_dir == state.pod("uid-a").root
    assert a.resolv_conf is not None and a.hosts is not None
    resolv = a.resolv_conf.read_text()
    assert "nameserver 10.96.0.10\n" in resolv
    assert "search team.svc.cluster.local svc.cluster.local cluster.local corp.example\n" in resolv
    assert "127.1.0.2\tweb-0\n" in a.hosts.read_text()

    # idempotent, also for a restarted agent (new instance, same state directory)
    assert await sandbox.setup(pod("uid-a", "web-0")) == a
    restarted = LoopbackSandbox(s, state, host=host)
    assert restarted.existing() == {"uid-a": a, "uid-b": b}
    assert await restarted.setup(pod("uid-a", "web-0")) == a

    await restarted.teardown("uid-a")
    assert restarted.existing() == {"uid-b": b}
    assert not state.pod("uid-a").sandbox_record.exists()
    assert not (state.pod("uid-a").etc / "resolv.conf").exists()
    assert restarted.ipam.owner("127.1.0.2") is None
    await restarted.teardown("uid-a")  # unknown now: no-op

    await restarted.cleanup()
    assert restarted.existing() == {}
    assert restarted.ipam.allocated() == {}


async def test_host_network_pod(tmp_path: Path, host: HostFiles) -> None:
    sandbox = LoopbackSandbox(settings(tmp_path), StateDir(tmp_path / "state"), host=host)
    info = await sandbox.setup(pod("uid-h", hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"))
    assert (info.ip, info.host_network, info.hostname) == ("127.0.0.1", True, "node-1")
    assert sandbox.ipam.allocated() == {}
    assert info.hosts is not None
    assert "192.0.2.7 node-1" in info.hosts.read_text()
    # no cluster DNS configured: the host's resolver
    assert info.resolv_conf is not None
    assert "nameserver 192.0.2.53" in info.resolv_conf.read_text()


async def test_half_made_record_is_completed(tmp_path: Path, host: HostFiles) -> None:
    """A crash after the record was written (not ready) is finished by the next setup,
    keeping the recorded address."""
    s = settings(tmp_path)
    state = StateDir(s.state_dir)
    sandbox = LoopbackSandbox(s, state, host=host)
    ip = sandbox.ipam.claim("uid-a")
    record = SandboxRecord(uid="uid-a", namespace="team", name="web-0", mode="loopback", ip=ip)
    state.pod("uid-a").root.mkdir(parents=True)
    state.pod("uid-a").sandbox_record.write_text(json.dumps(record.to_json()))
    info = await sandbox.setup(pod("uid-a"))
    assert info.ip == ip
    assert (read_record(state.pod("uid-a")) or record).ready
    assert sandbox.ipam.allocated() == {ip: "uid-a"}


async def test_pod_without_uid_is_refused(tmp_path: Path, host: HostFiles) -> None:
    sandbox = LoopbackSandbox(settings(tmp_path), StateDir(tmp_path / "state"), host=host)
    with pytest.raises(ValueError, match="uid"):
        await sandbox.setup({"metadata": {"name": "x"}, "spec": {}})


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        pytest.param("loopback", "LoopbackSandbox", id="loopback"),
        pytest.param("netns", "NetnsSandbox", id="netns"),
    ],
)
def test_registry_by_mode(tmp_path: Path, mode: str, kind: str) -> None:
    sandbox = registry.make_sandbox(settings(tmp_path, network_mode=mode))
    assert type(sandbox).__name__ == kind
    assert sandbox.mode == mode


def test_registry_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback, netns"):
        registry.make_sandbox(settings(tmp_path, network_mode="vxlan"))


@pytest.mark.parametrize(
    ("uid", "expected"),
    [
        pytest.param(
            "0f3c9a1e-4b2d-4c6e-8f00-123456789abc", "ksvc-0f3c9a1e4b2d", id="uuid-first-12-hex"
        ),
        pytest.param("not/a/uuid", None, id="other-uid-hashed"),
    ],
)
def test_netns_name(uid: str, expected: str | None) -> None:
    name = netns_name(uid)
    assert len(name) == len("ksvc-") + 12
    assert "/" not in name
    if expected is not None:
        assert name == expected


def test_names_fit_the_kernel() -> None:
    veth = host_veth_name("0f3c9a1e-4b2d-4c6e-8f00-123456789abc")
    assert veth.startswith("veth") and len(veth) == 15
    assert host_veth_name("a") != host_veth_name("b")
    assert mac_of("10.244.0.5") == "0a:58:0a:f4:00:05"
