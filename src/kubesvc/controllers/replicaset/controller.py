"""The ReplicaSet and ReplicationController controllers: one implementation, two kinds.

Informer handlers (pods and owners) only enqueue owner keys and note observed
creations/deletions in the ``Expectations``; ``sync(key)`` gathers the owner,
the namespace's pods and the pods of the owner's siblings from the caches,
asks ``reconcile`` for a plan and carries it out:

* adoptions and releases (strategic merge patches; before adopting, the owner
  is read live to make sure it is not being deleted, as upstream's
  ``RecheckDeletionTimestamp``);
* creations in slow-start batches (1, 2, 4, ...; a failing batch stops the
  rest), deletions all at once, each announced by an Event on the owner;
* the status, written through the ``status`` subresource when it changed.

A failed creation or deletion is reported in the ``ReplicaFailure`` condition
and the sync is retried with back-off.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kubesvc.api import errors
from kubesvc.api.resources import Resource
from kubesvc.client.cache import object_key, split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import resolve
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.replicaset import reconcile as R
from kubesvc.controllers.workload import claim as C
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.expectations import Expectations
from kubesvc.controllers.workload.informers import CONTROLLER_UID_INDEX, ensure_indexer

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS = resolve(("v1", "Pod"))
SLOW_START_INITIAL_BATCH = 1


@dataclass(frozen=True)
class OwnerKind:
    name: str
    """The controller's registry name."""
    resource: Resource
    component: str
    """``source.component`` of its Events (upstream's controller name)."""


REPLICASETS = OwnerKind("replicaset", resolve(("apps/v1", "ReplicaSet")), "replicaset-controller")
REPLICATIONCONTROLLERS = OwnerKind(
    "replicationcontroller",
    resolve(("v1", "ReplicationController")),
    "replication-controller",
)


class SyncFailed(Exception):
    """Creating or deleting pods failed; the sync is retried with back-off."""


class ReplicaSetController(QueueController):
    def __init__(self, ctx: ControllerContext, kind: OwnerKind) -> None:
        self.name = kind.name
        self.kind = kind
        self.api = ctx.client
        self.owners = ctx.informers.informer(kind.resource)
        self.pods = ctx.informers.informer(PODS)
        ensure_indexer(self.pods, CONTROLLER_UID_INDEX, P.controller_uid_index)
        ensure_indexer(self.owners, CONTROLLER_UID_INDEX, P.controller_uid_index)
        super().__init__(
            informers=[self.owners, self.pods], workers=ctx.settings.workers, clock=ctx.clock
        )
        self.recorder = ctx.recorder(kind.component)
        self.expectations = Expectations(self.clock)
        self.owners.add_handlers(
            on_add=self.enqueue,
            on_update=lambda old, new: self.enqueue(new),
            on_delete=self._owner_deleted,
        )
        self.pods.add_handlers(
            on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
        )

    # -- handlers: bookkeeping and enqueueing only ----------------------------------
    def _owner_deleted(self, owner: Obj) -> None:
        self.expectations.forget(object_key(owner))
        self.enqueue(owner)

    def _resolve(self, pod: Obj) -> Obj | None:
        """The owner controlling ``pod`` if it is one of ours and in the cache."""
        ref = P.controller_ref(pod)
        if ref is None or ref.get("kind") != self.kind.resource.kind:
            return None
        owner = self.owners.get(str(P.meta(pod).get("namespace") or ""), str(ref.get("name")))
        if owner is None or P.meta(owner).get("uid") != ref.get("uid"):
            return None
        return owner

    def _matching_owners(self, pod: Obj) -> list[Obj]:
        namespace = str(P.meta(pod).get("namespace") or "")
        have = P.labels(pod)
        return [o for o in self.owners.list(namespace) if R.selector_of(o).matches(have)]

    def _pod_added(self, pod: Obj) -> None:
        if P.is_being_deleted(pod):
            self._pod_deleted(pod)
            return
        owner = self._resolve(pod)
        if owner is not None:
            key = object_key(owner)
            self.expectations.creation_observed(key)
            self.enqueue_key(key)
        elif P.controller_ref(pod) is None:
            for candidate in self._matching_owners(pod):
                self.enqueue(candidate)

    def _pod_updated(self, old: Obj, cur: Obj) -> None:
        if P.meta(old).get("resourceVersion") == P.meta(cur).get("resourceVersion"):
            return
        labels_changed = P.labels(old) != P.labels(cur)
        if P.is_being_deleted(cur):
            self._pod_deleted(cur)
            if labels_changed:
                self._pod_deleted(old)
            return
        old_uid, cur_uid = P.controller_uid(old), P.controller_uid(cur)
        if old_uid and old_uid != cur_uid:
            previous = self._resolve(old)
            if previous is not None:
                self.enqueue(previous)
        if cur_uid:
            owner = self._resolve(cur)
            if owner is not None:
                self.enqueue(owner)
                min_ready = R.min_ready_seconds(owner)
                if min_ready > 0 and not P.is_ready(old) and P.is_ready(cur):
                    self.enqueue_after(object_key(owner), min_ready + 1.0)
            return
        if labels_changed or old_uid != cur_uid:
            for candidate in self._matching_owners(cur):
                self.enqueue(candidate)

    def _pod_deleted(self, pod: Obj) -> None:
        owner = self._resolve(pod)
        if owner is None:
            return
        key = object_key(owner)
        self.expectations.deletion_observed(key, object_key(pod))
        self.enqueue_key(key)

    # -- sync ----------------------------------------------------------------------
    def _related_pods(self, owner: Obj) -> list[Obj]:
        """Active pods of ``owner`` and of the siblings sharing its controller."""
        uids = {str(P.meta(owner).get("uid") or "")}
        parent = P.controller_uid(owner)
        if parent:
            uids.update(
                str(P.meta(o).get("uid") or "")
                for o in self.owners.cache.by_index(CONTROLLER_UID_INDEX, parent)
            )
        related: list[Obj] = []
        for uid in sorted(uids):
            related.extend(
                p for p in self.pods.cache.by_index(CONTROLLER_UID_INDEX, uid) if P.is_active(p)
            )
        return related

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        owner = self.owners.get(namespace, name)
        if owner is None:
            self.expectations.forget(key)
            return
        now = self.clock.now()
        plan = R.reconcile(
            owner,
            self.pods.list(namespace),
            self._related_pods(owner),
            now,
            expectations_satisfied=self.expectations.satisfied(key),
        )
        owned = await self._claim(owner, plan)
        failure: str | None = None
        if plan.create:
            failure = await self._create(owner, key, plan.create)
        elif plan.delete:
            failure, gone = await self._delete(owner, key, plan.delete)
            # Unlike upstream, pods we just deleted no longer count in the status.
            owned = [p for p in owned if object_key(p) not in gone]
        status = R.next_status(owner, owned, now, failure)
        if R.status_needs_update(owner, status):
            await self._write_status(owner, status)
        wait = R.recheck_after(owner, owned, now)
        if wait is not None:
            self.enqueue_after(key, wait)
        if failure is not None:
            raise SyncFailed(failure)

    async def _claim(self, owner: Obj, plan: R.ReplicaSetPlan) -> list[Obj]:
        owned = list(plan.owned)
        namespace = str(P.meta(owner).get("namespace") or "")
        uid = str(P.meta(owner).get("uid") or "")
        if plan.adopt:
            await self._recheck_not_deleted(owner)
        for pod in plan.adopt:
            try:
                await self.api.patch(
                    PODS,
                    namespace,
                    P.meta(pod)["name"],
                    C.adopt_patch(owner, pod),
                    patch_type="strategic",
                )
            except errors.NotFound:
                owned.remove(pod)
        for pod in plan.release:
            try:
                await self.api.patch(
                    PODS,
                    namespace,
                    P.meta(pod)["name"],
                    C.release_patch(uid, pod),
                    patch_type="strategic",
                )
            except errors.NotFound:
                pass
        return owned

    async def _recheck_not_deleted(self, owner: Obj) -> None:
        meta = P.meta(owner)
        fresh = await self.api.get(self.kind.resource, meta.get("namespace", ""), meta["name"])
        fresh_meta = P.meta(fresh)
        if fresh_meta.get("uid") != meta.get("uid"):
            raise SyncFailed(
                f"original {owner.get('kind')} {meta.get('namespace')}/{meta['name']} is gone: "
                f"got uid {fresh_meta.get('uid')}, wanted {meta.get('uid')}"
            )
        if fresh_meta.get("deletionTimestamp"):
            raise SyncFailed(
                f"{owner.get('kind')} {meta.get('namespace')}/{meta['name']} has just been "
                f"deleted at {fresh_meta['deletionTimestamp']}"
            )

    async def _create(self, owner: Obj, key: str, count: int) -> str | None:
        """Create ``count`` pods in slow-start batches; returns the first error's text."""
        self.expectations.expect_creations(key, count)
        template = P.spec(owner).get("template") or {}
        namespace = str(P.meta(owner).get("namespace") or "")

        async def create_one() -> None:
            pod = P.pod_from_template(template, owner)
            try:
                created = await self.api.create(PODS, pod, namespace=namespace)
            except (errors.StatusError, ClientError) as exc:
                await self.recorder.warning(owner, "FailedCreate", f"Error creating: {exc}")
                raise
            await self.recorder.normal(
                owner, "SuccessfulCreate", f"Created pod: {P.meta(created).get('name')}"
            )

        done, failure = await slow_start_batches(count, SLOW_START_INITIAL_BATCH, create_one)
        for _ in range(count - done):
            self.expectations.creation_observed(key)
        return failure

    async def _delete(
        self, owner: Obj, key: str, victims: list[Obj]
    ) -> tuple[str | None, set[str]]:
        """Delete ``victims``; returns the first error's text and the keys now gone."""
        self.expectations.expect_deletions(key, [object_key(p) for p in victims])
        namespace = str(P.meta(owner).get("namespace") or "")

        async def delete_one(pod: Obj) -> str | None:
            name = P.meta(pod)["name"]
            try:
                await self.api.delete(PODS, namespace, name)
            except errors.NotFound:
                self.expectations.deletion_observed(key, object_key(pod))
                return None
            except (errors.StatusError, ClientError) as exc:
                self.expectations.deletion_observed(key, object_key(pod))
                await self.recorder.warning(owner, "FailedDelete", f"Error deleting: {exc}")
                return str(exc)
            await self.recorder.normal(owner, "SuccessfulDelete", f"Deleted pod: {name}")
            return None

        results = await asyncio.gather(*(delete_one(p) for p in victims))
        gone = {object_key(p) for p, r in zip(victims, results, strict=True) if r is None}
        return next((r for r in results if r is not None), None), gone

    async def _write_status(self, owner: Obj, status: Obj) -> None:
        body = copy.deepcopy(owner)
        body["status"] = status
        try:
            await self.api.update_status(self.kind.resource, body)
        except errors.Conflict:
            meta = P.meta(owner)
            fresh = await self.api.get(self.kind.resource, meta["namespace"], meta["name"])
            if P.meta(fresh).get("uid") != meta.get("uid"):
                return
            fresh["status"] = status
            await self.api.update_status(self.kind.resource, fresh)
        except errors.NotFound:
            return


async def slow_start_batches(
    count: int, initial: int, fn: Callable[[], Awaitable[None]]
) -> tuple[int, str | None]:
    """Call ``fn`` ``count`` times in doubling batches; stop after a batch with a failure.

    Returns how many calls succeeded and the first failure's text (upstream
    ``slowStartBatch``: a quota or admission error fails fast instead of
    being repeated hundreds of times).
    """
    done = 0
    batch = min(count, initial)
    remaining = count
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        done += batch - len(failures)
        if failures:
            first = failures[0]
            if not isinstance(first, Exception):
                raise first
            return done, str(first)
        remaining -= batch
        batch = min(2 * batch, remaining)
    return done, None
