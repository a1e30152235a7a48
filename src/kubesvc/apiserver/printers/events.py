"""The core/v1 Event printer (``kubectl get events``).

LAST SEEN falls back to the first timestamp, which falls back to ``eventTime``;
an event series shows its last observation and count. A singleton event of the
newer API (no count) counts 1. OBJECT is ``<kind in lower case>/<name>``.
"""

from __future__ import annotations

from datetime import datetime

from kubesvc.apiserver.printers.table import (
    Cell,
    Column,
    Obj,
    Printer,
    as_map,
    name_of,
    number,
    text,
)
from kubesvc.apiserver.printers.timefmt import parse_timestamp, since


def event_source(event: Obj) -> str:
    """``formatEventSource``: ``component[, host]``, from ``source`` or the reporting fields."""
    source = as_map(event.get("source"))
    component = text(source.get("component")) or text(event.get("reportingComponent"))
    instance = text(source.get("host")) or text(event.get("reportingInstance"))
    return component if not instance else f"{component}, {instance}"


def _event_cells(event: Obj, now: datetime) -> list[Cell]:
    first_ts = event.get("firstTimestamp")
    first = since(first_ts if parse_timestamp(first_ts) else event.get("eventTime"), now)
    last_ts = event.get("lastTimestamp")
    last = since(last_ts, now) if parse_timestamp(last_ts) else first
    count = number(event.get("count"))
    series = event.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"), now)
        count = number(series.get("count"))
    elif count == 0:
        count = 1
    involved = as_map(event.get("involvedObject"))
    kind = text(involved.get("kind")).lower()
    target = f"{kind}/{text(involved.get('name'))}" if text(involved.get("name")) else kind
    return [
        last,
        text(event.get("type")),
        text(event.get("reason")),
        target,
        text(involved.get("fieldPath")),
        event_source(event),
        text(event.get("message")).strip(),
        first,
        count,
        name_of(event),
    ]


EVENT = Printer(
    columns=(
        Column("Last Seen", description="Time since the event was last seen."),
        Column("Type", description="Normal or Warning."),
        Column("Reason", description="Short, machine-readable cause of the event."),
        Column("Object", description="The object the event is about."),
        Column("Subobject", priority=1, description="Part of the object, such as a container."),
        Column("Source", priority=1, description="Component (and host) that reported the event."),
        Column("Message", description="What happened, for people."),
        Column("First Seen", priority=1, description="Time since the event was first seen."),
        Column("Count", priority=1, description="How many times the event happened."),
        Column("Name", priority=1, format="name", description="Name of the event object."),
    ),
    cells=_event_cells,
)
