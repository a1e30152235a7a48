"""Schema-aware walks over objects for server-side apply: field sets, diffs, merge, removal.

These are the four operations structured-merge-diff performs on typed values,
over plain dicts and the ``shape`` view of the schema:

* ``field_set(obj)``: the paths an applied configuration sets (its leaves, the
  items of associative lists and sets, map entries, and empty or null members);
* ``compare(old, new)``: which paths were added, modified or removed; an added or
  removed subtree lists every node in it, a changed leaf (scalar or atomic list)
  only itself;
* ``merge(live, config)``: the configuration laid over the live object: maps and
  structs recurse, associative lists merge item by item on their keys, sets
  union, atomic lists and scalars are replaced, ``null`` removes;
* ``remove(obj, paths)``: drop those fields or list items.

List items are addressed by ``shape.list_kind``: associative lists by their key
fields (a missing ``protocol`` key counts as its default ``TCP``, as the
published schema's default makes it upstream), sets by value, atomic lists by
index. Maps and structs are granular (their members are owned one by one) unless
the schema marks them atomic (``mapType``/``structType: atomic``), in which case
they are owned, compared and replaced whole like a scalar.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Final

from . import fieldpath as fp
from . import shape as sh
from .errors import PatchError
from .fieldpath import Path, PathElement
from .jsonvalue import deep_copy, json_equal
from .shape import SchemaLookup, Shape

KEY_DEFAULTS: Final[dict[str, Any]] = {"protocol": "TCP"}
"""Defaults of list-map key fields, applied when an item omits the key."""


class _Absent:
    pass


ABSENT: Final = _Absent()


class MissingKeyError(Exception):
    """An associative list item lacks one of the list's key fields."""

    def __init__(self, path: Path, position: int, key_name: str) -> None:
        super().__init__(
            f"{fp.path_string(path)}: element {position}: associative list with keys has an "
            f'element that omits key field "{key_name}" (and doesn\'t have default value)'
        )


def item_element(item: Any, position: int, kind: str, keys: tuple[str, ...]) -> PathElement | None:
    """The path element naming ``item`` in its list; None when a key field is missing."""
    if kind == "set":
        return fp.value(item)
    if kind == "map":
        if not isinstance(item, dict):
            return None
        fields: list[tuple[str, Any]] = []
        for name in keys:
            if item.get(name) is not None:
                fields.append((name, item[name]))
            elif name in KEY_DEFAULTS:
                fields.append((name, KEY_DEFAULTS[name]))
            else:
                return None
        return fp.key(fields)
    return fp.index(position)


class Walker:
    """The four walks, bound to one schema lookup."""

    def __init__(self, lookup: SchemaLookup) -> None:
        self.lookup = lookup

    # -- list items ------------------------------------------------------------------

    def index_items(
        self, items: list[Any], shape: Shape, path: Path, *, strict: bool = False
    ) -> dict[PathElement, Any]:
        """Items of a non-atomic list by path element (the first of duplicates wins)."""
        kind, keys = sh.list_kind(shape)
        out: dict[PathElement, Any] = {}
        for position, item in enumerate(items):
            pe = item_element(item, position, kind, keys)
            if pe is None:
                if strict:
                    missing = next(
                        (k for k in keys if k not in KEY_DEFAULTS and _lacks(item, k)),
                        keys[0] if keys else "",
                    )
                    raise MissingKeyError(path, position, missing)
                pe = fp.index(position)
            out.setdefault(pe, item)
        return out

    # -- field sets ------------------------------------------------------------------

    def field_set(self, obj: Any, shape: Shape, *, strict: bool = True) -> set[Path]:
        """The paths an applied configuration sets.

        When ``strict``, an associative list item without its key raises
        ``MissingKeyError``; otherwise it is addressed by index.
        """
        out: set[Path] = set()
        self._collect((), obj, shape, out, strict)
        return out

    def _collect(self, path: Path, value: Any, shape: Shape, out: set[Path], strict: bool) -> None:
        if isinstance(value, dict) and sh.is_atomic_object(shape, self.lookup):
            if path:
                out.add(path)
            return
        if isinstance(value, dict):
            for name, child in value.items():
                child_path = (*path, fp.field(name))
                self._collect(child_path, child, sh.child(shape, name, self.lookup), out, strict)
                if (
                    child is None
                    or (isinstance(child, dict) and not child)
                    or not sh.declares(shape, name, self.lookup)
                ):
                    out.add(child_path)
            return
        if isinstance(value, list):
            kind, _ = sh.list_kind(shape)
            if kind == "atomic":
                if path:
                    out.add(path)
                return
            item_shape = sh.item(shape)
            for pe, item in self.index_items(value, shape, path, strict=strict).items():
                item_path = (*path, pe)
                self._collect(item_path, item, item_shape, out, strict)
                out.add(item_path)
            return
        if path and value is not None:
            out.add(path)

    def with_named_ancestors(self, paths: Iterable[Path], shape: Shape) -> set[Path]:
        """``paths`` plus every ancestor that is a declared struct field.

        Upstream's ``EnsureNamedFieldsAreMembers``: owning ``.spec.strategy.type``
        also counts as owning ``.spec.strategy`` and ``.spec`` (but not a map entry
        or list item above it) when deciding what to prune.
        """
        out = set(paths)
        for path in list(out):
            node_shape = shape
            for n, pe in enumerate(path[:-1]):
                if pe[0] == "f":
                    if sh.declares(node_shape, pe[1], self.lookup):
                        out.add(path[: n + 1])
                    node_shape = sh.child(node_shape, pe[1], self.lookup)
                else:
                    node_shape = sh.item(node_shape)
        return out

    # -- compare ---------------------------------------------------------------------

    def compare(self, old: Any, new: Any, shape: Shape) -> tuple[set[Path], set[Path], set[Path]]:
        """(added, modified, removed) paths going from ``old`` to ``new``."""
        diff: tuple[set[Path], set[Path], set[Path]] = (set(), set(), set())
        self._compare((), old, new, shape, diff)
        return diff

    def _compare(
        self,
        path: Path,
        old: Any,
        new: Any,
        shape: Shape,
        diff: tuple[set[Path], set[Path], set[Path]],
    ) -> None:
        added, modified, removed = diff
        old = ABSENT if old is None else old
        new = ABSENT if new is None else new
        present = [v for v in (old, new) if not isinstance(v, _Absent)]
        if not present:
            return
        granular = False
        if all(isinstance(v, dict) for v in present) and not sh.is_atomic_object(
            shape, self.lookup
        ):
            granular = True
            old_map = old if isinstance(old, dict) else {}
            new_map = new if isinstance(new, dict) else {}
            for name in [*old_map, *(k for k in new_map if k not in old_map)]:
                self._compare(
                    (*path, fp.field(name)),
                    old_map.get(name, ABSENT),
                    new_map.get(name, ABSENT),
                    sh.child(shape, name, self.lookup),
                    diff,
                )
        elif all(isinstance(v, list) for v in present) and sh.list_kind(shape)[0] != "atomic":
            granular = True
            old_items = self.index_items(old, shape, path) if isinstance(old, list) else {}
            new_items = self.index_items(new, shape, path) if isinstance(new, list) else {}
            item_shape = sh.item(shape)
            for pe in [*old_items, *(p for p in new_items if p not in old_items)]:
                self._compare(
                    (*path, pe),
                    old_items.get(pe, ABSENT),
                    new_items.get(pe, ABSENT),
                    item_shape,
                    diff,
                )
        if not path:
            return
        if isinstance(old, _Absent):
            added.add(path)
        elif isinstance(new, _Absent):
            removed.add(path)
        elif not granular and not json_equal(old, new):
            modified.add(path)

    # -- merge -----------------------------------------------------------------------

    def merge(self, live: Any, config: Any, shape: Shape, path: Path = ()) -> Any:
        """``config`` laid over ``live`` (both consumed; pass copies)."""
        atomic = sh.is_atomic_object(shape, self.lookup)
        if isinstance(live, dict) and isinstance(config, dict) and not atomic:
            for name, value in config.items():
                if value is None:
                    live.pop(name, None)
                elif name in live:
                    live[name] = self.merge(
                        live[name],
                        value,
                        sh.child(shape, name, self.lookup),
                        (*path, fp.field(name)),
                    )
                else:
                    live[name] = _without_nulls(value)
            return live
        if isinstance(live, list) and isinstance(config, list):
            if sh.list_kind(shape)[0] == "atomic":
                return config
            return self._merge_items(live, config, shape, path)
        return _without_nulls(config)

    def _merge_items(
        self, live: list[Any], config: list[Any], shape: Shape, path: Path
    ) -> list[Any]:
        left = self.index_items(live, shape, path)
        right = self.index_items(config, shape, path, strict=True)
        item_shape = sh.item(shape)
        out: list[Any] = []
        done: set[Hashable] = set()

        def emit(pe: PathElement) -> None:
            done.add(pe)
            if pe in right and pe in left:
                out.append(self.merge(left[pe], right[pe], item_shape, (*path, pe)))
            elif pe in right:
                out.append(_without_nulls(right[pe]))
            else:
                out.append(left[pe])

        lkeys, rkeys = list(left), list(right)
        i = j = 0
        while i < len(lkeys) or j < len(rkeys):
            if i < len(lkeys) and lkeys[i] in done:
                i += 1
            elif j < len(rkeys) and rkeys[j] in done:
                j += 1
            elif i < len(lkeys) and j < len(rkeys) and lkeys[i] == rkeys[j]:
                emit(lkeys[i])
                i += 1
                j += 1
            elif i < len(lkeys) and lkeys[i] not in right:
                emit(lkeys[i])
                i += 1
            elif j < len(rkeys):
                emit(rkeys[j])
                j += 1
            else:
                i += 1
        return out

    # -- removal ---------------------------------------------------------------------

    def remove(self, obj: dict[str, Any], paths: Iterable[Path], shape: Shape) -> None:
        """Remove each path's field or list item from ``obj`` (in place).

        A map-typed field or a list left empty by a removal goes too, as it would
        once a typed object is serialized with ``omitempty``.
        """
        for path in sorted(paths, key=len):  # ancestors first: keys still match
            self._remove_one(obj, path, shape)

    def _remove_one(self, obj: dict[str, Any], path: Path, shape: Shape) -> None:
        if not path:
            return
        trail: list[tuple[Any, PathElement, Shape]] = []
        node: Any = obj
        node_shape = shape
        for pe in path:
            found = self._step(node, pe, node_shape)
            if found is None:
                return
            trail.append((node, pe, node_shape))
            node, node_shape = found
        # remove the target, then any container the removal emptied
        for container, pe, container_shape in reversed(trail):
            self._drop(container, pe, container_shape)
            if container is obj or not _prunable_when_empty(container, container_shape):
                break

    def _step(self, node: Any, pe: PathElement, shape: Shape) -> tuple[Any, Shape] | None:
        kind = pe[0]
        if kind == "f":
            if not isinstance(node, dict) or pe[1] not in node:
                return None
            return node[pe[1]], sh.child(shape, pe[1], self.lookup)
        if not isinstance(node, list):
            return None
        at = self._find(node, pe, shape)
        return None if at is None else (node[at], sh.item(shape))

    def _find(self, items: list[Any], pe: PathElement, shape: Shape) -> int | None:
        if pe[0] == "i":
            return pe[1] if isinstance(pe[1], int) and 0 <= pe[1] < len(items) else None
        kind, keys = sh.list_kind(shape)
        for position, item in enumerate(items):
            if item_element(item, position, kind, keys) == pe:
                return position
        return None

    def _drop(self, container: Any, pe: PathElement, shape: Shape) -> None:
        if pe[0] == "f":
            container.pop(pe[1], None)
            return
        at = self._find(container, pe, shape)
        if at is not None:
            del container[at]


def _lacks(item: Any, name: str) -> bool:
    return not isinstance(item, dict) or item.get(name) is None


def _prunable_when_empty(container: Any, shape: Shape) -> bool:
    if isinstance(container, list):
        return not container
    return isinstance(container, dict) and not container and sh.is_map(shape)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return deep_copy(value)


def typed_error(obj: dict[str, Any], err: MissingKeyError | str) -> PatchError:
    """The 500 the apiserver answers when an applied configuration cannot be typed."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    api_version = str(obj.get("apiVersion", ""))
    group_version = api_version if "/" in api_version else f"/{api_version}"
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    where = f"{name}; {group_version}, Kind={obj.get('kind', '')}"
    return PatchError(f"failed to create typed patch object ({where}): {err}", 500)
