"""The EndpointSlice controller: keeps every selecting Service's slices in line with its pods.

Informers: Services, Pods, Nodes (zones, and pods on unknown Nodes), and the
EndpointSlices labelled ``endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io``. Handlers only enqueue Service keys:

* a Service add, update or delete: that Service;
* a pod add or delete: every Service of its namespace whose selector matches it;
  a pod update: per ``services_to_update_on_pod_change`` (old and new labels);
* a slice event: its Service (``kubernetes.io/service-name``), unless the event
  shows a generation we wrote ourselves (``EndpointSliceTracker.should_sync``)
  or a deletion we made;
* a Node add: the Services that had pods on it while it was missing.

``sync(key)`` reads the caches, refuses to act on a slice cache older than our
own writes (``StaleCache``: retried once the cache moves, see ``CacheWaits``), calls the pure
``reconcile`` and applies the plan: creates, then updates, then deletes,
recording each answer in the tracker. A Service that is gone has its slices
deleted (the garbage collector would too, through their owner reference; doing
it here keeps this controller whole on its own). Failures to write record a
``FailedToUpdateEndpointSlices`` Warning on the Service, as upstream does.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesvc.api.errors import StatusError
from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.endpointslice.indexes import (
    POD_LABELS,
    SERVICE_SELECTOR,
    ensure_index,
    pod_label_index,
    pods_for_service,
    service_selector_index,
    services_for_pod,
)
from kubesvc.controllers.endpointslice.pods import (
    is_external_name,
    is_terminating,
    key_of,
    meta,
    selects,
    service_selector,
)
from kubesvc.controllers.endpointslice.pods import (
    services_for_pod as matching_services,
)
from kubesvc.controllers.endpointslice.pods import (
    services_to_update_on_pod_change as services_to_update,
)
from kubesvc.controllers.endpointslice.reconciler import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    reconcile,
)
from kubesvc.controllers.endpointslice.tracker import EndpointSliceTracker, slice_service_key
from kubesvc.controllers.endpointslice.triggertime import TriggerTimeTracker
from kubesvc.controllers.endpointslice.writes import CacheWaits, SliceEvents, StaleCache, apply_plan

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

SERVICES = resolve(("v1", "Service"))
PODS = resolve(("v1", "Pod"))
NODES = resolve(("v1", "Node"))
SLICES = resolve(("discovery.k8s.io/v1", "EndpointSlice"))

SLICES_BY_SERVICE = "endpointslice/service"
EVENT_COMPONENT = "endpoint-slice-controller"


class EndpointSliceController(QueueController):
    name = "endpointslice"

    def __init__(self, ctx: ControllerContext) -> None:
        factory = ctx.informers
        self.services = factory.informer(SERVICES)
        self.pods = factory.informer(PODS)
        self.nodes = factory.informer(NODES)
        self.slices = factory.informer(
            SLICES, label_selector=f"{MANAGED_BY_LABEL}={CONTROLLER_NAME}"
        )
        super().__init__(
            informers=[self.services, self.pods, self.nodes, self.slices],
            workers=ctx.settings.workers,
            clock=ctx.clock,
        )
        self.api = ctx.client
        self.recorder = ctx.recorder(EVENT_COMPONENT)
        self.selector_matched: dict[str, bool] = {}
        self.max_per_slice = ctx.settings.endpoint_slice_max_endpoints
        self.tracker = EndpointSliceTracker()
        self.triggers = TriggerTimeTracker()
        self.waiting_for_node: dict[str, set[str]] = {}
        self.cache_waits = CacheWaits(self.enqueue_key, self.enqueue_after)

        ensure_index(self.pods, POD_LABELS, pod_label_index)
        ensure_index(self.services, SERVICE_SELECTOR, service_selector_index)
        ensure_index(self.slices, SLICES_BY_SERVICE, lambda s: [slice_service_key(s)])
        self.services.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.pods.add_handlers(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_added
        )
        slice_events = SliceEvents(self.tracker, self.cache_waits, self.enqueue_key)
        self.slices.add_handlers(
            on_add=slice_events.added,
            on_update=slice_events.updated,
            on_delete=slice_events.deleted,
        )
        self.nodes.add_handlers(on_add=self._node_added)

    # -- handlers (enqueue only) ---------------------------------------------------------
    def _pod_added(self, pod: Obj) -> None:
        for key in matching_services(services_for_pod(self.services, pod), pod):
            self.enqueue_key(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        candidates = {key_of(s): s for s in services_for_pod(self.services, old)}
        candidates.update((key_of(s), s) for s in services_for_pod(self.services, new))
        for key in services_to_update(candidates.values(), old, new):
            self.enqueue_key(key)

    def _node_added(self, node: Obj) -> None:
        for key in sorted(self.waiting_for_node.pop(str(meta(node).get("name") or ""), set())):
            self.enqueue_key(key)

    # -- sync --------------------------------------------------------------------------
    def _node(self, name: str) -> Obj | None:
        return self.nodes.get("", name)

    def handle_error(self, key: str, exc: Exception) -> None:
        if isinstance(exc, StaleCache):
            logger.debug("slice cache behind our writes, waiting key=%s", key)
            self.cache_waits.wait(key)
            return
        super().handle_error(key, exc)

    async def _note_selector_matches(self, key: str, service: Obj, matched: bool) -> None:
        """Tell the user, once per change, that a Service's selector selects no pods.

        Kubernetes itself stays silent here and only shows ``Endpoints: <none>``; kubesvc
        records an Event so that ``kubectl describe svc`` says why.
        """
        before = self.selector_matched.get(key)
        self.selector_matched[key] = matched
        if matched or before is False:
            return
        selector = ",".join(
            f"{k}={v}" for k, v in sorted((service_selector(service) or {}).items())
        )
        await self.recorder.normal(
            service,
            "SelectorMatchesNoPods",
            f"no pods in namespace {split_key(key)[0]} match the selector {selector}; "
            "the Service has no endpoints until some do",
        )

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(namespace, name)
        ours = self.slices.cache.by_index(SLICES_BY_SERVICE, key)
        if service is None:
            self.selector_matched.pop(key, None)
            self.triggers.delete_service(key)
            await apply_plan(self.api, self.tracker, namespace, delete=ours)
            self.tracker.delete_service(key)
            return
        if is_external_name(service) or service_selector(service) is None:
            return
        slices = [s for s in ours if not is_terminating(s)]
        if self.tracker.stale_slices(key, slices):
            raise StaleCache(f"EndpointSlice informer cache is out of date for {key}")
        pods = [p for p in pods_for_service(self.pods, service) if selects(service, p)]
        await self._note_selector_matches(key, service, bool(pods))
        plan = reconcile(
            service,
            pods,
            slices,
            max_per_slice=self.max_per_slice,
            node_lookup=self._node,
            trigger_time=self.triggers.compute(key, service, pods),
        )
        try:
            await apply_plan(
                self.api, self.tracker, namespace, plan.create, plan.update, plan.delete
            )
        except (StatusError, ClientError) as exc:
            await self.recorder.warning(
                service,
                "FailedToUpdateEndpointSlices",
                f"Error updating Endpoint Slices for Service {key}: {exc}",
            )
            raise
        for node in plan.missing_nodes:
            self.waiting_for_node.setdefault(node, set()).add(key)
        if plan.missing_nodes:
            missing = ", ".join(plan.missing_nodes)
            logger.info("pods skipped, node not found service=%s nodes=%s", key, missing)
            await self.recorder.warning(
                service,
                "FailedToUpdateEndpointSlices",
                f"Error updating Endpoint Slices for Service {key}: "
                f"skipping pods for Service {key}: Node {missing} Not Found",
            )


registry.register(EndpointSliceController.name, EndpointSliceController)
