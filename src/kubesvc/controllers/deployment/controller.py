"""The Deployment controller: watches Deployments, ReplicaSets and pods; applies plans.

Handlers enqueue the Deployment a change concerns (the controller of a
ReplicaSet, or every Deployment whose selector matches an orphan; for a
deleted pod, its ReplicaSet's Deployment when it uses Recreate, which waits for
old pods to be gone). ``sync`` hands the cached Deployment, its namespace's
ReplicaSets and their pods to ``reconcile`` and writes the plan out in order,
stopping at the first failure (the key is retried with back-off):

1. adoptions/releases of ReplicaSets (strategic merge on ``ownerReferences``);
2. the new ReplicaSet. ``AlreadyExists`` is either our own ReplicaSet that
   the cache has not shown yet (nothing to do: its ADDED event requeues us)
   or a hash collision: then ``status.collisionCount`` goes up, which changes
   the next hash, and the sync is retried;
3. ReplicaSet updates (PUT with the resourceVersion they were read at, so a
   stale cache yields Conflict and a retry, never a lost write);
4. history cleanup deletions, Events;
5. the Deployment's annotations and status through ``/status``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubesvc.api import errors
from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.deployment import reconcile as R
from kubesvc.controllers.deployment import util as U
from kubesvc.controllers.workload import claim as C
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.informers import CONTROLLER_UID_INDEX, ensure_indexer

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
DEPLOYMENTS = resolve(("apps/v1", "Deployment"))
REPLICASETS = resolve(("apps/v1", "ReplicaSet"))
PODS = resolve(("v1", "Pod"))
COMPONENT = "deployment-controller"


class SyncFailed(Exception):
    """A step of the plan failed; the Deployment is synced again with back-off."""


class DeploymentController(QueueController):
    name = "deployment"

    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.client
        self.deployments = ctx.informers.informer(DEPLOYMENTS)
        self.replica_sets = ctx.informers.informer(REPLICASETS)
        self.pods = ctx.informers.informer(PODS)
        ensure_indexer(self.replica_sets, CONTROLLER_UID_INDEX, P.controller_uid_index)
        ensure_indexer(self.pods, CONTROLLER_UID_INDEX, P.controller_uid_index)
        super().__init__(
            informers=[self.deployments, self.replica_sets, self.pods],
            workers=ctx.settings.workers,
            clock=ctx.clock,
        )
        self.recorder = ctx.recorder(COMPONENT)
        self.deployments.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self.enqueue,
        )
        self.replica_sets.add_handlers(
            on_add=self._rs_added, on_update=self._rs_updated, on_delete=self._rs_deleted
        )
        self.pods.add_handlers(on_delete=self._pod_deleted)

    # -- handlers ----------------------------------------------------------------
    def _owner_of(self, obj: Obj) -> Obj | None:
        ref = P.controller_ref(obj)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get(str(P.meta(obj).get("namespace") or ""), str(ref.get("name")))
        if d is None or P.meta(d).get("uid") != ref.get("uid"):
            return None
        return d

    def _matching(self, rs: Obj) -> list[Obj]:
        have = P.labels(rs)
        namespace = str(P.meta(rs).get("namespace") or "")
        return [d for d in self.deployments.list(namespace) if R.selector_of(d).matches(have)]

    def _rs_added(self, rs: Obj) -> None:
        owner = self._owner_of(rs)
        if owner is not None:
            self.enqueue(owner)
        elif P.controller_ref(rs) is None:
            for d in self._matching(rs):
                self.enqueue(d)

    def _rs_updated(self, old: Obj, cur: Obj) -> None:
        if P.controller_uid(old) != P.controller_uid(cur):
            previous = self._owner_of(old)
            if previous is not None:
                self.enqueue(previous)
        owner = self._owner_of(cur)
        if owner is not None:
            self.enqueue(owner)
        elif P.controller_ref(cur) is None and (
            P.labels(old) != P.labels(cur) or P.controller_ref(old) is not None
        ):
            for d in self._matching(cur):
                self.enqueue(d)

    def _rs_deleted(self, rs: Obj) -> None:
        owner = self._owner_of(rs)
        if owner is not None:
            self.enqueue(owner)

    def _pod_deleted(self, pod: Obj) -> None:
        ref = P.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replica_sets.get(str(P.meta(pod).get("namespace") or ""), str(ref.get("name")))
        if rs is None:
            return
        owner = self._owner_of(rs)
        if owner is not None and not U.is_rolling(owner):
            self.enqueue(owner)

    # -- sync --------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        d = self.deployments.get(namespace, name)
        if d is None:
            return
        rss = self.replica_sets.list(namespace)
        pods_by_rs: dict[str, list[Obj]] = {}
        for rs in rss:
            uid = str(P.meta(rs).get("uid") or "")
            if uid and P.is_controlled_by(rs, d):
                pods_by_rs[uid] = self.pods.cache.by_index(CONTROLLER_UID_INDEX, uid)
        plan = R.reconcile(d, rss, pods_by_rs, self.clock.now())
        await self._claim(d, plan)
        if plan.create is not None and not await self._create(d, plan.create):
            return
        for rs in plan.updates:
            await self.api.update(REPLICASETS, rs)
        for rs in plan.deletes:
            meta = P.meta(rs)
            try:
                await self.api.delete(REPLICASETS, namespace, meta["name"], uid=meta.get("uid", ""))
            except (errors.NotFound, errors.Conflict):
                pass
        for event in plan.events:
            await self.recorder.event(d, event.type, event.reason, event.message)
        if plan.deployment is not None:
            try:
                await self.api.update_status(DEPLOYMENTS, plan.deployment)
            except errors.NotFound:
                return
        if plan.requeue_after is not None:
            self.enqueue_after(key, plan.requeue_after)

    async def _claim(self, d: Obj, plan: R.DeploymentPlan) -> None:
        meta = P.meta(d)
        namespace = str(meta.get("namespace") or "")
        if plan.adopt:
            fresh = await self.api.get(DEPLOYMENTS, namespace, meta["name"])
            if P.meta(fresh).get("uid") != meta.get("uid") or P.is_being_deleted(fresh):
                raise SyncFailed(
                    f"Deployment {namespace}/{meta['name']} has just been deleted or replaced"
                )
        for rs in plan.adopt:
            try:
                await self.api.patch(
                    REPLICASETS,
                    namespace,
                    P.meta(rs)["name"],
                    C.adopt_patch(d, rs),
                    patch_type="strategic",
                )
            except errors.NotFound:
                pass
        for rs in plan.release:
            try:
                await self.api.patch(
                    REPLICASETS,
                    namespace,
                    P.meta(rs)["name"],
                    C.release_patch(str(meta.get("uid") or ""), rs),
                    patch_type="strategic",
                )
            except errors.NotFound:
                pass

    async def _create(self, d: Obj, rs: Obj) -> bool:
        """Create the new ReplicaSet; False when the rest of the plan must wait."""
        meta = P.meta(d)
        namespace = str(meta.get("namespace") or "")
        rs_name = P.meta(rs)["name"]
        try:
            await self.api.create(REPLICASETS, rs, namespace=namespace)
            return True
        except errors.AlreadyExists:
            existing = await self.api.get(REPLICASETS, namespace, rs_name)
            if P.is_controlled_by(existing, d) and U.equal_ignore_hash(
                U.template_of(existing), U.template_of(d)
            ):
                # Ours, from an earlier sync: its ADDED event brings us back.
                return False
            body = copy.deepcopy(d)
            status = body.setdefault("status", {})
            status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
            logger.info(
                "pod template hash collision deployment=%s/%s replicaset=%s",
                namespace,
                meta["name"],
                rs_name,
            )
            await self.api.update_status(DEPLOYMENTS, body)
            raise SyncFailed(
                f"replica set {rs_name} already exists with another template"
            ) from None
        except (errors.StatusError, ClientError) as exc:
            msg = f'Failed to create new replica set "{rs_name}": {exc}'
            if U.progress_deadline(d) is not None:
                body = copy.deepcopy(d)
                status = body.setdefault("status", {})
                U.set_condition(
                    status,
                    U.new_condition(
                        U.PROGRESSING, "False", U.FAILED_RS_CREATE, msg, self.clock.now()
                    ),
                )
                try:
                    await self.api.update_status(DEPLOYMENTS, body)
                except (errors.StatusError, ClientError):
                    pass
            await self.recorder.warning(d, U.FAILED_RS_CREATE, msg)
            raise SyncFailed(msg) from exc
