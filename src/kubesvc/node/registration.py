"""Keeping the Node alive in the API: register once, renew the Lease, post status.

kubelet's two heartbeats: the Lease in ``kube-node-lease`` renewed every
quarter of its duration (cheap, what the node lifecycle controller watches),
and the Node's status posted every ``status_update_seconds`` (or when it
changes). API errors are logged and retried at the next beat; they never stop
the agent, which keeps running its pods while the API server is away.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubesvc.api.errors import NotFound, StatusError
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.node import nodeobj
from kubesvc.node.nodeobj import NodeFacts
from kubesvc.node.settings import NodeSettings
from kubesvc.util.clock import Clock

logger = logging.getLogger(__name__)

NODES = resolve(("v1", "Node"))
LEASES = resolve(("coordination.k8s.io/v1", "Lease"))
Obj = dict[str, Any]


class NodeRegistration:
    def __init__(
        self, api: ApiClient, facts: NodeFacts, settings: NodeSettings, clock: Clock
    ) -> None:
        self.api = api
        self.facts = facts
        self.settings = settings
        self.clock = clock
        self.node_uid = ""
        self.registered = asyncio.Event()

    async def register(self) -> Obj:
        """Create the Node, or take over the existing one (a restarted agent) with new facts."""
        now = self.clock.now()
        try:
            node = await self.api.create(NODES, nodeobj.node_object(self.facts, now))
        except StatusError as exc:
            if exc.reason != "AlreadyExists":
                raise
            node = await self.api.patch(
                NODES,
                "",
                self.facts.name,
                {
                    "metadata": {"annotations": nodeobj.node_annotations(self.facts)},
                    "spec": {"podCIDR": self.facts.pod_cidr, "podCIDRs": [self.facts.pod_cidr]},
                },
            )
            node = await self.post_status(node)
        self.node_uid = str(node["metadata"].get("uid") or "")
        self.registered.set()
        logger.info("node registered name=%s ip=%s", self.facts.name, self.facts.internal_ip)
        return node

    async def post_status(self, node: Obj | None = None) -> Obj:
        if node is None:
            node = await self.api.get(NODES, "", self.facts.name)
        status = nodeobj.node_status(self.facts, node.get("status") or {}, self.clock.now())
        return await self.api.patch(
            NODES, "", self.facts.name, {"status": status}, subresource="status"
        )

    async def renew_lease(self) -> None:
        body = nodeobj.lease(
            self.facts, self.node_uid, self.settings.lease_duration_seconds, self.clock.now()
        )
        try:
            current = await self.api.get(LEASES, nodeobj.LEASE_NAMESPACE, self.facts.name)
        except NotFound:
            await self.api.create(LEASES, body)
            return
        current["spec"] = body["spec"]
        await self.api.update(LEASES, current)

    async def run(self, stop: asyncio.Event) -> None:
        """Register (retrying until the API answers), then beat until ``stop``."""
        while not stop.is_set():
            try:
                await self.register()
                break
            except (StatusError, ClientError) as exc:
                logger.warning("node registration failed error=%s", exc)
                await self._pause(stop, 1.0)
        lease_every = self.settings.lease_duration_seconds / 4
        next_status = self.clock.monotonic() + self.settings.status_update_seconds
        while not stop.is_set():
            try:
                await self.renew_lease()
                if self.clock.monotonic() >= next_status:
                    await self.post_status()
                    next_status = self.clock.monotonic() + self.settings.status_update_seconds
            except NotFound:
                self.registered.clear()
                await self._register_again()
            except (StatusError, ClientError) as exc:
                logger.warning("node heartbeat failed error=%s", exc)
            await self._pause(stop, min(lease_every, self.settings.status_update_seconds))

    async def _register_again(self) -> None:
        """The Node was deleted under us: kubelet re-registers."""
        try:
            await self.register()
        except (StatusError, ClientError) as exc:
            logger.warning("node re-registration failed error=%s", exc)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waiter = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()
