"""How a node agent runs: one frozen dataclass, each default justified."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NETNS = "netns"
LOOPBACK = "loopback"


@dataclass(frozen=True)
class NodeSettings:
    node_name: str
    state_dir: Path
    """Where pods' files, logs and the records for re-adoption live (``<data-dir>/node``)."""
    network_mode: str = LOOPBACK
    """``netns`` (root, Linux) or ``loopback`` (any user)."""
    pod_cidr: str = "10.244.0.0/24"
    """This node's share of the cluster CIDR (10.244.0.0/16 by default), as kube-controller-manager
    hands out /24s. In loopback mode pods get addresses from ``loopback_cidr`` instead."""
    loopback_cidr: str = "127.1.0.0/16"
    """Pod addresses in loopback mode: the whole of 127.0.0.0/8 reaches ``lo`` on Linux."""
    bridge: str = "kubesvc0"
    cluster_domain: str = "cluster.local"
    cluster_dns: tuple[str, ...] = ()
    """Nameservers written into pods' resolv.conf (the kube-dns ClusterIP); empty: the host's."""
    kubelet_address: str = "127.0.0.1"
    """Where the agent's own HTTP endpoint (logs) listens; the API server proxies to it."""
    kubelet_port: int = 0
    """0 picks a free port (several agents on one machine); kubelet uses 10250."""
    lease_duration_seconds: int = 40
    """Kubernetes' default node lease duration; the agent renews every quarter of it."""
    status_update_seconds: float = 10.0
    """How often the Node's status is posted even without change (kubelet: 10 s)."""
    crashloop_backoff_base: float = 10.0
    """First restart delay of a crashing container (kubelet: 10 s, doubling)."""
    crashloop_backoff_cap: float = 300.0
    """Longest restart delay (kubelet: 5 minutes)."""
    crashloop_reset_after: float = 600.0
    """A container that ran this long without crashing starts over at the base delay."""
    allow_privileged: bool = False
    """Pods may run as root / hostNetwork / hostPath (see issue 6); off by default."""
