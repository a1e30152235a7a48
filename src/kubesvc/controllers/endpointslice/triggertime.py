"""The ``endpoints.kubernetes.io/last-change-trigger-time`` annotation's value.

Upstream's ``TriggerTimeTracker``: the time of the earliest change, since the
previous sync of a Service, that this sync is reacting to. Change times are the
pods' ``Ready`` condition ``lastTransitionTime`` and the Service's
``creationTimestamp``. A Service seen for the first time gets its creation time;
a sync that reacts to no recorded change gets ``None`` (the annotation is then
removed from what is written). Consumers (kube-proxy's latency metrics) read the
annotation to measure "pod became ready" to "proxy programmed".

State only, no I/O: one record per Service key, dropped with the Service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubesvc.controllers.endpointslice.pods import meta, ready_transition_time

ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"


def parse_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_rfc3339_nano(t: datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fractional seconds without trailing zeros."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += "." + f"{t.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass
class _State:
    pods: dict[str, datetime] = field(default_factory=dict)
    service: datetime | None = None


class TriggerTimeTracker:
    def __init__(self) -> None:
        self._states: dict[str, _State] = {}

    def compute(
        self, key: str, service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]
    ) -> datetime | None:
        """The trigger time for this sync of ``key``; records the times seen."""
        state = self._states.get(key)
        known = state is not None
        previous = state or _State()
        earliest: datetime | None = None
        seen: dict[str, datetime] = {}
        for pod in pods:
            t = parse_time(ready_transition_time(pod))
            if t is None:
                continue
            name = str(meta(pod).get("name") or "")
            seen[name] = t
            last = previous.pods.get(name)
            if last is None or t > last:
                earliest = t if earliest is None else min(earliest, t)
        created = parse_time(str(meta(service).get("creationTimestamp") or ""))
        if created is not None and (previous.service is None or created > previous.service):
            earliest = created if earliest is None else min(earliest, created)
        self._states[key] = _State(seen, created)
        if not known:
            return created
        return earliest

    def delete_service(self, key: str) -> None:
        self._states.pop(key, None)
