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


@dataclass(frozen=True)
class ControllerContext:
    client: ApiClient
    informers: InformerFactory
    settings: ControllerSettings = field(default_factory=ControllerSettings)
    clock: Clock = field(default_factory=RealClock)

    def recorder(self, component: str) -> EventRecorder:
        """An event recorder that signs events with ``component``."""
        return EventRecorder(self.client, component)
