"""The built-in LoadBalancer controller: addresses from a pool, like k3s ServiceLB or MetalLB.

For every Service of type LoadBalancer whose ``spec.loadBalancerClass`` is
unset or ``kubesvc.io/lb``, the controller picks an address from
``ControllerSettings.lb_ip_pool`` (decisions in ``loadbalancer_pool``) and writes
it to ``status.loadBalancer.ingress[0].ip`` (``ipMode: VIP``) through the status
subresource, with a Normal ``IPAllocated`` event. When the pool has nothing to
give (exhausted, or the requested address is outside it or taken) it records a
Warning ``AllocationFailed`` event saying why, instead of leaving the Service
silently pending; such Services are retried whenever an address is freed.

An address is freed when its Service is deleted, stops being a LoadBalancer or
changes class; the controller then clears the status it wrote. Assignments
survive restarts: at start the controller takes back the addresses found in the
statuses of the Services it handles, oldest Service first.

Services of another class are left alone. With an empty pool the controller
does nothing (LoadBalancer Services stay pending, as on a cluster without a
load-balancer implementation).
"""

from __future__ import annotations

import logging
from typing import Any

from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.rest import resolve
from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.endpointslice.pods import key_of, meta
from kubesvc.controllers.loadbalancer_pool import (
    Allocator,
    Pool,
    handles,
    requested_ips,
    service_family,
    status_ips,
)

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

SERVICES = resolve(("v1", "Service"))
EVENT_COMPONENT = "kubesvc-lb-controller"
IP_MODE = "VIP"


class LoadBalancerController(QueueController):
    name = "loadbalancer"

    def __init__(self, ctx: ControllerContext) -> None:
        self.services = ctx.informers.informer(SERVICES)
        super().__init__(informers=[self.services], workers=1, clock=ctx.clock)
        self.api = ctx.client
        self.recorder = ctx.recorder(EVENT_COMPONENT)
        self.allocator = Allocator(Pool.parse(ctx.settings.lb_ip_pool))
        self.pending: set[str] = set()
        self.services.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )

    async def wait_for_caches(self) -> None:
        await super().wait_for_caches()
        self._restore()

    def _restore(self) -> None:
        services = sorted(
            (s for s in self.services.list() if handles(s)),
            key=lambda s: (str(meta(s).get("creationTimestamp") or ""), key_of(s)),
        )
        for s in services:
            self.allocator.restore(key_of(s), status_ips(s))

    def _freed(self) -> None:
        for key in sorted(self.pending):
            self.enqueue_key(key)

    async def sync(self, key: str) -> None:
        if not self.allocator.pool:
            return
        namespace, name = split_key(key)
        service = self.services.get(namespace, name)
        if service is None:
            self.pending.discard(key)
            if self.allocator.release(key) is not None:
                self._freed()
            return
        current = status_ips(service)
        if not handles(service):
            self.pending.discard(key)
            released = self.allocator.release(key)
            ours = [ip for ip in current if self.allocator.in_pool(ip)]
            not_lb = (service.get("spec") or {}).get("type") != "LoadBalancer"
            if released is not None or (not_lb and ours):
                await self._write_status(namespace, name, None)
            if released is not None:
                self._freed()
            return
        had = self.allocator.held(key)
        result = self.allocator.assign(
            key,
            family=service_family(service),
            requested=requested_ips(service),
            current=current,
        )
        if result.ip is None:
            self.pending.add(key)
            if any(self.allocator.in_pool(ip) for ip in current):
                await self._write_status(namespace, name, None)
            logger.info("no LoadBalancer address service=%s why=%s", key, result.message)
            await self.recorder.warning(service, "AllocationFailed", result.message)
            if had is not None:
                self._freed()
            return
        self.pending.discard(key)
        if had is not None and had != result.ip:
            self._freed()
        if current != [result.ip]:
            await self._write_status(namespace, name, result.ip)
            await self.recorder.normal(service, "IPAllocated", f'Assigned IP ["{result.ip}"]')

    async def _write_status(self, namespace: str, name: str, ip: str | None) -> None:
        ingress: list[Obj] | None = [{"ip": ip, "ipMode": IP_MODE}] if ip else None
        patch = {"status": {"loadBalancer": {"ingress": ingress}}}
        await self.api.patch(SERVICES, namespace, name, patch, subresource="status")


registry.register(LoadBalancerController.name, LoadBalancerController)
