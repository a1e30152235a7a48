"""JSON merge patch (RFC 7386), as the API server applies ``application/merge-patch+json``.

An object patch merges into the target member by member; ``null`` deletes a
member; any other value (lists included) replaces what is there. A patch that is
the JSON literal ``null`` is refused with 400 ``Invalid JSON Patch`` as the
apiserver does. ``create_merge_patch`` is the inverse: the smallest merge patch
that turns one document into another (it cannot express "set to null").
"""

from __future__ import annotations

from typing import Any

from .errors import PatchError
from .jsonvalue import deep_copy, json_equal


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply ``patch`` to a copy of ``target`` and return the result."""
    if patch is None:
        raise PatchError("Invalid JSON Patch", 400)
    return merge(deep_copy(target), patch)


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 ``MergePatch``; mutates and returns ``target`` when both are objects."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge(target.get(key), value)
    return target


def create_merge_patch(original: Any, modified: Any) -> Any:
    """A merge patch that turns ``original`` into ``modified``.

    ``None`` values inside ``modified`` objects cannot be expressed (null means
    delete) and are treated as absent.
    """
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return deep_copy(modified)
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified or modified[key] is None:
            patch[key] = None
    for key, new in modified.items():
        if new is None:
            continue
        if key not in original:
            patch[key] = _without_nulls(new)
            continue
        old = original[key]
        if isinstance(old, dict) and isinstance(new, dict):
            sub = create_merge_patch(old, new)
            if sub:
                patch[key] = sub
        elif not json_equal(old, new):
            patch[key] = _without_nulls(new)
    return patch


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return deep_copy(value)
