"""What every controller is built from: one client, shared informers, settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubesvc.client.events import EventRecorder
from kubesvc.client.factory import InformerFactory
from kubesvc.client.rest import ApiClient
from kubesvc.util.clock import Clock, RealClock


@dataclass(frozen=True)
class ControllerSettings:
    lb_ip_pool: tuple[str, ...] = ()
    """Addresses or CIDRs the built-in LoadBalancer controller hands out; empty disables it."""
    endpoint_slice_max_endpoints: int = 100
    """Kubernetes' default --max-endpoints-per-slice."""
    endpoints_max_addresses: int = 1000
    """Endpoints objects are truncated beyond this (with the over-capacity annotation)."""
    workers: int = 4
    """Workers per controller; keys are still processed one at a time each."""
    node_monitor_period: float = 5.0
    """How often the node lifecycle controller looks at every node (--node-monitor-period)."""
    node_monitor_grace_period: float = 50.0
    """How long a node may go without a heartbeat (Lease renewal or status post) before it
    is Unknown (--node-monitor-grace-period: 50 s since Kubernetes 1.32, 40 s before; it
    must cover several of the agent's status intervals)."""
    node_startup_grace_period: float = 60.0
    """The same for a node that never posted a Ready condition (--node-startup-grace-period)."""
    pod_gc_period: float = 20.0
    """How often the pod garbage collector looks at every pod (upstream's gcCheckPeriod)."""
    pod_gc_quarantine: float = 40.0
    """How long a pod's node must stay missing before its pods are force-deleted: a node
    may be re-created or not yet in the cache (upstream's quarantineTime)."""
    terminated_pod_gc_threshold: int = 12500
    """Finished (Succeeded/Failed) pods kept; beyond it the oldest are deleted
    (--terminated-pod-gc-threshold; 0 turns this off)."""


@dataclass(frozen=True)
class ControllerContext:
    client: ApiClient
    informers: InformerFactory
    settings: ControllerSettings = field(default_factory=ControllerSettings)
    clock: Clock = field(default_factory=RealClock)

    def recorder(self, component: str) -> EventRecorder:
        """An event recorder that signs events with ``component``."""
        return EventRecorder(self.client, component)
