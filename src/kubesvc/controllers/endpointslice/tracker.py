"""What we last wrote, so a controller never acts on its own stale view (upstream's tracker).

A controller writes EndpointSlices and then reads them back from its informer
cache, which lags. ``EndpointSliceTracker`` remembers, per Service key, the
``metadata.generation`` of every slice this controller created or updated (the
API server bumps it on every change) and the slices it deleted:

* ``stale_slices(key, slices)``: the cache is behind if a slice we wrote shows
  an older generation, a slice we deleted is still there, or a slice we wrote
  is missing. The sync then fails and is retried after a back-off, by which
  time the cache has caught up.
* ``should_sync(slice)``: an informer event for a slice is news only if we did
  not write that generation ourselves (so our own writes do not requeue).
* ``handle_deletion(slice)``: a delete event for a slice we deleted is
  expected (returns True and forgets it); anything else means someone else
  deleted it and the Service must be synced again.

Plain state, no I/O; one instance per controller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubesvc.controllers.endpointslice.pods import meta

DELETION_EXPECTED = -1

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def slice_service_key(slice_: Mapping[str, Any]) -> str:
    """``namespace/<kubernetes.io/service-name>`` of a slice ("" without the label)."""
    m = meta(slice_)
    name = (m.get("labels") or {}).get(SERVICE_NAME_LABEL) or ""
    return f"{m.get('namespace') or ''}/{name}" if name else ""


def _uid(slice_: Mapping[str, Any]) -> str:
    return str(meta(slice_).get("uid") or "")


def _generation(slice_: Mapping[str, Any]) -> int:
    g = meta(slice_).get("generation")
    return g if isinstance(g, int) else 0


class EndpointSliceTracker:
    def __init__(self) -> None:
        self._by_service: dict[str, dict[str, int]] = {}

    def has(self, slice_: Mapping[str, Any]) -> bool:
        return _uid(slice_) in self._by_service.get(slice_service_key(slice_), {})

    def should_sync(self, slice_: Mapping[str, Any]) -> bool:
        g = self._by_service.get(slice_service_key(slice_), {}).get(_uid(slice_))
        return g is None or _generation(slice_) > g

    def stale_slices(self, service_key: str, slices: Iterable[Mapping[str, Any]]) -> bool:
        tracked = self._by_service.get(service_key)
        if not tracked:
            return False
        provided: set[str] = set()
        for s in slices:
            uid = _uid(s)
            provided.add(uid)
            g = tracked.get(uid)
            if g is not None and (g == DELETION_EXPECTED or g > _generation(s)):
                return True
        return any(g != DELETION_EXPECTED and uid not in provided for uid, g in tracked.items())

    def update(self, slice_: Mapping[str, Any]) -> None:
        """Record a slice as the API answered our create or update."""
        key = slice_service_key(slice_)
        if key:
            self._by_service.setdefault(key, {})[_uid(slice_)] = _generation(slice_)

    def expect_deletion(self, slice_: Mapping[str, Any]) -> None:
        key = slice_service_key(slice_)
        if key:
            self._by_service.setdefault(key, {})[_uid(slice_)] = DELETION_EXPECTED

    def handle_deletion(self, slice_: Mapping[str, Any]) -> bool:
        """Forget a deleted slice; False if it was ours and we had not deleted it."""
        key = slice_service_key(slice_)
        tracked = self._by_service.get(key)
        if tracked is None:
            return True
        g = tracked.pop(_uid(slice_), None)
        if not tracked:
            del self._by_service[key]
        return g is None or g == DELETION_EXPECTED

    def delete_service(self, service_key: str) -> None:
        self._by_service.pop(service_key, None)
