"""The garbage collector: deletes what its owners no longer hold, in three flavours.

It watches every served resource that can be listed, watched and deleted
(events excepted, as upstream ignores them), with an index of objects by the
uids of their owners. Queue keys name a resource and an object
(``group/plural|namespace/name``). Handlers enqueue:

* an object with owner references, when it appears or changes;
* an object being deleted with the ``orphan`` or ``foregroundDeletion``
  finalizer, and (foreground) its dependents;
* on deletion: the object's dependents (their owner is gone) and its owners
  that wait for their dependents (one fewer to wait for).

``sync`` looks up the owners (cache first; an owner missing from the cache,
or with another uid, is confirmed with a live GET before anything is deleted:
a cache that lags must never cost an object) and applies
``decide.plan_for``: deletions carry a uid precondition, reference removals
are strategic merge patches, finalizer removals are conditional on the
resourceVersion.
"""

from __future__ import annotations

import logging
from typing import Any

from kubesvc.api import errors, resources
from kubesvc.api.resources import Resource
from kubesvc.client.cache import split_key
from kubesvc.client.controller import QueueController
from kubesvc.client.informer import Informer
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.garbagecollector import decide as D
from kubesvc.controllers.workload import pods as P
from kubesvc.controllers.workload.informers import ensure_indexer

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
OWNER_UID_INDEX = "owner-uid"
IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})


def owner_uid_index(obj: Obj) -> list[str]:
    return [str(r.get("uid")) for r in P.owner_references(obj) if r.get("uid")]


def collectable(resource: Resource) -> bool:
    needed = {"list", "watch", "delete"}
    return needed <= set(resource.verbs) and (resource.group, resource.plural) not in IGNORED


class GarbageCollector(QueueController):
    name = "garbagecollector"

    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.client
        self.resources = [r for r in resources.RESOURCES if collectable(r)]
        self.watched: dict[str, tuple[Resource, Informer]] = {}
        for r in self.resources:
            informer = ctx.informers.informer(r)
            ensure_indexer(informer, OWNER_UID_INDEX, owner_uid_index)
            self.watched[_rid(r)] = (r, informer)
        super().__init__(
            informers=[i for _, i in self.watched.values()],
            workers=ctx.settings.workers,
            clock=ctx.clock,
        )
        for rid, (_, informer) in self.watched.items():
            self._watch(rid, informer)

    def _watch(self, rid: str, informer: Informer) -> None:
        def on_add(obj: Obj) -> None:
            self._changed(rid, obj)

        def on_update(old: Obj, new: Obj) -> None:
            self._changed(rid, new)

        def on_delete(obj: Obj) -> None:
            self._deleted(rid, obj)

        informer.add_handlers(on_add=on_add, on_update=on_update, on_delete=on_delete)

    # -- handlers ----------------------------------------------------------------
    def _enqueue(self, rid: str, obj: Obj) -> None:
        meta = P.meta(obj)
        self.enqueue_key(f"{rid}|{meta.get('namespace') or ''}/{meta.get('name')}")

    def dependents(self, uid: str) -> list[tuple[str, Obj]]:
        return [
            (rid, obj)
            for rid, (_, informer) in self.watched.items()
            for obj in informer.cache.by_index(OWNER_UID_INDEX, uid)
        ]

    def _changed(self, rid: str, obj: Obj) -> None:
        if P.owner_references(obj):
            self._enqueue(rid, obj)
        fins = D.finalizers(obj)
        if P.is_being_deleted(obj) and (D.ORPHAN in fins or D.FOREGROUND in fins):
            self._enqueue(rid, obj)
            if D.FOREGROUND in fins:
                for dep_rid, dep in self.dependents(str(P.meta(obj).get("uid") or "")):
                    self._enqueue(dep_rid, dep)
        self._wake_waiting_owners(obj)

    def _deleted(self, rid: str, obj: Obj) -> None:
        for dep_rid, dep in self.dependents(str(P.meta(obj).get("uid") or "")):
            self._enqueue(dep_rid, dep)
        self._wake_waiting_owners(obj)

    def _wake_waiting_owners(self, obj: Obj) -> None:
        for ref in P.owner_references(obj):
            found = self._cached_owner(obj, ref)
            if found is not None and D.deleting_dependents(found[1]):
                self._enqueue(found[0], found[1])

    # -- lookups -----------------------------------------------------------------
    def _owner_resource(self, ref: Obj) -> Resource | None:
        r = resources.for_kind(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""))
        if r is None or _rid(r) not in self.watched:
            return None
        return r

    def _owner_namespace(self, dependent: Obj, owner: Resource) -> str:
        return str(P.meta(dependent).get("namespace") or "") if owner.namespaced else ""

    def _cached_owner(self, dependent: Obj, ref: Obj) -> tuple[str, Obj] | None:
        r = self._owner_resource(ref)
        if r is None:
            return None
        informer = self.watched[_rid(r)][1]
        obj = informer.get(self._owner_namespace(dependent, r), str(ref.get("name") or ""))
        if obj is None or P.meta(obj).get("uid") != ref.get("uid"):
            return None
        return _rid(r), obj

    async def _owner_state(self, dependent: Obj, ref: Obj) -> D.OwnerState | None:
        r = self._owner_resource(ref)
        if r is None:
            return None
        if r.namespaced and not P.meta(dependent).get("namespace"):
            return D.OwnerState(exists=False)  # a cluster-scoped object cannot name one
        cached = self._cached_owner(dependent, ref)
        owner = cached[1] if cached is not None else None
        if owner is None:
            try:
                owner = await self.api.get(
                    r, self._owner_namespace(dependent, r), str(ref.get("name") or "")
                )
            except errors.NotFound:
                return D.OwnerState(exists=False)
            if P.meta(owner).get("uid") != ref.get("uid"):
                return D.OwnerState(exists=False)
        return D.OwnerState(exists=True, deleting_dependents=D.deleting_dependents(owner))

    # -- sync --------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        rid, _, object_key = key.partition("|")
        if rid not in self.watched:
            return
        resource, informer = self.watched[rid]
        namespace, name = split_key(object_key)
        obj = informer.get(namespace, name)
        if obj is None:
            return
        uid = str(P.meta(obj).get("uid") or "")
        dependents = [dep for _, dep in self.dependents(uid)]
        owners: dict[str, D.OwnerState | None] = {}
        if not P.is_being_deleted(obj):
            for ref in P.owner_references(obj):
                owners[str(ref.get("uid"))] = await self._owner_state(obj, ref)
        plan = D.plan_for(obj, owners, dependents)
        await self._apply(resource, obj, plan)

    async def _apply(self, resource: Resource, obj: Obj, plan: D.GCPlan) -> None:
        meta = P.meta(obj)
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        if plan.unblock_refs:
            await self._patch(resource, namespace, name, D.unblock_patch(obj, plan.unblock_refs))
        if plan.remove_refs:
            await self._patch(resource, namespace, name, D.remove_refs_patch(obj, plan.remove_refs))
        if plan.delete:
            logger.info(
                "deleting dependent whose owners are gone resource=%s object=%s/%s policy=%s",
                resource.plural,
                namespace,
                name,
                plan.delete,
            )
            try:
                await self.api.delete(
                    resource, namespace, name, propagation_policy=plan.delete, uid=meta["uid"]
                )
            except (errors.NotFound, errors.Conflict):
                pass
        waiting = {id(d) for d in plan.wait_for}
        for rid, dep in self.dependents(str(meta.get("uid") or "")):
            if id(dep) in waiting:
                self._enqueue(rid, dep)  # each dependent is handled under its own key
        for dep in plan.orphan:
            dep_resource = _resource_of(dep)
            if dep_resource is None:
                continue
            dmeta = P.meta(dep)
            await self._patch(
                dep_resource,
                str(dmeta.get("namespace") or ""),
                str(dmeta.get("name") or ""),
                D.remove_refs_patch(dep, [str(meta.get("uid") or "")]),
            )
        if plan.remove_finalizer:
            try:
                await self.api.patch(
                    resource,
                    namespace,
                    name,
                    D.remove_finalizer_patch(obj, plan.remove_finalizer),
                    patch_type="merge",
                )
            except errors.NotFound:
                pass

    async def _patch(self, resource: Resource, namespace: str, name: str, patch: Obj) -> None:
        try:
            await self.api.patch(resource, namespace, name, patch, patch_type="strategic")
        except errors.NotFound:
            pass


def _rid(r: Resource) -> str:
    return f"{r.group}/{r.plural}"


def _resource_of(obj: Obj) -> Resource | None:
    return resources.for_kind(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
