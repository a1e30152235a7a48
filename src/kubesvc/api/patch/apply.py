"""Server-side apply (``application/apply-patch+yaml``) and ``metadata.managedFields``.

Ownership is kept per manager in ``metadata.managedFields`` in Kubernetes' own
format: entries ``{manager, operation, apiVersion, time, fieldsType: FieldsV1,
fieldsV1}`` whose ``fieldsV1`` trees name fields (``f:``), associative list items
(``k:{...}``), set items (``v:``) and the node itself (``.``); see ``fieldpath``.
A manager is identified by its name, operation and subresource, plus its
apiVersion for ``Update`` entries (an applier keeps its identity across versions).

``apply_config`` follows structured-merge-diff's ``Updater.Apply``:

1. merge the applied configuration over the live object by schema (``typed``);
2. compare live with merged: any path another manager owns that was added or
   modified is a conflict, unless ``force`` (then it changes hands); nothing
   changes when there are conflicts;
3. the applier now owns exactly the configuration's field set; other managers
   lose what changed;
4. prune: fields the applier owned last time and no longer applies are removed
   from the object, unless another manager owns them or something below them
   (owning a field counts as owning the struct fields above it, so a struct
   whose owned fields all went is removed too);
5. record the entry (time set when the object changed or the entry is new).

``update_managed_fields`` is the ``Update`` half, for create/update/patch: the
fields that the write added or modified become owned by the writer, other
managers lose them, and everyone loses removed fields. It keeps managedFields the
client sent (non-empty, decodable, not for a subresource) as the starting point,
else the live object's; a single empty entry ``[{}]`` resets them.

Never owned (as upstream's strip-meta manager): ``apiVersion``, ``kind``,
``metadata`` itself and its ``name``, ``namespace``, ``uid``, ``resourceVersion``,
``generation``, ``creationTimestamp``, ``selfLink``, ``clusterName``,
``managedFields``. Callers pass ``ignored`` roots (e.g. ``("status",)`` for the
main resource, whose strategy resets status) to keep them out of every set.

Simplifications, all in the direction of fewer surprises: a pruned field is kept
when another manager owns anything below it (upstream keeps a list item only when
the item itself is owned); the cap of ten Update managers and the
last-applied-annotation upgrade path are not implemented; duplicate keys in an
applied list are not rejected (the first wins). As upstream, an object without
managedFields counts as owned by ``before-first-apply``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from . import fieldpath as fp
from . import shape as sh
from .errors import PatchError
from .fieldpath import Path
from .jsonvalue import deep_copy, json_equal
from .shape import SchemaLookup
from .typed import MissingKeyError, Walker, typed_error
from .undeclared import undeclared_error, undeclared_paths

BEFORE_FIRST_APPLY: Final = "before-first-apply"

_STRIPPED: Final[frozenset[Path]] = frozenset(
    [
        (fp.field("apiVersion"),),
        (fp.field("kind"),),
        (fp.field("metadata"),),
        *(
            (fp.field("metadata"), fp.field(name))
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    ]
)


@dataclass(frozen=True, slots=True)
class Manager:
    """Who wrote some fields, and how."""

    name: str
    operation: str
    api_version: str
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = self.api_version if self.operation == "Update" else ""
        return (self.name, self.operation, version, self.subresource)

    def describe(self) -> str:
        """As the apiserver prints a manager in conflict messages."""
        text = _go_quote(self.name)
        if self.subresource:
            text += f" with subresource {_go_quote(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field another manager owns that the applied configuration would change."""

    manager: Manager
    path: str
    """Rendered as in Kubernetes' messages: ``.spec.ports[port=80,protocol="TCP"].targetPort``."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    obj: dict[str, Any] | None
    """The applied object with its new managedFields; None when there are conflicts."""
    conflicts: tuple[Conflict, ...] = ()


@dataclass(slots=True)
class _Entry:
    manager: Manager
    fields: set[Path] = field(default_factory=set)
    time: str | None = None


_Entries = dict[tuple[str, str, str, str], _Entry]


# -- conflict reporting ---------------------------------------------------------------


def conflict_message(conflicts: Sequence[Conflict]) -> str:
    """The 409 Status message the apiserver builds for apply conflicts."""
    if len(conflicts) == 1:
        c = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {c.manager.describe()}: {c.path}"
    lines: list[str] = []
    current: Manager | None = None
    for c in conflicts:
        if c.manager != current:
            current = c.manager
            lines.append(f"conflicts with {c.manager.describe()}:")
        lines.append(f"- {c.path}")
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def conflict_causes(conflicts: Sequence[Conflict]) -> list[dict[str, str]]:
    """``details.causes`` of that Status (``reason`` is StatusCause.Type on the wire)."""
    return [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {c.manager.describe()}",
            "field": c.path,
        }
        for c in conflicts
    ]


# -- public operations ----------------------------------------------------------------


def apply_config(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    definition_name: str,
    manager: str,
    *,
    force: bool,
    now: str,
    subresource: str = "",
    ignored: Iterable[tuple[str, ...]] = (),
    lookup: SchemaLookup | None = None,
) -> ApplyResult:
    """Server-side apply ``applied`` by ``manager`` onto ``live`` (None: create).

    ``now`` is the RFC 3339 time recorded in the manager's entry. Raises
    ``PatchError`` for a configuration that cannot be applied (400/500).
    """
    if not isinstance(applied, dict):
        raise PatchError("error decoding YAML: the applied configuration is not an object", 400)
    applied_meta = applied.get("metadata")
    if isinstance(applied_meta, dict) and applied_meta.get("managedFields") is not None:
        raise PatchError("metadata.managedFields must be nil", 400)

    look = lookup or sh.default_lookup
    walker = Walker(look)
    shape = sh.root(definition_name, look)
    roots = _ignored_roots(ignored)

    current = deep_copy(live) if isinstance(live, dict) else {}
    entries = _decode_or_empty(_pop_managed_fields(current))
    api_version = str(applied.get("apiVersion") or current.get("apiVersion") or "")
    if live is not None and not entries and current:
        owner = Manager(BEFORE_FIRST_APPLY, "Update", api_version)
        entries[owner.identity] = _Entry(
            owner, _filter(walker.field_set(current, shape, strict=False), roots)
        )

    config = deep_copy(applied)
    undeclared = undeclared_paths(config, shape, walker)
    if undeclared:
        raise undeclared_error(applied, undeclared)
    try:
        full_config_set = walker.field_set(config, shape)
        merged = walker.merge(deep_copy(current), config, shape)
    except MissingKeyError as err:
        raise typed_error(applied, err) from None

    config_set = _filter(full_config_set, roots)
    me = Manager(manager, "Apply", api_version, subresource)
    previous = entries.get(me.identity)
    added, modified, removed = (_filter(s, roots) for s in walker.compare(current, merged, shape))
    changed = added | modified
    others = [e for ident, e in entries.items() if ident != me.identity]

    conflicts = [
        Conflict(e.manager, fp.path_string(p))
        for e in sorted(others, key=lambda e: e.manager.identity)
        for p in sorted(e.fields & changed, key=fp.path_sort_key)
    ]
    if conflicts and not force:
        return ApplyResult(None, tuple(conflicts))

    for e in others:
        e.fields -= changed | removed
    entries[me.identity] = _Entry(me, config_set, previous.time if previous else None)

    if previous is not None:
        # identity fields the config names (stripped from sets) still protect metadata
        keep = fp.prefixes(full_config_set.union(*(e.fields for e in others)))
        candidates = walker.with_named_ancestors(previous.fields, shape) - config_set
        doomed = {p for p in candidates if p not in keep and p not in _STRIPPED}
        walker.remove(merged, doomed, shape)
        _, _, removed = (_filter(s, roots) for s in walker.compare(current, merged, shape))
        for e in others:
            e.fields -= removed

    if previous is None or not json_equal(current, merged):
        entries[me.identity].time = now
    _set_managed_fields(merged, entries)
    return ApplyResult(merged, ())


def update_managed_fields(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    operation: str = "Update",
    *,
    definition_name: str,
    now: str,
    api_version: str | None = None,
    subresource: str = "",
    ignored: Iterable[tuple[str, ...]] = (),
    lookup: SchemaLookup | None = None,
) -> dict[str, Any]:
    """A copy of ``new`` whose managedFields record that ``manager`` wrote it over ``old``.

    Call after a create (``old`` None), update or non-apply patch, with the object
    as the request made it (before server-side allocation, as upstream).
    """
    if operation != "Update":
        raise ValueError("update_managed_fields records Update operations; use apply_config")
    look = lookup or sh.default_lookup
    walker = Walker(look)
    shape = sh.root(definition_name, look)
    roots = _ignored_roots(ignored)

    result: dict[str, Any] = deep_copy(new)
    sent = _pop_managed_fields(result)
    if old is None:
        before: dict[str, Any] = {k: {} for k, v in result.items() if isinstance(v, dict)}
    else:
        before = deep_copy(old)
    live_entries = _decode_or_empty(_pop_managed_fields(before))

    entries = live_entries
    if not subresource and isinstance(sent, list) and sent:
        if sent == [{}]:
            entries = {}
        else:
            try:
                decoded = _decode(sent)
            except ValueError:
                decoded = {}
            if decoded:
                entries = decoded

    version = api_version if api_version is not None else str(result.get("apiVersion", ""))
    me = Manager(manager, "Update", version, subresource)
    added, modified, removed = (_filter(s, roots) for s in walker.compare(before, result, shape))
    changed = added | modified
    for ident, e in entries.items():
        if ident != me.identity:
            e.fields -= changed | removed
    previous = entries.get(me.identity)
    if changed:
        kept = previous.fields - removed if previous else set()
        entries[me.identity] = _Entry(me, kept | changed, now)
    elif previous is not None:
        previous.fields -= removed
    _set_managed_fields(result, entries)
    return result


# -- managedFields codec --------------------------------------------------------------


def _decode(raw: Any) -> _Entries:
    """Entries by manager identity; raises ``ValueError`` when malformed."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ValueError("managedFields must be a list")
    out: _Entries = {}
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("managedFields entries must be objects")
        operation = item.get("operation", "")
        if operation not in ("Apply", "Update"):
            raise ValueError(f"unsupported operation {operation!r}")
        fields_type = item.get("fieldsType", "FieldsV1")
        if fields_type != "FieldsV1":
            raise ValueError(f"unsupported fieldsType {fields_type!r}")
        owner = Manager(
            str(item.get("manager", "")),
            operation,
            str(item.get("apiVersion", "")),
            str(item.get("subresource", "")),
        )
        paths = fp.from_fields_v1(item.get("fieldsV1"))
        time = item.get("time")
        entry = out.setdefault(owner.identity, _Entry(owner))
        entry.fields |= paths
        if isinstance(time, str) and (entry.time is None or time > entry.time):
            entry.time = time
    return out


def _decode_or_empty(raw: Any) -> _Entries:
    try:
        return _decode(raw)
    except ValueError:
        return {}


def _encode(entries: _Entries) -> list[dict[str, Any]]:
    live = [e for e in entries.values() if e.fields]
    live.sort(
        key=lambda e: (
            e.manager.operation,
            e.time or "",
            e.manager.name,
            e.manager.api_version,
            e.manager.subresource,
        )
    )
    out: list[dict[str, Any]] = []
    for e in live:
        item: dict[str, Any] = {"manager": e.manager.name, "operation": e.manager.operation}
        if e.manager.api_version:
            item["apiVersion"] = e.manager.api_version
        if e.time:
            item["time"] = e.time
        item["fieldsType"] = "FieldsV1"
        item["fieldsV1"] = fp.to_fields_v1(e.fields)
        if e.manager.subresource:
            item["subresource"] = e.manager.subresource
        out.append(item)
    return out


def managed_field_sets(obj: dict[str, Any]) -> dict[Manager, set[Path]]:
    """The decoded ownership of ``obj`` (for tests and diagnostics)."""
    meta = obj.get("metadata")
    raw = meta.get("managedFields") if isinstance(meta, dict) else None
    return {e.manager: set(e.fields) for e in _decode_or_empty(raw).values()}


# -- helpers --------------------------------------------------------------------------


def _pop_managed_fields(obj: dict[str, Any]) -> Any:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        return meta.pop("managedFields", None)
    return None


def _set_managed_fields(obj: dict[str, Any], entries: _Entries) -> None:
    encoded = _encode(entries)
    meta = obj.get("metadata")
    if not encoded:
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        return
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    meta["managedFields"] = encoded


def _ignored_roots(ignored: Iterable[tuple[str, ...]]) -> tuple[Path, ...]:
    return tuple(tuple(fp.field(name) for name in root) for root in ignored)


def _filter(paths: set[Path], roots: tuple[Path, ...]) -> set[Path]:
    return {p for p in paths if p not in _STRIPPED and not (roots and fp.under(p, roots))}


def _go_quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
