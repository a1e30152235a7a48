"""Fields an applied configuration names that its schema does not declare.

Server-side apply first turns the applied configuration into a typed value
(structured-merge-diff's ``ObjectToTyped``). A field the schema does not declare
fails that step whatever ``fieldValidation`` says, and upstream answers with the
plain error it got, a 500 without a reason (one line)::

    failed to create typed patch object (default/web; /v1, Kind=Service):
    .spec.foo: field not declared in schema

Several such fields are listed one per line under ``errors:``. Paths use
structured-merge-diff's notation: ``.spec.ports[port=80,protocol="TCP"].nodeport``
for an item of a keyed list, ``[0]`` for an atomic list, ``.metadata.labels.app``
for a map entry. The walk stops at an undeclared field (its contents are not
examined) and reports in document order.
"""

from __future__ import annotations

from typing import Any

from . import fieldpath as fp
from . import shape as sh
from .errors import PatchError
from .fieldpath import Path
from .shape import Shape
from .typed import Walker, typed_error

NOT_DECLARED = "field not declared in schema"


def undeclared_paths(obj: Any, shape: Shape, walker: Walker) -> list[Path]:
    """Paths of the undeclared fields in ``obj`` (an object whose schema is ``shape``)."""
    out: list[Path] = []
    _walk((), obj, shape, walker, out)
    return out


def _walk(path: Path, value: Any, shape: Shape, walker: Walker, out: list[Path]) -> None:
    if shape is None:
        return
    lookup = walker.lookup
    if isinstance(value, dict) and not shape.array:
        struct = sh.is_struct(shape)
        if not struct and not sh.is_map(shape):
            return
        for name, child in value.items():
            child_path = (*path, fp.field(name))
            if struct and not sh.declares(shape, name, lookup):
                out.append(child_path)
                continue
            _walk(child_path, child, sh.child(shape, name, lookup), walker, out)
        return
    if isinstance(value, list) and shape.array:
        item_shape = sh.item(shape)
        kind, _ = sh.list_kind(shape)
        if kind == "atomic":
            for position, item in enumerate(value):
                _walk((*path, fp.index(position)), item, item_shape, walker, out)
            return
        for pe, item in walker.index_items(value, shape, path).items():
            _walk((*path, pe), item, item_shape, walker, out)


def undeclared_error(applied: dict[str, Any], paths: list[Path]) -> PatchError:
    """The 500 upstream answers for an applied configuration with undeclared fields."""
    lines = [f"{fp.path_string(p)}: {NOT_DECLARED}" for p in paths]
    detail = lines[0] if len(lines) == 1 else "\n  ".join(["errors:", *lines])
    return typed_error(applied, detail)
