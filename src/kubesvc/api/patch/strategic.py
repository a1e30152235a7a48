"""Strategic merge patch, as the API server applies ``application/strategic-merge-patch+json``.

A strategic merge patch is a JSON merge patch whose list handling comes from the
schema (``kubesvc.api.schema``): a list field with ``patchStrategy: merge`` merges
its items instead of being replaced, by ``patchMergeKey`` for lists of objects and
as a set for lists of primitives. Semantics follow apimachinery's
``strategicpatch.StrategicMergeMapPatch``:

* maps merge recursively; ``null`` deletes a member; a value of another type
  replaces what is there; fields the schema does not know merge like JSON merge
  patch (maps recurse, lists are replaced);
* merging lists of objects: patch items are matched to live items by merge key
  and merged recursively; unmatched ones are added. Order: live items not in the
  patch keep their relative order, patch items keep the patch's order, and the
  two are interleaved by the live order where both are known (so a new item lands
  before the live items it cannot be placed among, as upstream does);
* merging lists of primitives: union without duplicates, ordered the same way.

Directives:

* ``$patch: replace`` in a map: the map becomes the patch's content; as an item of
  a merging list: the whole list becomes the patch's other items.
* ``$patch: delete`` in a map: the map is removed (upstream leaves ``{}``; we
  remove the field, which is what the design document promises); as an item of a
  merging list: live items with that merge key value are removed.
* ``$patch: merge`` in a map: the default, accepted and dropped (upstream rejects
  it); as a list item it is refused as upstream does.
* ``$retainKeys: [...]`` in a map: after the check that every non-null patch
  member is listed, live members not listed are cleared, then the patch merges.
* ``$deleteFromPrimitiveList/<field>: [...]``: those values leave the primitive list.
* ``$setElementOrder/<field>: [...]``: the final order of the list's items named
  there (live-only items are interleaved by live order); it is checked against the
  order of the patch list.

Differences from upstream besides ``$patch: delete`` on maps: directives inside a
value added where the live object had nothing (or something of another type) are
processed rather than stored verbatim, and a ``$deleteFromPrimitiveList`` for a
field the object lacks does nothing. Errors raise ``PatchError`` with upstream's
messages and the status code the apiserver would answer with (see ``errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Final

from . import shape as sh
from .errors import PatchError, go_format
from .jsonvalue import deep_copy, json_equal, scalar_key
from .shape import SchemaLookup, Shape

DIRECTIVE: Final = "$patch"
RETAIN_KEYS: Final = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER: Final = "$setElementOrder"

_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_BAD_ORDER_LIST = "invalid patch format of setElementOrder list"


class _Deleted:
    """What merging a map carrying ``$patch: delete`` produces."""


_DELETED: Final = _Deleted()

Key = Callable[[Any], Hashable]


def apply_strategic(
    original: dict[str, Any],
    patch: dict[str, Any],
    definition_name: str,
    lookup: SchemaLookup | None = None,
) -> dict[str, Any]:
    """Apply ``patch`` to a copy of ``original``, an object of ``definition_name``.

    ``definition_name`` names the schema definition of the whole object (e.g.
    ``io.k8s.api.core.v1.Service``); an unknown name gives plain merge semantics.
    """
    if not isinstance(patch, dict):
        kind = "array" if isinstance(patch, list) else "value"
        raise PatchError(
            f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}", 400
        )
    look = lookup or sh.default_lookup
    merger = _Merger(look)
    base = deep_copy(original) if isinstance(original, dict) else {}
    result = merger.merge_map(base, deep_copy(patch), sh.root(definition_name, look))
    return {} if isinstance(result, _Deleted) else result


def _suffix(key: str, prefix: str, error: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(error, 400)
    return rest


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    return "nil"


def _category(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def _no_merge_key(item: Any, merge_key: str) -> PatchError:
    return PatchError(
        f"map: {go_format(item)} does not contain declared merge key: {merge_key}", 500
    )


class _Merger:
    def __init__(self, lookup: SchemaLookup) -> None:
        self.lookup = lookup

    # -- maps -------------------------------------------------------------------------

    def merge_map(
        self, original: dict[str, Any], patch: dict[str, Any], shape: Shape
    ) -> dict[str, Any] | _Deleted:
        if DIRECTIVE in patch:
            directive = patch[DIRECTIVE]
            if directive == "delete":
                return _DELETED
            if directive == "replace":
                del patch[DIRECTIVE]
                return self.fresh_map(patch, shape)
            if directive != "merge":
                raise PatchError(
                    f"unknown patch type: {go_format(directive)} in map: {go_format(patch)}", 500
                )
            del patch[DIRECTIVE]

        self.retain_keys(original, patch)
        self.set_element_orders(original, patch, shape)

        deletions: list[tuple[str, Any]] = []
        for key, value in patch.items():
            if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
                field = _suffix(key, DELETE_FROM_PRIMITIVE_LIST, _BAD_PRIMITIVE_LIST)
                deletions.append((field, value))
                continue
            if value is None:
                original.pop(key, None)
                continue
            field_shape = sh.child(shape, key, self.lookup)
            current = original.get(key, _DELETED)
            if current is _DELETED or _category(current) != _category(value):
                merged: Any = self.fresh(value, field_shape)
            elif isinstance(value, dict):
                if "replace" in sh.strategies(field_shape):
                    merged = self.fresh_map(value, field_shape)
                else:
                    merged = self.merge_map(current, value, field_shape)
            elif isinstance(value, list):
                merged = self.merge_list(current, value, field_shape)
            else:
                merged = value
            if isinstance(merged, _Deleted):
                original.pop(key, None)
            else:
                original[key] = merged

        for field, values in deletions:
            if not isinstance(values, list):
                raise PatchError(_BAD_PRIMITIVE_LIST, 400)
            current = original.get(field)
            if isinstance(current, list):
                drop = {scalar_key(v) for v in values}
                original[field] = [v for v in current if scalar_key(v) not in drop]
        return original

    def fresh_map(self, patch: dict[str, Any], shape: Shape) -> dict[str, Any] | _Deleted:
        return self.merge_map({}, patch, shape)

    def fresh(self, value: Any, shape: Shape) -> Any:
        """``value`` with its directives carried out, as if nothing was there before."""
        if isinstance(value, dict):
            return self.fresh_map(value, shape)
        if isinstance(value, list):
            return self.merge_list([], value, shape)
        return value

    def retain_keys(self, original: dict[str, Any], patch: dict[str, Any]) -> None:
        if RETAIN_KEYS not in patch:
            return
        keys = patch.pop(RETAIN_KEYS)
        if not isinstance(keys, list):
            raise PatchError(_BAD_RETAIN_KEYS, 400)
        allowed = {k for k in keys if isinstance(k, str)}
        for key, value in patch.items():
            if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
                continue
            if key not in allowed:
                raise PatchError(_BAD_RETAIN_KEYS, 400)
        for key in [k for k in original if k not in allowed]:
            del original[key]

    def set_element_orders(
        self, original: dict[str, Any], patch: dict[str, Any], shape: Shape
    ) -> None:
        for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
            order = patch.pop(key)
            field = _suffix(key, SET_ELEMENT_ORDER, _BAD_ORDER_LIST)
            if not isinstance(order, list):
                raise PatchError(_BAD_ORDER_LIST, 400)
            if field in patch and patch[field] is None:
                continue  # the field is being deleted; nothing to order
            live = original.get(field)
            wanted = patch.get(field)
            for value in (live, wanted):
                if value is not None and not isinstance(value, list):
                    raise PatchError(
                        f"expected a []interface {{}}, but received a {_go_type(value)}", 500
                    )
            field_shape = sh.child(shape, field, self.lookup)
            merge_key = field_shape.merge_key if field_shape is not None else ""
            self.check_order(wanted or [], order, merge_key)
            if live is not None and wanted is not None:
                merged = self.merge_list(live, wanted, field_shape)
            elif wanted is not None:
                merged = self.merge_list([], wanted, field_shape)
            elif live is not None:
                merged = live
            else:
                continue
            original[field] = self.reorder(merged, order, live or [], merge_key)
            patch.pop(field, None)

    # -- lists ------------------------------------------------------------------------

    def merge_list(self, original: list[Any], patch: list[Any], shape: Shape) -> list[Any]:
        if "merge" not in sh.strategies(shape):
            return patch
        if not original and not patch:
            return original
        kind = self.element_kind(original, patch)
        item_shape = sh.item(shape)
        if kind == "scalar":
            merged = _dedup([*original, *patch])
            return _interleave(merged, patch, original, scalar_key)
        assert shape is not None
        merge_key = shape.merge_key
        if not merge_key:
            raise PatchError("cannot merge lists without merge key for type map", 500)
        live, wanted = self.special_items(original, patch, merge_key, item_shape)
        merged = list(live)
        for entry in wanted:
            if merge_key not in entry:
                raise _no_merge_key(entry, merge_key)
            at = _find(merged, merge_key, entry[merge_key])
            if at is None:
                fresh = self.fresh_map(entry, item_shape)
                if not isinstance(fresh, _Deleted):
                    merged.append(fresh)
                continue
            result = self.merge_map(merged[at], entry, item_shape)
            if isinstance(result, _Deleted):
                del merged[at]
            else:
                merged[at] = result
        return _interleave(merged, wanted, live, _by_key(merge_key))

    def element_kind(self, *lists: list[Any]) -> str:
        kinds = set()
        for values in lists:
            for value in values:
                if isinstance(value, list):
                    raise PatchError("lists of lists are not supported", 422)
                kinds.add("map" if isinstance(value, dict) else "scalar")
        if len(kinds) > 1:
            raise PatchError(f"list element types are not identical: {go_format(list(lists))}", 500)
        return kinds.pop() if kinds else "scalar"

    def special_items(
        self, original: list[Any], patch: list[Any], merge_key: str, item_shape: Shape
    ) -> tuple[list[Any], list[Any]]:
        """Carry out ``$patch`` items; return (live items left, ordinary patch items)."""
        ordinary: list[Any] = []
        replace = False
        for entry in patch:
            if DIRECTIVE not in entry:
                ordinary.append(entry)
                continue
            directive = entry[DIRECTIVE]
            if directive == "delete":
                if merge_key not in entry:
                    raise _no_merge_key(entry, merge_key)
                original = [o for o in original if not _same_item(o, entry, merge_key)]
            elif directive == "replace":
                replace = True
            elif directive == "merge":
                raise PatchError("merging lists cannot yet be specified in the patch", 500)
            else:
                raise PatchError(
                    f"unknown patch type: {go_format(directive)} in map: {go_format(entry)}", 500
                )
        if replace:
            items = [self.fresh_map(e, item_shape) for e in ordinary]
            return [i for i in items if not isinstance(i, _Deleted)], []
        return original, ordinary

    def check_order(self, patch: list[Any], order: list[Any], merge_key: str) -> None:
        """The patch list's items must appear in ``$setElementOrder`` in the same order."""
        if not patch or not order:
            return
        if merge_key:
            for entry in patch:
                if not isinstance(entry, dict):
                    raise PatchError(
                        f"expected a map[string]interface {{}}, but received a {_go_type(entry)}",
                        500,
                    )
            items = [e for e in patch if e.get(DIRECTIVE) != "delete"]
        else:
            items = patch
        i = j = 0
        while i < len(items) and j < len(order):
            entry = items[i]
            if isinstance(entry, dict) and DIRECTIVE in entry:
                i += 1
                continue
            if _same_key(entry, order[j], merge_key):
                i += 1
            j += 1
        if i < len(items):
            raise PatchError(
                f"The order in patch list:\n{go_format(patch)}\n doesn't match "
                f"{SET_ELEMENT_ORDER} list:\n{go_format(order)}\n",
                500,
            )

    def reorder(
        self, merged: list[Any], order: list[Any], live: list[Any], merge_key: str
    ) -> list[Any]:
        if merge_key:
            key = _by_key(merge_key)
        elif any(isinstance(m, dict) for m in merged):
            return merged  # maps without a merge key cannot be matched to the order list
        else:
            key = scalar_key
        return _interleave(merged, order, live, key)


def _same_key(a: Any, b: Any, merge_key: str) -> bool:
    if not merge_key:
        return json_equal(a, b)
    for side in (a, b):
        if not isinstance(side, dict):
            raise PatchError(
                f"expected a map[string]interface {{}}, but received a {_go_type(side)}", 500
            )
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return json_equal(a[merge_key], b[merge_key])


def _same_item(item: Any, entry: dict[str, Any], merge_key: str) -> bool:
    if not isinstance(item, dict) or merge_key not in item:
        return False
    return json_equal(item[merge_key], entry[merge_key])


def _by_key(merge_key: str) -> Key:
    def key(item: Any) -> Hashable:
        if isinstance(item, dict) and merge_key in item:
            return scalar_key(item[merge_key])
        return ("missing", id(item))

    return key


def _find(items: list[Any], merge_key: str, value: Any) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and merge_key in item and json_equal(item[merge_key], value):
            return i
    return None


def _dedup(values: list[Any]) -> list[Any]:
    seen: set[Hashable] = set()
    out = []
    for v in values:
        k = scalar_key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _positions(items: list[Any], key: Key) -> dict[Hashable, int]:
    out: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        out.setdefault(key(item), i)
    return out


def _interleave(merged: list[Any], patch_order: list[Any], live: list[Any], key: Key) -> list[Any]:
    """Order ``merged``: items named in ``patch_order`` in that order, the rest in live
    order, the two sequences interleaved by live position where both items have one
    (upstream's ``normalizeElementOrder``)."""
    wanted = _positions(patch_order, key)
    server = _positions(live, key)
    from_patch = [m for m in merged if key(m) in wanted]
    server_only = [m for m in merged if key(m) not in wanted]
    from_patch.sort(key=lambda m: wanted[key(m)])
    server_only.sort(key=lambda m: server.get(key(m), len(server)))
    out: list[Any] = []
    i = j = 0
    while i < len(server_only) and j < len(from_patch):
        left = server.get(key(server_only[i]))
        right = server.get(key(from_patch[j]))
        if left is not None and right is not None and left < right:
            out.append(server_only[i])
            i += 1
        else:
            out.append(from_patch[j])
            j += 1
    out.extend(server_only[i:])
    out.extend(from_patch[j:])
    return out
