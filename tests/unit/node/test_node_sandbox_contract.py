"""The sandbox contract (``sandbox.base``), on ``FakeSandbox`` and ``LoopbackSandbox``.

Every case runs on both. A "restarted agent" is a new instance over what the old
one left: the same state directory (loopback) or the same ``FakeSandboxState``
(fake). The range is ``127.1.0.0/29`` (five pod addresses), or ``/30`` (one) where
a case needs it full. The fake's own knob (failing setups) is tested at the end.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kubesvc.node.layout import StateDir
from kubesvc.node.sandbox.base import Sandbox
from kubesvc.node.sandbox.fake import FakeSandbox, FakeSandboxState, FakeSetupError
from kubesvc.node.sandbox.ipam import IpamExhausted, reserved_addresses
from kubesvc.node.sandbox.loopback import HostFiles, LoopbackSandbox
from kubesvc.node.settings import NodeSettings

CIDR = "127.1.0.0/29"
ONE_ADDRESS = "127.1.0.0/30"

MakeSandbox = Callable[..., Sandbox]
"""``make(cidr=CIDR)``: a sandbox over the test's state (a second call: a restarted agent)."""


@pytest.fixture(params=["fake", "loopback"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> MakeSandbox:
    state_dir = tmp_path / "state"
    if request.param == "fake":
        shared = FakeSandboxState()

        def fake(cidr: str = CIDR) -> Sandbox:
            return FakeSandbox(cidr=cidr, state_dir=state_dir, state=shared)

        return fake
    (tmp_path / "resolv.conf").write_text("nameserver 192.0.2.53\n")
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n")
    host = HostFiles(
        resolv_conf=tmp_path / "resolv.conf",
        upstream_resolv_conf=tmp_path / "missing",
        hosts=tmp_path / "hosts",
        hostname="node-1",
    )

    def loopback(cidr: str = CIDR) -> Sandbox:
        settings = NodeSettings(node_name="node-1", state_dir=state_dir, loopback_cidr=cidr)
        return LoopbackSandbox(settings, StateDir(state_dir), host=host)

    return loopback


def pod(uid: str, name: str = "", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "name": name or f"pod-{uid}", "namespace": "ns"}, "spec": spec}


async def test_setup_is_idempotent_per_uid_also_after_a_restart(
    make: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make()
    info = await sandbox.setup(pod("a", "web-0"))
    assert (info.pod_uid, info.hostname, info.host_network) == ("a", "web-0", False)
    assert info.pod_dir == StateDir(tmp_path / "state").pod("a").root
    assert await sandbox.setup(pod("a", "web-0")) == info
    restarted = make()
    assert await restarted.setup(pod("a", "web-0")) == info
    assert restarted.existing() == {"a": info}


async def test_pods_get_distinct_addresses_of_the_range(make: MakeSandbox) -> None:
    sandbox = make()
    infos = [await sandbox.setup(pod(uid)) for uid in "abcde"]
    addresses = [ipaddress.IPv4Address(i.ip) for i in infos]
    assert len(set(addresses)) == len(addresses)
    network = ipaddress.IPv4Network(CIDR)
    assert all(a in network and a not in reserved_addresses(CIDR) for a in addresses)
    assert sandbox.node_ip not in {i.ip for i in infos}
    with pytest.raises(IpamExhausted):
        await sandbox.setup(pod("f"))


async def test_teardown_frees_the_address(make: MakeSandbox) -> None:
    sandbox = make(ONE_ADDRESS)
    first = await sandbox.setup(pod("a"))
    with pytest.raises(IpamExhausted):
        await sandbox.setup(pod("b"))
    assert set(sandbox.existing()) == {"a"}  # the failed setup left nothing
    await sandbox.teardown("a")
    second = await sandbox.setup(pod("b"))
    assert second.ip == first.ip
    await sandbox.teardown("unknown")  # a no-op


async def test_existing_lists_what_is_set_up_and_not_torn_down(make: MakeSandbox) -> None:
    sandbox = make()
    assert sandbox.existing() == {}
    a = await sandbox.setup(pod("a"))
    b = await sandbox.setup(pod("b"))
    c = await sandbox.setup(pod("c"))
    await sandbox.teardown("b")
    assert sandbox.existing() == {"a": a, "c": c}
    assert make().existing() == {"a": a, "c": c}
    assert b.ip not in {i.ip for i in make().existing().values()}


async def test_host_network_pods_have_the_node_address(make: MakeSandbox) -> None:
    sandbox = make(ONE_ADDRESS)
    host = await sandbox.setup(pod("h", hostNetwork=True))
    assert (host.ip, host.host_network) == (sandbox.node_ip, True)
    other = await sandbox.setup(pod("a"))  # the one pod address is still free
    assert other.ip != sandbox.node_ip


async def test_a_pod_without_uid_is_refused(make: MakeSandbox) -> None:
    with pytest.raises(ValueError, match="uid"):
        await make().setup({"metadata": {"name": "x"}, "spec": {}})


async def test_cleanup_removes_every_sandbox(make: MakeSandbox) -> None:
    sandbox = make(ONE_ADDRESS)
    await sandbox.setup(pod("a"))
    await sandbox.cleanup()
    assert sandbox.existing() == {}
    assert make(ONE_ADDRESS).existing() == {}
    await sandbox.setup(pod("b"))  # the address is free again


# -- the fake's own knob ------------------------------------------------------------------


async def test_fake_fails_the_next_setups_and_records_calls() -> None:
    sandbox = FakeSandbox()
    sandbox.fail_setups(2)
    for _ in range(2):
        with pytest.raises(FakeSetupError):
            await sandbox.setup(pod("a"))
    assert sandbox.existing() == {}
    info = await sandbox.setup(pod("a"))
    await sandbox.teardown("a")
    assert (sandbox.setups, sandbox.teardowns) == (["a", "a", "a"], ["a"])
    assert info.ip == "10.88.0.2"
