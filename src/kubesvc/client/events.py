"""Recording core/v1 Events about objects, as controllers do to explain themselves.

``EventRecorder.event(obj, type, reason, message)`` writes an Event whose
``involvedObject`` points at ``obj``, stamped with ``source.component`` (and
``reportingComponent``) of the recorder. Repeats of an identical event (same
object, type, reason, message and source) do not create new objects: the
first Event's ``count`` goes up and its ``lastTimestamp`` moves, as client-go's
event logger does; ``firstTimestamp`` stays. The recorder remembers the last
``cache_size`` distinct events (oldest forgotten first). If the remembered
Event was deleted meanwhile, it is created again with the count it reached.

Recording is best effort: a failed write is logged, never raised, so a
controller's sync never fails because of its events.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesvc.api.errors import NotFound, StatusError
from kubesvc.client.errors import ClientError
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.util.clock import Clock, RealClock

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

NORMAL = "Normal"
WARNING = "Warning"
EVENTS = resolve(("v1", "Event"))


def rfc3339(t: datetime) -> str:
    """Second precision with a Z, as ``metav1.Time`` serializes."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def object_reference(obj: Mapping[str, Any]) -> Obj:
    """The ``involvedObject`` of an event about ``obj``."""
    meta = obj.get("metadata") or {}
    ref: Obj = {}
    for out, value in (
        ("kind", obj.get("kind")),
        ("namespace", meta.get("namespace")),
        ("name", meta.get("name")),
        ("uid", meta.get("uid")),
        ("apiVersion", obj.get("apiVersion")),
        ("resourceVersion", meta.get("resourceVersion")),
    ):
        if value:
            ref[out] = value
    return ref


@dataclass(slots=True)
class _Seen:
    namespace: str
    name: str
    count: int
    first: str


class EventRecorder:
    def __init__(
        self,
        api: ApiClient,
        component: str,
        *,
        host: str = "",
        clock: Clock | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.api = api
        self.component = component
        self.host = host
        self.clock: Clock = clock or RealClock()
        self.cache_size = cache_size
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self._last_nanos = 0

    async def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> Obj | None:
        return await self.event(obj, NORMAL, reason, message)

    async def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> Obj | None:
        return await self.event(obj, WARNING, reason, message)

    async def event(
        self, obj: Mapping[str, Any], event_type: str, reason: str, message: str
    ) -> Obj | None:
        """Record one occurrence; returns the Event as stored, or None if writing failed."""
        if event_type not in (NORMAL, WARNING):
            raise ValueError(f"event type must be Normal or Warning, not {event_type!r}")
        ref = object_reference(obj)
        key = self._key(ref, event_type, reason, message)
        now = self.clock.now()
        stamp = rfc3339(now)
        seen = self._seen.get(key)
        try:
            if seen is not None:
                self._seen.move_to_end(key)
                seen.count += 1
                return await self._bump(seen, ref, event_type, reason, message, stamp)
            event = self._make(ref, event_type, reason, message, now)
            created = await self.api.create(EVENTS, event)
        except (StatusError, ClientError) as exc:
            logger.warning(
                "event not recorded reason=%s object=%s error=%s", reason, ref.get("name"), exc
            )
            return None
        meta = created.get("metadata") or event["metadata"]
        self._remember(key, _Seen(meta["namespace"], meta["name"], 1, stamp))
        return created

    async def _bump(
        self, seen: _Seen, ref: Obj, event_type: str, reason: str, message: str, stamp: str
    ) -> Obj:
        patch = {"count": seen.count, "lastTimestamp": stamp, "message": message}
        try:
            return await self.api.patch(
                EVENTS, seen.namespace, seen.name, patch, patch_type="strategic"
            )
        except NotFound:
            event = self._event_body(ref, event_type, reason, message, seen.name, seen.namespace)
            event.update(firstTimestamp=seen.first, lastTimestamp=stamp, count=seen.count)
            return await self.api.create(EVENTS, event)

    def _key(self, ref: Obj, event_type: str, reason: str, message: str) -> tuple[str, ...]:
        return (
            self.component,
            self.host,
            str(ref.get("kind", "")),
            str(ref.get("namespace", "")),
            str(ref.get("name", "")),
            str(ref.get("uid", "")),
            str(ref.get("apiVersion", "")),
            event_type,
            reason,
            message,
        )

    def _remember(self, key: tuple[str, ...], seen: _Seen) -> None:
        self._seen[key] = seen
        while len(self._seen) > self.cache_size:
            self._seen.popitem(last=False)

    def _make(self, ref: Obj, event_type: str, reason: str, message: str, now: datetime) -> Obj:
        # client-go names events "<object name>.<unix nanoseconds in hex>".
        # The clock gives microseconds: two events of one object in the same microsecond
        # (or on a clock that stands still) would share a name, so stamps only go forward.
        nanos = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
        nanos = self._last_nanos = max(nanos, self._last_nanos + 1)
        name = f"{ref.get('name', '')}.{nanos:x}"
        namespace = str(ref.get("namespace") or "default")
        event = self._event_body(ref, event_type, reason, message, name, namespace)
        stamp = rfc3339(now)
        event.update(firstTimestamp=stamp, lastTimestamp=stamp, count=1)
        return event

    def _event_body(
        self, ref: Obj, event_type: str, reason: str, message: str, name: str, namespace: str
    ) -> Obj:
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": source,
            "type": event_type,
            "reportingComponent": self.component,
        }
        if self.host:
            event["reportingInstance"] = self.host
        return event
