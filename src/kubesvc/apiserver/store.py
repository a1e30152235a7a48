"""The generic object store: Kubernetes object semantics over the key/value backend.

One ``ObjectStore`` per resource. It owns what every kind shares: keys, the
``resourceVersion`` (the backend's ``mod_revision``; never stored inside the
value), uid/creationTimestamp/generateName, optimistic concurrency, finalizers
and ``deletionTimestamp``, dry runs, list paging and watch decoding. Kind-specific
behaviour comes from its ``Strategy`` (hook order documented there).

Rules it keeps (besides storing objects as Go would: ``api.omitempty``):

1. A write that changes nothing is not written (no new revision, no watch event),
   as upstream's GuaranteedUpdate does.
2. ``update``/``patch`` with a ``resourceVersion`` in the body is a precondition;
   without one an update is retried on concurrent writes (unconditional update).
3. An object with finalizers is not removed by DELETE: it gets a
   ``deletionTimestamp``; the update that removes its last finalizer removes it
   once its grace period is 0 (upstream ``ShouldDeleteDuringUpdate``).
4. Graceful deletion (pods on a node): DELETE sets ``deletionTimestamp = now +
   grace`` and ``deletionGracePeriodSeconds`` (the strategy's
   ``before_delete`` decides) and keeps the object; watchers see MODIFIED. A
   later DELETE may only shorten the grace period; one with grace 0 removes it
   (DELETED). Upstream first writes the grace-0 mark and then deletes; kubesvc
   deletes at once (the mark would only be an extra MODIFIED event).
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubesvc.api import errors, omitempty, schema
from kubesvc.api.errors import FieldError, StatusError
from kubesvc.api.patch.jsonvalue import deep_copy
from kubesvc.api.resources import Resource
from kubesvc.apiserver.strategy import Finish, Strategy, before_delete, finish_nothing
from kubesvc.storage import interface as st

Obj = dict[str, Any]
Clock = Callable[[], datetime]
Mutation = Callable[[Obj | None], Awaitable[Obj]]

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATE_PREFIX = 58
_UPDATE_RETRIES = 16


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    object: Obj
    old: Obj | None
    revision: int


class ObjectStore:
    def __init__(
        self,
        resource: Resource,
        strategy: Strategy,
        backend: st.Backend,
        *,
        clock: Clock = utc_now,
        admit_create: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.resource = resource
        self.strategy = strategy
        self.backend = backend
        self.clock = clock
        self._admit_create = admit_create
        found = schema.for_kind(resource.group, resource.version, resource.kind)
        self._definition = found.name if found else ""

    # -- encoding --------------------------------------------------------------
    def _drop_empty(self, obj: Obj) -> None:
        """Store what Go would have stored: empty ``omitempty`` fields left out."""
        if self._definition:
            omitempty.drop_empty(obj, self._definition)

    def decode(self, kv: st.KeyValue) -> Obj:
        obj: Obj = json.loads(kv.value)
        obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
        return obj

    @staticmethod
    def encode(obj: Obj) -> bytes:
        meta = obj.get("metadata")
        if isinstance(meta, dict) and "resourceVersion" in meta:
            obj = dict(obj)
            obj["metadata"] = {k: v for k, v in meta.items() if k != "resourceVersion"}
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def _with_type(self, obj: Obj) -> Obj:
        out = {"kind": self.resource.kind, "apiVersion": self.resource.api_version}
        out.update({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
        return out

    # -- errors ----------------------------------------------------------------
    def not_found(self, name: str) -> StatusError:
        return errors.NotFound(self.resource.plural, name, self.resource.group)

    def conflict(self, name: str) -> StatusError:
        return errors.Conflict(
            self.resource.plural, name, errors.OPTIMISTIC_LOCK_MESSAGE, self.resource.group
        )

    def invalid(self, name: str, errs: list[FieldError]) -> StatusError:
        return errors.Invalid(self.resource.kind, name, errs, self.resource.group)

    # -- reads -----------------------------------------------------------------
    async def get(self, namespace: str, name: str) -> Obj:
        kv = await self.backend.get(self.resource.key(namespace, name))
        if kv is None:
            raise self.not_found(name)
        return self._with_type(self.decode(kv))

    async def list(
        self,
        namespace: str,
        *,
        match: Callable[[Obj], bool] | None = None,
        limit: int = 0,
        continue_token: str = "",
        resource_version: str = "",
        exact: bool = False,
    ) -> ListPage:
        """One page of the objects under ``namespace`` (all when empty).

        ``resource_version`` "" or "0" reads now; another one is "not older
        than" (now always qualifies), or with ``exact`` the state at exactly
        that revision (410 once compacted). One above the current revision is
        504 Timeout, as upstream answers after waiting for it in vain."""
        prefix = self.resource.list_prefix(namespace)
        revision = 0
        start_after = ""
        if continue_token:
            revision, start_after = _decode_continue(continue_token, prefix)
        elif resource_version not in ("", "0"):
            requested = _parse_resource_version(resource_version)
            current = await self.backend.current_revision()
            if requested > current:
                raise _too_large_resource_version(requested, current)
            if exact:
                revision = requested
        items: list[Obj] = []
        more = False
        last_key = start_after
        read_rev = revision
        # Page through the backend until `limit` matching items are found.
        batch = max(limit, 500) if limit else 0
        while True:
            try:
                res = await self.backend.list(
                    prefix, revision=read_rev, limit=batch, start_after=last_key
                )
            except st.Compacted as exc:
                if continue_token:
                    raise errors.Expired(
                        "The provided continue parameter is too old to display a consistent list "
                        "result. You can start a new list without the continue parameter, or use "
                        "the continue token in this response to retrieve the remainder of the "
                        "results. Continuing with the provided token results in an inconsistent "
                        "list - objects that were created, modified, or deleted between the time "
                        "the first chunk was returned and now may show up in the list."
                    ) from exc
                raise errors.Expired(
                    f"too old resource version: {exc.requested} ({exc.compacted})"
                ) from exc
            except st.FutureRevision as exc:  # a continue token from the future
                raise _too_large_resource_version(
                    read_rev, await self.backend.current_revision()
                ) from exc
            read_rev = res.revision
            for kv in res.kvs:
                last_key = kv.key
                obj = self.decode(kv)
                if match is None or match(obj):
                    items.append(obj)
                    if limit and len(items) >= limit:
                        break
            if limit and len(items) >= limit:
                more = res.more or kv is not res.kvs[-1]
                break
            if not res.more:
                break
        token = ""
        remaining: int | None = None
        if more:
            token = _encode_continue(
                read_rev,
                items[-1]["metadata"]["name"],
                items[-1],
                prefix,
                self.resource.namespaced and not namespace,
            )
            if match is None:
                remaining = await self._count_after(
                    prefix, read_rev, _item_key(self.resource, items[-1])
                )
        return ListPage(items, str(read_rev), token, remaining)

    async def _count_after(self, prefix: str, revision: int, key: str) -> int:
        res = await self.backend.list(prefix, revision=revision, start_after=key)
        return len(res.kvs)

    # -- create ----------------------------------------------------------------
    async def create(self, namespace: str, obj: Obj, *, dry_run: bool = False) -> Obj:
        obj = deep_copy(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        self._set_namespace(meta, namespace)
        if meta.get("resourceVersion"):
            raise errors.InternalError("resourceVersion should not be set on objects to be created")
        generated = False
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = str(meta["generateName"])[:_MAX_GENERATE_PREFIX] + "".join(
                secrets.choice(_NAME_CHARS) for _ in range(5)
            )
            generated = True
        name = str(meta.get("name") or "")
        if self.resource.namespaced and self._admit_create is not None:
            await self._admit_create(meta.get("namespace", ""), name)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timestamp(self.clock())
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        self._drop_empty(obj)
        self.strategy.prepare_for_create(obj)
        # Allocations (Service IPs and ports) are given back unless the object is stored.
        finish = self.strategy.begin_create(obj, dry_run=dry_run)
        stored = False
        try:
            errs = self.strategy.validate(obj)
            if errs:
                raise self.invalid(name, errs)
            self._drop_empty(obj)
            self.strategy.canonicalize(obj)
            obj = self._with_type(obj)
            if dry_run:
                if await self.backend.get(self.resource.key(meta.get("namespace", ""), name)):
                    raise errors.AlreadyExists(self.resource.plural, name, self.resource.group)
                return obj
            key = self.resource.key(meta.get("namespace", ""), name)
            try:
                kv = await self.backend.create(key, self.encode(obj))
            except st.KeyExists as exc:
                if generated:
                    raise errors.GenerateNameConflict(
                        self.resource.plural, name, self.resource.group
                    ) from exc
                raise errors.AlreadyExists(self.resource.plural, name, self.resource.group) from exc
            meta["resourceVersion"] = str(kv.mod_revision)
            stored = True
            return obj
        finally:
            finish(stored)

    def _set_namespace(self, meta: Obj, namespace: str) -> None:
        if self.resource.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = namespace or body_ns or ""
        else:
            meta.pop("namespace", None)

    # -- update ----------------------------------------------------------------
    async def update(
        self,
        namespace: str,
        name: str,
        obj: Obj,
        *,
        subresource: str = "",
        dry_run: bool = False,
        track: Callable[[Obj | None, Obj], Obj] | None = None,
    ) -> tuple[Obj, bool]:
        """PUT: replace the object (or its status). Returns (object, created).

        ``track(old, new)`` returns ``new`` with its managedFields updated.
        """
        body = deep_copy(obj)
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        body_name = meta.get("name")
        if body_name and body_name != name:
            raise errors.BadRequest(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        self._set_namespace(meta, namespace)
        precondition = str(meta.get("resourceVersion") or "")

        async def mutate(current: Obj | None) -> Obj:
            desired = deep_copy(body)
            return track(current, desired) if track is not None else desired

        return await self.guaranteed_update(
            namespace,
            name,
            mutate,
            precondition=precondition,
            subresource=subresource,
            dry_run=dry_run,
            allow_create=self.strategy.allow_create_on_update and not subresource,
            require_precondition=not self.strategy.allow_unconditional_update,
        )

    async def guaranteed_update(
        self,
        namespace: str,
        name: str,
        mutate: Mutation,
        *,
        precondition: str = "",
        subresource: str = "",
        dry_run: bool = False,
        allow_create: bool = False,
        require_precondition: bool = False,
    ) -> tuple[Obj, bool]:
        """Read, mutate, validate, compare-and-swap; retry on races without a precondition.

        ``mutate`` gets a private copy of the current object (None when absent) and
        returns the desired object; a ``resourceVersion`` in what it returns, if
        different from the current one, is a conflict (how patches carry
        preconditions).
        """
        key = self.resource.key(namespace, name)
        for _ in range(_UPDATE_RETRIES):
            kv = await self.backend.get(key)
            if kv is None:
                if not allow_create:
                    raise self.not_found(name)
                desired = await mutate(None)
                desired.setdefault("metadata", {})["name"] = name
                desired["metadata"].pop("resourceVersion", None)
                return await self.create(namespace, desired, dry_run=dry_run), True
            current = self._with_type(self.decode(kv))
            desired = await mutate(deep_copy(current))
            desired = self._with_type(desired)
            # As decoded into Go types: what the strategy compares (generation) and
            # validates never depends on how a client spelled an empty value.
            self._drop_empty(desired)
            meta = desired.setdefault("metadata", {})
            wanted_rv = precondition or str(meta.get("resourceVersion") or "")
            if require_precondition and not wanted_rv:
                raise self.invalid(
                    name,
                    [
                        errors.invalid(
                            "metadata.resourceVersion", 0, "must be specified for an update"
                        )
                    ],
                )
            if wanted_rv and wanted_rv != str(kv.mod_revision):
                raise self.conflict(name)
            self._set_namespace(meta, namespace)
            meta["name"] = name
            self._keep_system_fields(meta, current["metadata"])
            finish: Finish = finish_nothing
            if subresource == "status":
                self.strategy.prepare_for_status_update(desired, current)
            elif subresource == "finalize":
                self.strategy.prepare_for_finalize(desired, current)
            else:
                self.strategy.prepare_for_update(desired, current)
                # What the change allocates is given back unless this attempt is stored.
                finish = self.strategy.begin_update(desired, current, dry_run=dry_run)
            stored = False
            try:
                if subresource == "status":
                    errs = self.strategy.validate_status_update(desired, current)
                elif subresource == "finalize":
                    errs = []
                else:
                    errs = self.strategy.validate_update(desired, current)
                if errs:
                    raise self.invalid(name, errs)
                self._drop_empty(desired)
                self.strategy.canonicalize(desired)
                desired["metadata"]["resourceVersion"] = str(kv.mod_revision)
                if _same(desired, current):
                    stored = True
                    return current, False
                if dry_run:
                    return desired, False
                try:
                    if _finished_deleting(desired, current):
                        deleted = await self.backend.delete(key, expected_revision=kv.mod_revision)
                        desired["metadata"]["resourceVersion"] = str(deleted.mod_revision)
                        stored = True
                        self.strategy.after_delete(desired)
                        return desired, False
                    new_kv = await self.backend.update(key, self.encode(desired), kv.mod_revision)
                except st.Conflict:
                    if wanted_rv:
                        raise self.conflict(name) from None
                    continue
                except st.KeyNotFound:
                    if wanted_rv:
                        raise self.conflict(name) from None
                    continue
                desired["metadata"]["resourceVersion"] = str(new_kv.mod_revision)
                stored = True
                return desired, False
            finally:
                finish(stored)
        raise self.conflict(name)

    @staticmethod
    def _keep_system_fields(meta: Obj, old_meta: Obj) -> None:
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if "generation" in old_meta and "generation" not in meta:
            meta["generation"] = old_meta["generation"]

    # -- delete ----------------------------------------------------------------
    async def delete(
        self,
        namespace: str,
        name: str,
        *,
        precondition_uid: str = "",
        precondition_rv: str = "",
        dry_run: bool = False,
        propagation: str = "",
        grace_period: int | None = None,
    ) -> tuple[Obj, bool]:
        """DELETE: returns (object, removed_now).

        ``grace_period`` is DeleteOptions.gracePeriodSeconds (None: the kind's
        default); it matters only for kinds with graceful deletion (pods).
        """
        key = self.resource.key(namespace, name)
        for _ in range(_UPDATE_RETRIES):
            kv = await self.backend.get(key)
            if kv is None:
                raise self.not_found(name)
            current = self._with_type(self.decode(kv))
            meta = current["metadata"]
            if precondition_uid and precondition_uid != meta.get("uid"):
                raise errors.Conflict(
                    self.resource.plural,
                    name,
                    f"Precondition failed: UID in precondition: {precondition_uid}, "
                    f"UID in object meta: {meta.get('uid', '')}",
                    self.resource.group,
                )
            if precondition_rv and precondition_rv != meta.get("resourceVersion"):
                raise errors.Conflict(
                    self.resource.plural,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {precondition_rv}, "
                    f"ResourceVersion in object meta: {meta.get('resourceVersion', '')}",
                    self.resource.group,
                )
            now = self.clock()
            decision = before_delete(
                current, grace_period, self.strategy.check_graceful_delete, now
            )
            if decision.pending:
                # Terminating already, and not sooner: finalizers stay as they are too.
                return current, False
            marked = deep_copy(current)
            marked_meta = marked["metadata"]
            old_finalizers = list(meta.get("finalizers") or [])
            new_finalizers = deletion_finalizers(self.resource, old_finalizers, propagation)
            if new_finalizers != old_finalizers:
                if new_finalizers:
                    marked_meta["finalizers"] = new_finalizers
                else:
                    marked_meta.pop("finalizers", None)
            if decision.graceful and decision.deletion_timestamp is not None:
                if not meta.get("deletionTimestamp") and int(meta.get("generation") or 0) > 0:
                    marked_meta["generation"] = int(meta["generation"]) + 1
                marked_meta["deletionTimestamp"] = timestamp(decision.deletion_timestamp)
                marked_meta["deletionGracePeriodSeconds"] = decision.grace
            if self._pending_finalizers(marked) or decision.grace > 0:
                if not marked_meta.get("deletionTimestamp"):
                    marked_meta["deletionTimestamp"] = timestamp(now)
                    marked_meta.setdefault("deletionGracePeriodSeconds", 0)
                    self._on_mark_deleted(marked)
                if _same(marked, current) or dry_run:
                    return marked, False
                try:
                    new_kv = await self.backend.update(key, self.encode(marked), kv.mod_revision)
                except (st.Conflict, st.KeyNotFound):
                    continue
                marked_meta["resourceVersion"] = str(new_kv.mod_revision)
                return marked, False
            if dry_run:
                return current, True
            try:
                deleted = await self.backend.delete(key, expected_revision=kv.mod_revision)
            except (st.Conflict, st.KeyNotFound):
                continue
            current["metadata"]["resourceVersion"] = str(deleted.mod_revision)
            self.strategy.after_delete(current)
            return current, True
        raise self.conflict(name)

    def _pending_finalizers(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if meta.get("finalizers"):
            return True
        return self.resource.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))

    def _on_mark_deleted(self, obj: Obj) -> None:
        if self.resource.kind == "Namespace":
            obj.setdefault("status", {})["phase"] = "Terminating"

    # -- watch -----------------------------------------------------------------
    async def watch(
        self, namespace: str, revision: int, *, name: str = ""
    ) -> AsyncIterator[WatchEvent]:
        prefix = (
            self.resource.key(namespace, name) if name else self.resource.list_prefix(namespace)
        )
        watch = self.backend.watch(prefix, revision)
        try:
            async for ev in watch:
                if name and ev.kv.key != prefix:
                    continue
                obj = self._with_type(self.decode(ev.kv))
                old = self._with_type(self.decode(ev.prev)) if ev.prev is not None else None
                if ev.type == "DELETE":
                    kind = "DELETED"
                elif ev.prev is None:
                    kind = "ADDED"
                else:
                    kind = "MODIFIED"
                yield WatchEvent(kind, obj, old, ev.revision)
        finally:
            watch.close()


ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
_GC_DEFAULT_ORPHAN = frozenset({("", "replicationcontrollers")})
"""Kinds whose DELETE without a policy orphans dependents (upstream: core/v1 RCs)."""
_GC_UNSUPPORTED = frozenset({("", "events")})
"""Kinds the garbage collector ignores: DELETE never adds its finalizers."""


def deletion_finalizers(resource: Resource, finalizers: list[str], propagation: str) -> list[str]:
    """The finalizers an object gets when deleted with ``propagation`` (upstream's rules).

    ``Orphan`` adds ``orphan``, ``Foreground`` adds ``foregroundDeletion`` (the
    garbage collector removes them once it has orphaned or deleted the
    dependents); ``Background`` adds neither and removes both. Without a
    policy, a GC finalizer the object already carries decides; else the
    kind's default: orphan for core/v1 ReplicationControllers (backward
    compatibility), background for everything else. Returns ``finalizers``
    itself when nothing changes.
    """
    if (resource.group, resource.plural) in _GC_UNSUPPORTED:
        return finalizers
    gc = (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)
    if propagation == "Orphan":
        orphan, foreground = True, False
    elif propagation == "Foreground":
        orphan, foreground = False, True
    elif propagation == "Background":
        orphan = foreground = False
    else:
        present = [f for f in finalizers if f in gc]
        if present:
            orphan, foreground = present[0] == ORPHAN_FINALIZER, present[0] == FOREGROUND_FINALIZER
        else:
            orphan = (resource.group, resource.plural) in _GC_DEFAULT_ORPHAN
            foreground = False
    kept = [f for f in finalizers if f not in gc]
    if orphan:
        kept.append(ORPHAN_FINALIZER)
    if foreground:
        kept.append(FOREGROUND_FINALIZER)
    return finalizers if set(kept) == set(finalizers) else kept


def _parse_resource_version(value: str) -> int:
    try:
        rv = int(value)
    except ValueError:
        rv = -1
    if rv < 0:
        raise errors.BadRequest(f"invalid resource version: {value!r}")
    return rv


def _too_large_resource_version(requested: int, current: int) -> StatusError:
    """Upstream's NewTooLargeResourceVersionError (a Timeout that asks to retry)."""
    return errors.Timeout(
        f"Timeout: Too large resource version: {requested}, current: {current}",
        details={
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )


def _item_key(resource: Resource, obj: Obj) -> str:
    meta = obj["metadata"]
    return resource.key(meta.get("namespace", ""), meta["name"])


def _encode_continue(revision: int, name: str, obj: Obj, prefix: str, all_namespaces: bool) -> str:
    meta = obj["metadata"]
    start = f"{meta.get('namespace', '')}/{name}" if all_namespaces else name
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        rev = int(data["rv"])
        start = str(data["start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.BadRequest(f"invalid continue token: {exc}") from exc
    if rev <= 0 or ".." in start:
        raise errors.BadRequest(
            "continue key is not valid: incorrect encoded start resourceVersion"
        )
    return rev, prefix + start


def _same(a: Obj, b: Obj) -> bool:
    return a == b


def _finished_deleting(new: Obj, old: Obj) -> bool:
    """An update removes the object (upstream ``ShouldDeleteDuringUpdate``): it was
    being deleted with no grace left (0 or unset) and the new state has no
    finalizers (nor, for a Namespace, spec finalizers). A pod in its grace
    period is kept, whatever the update: the node agent removes it."""
    old_meta = old.get("metadata") or {}
    new_meta = new.get("metadata") or {}
    if not old_meta.get("deletionTimestamp") or new_meta.get("finalizers"):
        return False
    if old_meta.get("deletionGracePeriodSeconds"):
        return False
    return not (new.get("kind") == "Namespace" and (new.get("spec") or {}).get("finalizers"))
