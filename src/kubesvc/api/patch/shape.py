"""What the schema says about the value at one position of an object.

Strategic merge patch and server-side apply walk an object and its patch side by
side; at every position they need the same three facts: is this a struct (known
fields), a map (any keys, one value type) or a list, and for a list how its items
merge. ``Shape`` answers from ``kubesvc.api.schema``: it is the schema ``Field``
that declared the value (``None`` when nothing is known, e.g. under a free-form
``object`` field or a field the schema lacks). The lookup is injectable so tests
can use a handful of fake definitions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

from kubesvc.api import schema
from kubesvc.api.schema import Definition, Field

SchemaLookup = Callable[[str], Definition | None]
Shape = Field | None
ListKind = Literal["atomic", "set", "map"]

default_lookup: SchemaLookup = schema.definition


def root(definition_name: str, lookup: SchemaLookup) -> Shape:
    """The shape of a whole object of ``definition_name`` (None if unknown)."""
    if not definition_name or lookup(definition_name) is None:
        return None
    return Field(name="", type="ref", ref=definition_name)


def element(shape: Field) -> Field:
    """The shape of one item of a list field or one value of a map field."""
    return dataclasses.replace(
        shape,
        array=False,
        map=False,
        patch_strategy="",
        merge_key="",
        list_type="",
        list_map_keys=(),
    )


def is_struct(shape: Shape) -> bool:
    return shape is not None and not shape.array and not shape.map and shape.type == "ref"


def is_map(shape: Shape) -> bool:
    return shape is not None and shape.map and not shape.array


def child(shape: Shape, key: str, lookup: SchemaLookup) -> Shape:
    """The shape of member ``key`` of the object-valued position ``shape``."""
    if shape is None or shape.array:
        return None
    if shape.map:
        return element(shape)
    if shape.type != "ref":
        return None
    definition = lookup(shape.ref)
    if definition is None:
        return None
    return definition.fields.get(key)


def declares(shape: Shape, key: str, lookup: SchemaLookup) -> bool:
    """True when ``key`` is a declared field of the struct at ``shape``."""
    if not is_struct(shape):
        return False
    assert shape is not None
    definition = lookup(shape.ref)
    return definition is not None and key in definition.fields


def item(shape: Shape) -> Shape:
    """The shape of the items of the list-valued position ``shape``."""
    if shape is None or not shape.array:
        return None
    return element(shape)


def is_atomic_object(shape: Shape, lookup: SchemaLookup) -> bool:
    """True for a map or struct that server-side apply sets and owns as a whole
    (``x-kubernetes-map-type: atomic``, e.g. a Service's selector, a LabelSelector)."""
    if shape is None or shape.array:
        return False
    if shape.map:
        return shape.map_type == "atomic"
    if shape.type != "ref":
        return False
    definition = lookup(shape.ref)
    return definition is not None and definition.struct_type == "atomic"


def strategies(shape: Shape) -> frozenset[str]:
    """The patch strategies declared for ``shape`` (``merge``, ``replace``, ``retainKeys``)."""
    if shape is None or not shape.patch_strategy:
        return frozenset()
    return frozenset(s.strip() for s in shape.patch_strategy.split(",") if s.strip())


def list_kind(shape: Shape) -> tuple[ListKind, tuple[str, ...]]:
    """How server-side apply treats a list: associative by keys, a set, or atomic.

    An explicit ``listType`` wins; otherwise ``patchStrategy: merge`` makes the
    list associative on its merge key, or a set when it has none (what
    kube-openapi's schema conversion does for built-in types).
    """
    if shape is None:
        return ("atomic", ())
    if shape.list_type == "map":
        keys = shape.list_map_keys or ((shape.merge_key,) if shape.merge_key else ())
        return ("map", keys) if keys else ("atomic", ())
    if shape.list_type == "set":
        return ("set", ())
    if shape.list_type == "atomic":
        return ("atomic", ())
    if "merge" in strategies(shape):
        if shape.merge_key:
            return ("map", (shape.merge_key,))
        return ("set", ())
    return ("atomic", ())
