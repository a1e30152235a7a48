"""The ``meta.k8s.io/v1`` Table: column definitions, printers and the table body.

A ``Printer`` is pure data plus two functions of one object: its cells (one per
column, in order) and, for pods only, the row conditions. The server always
sends every column (kube-apiserver prints "wide"); kubectl hides the columns
whose ``priority`` is not 0 unless asked for ``-o wide``.

``build_table`` is what the API server answers to an ``Accept: ...;as=Table``
request, for a list, a single object, or one watch event (one object, headers
only in the first event of the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubesvc.api.errors import BadRequest, go_quote
from kubesvc.apiserver.printers.timefmt import rfc3339

Obj = Mapping[str, Any]
Cell = str | int | bool | None

INCLUDE_NONE = "None"
INCLUDE_METADATA = "Metadata"
INCLUDE_OBJECT = "Object"


@dataclass(frozen=True, slots=True)
class Column:
    """One ``TableColumnDefinition``."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        """The JSON form, in Go's field order (no field is omitted)."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def _no_conditions(_obj: Obj) -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True, slots=True)
class Printer:
    """How one kind prints: its columns and the function that makes a row's cells.

    ``kind`` and ``api_version`` complete objects that lack them when the full
    object is put in a row (``includeObject=Object``).
    """

    columns: tuple[Column, ...]
    cells: Callable[[Obj, datetime], list[Cell]]
    conditions: Callable[[Obj], list[dict[str, Any]]] = _no_conditions
    kind: str = ""
    api_version: str = ""

    def row(self, obj: Obj, now: datetime) -> list[Cell]:
        """The cells of ``obj``'s row, one per column; ``now`` is the clock for ages."""
        return self.cells(obj, now)


# -- small readers for JSON objects ----------------------------------------


def dig(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or None where something is missing or not a map."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def text(value: Any) -> str:
    """A string field; absent (or not a string) reads as ``""`` like a Go zero value."""
    return value if isinstance(value, str) else ""


def number(value: Any, default: int = 0) -> int:
    """An integer field; absent reads as ``default``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def name_of(obj: Obj) -> str:
    return text(dig(obj, "metadata", "name"))


NAME_COLUMN = Column("Name", format="name", description="Name of the object, unique per namespace.")
AGE_COLUMN = Column("Age", description="Time elapsed since the object was created.")


# -- default printer (kinds without their own) ------------------------------


def _default_cells(obj: Obj, _now: datetime) -> list[Cell]:
    return [name_of(obj), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


DEFAULT_PRINTER = Printer(
    columns=(
        NAME_COLUMN,
        Column("Created At", type="date", description="When the object was created."),
    ),
    cells=_default_cells,
)


# -- the Table -------------------------------------------------------------


def _row_object(obj: Obj, include: str, printer: Printer) -> Any:
    if include == INCLUDE_NONE:
        return None
    if include == INCLUDE_OBJECT:
        full = dict(obj)
        if printer.kind and "kind" not in full:
            full = {"kind": printer.kind, "apiVersion": printer.api_version, **full}
        return full
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(as_map(obj.get("metadata"))),
    }


def build_table(
    printer: Printer,
    objs: Iterable[Obj],
    *,
    include_object: str = INCLUDE_METADATA,
    resource_version: str = "",
    continue_token: str = "",
    now: datetime,
    with_headers: bool = True,
    remaining_item_count: int | None = None,
) -> dict[str, Any]:
    """The ``Table`` for ``objs``, as kube-apiserver answers a Table request.

    * ``include_object``: ``Metadata`` (the default, also for ``""``) puts a
      ``PartialObjectMetadata`` in each row (kubectl reads namespace and labels
      from it), ``Object`` the whole object, ``None`` a null; anything else is a
      400 ``unrecognized includeObject value``.
    * ``resource_version``: the list's, or the object's own for a single object
      or a watch event; ``continue_token`` and ``remaining_item_count`` as in lists.
    * ``with_headers=False`` (watch events after the first) sends no column
      definitions, so kubectl keeps printing under the first header.
    """
    include = include_object or INCLUDE_METADATA
    if include not in (INCLUDE_NONE, INCLUDE_METADATA, INCLUDE_OBJECT):
        raise BadRequest(f"unrecognized includeObject value: {go_quote(include)}")
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    rows: list[dict[str, Any]] = []
    for obj in objs:
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        conditions = printer.conditions(obj)
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(obj, include, printer)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [c.definition() for c in printer.columns] if with_headers else [],
        "rows": rows,
    }
