"""Writing slice plans through the API, shared by the slice and mirroring controllers.

``apply_plan`` creates, then updates, then deletes, and records every answer in
the controller's ``EndpointSliceTracker`` (created and updated slices with the
generation the API gave them, deleted ones as expected deletions). A create
refused because the namespace is being deleted ends the write quietly: it will
keep failing until the namespace is gone, and then nothing is left to do.

``StaleCache`` is what a sync raises when the tracker says the informer cache
has not caught up with the controller's own writes. ``CacheWaits`` is how a
controller retries it: not with the exponential back-off of real failures (a
lagging cache under load would push the key out by seconds), but as soon as
the informer delivers an event for the object it waits on, with a retry after
``STALE_RETRY`` seconds should no event come.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kubesvc.api.errors import Forbidden, NotFound, StatusError
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.controllers.endpointslice.pods import meta
from kubesvc.controllers.endpointslice.tracker import EndpointSliceTracker, slice_service_key

Obj = dict[str, Any]

SLICES = resolve(("discovery.k8s.io/v1", "EndpointSlice"))
NAMESPACE_TERMINATING = "NamespaceTerminating"


STALE_RETRY = 1.0


class StaleCache(Exception):
    """The informer cache has not yet seen this controller's own last writes."""


class CacheWaits:
    """Keys whose sync waits for the informer cache to catch up."""

    def __init__(
        self, enqueue: Callable[[str], None], enqueue_after: Callable[[str, float], None]
    ) -> None:
        self._enqueue = enqueue
        self._enqueue_after = enqueue_after
        self._keys: set[str] = set()

    def wait(self, key: str) -> None:
        """``key`` found the cache stale: sync it again on news, or after a while."""
        self._keys.add(key)
        self._enqueue_after(key, STALE_RETRY)

    def news(self, key: str) -> None:
        """The cache changed for ``key``: if it was waiting, sync it now."""
        if key in self._keys:
            self._keys.discard(key)
            self._enqueue(key)


def namespace_terminating(exc: StatusError) -> bool:
    causes = (exc.details or {}).get("causes") or []
    return any(isinstance(c, dict) and c.get("reason") == NAMESPACE_TERMINATING for c in causes)


async def apply_plan(
    api: ApiClient,
    tracker: EndpointSliceTracker,
    namespace: str,
    create: Sequence[Obj] = (),
    update: Sequence[Obj] = (),
    delete: Sequence[Obj] = (),
) -> None:
    for s in create:
        try:
            created = await api.create(SLICES, s, namespace=namespace)
        except Forbidden as exc:
            if namespace_terminating(exc):
                return
            raise
        tracker.update(created)
    for s in update:
        tracker.update(await api.update(SLICES, s, namespace=namespace))
    for s in delete:
        try:
            await api.delete(SLICES, namespace, str(meta(s).get("name")))
        except NotFound:
            pass
        tracker.expect_deletion(s)


class SliceEvents:
    """Informer handlers for the slices a controller writes (only enqueue the owner's key).

    Shared by the EndpointSlice and the mirroring controller: a slice event tells the cache
    waits that news arrived, and enqueues its Service unless the tracker says the event is
    the echo of our own write.
    """

    def __init__(
        self,
        tracker: EndpointSliceTracker,
        cache_waits: CacheWaits,
        enqueue_key: Callable[[str], None],
    ) -> None:
        self.tracker = tracker
        self.cache_waits = cache_waits
        self._enqueue_key = enqueue_key

    def _enqueue(self, slice_: Obj) -> None:
        key = slice_service_key(slice_)
        if key:
            self._enqueue_key(key)

    def added(self, slice_: Obj) -> None:
        self.cache_waits.news(slice_service_key(slice_))
        if self.tracker.should_sync(slice_):
            self._enqueue(slice_)

    def updated(self, old: Obj, new: Obj) -> None:
        self.cache_waits.news(slice_service_key(new))
        if slice_service_key(old) != slice_service_key(new):
            self._enqueue(old)
            self._enqueue(new)
        elif self.tracker.should_sync(new):
            self._enqueue(new)

    def deleted(self, slice_: Obj) -> None:
        self.cache_waits.news(slice_service_key(slice_))
        if not (self.tracker.has(slice_) and self.tracker.handle_deletion(slice_)):
            self._enqueue(slice_)
