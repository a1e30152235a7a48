"""Namespace lifecycle inside the API server: admission, bootstrap, deletion.

Upstream splits this between admission plugins (NamespaceLifecycle), the
bootstrap controller and the namespace and serviceaccount controllers. kubesvc
keeps the part the API needs from its first second in the server itself:

* admission: creating an object in a namespace that does not exist is 404, in a
  namespace being deleted is 403;
* bootstrap: ``default``, ``kube-system``, ``kube-public`` and ``kube-node-lease``
  exist, each namespace has its ``default`` ServiceAccount;
* deletion: a namespace marked for deletion has its contents deleted, then its
  ``kubernetes`` finalizer removed, which removes it.

The loop is driven by a watch on namespaces plus a periodic resync, so a
restart in the middle of a deletion finishes it; while a namespace waits for
objects that are going (finalizers, pods in their grace period until their node
agent removes them) it looks again every ``TERMINATING_RECHECK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubesvc.api import errors
from kubesvc.api.resources import Resource
from kubesvc.apiserver.store import ObjectStore

logger = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
UNDELETABLE = frozenset({"default", "kube-system", "kube-public"})
RESYNC_SECONDS = 5.0
ACTIVE_CACHE_SECONDS = 1.0
TERMINATING_RECHECK_SECONDS = 1.0
"""While a namespace is terminating (pods in their grace period), look again this often."""

Obj = dict[str, Any]


class NamespaceLifecycle:
    def __init__(self, stores: Mapping[tuple[str, str], ObjectStore]) -> None:
        self.stores = stores
        self.namespaces = stores[("", "namespaces")]
        self.serviceaccounts = stores[("", "serviceaccounts")]
        self._wake = asyncio.Event()
        self._terminating = False
        # Namespaces seen Active recently (name -> monotonic time). Admission reads it
        # instead of the store on every create; the namespace watch evicts a name on any
        # change, and entries expire after ACTIVE_CACHE_SECONDS in case the watch lags.
        self._active: dict[str, float] = {}

    # -- admission -------------------------------------------------------------
    def admitter(self, resource: Resource) -> Any:
        async def admit(namespace: str, name: str = "") -> None:
            seen = self._active.get(namespace)
            if seen is not None and time.monotonic() - seen < ACTIVE_CACHE_SECONDS:
                return
            try:
                ns = await self.namespaces.get("", namespace)
            except errors.NotFound:
                raise errors.NotFound("namespaces", namespace) from None
            if not ns["metadata"].get("deletionTimestamp"):
                self._active[namespace] = time.monotonic()
            else:
                denied = errors.Forbidden(
                    resource.plural,
                    name,
                    f"unable to create new content in namespace {namespace} because it is "
                    "being terminated",
                    resource.group,
                )
                assert denied.details is not None
                denied.details["causes"] = [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ]
                raise denied

        return admit

    def forget(self, namespace: str) -> None:
        """Drop a namespace from the admission cache (it is being deleted)."""
        self._active.pop(namespace, None)

    @staticmethod
    def check_delete(name: str) -> None:
        if name in UNDELETABLE:
            raise errors.StatusError(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                code=403,
                reason="Forbidden",
                details={"name": name, "kind": "namespaces"},
            )

    # -- bootstrap -------------------------------------------------------------
    async def bootstrap(self) -> None:
        for name in SYSTEM_NAMESPACES:
            try:
                await self.namespaces.create("", {"metadata": {"name": name}})
            except errors.AlreadyExists:
                pass
        await self.sync_all()

    # -- loop ------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        watcher = asyncio.create_task(self._watch(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                # A pass may take long (deleting a big namespace); stopping must not wait
                # for it. An interrupted deletion resumes on the next start.
                sync = asyncio.ensure_future(self.sync_all())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait([sync, stopper], return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not sync.done():
                    sync.cancel()
                    await asyncio.gather(sync, return_exceptions=True)
                    return
                if sync.exception() is not None:
                    logger.error("namespace sync failed", exc_info=sync.exception())
                waits = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                await asyncio.wait(
                    waits,
                    timeout=TERMINATING_RECHECK_SECONDS if self._terminating else RESYNC_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for w in waits:
                    w.cancel()
        finally:
            watcher.cancel()
            try:
                await watcher
            except (asyncio.CancelledError, Exception):
                pass

    async def _watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                rev = int((await self.namespaces.list("")).resource_version)
                async for ev in self.namespaces.watch("", rev):
                    self._active.pop(ev.object["metadata"].get("name", ""), None)
                    self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1.0)
            self._wake.set()

    async def sync_all(self) -> None:
        page = await self.namespaces.list("")
        terminating = False
        for ns in page.items:
            name = ns["metadata"]["name"]
            if ns["metadata"].get("deletionTimestamp"):
                terminating = True
                await self._finish_deletion(name)
            else:
                await self._ensure_service_account(name)
        self._terminating = terminating

    async def _ensure_service_account(self, namespace: str) -> None:
        try:
            await self.serviceaccounts.get(namespace, "default")
        except errors.NotFound:
            try:
                await self.serviceaccounts.create(namespace, {"metadata": {"name": "default"}})
            except (errors.AlreadyExists, errors.NotFound):
                pass
            except errors.StatusError as exc:
                if exc.code != 403:
                    raise

    async def _finish_deletion(self, namespace: str) -> None:
        remaining = 0
        for (_, plural), store in self.stores.items():
            if not store.resource.namespaced:
                continue
            page = await store.list(namespace)
            for obj in page.items:
                if obj["metadata"].get("deletionTimestamp"):
                    remaining += 1
                    continue
                try:
                    _, removed = await store.delete(
                        namespace, obj["metadata"]["name"], propagation="Background"
                    )
                except errors.NotFound:
                    continue
                if not removed:
                    remaining += 1
                # The sqlite backend never suspends: let requests (and a stop) in between
                # deletions, or a big namespace would hold the event loop for seconds.
                await asyncio.sleep(0)
            del plural
        if remaining:
            # Objects with finalizers are still going; the next pass checks again.
            return

        async def finalize(current: Obj | None) -> Obj:
            assert current is not None
            spec = current.setdefault("spec", {})
            spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != "kubernetes"]
            return current

        try:
            await self.namespaces.guaranteed_update("", namespace, finalize, subresource="finalize")
        except errors.NotFound:
            pass
        logger.info("namespace deleted", extra={"namespace": namespace})
