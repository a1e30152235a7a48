"""``FakeSandbox``: the ``Sandbox`` seam in memory, for tests of what sits above it.

It keeps the contract of ``sandbox.base`` (checked by the same contract tests
as ``LoopbackSandbox``) and makes nothing on the host: addresses come from a
CIDR by ``ipam.choose`` (the real allocator's rule: the next free one after the
last handed out, reserved ones skipped, ``IpamExhausted`` when full), and
hostNetwork pods get the node's address. What a "restarted agent" would find
on disk lives in a ``FakeSandboxState``: give a new ``FakeSandbox`` the old
one's ``state`` and it sees the same sandboxes.

A test can make the next N setups fail (``fail_setups``) and reads what was
asked of it in ``setups`` and ``teardowns`` (pod UIDs, in call order).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubesvc.node.layout import StateDir
from kubesvc.node.sandbox import etcfiles
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.node.sandbox.ipam import IpamExhausted, choose
from kubesvc.node.settings import LOOPBACK

FAKE_CIDR = "10.88.0.0/24"
FAKE_NODE_IP = "127.0.0.1"


class FakeSetupError(Exception):
    """What a setup made to fail by ``fail_setups`` raises."""


@dataclass
class FakeSandboxState:
    """What outlives one ``FakeSandbox``: the sandboxes by pod UID and where allocation
    continues."""

    sandboxes: dict[str, SandboxInfo] = field(default_factory=dict)
    last: ipaddress.IPv4Address | None = None


class FakeSandbox:
    """``Sandbox`` in memory (see the module docstring)."""

    def __init__(
        self,
        *,
        cidr: str = FAKE_CIDR,
        node_ip: str = FAKE_NODE_IP,
        mode: str = LOOPBACK,
        state_dir: Path | None = None,
        state: FakeSandboxState | None = None,
    ) -> None:
        """``state_dir``: where ``SandboxInfo.pod_dir`` points (nothing is written there)."""
        self.mode = mode
        self.node_ip = node_ip
        self.cidr = cidr
        self.state = state or FakeSandboxState()
        self._dirs = StateDir(state_dir) if state_dir is not None else None
        self._failures: list[Exception] = []
        self.setups: list[str] = []
        """Every ``setup`` call's pod UID, failed ones included."""
        self.teardowns: list[str] = []
        """Every ``teardown`` call's pod UID, unknown ones included."""

    def fail_setups(self, count: int = 1, error: Exception | None = None) -> None:
        """Make the next ``count`` setups raise ``error`` (a ``FakeSetupError`` by default)."""
        self._failures.extend(error or FakeSetupError("fake sandbox failure") for _ in range(count))

    async def setup(self, pod: dict[str, Any]) -> SandboxInfo:
        metadata = pod.get("metadata") or {}
        uid = str(metadata.get("uid") or "")
        self.setups.append(uid)
        if not uid:
            raise ValueError("pod has no metadata.uid")
        if self._failures:
            raise self._failures.pop(0)
        known = self.state.sandboxes.get(uid)
        if known is not None:
            return known
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        ip = self.node_ip if host_network else self._allocate()
        hostname, _ = etcfiles.pod_hostname(pod, "cluster.local")
        info = SandboxInfo(
            pod_uid=uid,
            ip=ip,
            hostname=hostname,
            host_network=host_network,
            pod_dir=self._dirs.pod(uid).root if self._dirs is not None else Path(),
        )
        self.state.sandboxes[uid] = info
        return info

    def _allocate(self) -> str:
        taken = [
            ipaddress.IPv4Address(s.ip) for s in self.state.sandboxes.values() if not s.host_network
        ]
        address = choose(self.cidr, taken, self.state.last)
        if address is None:
            raise IpamExhausted(f"no free address left in {self.cidr}")
        self.state.last = address
        return str(address)

    async def teardown(self, pod_uid: str) -> None:
        self.teardowns.append(pod_uid)
        self.state.sandboxes.pop(pod_uid, None)

    def existing(self) -> dict[str, SandboxInfo]:
        return dict(self.state.sandboxes)

    async def cleanup(self) -> None:
        for uid in list(self.state.sandboxes):
            await self.teardown(uid)
        self.state.last = None
