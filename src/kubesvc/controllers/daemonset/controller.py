"""The DaemonSet controller: watches DaemonSets, their pods and the nodes.

Handlers enqueue the DaemonSet a pod belongs to (noting creations and
deletions in the expectations), or every DaemonSet when a node appears,
changes labels/taints/conditions or goes. ``sync`` claims the namespace's
pods, asks ``reconcile`` for a plan, creates pods (slow-start batches) and
deletes pods with Events, then writes the status.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from kubesvc.api import errors
from kubesvc.client.cache import object_key, split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.daemonset import reconcile as R
from kubesvc.controllers.replicaset.controller import SLOW_START_INITIAL_BATCH, slow_start_batches
from kubesvc.controllers.workload import claim as C
from kubesvc.controllers.workload import nodes as N
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.expectations import Expectations
from kubesvc.controllers.workload.informers import CONTROLLER_UID_INDEX, ensure_indexer

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
DAEMONSETS = resolve(("apps/v1", "DaemonSet"))
PODS = resolve(("v1", "Pod"))
NODES = resolve(("v1", "Node"))
COMPONENT = "daemonset-controller"


class SyncFailed(Exception):
    pass


def _selector_matches(ds: Obj, labels: dict[str, str]) -> bool:
    from kubesvc.api import selectors

    try:
        sel = selectors.from_label_selector(P.spec(ds).get("selector"))
    except selectors.SelectorError:
        return False
    return sel.matches(labels)


class DaemonSetController(QueueController):
    name = "daemonset"

    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.client
        self.daemonsets = ctx.informers.informer(DAEMONSETS)
        self.pods = ctx.informers.informer(PODS)
        self.nodes = ctx.informers.informer(NODES)
        ensure_indexer(self.pods, CONTROLLER_UID_INDEX, P.controller_uid_index)
        super().__init__(
            informers=[self.daemonsets, self.pods, self.nodes],
            workers=ctx.settings.workers,
            clock=ctx.clock,
        )
        self.recorder = ctx.recorder(COMPONENT)
        self.expectations = Expectations(self.clock)
        self.daemonsets.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self._ds_deleted,
        )
        self.pods.add_handlers(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
        )
        self.nodes.add_handlers(
            on_add=lambda node: self._enqueue_all(),
            on_update=self._node_updated,
            on_delete=lambda node: self._enqueue_all(),
        )

    # -- handlers ----------------------------------------------------------------
    def _enqueue_all(self) -> None:
        for ds in self.daemonsets.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, cur: Obj) -> None:
        def facts(n: Obj) -> tuple[Any, ...]:
            return (
                P.labels(n),
                P.spec(n).get("taints"),
                P.spec(n).get("unschedulable"),
                N.ready_status(n),
            )

        if facts(old) != facts(cur):
            self._enqueue_all()

    def _ds_deleted(self, ds: Obj) -> None:
        self.expectations.forget(object_key(ds))
        self.enqueue(ds)

    def _owner(self, pod: Obj) -> Obj | None:
        ref = P.controller_ref(pod)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        ds = self.daemonsets.get(str(P.meta(pod).get("namespace") or ""), str(ref.get("name")))
        if ds is None or P.meta(ds).get("uid") != ref.get("uid"):
            return None
        return ds

    def _orphan_owners(self, pod: Obj) -> list[Obj]:
        namespace = str(P.meta(pod).get("namespace") or "")
        return [d for d in self.daemonsets.list(namespace) if _selector_matches(d, P.labels(pod))]

    def _pod_added(self, pod: Obj) -> None:
        if P.is_being_deleted(pod):
            self._pod_deleted(pod)
            return
        ds = self._owner(pod)
        if ds is not None:
            self.expectations.creation_observed(object_key(ds))
            self.enqueue(ds)
        elif P.controller_ref(pod) is None:
            for candidate in self._orphan_owners(pod):
                self.enqueue(candidate)

    def _pod_updated(self, old: Obj, cur: Obj) -> None:
        if P.is_being_deleted(cur):
            self._pod_deleted(cur)
            return
        if P.controller_uid(old) != P.controller_uid(cur):
            previous = self._owner(old)
            if previous is not None:
                self.enqueue(previous)
        ds = self._owner(cur)
        if ds is not None:
            self.enqueue(ds)
        elif P.controller_ref(cur) is None:
            for candidate in self._orphan_owners(cur):
                self.enqueue(candidate)

    def _pod_deleted(self, pod: Obj) -> None:
        ds = self._owner(pod)
        if ds is None:
            return
        self.expectations.deletion_observed(object_key(ds), object_key(pod))
        self.enqueue(ds)

    # -- sync --------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        ds = self.daemonsets.get(namespace, name)
        if ds is None:
            self.expectations.forget(key)
            return
        candidates = self.pods.list(namespace)
        claimed = C.claim(ds, lambda labels: _selector_matches(ds, labels), candidates)
        await self._claim(ds, claimed)
        owned = claimed.owned + claimed.adopt
        now = self.clock.now()
        plan = R.reconcile(
            ds,
            self.nodes.list(),
            owned,
            now,
            expectations_satisfied=self.expectations.satisfied(key),
        )
        failure = None
        if plan.delete:
            failure = await self._delete(ds, key, plan)
        if plan.create and failure is None:
            failure = await self._create(ds, key, plan.create)
        if _status_changed(ds, plan.status):
            body = copy.deepcopy(ds)
            body["status"] = plan.status
            try:
                await self.api.update_status(DAEMONSETS, body)
            except errors.NotFound:
                return
        wait = R.recheck_after(ds, owned, now)
        if wait is not None:
            self.enqueue_after(key, wait)
        if failure is not None:
            raise SyncFailed(failure)

    async def _claim(self, ds: Obj, claimed: C.Claim) -> None:
        namespace = str(P.meta(ds).get("namespace") or "")
        for pod in claimed.adopt:
            try:
                await self.api.patch(
                    PODS,
                    namespace,
                    P.meta(pod)["name"],
                    C.adopt_patch(ds, pod),
                    patch_type="strategic",
                )
            except errors.NotFound:
                claimed.adopt.remove(pod)
        for pod in claimed.release:
            try:
                await self.api.patch(
                    PODS,
                    namespace,
                    P.meta(pod)["name"],
                    C.release_patch(str(P.meta(ds).get("uid") or ""), pod),
                    patch_type="strategic",
                )
            except errors.NotFound:
                pass

    async def _create(self, ds: Obj, key: str, node_names: list[str]) -> str | None:
        self.expectations.expect_creations(key, len(node_names))
        pod_hash = R.template_hash(ds)
        namespace = str(P.meta(ds).get("namespace") or "")
        queue = list(node_names)

        async def create_one() -> None:
            node = queue.pop(0)
            try:
                created = await self.api.create(
                    PODS, R.daemon_pod(ds, node, pod_hash), namespace=namespace
                )
            except (errors.StatusError, ClientError) as exc:
                await self.recorder.warning(ds, "FailedCreate", f"Error creating: {exc}")
                raise
            await self.recorder.normal(
                ds, "SuccessfulCreate", f"Created pod: {P.meta(created).get('name')}"
            )

        done, failure = await slow_start_batches(
            len(node_names), SLOW_START_INITIAL_BATCH, create_one
        )
        for _ in range(len(node_names) - done):
            self.expectations.creation_observed(key)
        return failure

    async def _delete(self, ds: Obj, key: str, plan: R.DaemonSetPlan) -> str | None:
        self.expectations.expect_deletions(key, [object_key(p) for p in plan.delete])
        namespace = str(P.meta(ds).get("namespace") or "")
        for pod in plan.failed:
            await self.recorder.warning(
                ds,
                "FailedDaemonPod",
                f"Found failed daemon pod {namespace}/{P.meta(pod)['name']} on node "
                f"{P.spec(pod).get('nodeName', '')}, will try to kill it",
            )

        async def delete_one(pod: Obj) -> str | None:
            pod_name = P.meta(pod)["name"]
            try:
                await self.api.delete(PODS, namespace, pod_name)
            except errors.NotFound:
                self.expectations.deletion_observed(key, object_key(pod))
                return None
            except (errors.StatusError, ClientError) as exc:
                self.expectations.deletion_observed(key, object_key(pod))
                await self.recorder.warning(ds, "FailedDelete", f"Error deleting: {exc}")
                return str(exc)
            await self.recorder.normal(ds, "SuccessfulDelete", f"Deleted pod: {pod_name}")
            return None

        results = await asyncio.gather(*(delete_one(p) for p in plan.delete))
        return next((r for r in results if r is not None), None)


def _status_changed(ds: Obj, status: Obj) -> bool:
    old = P.status(ds)
    keys = set(old) | set(status)
    return any((old.get(k) or 0) != (status.get(k) or 0) for k in keys)
