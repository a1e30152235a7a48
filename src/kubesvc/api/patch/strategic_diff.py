"""Creating strategic merge patches: the two-way diff kubectl's apply computes.

``create_two_way_merge_patch(original, modified, definition_name)`` returns a
patch that ``apply_strategic`` turns ``original`` into ``modified`` with, built as
apimachinery's ``CreateTwoWayMergePatch`` does:

* new or changed members are set, removed members become ``null``;
* merging lists of objects list added and changed items (changed ones reduced to
  their difference plus the merge key), then ``{"<key>": v, "$patch": "delete"}``
  for removed ones, and ``$setElementOrder/<field>`` with the full order when
  anything changed;
* merging lists of primitives list added values, removed values go to
  ``$deleteFromPrimitiveList/<field>``, and ``$setElementOrder/<field>`` carries
  the new order;
* other lists are replaced whole when they differ;
* maps whose field has the ``retainKeys`` strategy get ``$retainKeys`` (the
  members to keep, sorted) when the patch touches them or drops a member.
"""

from __future__ import annotations

from typing import Any

from . import shape as sh
from .errors import PatchError, go_format
from .jsonvalue import deep_copy, json_equal, scalar_key
from .shape import SchemaLookup, Shape
from .strategic import DELETE_FROM_PRIMITIVE_LIST, DIRECTIVE, RETAIN_KEYS, SET_ELEMENT_ORDER


def create_two_way_merge_patch(
    original: dict[str, Any],
    modified: dict[str, Any],
    definition_name: str,
    lookup: SchemaLookup | None = None,
) -> dict[str, Any]:
    """The strategic merge patch from ``original`` to ``modified``."""
    look = lookup or sh.default_lookup
    return _Differ(look).diff_maps(original, modified, sh.root(definition_name, look), False)


def _go_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Differ:
    def __init__(self, lookup: SchemaLookup) -> None:
        self.lookup = lookup

    def diff_maps(
        self, original: dict[str, Any], modified: dict[str, Any], shape: Shape, retain: bool
    ) -> dict[str, Any]:
        patch: dict[str, Any] = {}
        for key, new in modified.items():
            if key not in original:
                patch[key] = deep_copy(new)
                continue
            old = original[key]
            field_shape = sh.child(shape, key, self.lookup)
            if isinstance(old, dict) and isinstance(new, dict):
                strategies = sh.strategies(field_shape)
                if "replace" in strategies:
                    if not json_equal(old, new):
                        patch[key] = deep_copy(new)
                    continue
                sub = self.diff_maps(old, new, field_shape, "retainKeys" in strategies)
                if sub:
                    patch[key] = sub
            elif isinstance(old, list) and isinstance(new, list):
                self.diff_lists(key, old, new, field_shape, patch)
            elif not json_equal(old, new):
                patch[key] = deep_copy(new)
        for key in original:
            if key not in modified:
                patch[key] = None
        if retain:
            keep = [k for k, v in modified.items() if v is not None]
            dropped = any(v is not None and k not in modified for k, v in original.items())
            if keep and (patch or dropped):
                patch[RETAIN_KEYS] = sorted(keep)
        return patch

    def diff_lists(
        self, key: str, old: list[Any], new: list[Any], shape: Shape, patch: dict[str, Any]
    ) -> None:
        strategies = sh.strategies(shape)
        if "merge" not in strategies:
            if not json_equal(old, new):
                patch[key] = deep_copy(new)
            return
        if not old:
            if new:
                patch[key] = deep_copy(new)
            return
        items = [*old, *new]
        if any(isinstance(v, list) for v in items):
            raise PatchError("lists of lists are not supported", 422)
        if any(isinstance(v, dict) for v in items):
            assert shape is not None
            self.diff_object_lists(key, old, new, shape, "retainKeys" in strategies, patch)
        else:
            self.diff_scalar_lists(key, old, new, patch)

    def diff_scalar_lists(
        self, key: str, old: list[Any], new: list[Any], patch: dict[str, Any]
    ) -> None:
        old_keys = {scalar_key(v) for v in old}
        new_keys = {scalar_key(v) for v in new}
        added = [v for v in new if scalar_key(v) not in old_keys]
        deleted: list[Any] = []
        for v in old:
            if scalar_key(v) not in new_keys and all(not json_equal(v, d) for d in deleted):
                deleted.append(v)
        if added:
            patch[key] = added
        if deleted:
            patch[f"{DELETE_FROM_PRIMITIVE_LIST}/{key}"] = sorted(deleted, key=_go_string)
        if deleted or not json_equal(old, new):
            patch[f"{SET_ELEMENT_ORDER}/{key}"] = deep_copy(new)

    def diff_object_lists(
        self,
        key: str,
        old: list[Any],
        new: list[Any],
        shape: Shape,
        retain: bool,
        patch: dict[str, Any],
    ) -> None:
        assert shape is not None
        merge_key = shape.merge_key
        if not merge_key:
            raise PatchError("cannot merge lists without merge key for type map", 500)
        for item in [*old, *new]:
            if not isinstance(item, dict) or merge_key not in item:
                raise PatchError(
                    f"map: {go_format(item)} does not contain declared merge key: {merge_key}", 500
                )
        item_shape = sh.item(shape)
        old_by_key = {scalar_key(o[merge_key]): o for o in old}
        new_keys = {scalar_key(n[merge_key]) for n in new}
        changes: list[Any] = []
        for item in new:
            before = old_by_key.get(scalar_key(item[merge_key]))
            if before is None:
                changes.append(deep_copy(item))
                continue
            sub = self.diff_maps(before, item, item_shape, retain)
            if sub:
                sub[merge_key] = deep_copy(item[merge_key])
                changes.append(sub)
        deletions = [
            {merge_key: deep_copy(o[merge_key]), DIRECTIVE: "delete"}
            for o in old
            if scalar_key(o[merge_key]) not in new_keys
        ]
        same_order = len(old) == len(new) and all(
            json_equal(o[merge_key], n[merge_key]) for o, n in zip(old, new, strict=True)
        )
        listed = changes + deletions
        if listed:
            patch[key] = listed
        if listed or not same_order:
            order = [{merge_key: deep_copy(n[merge_key])} for n in new]
            patch[f"{SET_ELEMENT_ORDER}/{key}"] = order
