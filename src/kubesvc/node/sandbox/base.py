"""The sandbox seam: a pod's network and identity, made before its containers start.

Contract of every ``Sandbox``:

* ``setup(pod)`` is idempotent per pod UID: the first call allocates an address
  and makes whatever the mode needs; later calls (also from a restarted agent)
  return the same ``SandboxInfo``. It records what it made under the state
  directory before making it.
* ``teardown(pod_uid)`` removes everything ``setup`` made and frees the address;
  unknown UIDs are a no-op.
* ``existing()`` lists the sandboxes recorded on disk (for re-adoption and for
  removing those of pods that no longer exist).
* ``cleanup()`` removes every sandbox and the node-level plumbing (bridge,
  hostPort rules): ``kubesvc node --cleanup``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class SandboxInfo:
    pod_uid: str
    ip: str = ""
    """The pod's IP (status.podIP): from the pod CIDR, 127.x, or the node's for hostNetwork."""
    netns: str = ""
    """Path of the pod's network namespace file; empty: the agent's own network."""
    hostname: str = ""
    """Set in the pod's UTS namespace (netns mode); ``HOSTNAME`` in every mode."""
    resolv_conf: Path | None = None
    """Generated file bind-mounted on /etc/resolv.conf (netns mode)."""
    hosts: Path | None = None
    """Generated file bind-mounted on /etc/hosts (netns mode)."""
    host_network: bool = False
    pod_dir: Path = Path()
    """The pod's directory under the state directory."""


class Sandbox(Protocol):
    mode: str
    node_ip: str
    """The node's InternalIP as this mode sees it (hostIP of pods)."""

    async def setup(self, pod: dict[str, Any]) -> SandboxInfo: ...

    async def teardown(self, pod_uid: str) -> None: ...

    def existing(self) -> dict[str, SandboxInfo]: ...

    async def cleanup(self) -> None: ...
