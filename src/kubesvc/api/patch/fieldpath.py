"""Field paths and sets of them, in structured-merge-diff's shapes and spellings.

Server-side apply records who owns which fields as sets of paths. A path is a
tuple of path elements; an element is a pair:

* ``("f", name)``: a member of a map or struct;
* ``("k", ((name, json), ...))``: the item of an associative list whose key
  fields (sorted by name) have those values, each kept as compact JSON text;
* ``("v", json)``: the item of a set (a list of primitives) with that value;
* ``("i", index)``: an item of an atomic list by position.

Two spellings matter to clients. In ``metadata.managedFields[].fieldsV1`` a set is
a tree of objects keyed ``f:name``, ``k:{"port":80,"protocol":"TCP"}``,
``v:"x"`` and ``i:0``, where ``".": {}`` marks a node that is itself in the set
and has children. In conflict messages a path reads
``.spec.ports[port=80,protocol="TCP"].targetPort``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]

_HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))


def json_text(value: Any) -> str:
    """Compact JSON as Go writes it (HTML characters escaped, whole floats as ints)."""
    text = json.dumps(_normalise(value), separators=(",", ":"), ensure_ascii=False)
    for raw, esc in _HTML_ESCAPES:
        text = text.replace(raw, esc)
    return text


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def field(name: str) -> PathElement:
    return ("f", name)


def key(fields: Iterable[tuple[str, Any]]) -> PathElement:
    return ("k", tuple(sorted((name, json_text(v)) for name, v in fields)))


def value(v: Any) -> PathElement:
    return ("v", json_text(v))


def index(i: int) -> PathElement:
    return ("i", i)


# -- text forms -----------------------------------------------------------------------


def element_string(pe: PathElement) -> str:
    """One element as it reads in a conflict message."""
    kind, content = pe
    if kind == "f":
        return f".{content}"
    if kind == "k":
        return "[" + ",".join(f"{name}={text}" for name, text in content) + "]"
    if kind == "v":
        return f"[={content}]"
    return f"[{content}]"


def path_string(path: Path) -> str:
    return "".join(element_string(pe) for pe in path)


def serialize_element(pe: PathElement) -> str:
    """One element as a key of a FieldsV1 object."""
    kind, content = pe
    if kind == "f":
        return f"f:{content}"
    if kind == "k":
        inner = ",".join(f"{json_text(name)}:{text}" for name, text in content)
        return "k:{" + inner + "}"
    if kind == "v":
        return f"v:{content}"
    return f"i:{content}"


def deserialize_element(text: str) -> PathElement:
    """Parse a FieldsV1 key; raises ``ValueError`` when it is not one."""
    if len(text) < 2 or text[1] != ":":
        raise ValueError(f"invalid path element {text!r}")
    kind, content = text[0], text[2:]
    if kind == "f":
        return ("f", content)
    if kind == "k":
        decoded = json.loads(content)
        if not isinstance(decoded, dict):
            raise ValueError(f"invalid key element {text!r}")
        return key(decoded.items())
    if kind == "v":
        return value(json.loads(content))
    if kind == "i":
        return ("i", int(content))
    raise ValueError(f"unknown path element type {text!r}")


# -- order ----------------------------------------------------------------------------

_KIND_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def _value_rank(text: str) -> tuple[int, Any]:
    try:
        v = json.loads(text)
    except ValueError:
        return (5, text)
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (3, v)
    if isinstance(v, (int, float)):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    return (4, text)


def element_sort_key(pe: PathElement) -> tuple[Any, ...]:
    kind, content = pe
    if kind == "k":
        return (1, tuple((name, _value_rank(text)) for name, text in content))
    if kind == "v":
        return (2, _value_rank(content))
    return (_KIND_RANK.get(kind, 4), content)


def path_sort_key(path: Path) -> tuple[Any, ...]:
    return tuple(element_sort_key(pe) for pe in path)


# -- FieldsV1 -------------------------------------------------------------------------


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a set of paths (children sorted as the Go library does)."""
    tree: dict[PathElement, Any] = {}
    members: set[Path] = set()
    for path in paths:
        if not path:
            continue
        members.add(path)
        node = tree
        for pe in path:
            node = node.setdefault(pe, {})
    return _render(tree, (), members)


def _render(tree: dict[PathElement, Any], prefix: Path, members: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if prefix and prefix in members and tree:
        out["."] = {}
    for pe in sorted(tree, key=element_sort_key):
        out[serialize_element(pe)] = _render(tree[pe], (*prefix, pe), members)
    return out


def from_fields_v1(tree: Any) -> set[Path]:
    """The set of paths in a FieldsV1 tree; raises ``ValueError`` on malformed input."""
    out: set[Path] = set()
    if tree is None:
        return out
    if not isinstance(tree, dict):
        raise ValueError("FieldsV1 must be an object")
    _collect(tree, (), out)
    return out


def _collect(tree: dict[str, Any], prefix: Path, out: set[Path]) -> None:
    for text, sub in tree.items():
        if text == ".":
            if prefix:
                out.add(prefix)
            continue
        path = (*prefix, deserialize_element(text))
        if not isinstance(sub, dict):
            raise ValueError("FieldsV1 nodes must be objects")
        if sub:
            _collect(sub, path, out)
        else:
            out.add(path)


# -- set helpers ----------------------------------------------------------------------


def prefixes(paths: Iterable[Path]) -> set[Path]:
    """Every path in ``paths`` and every ancestor of one (the root excluded)."""
    out: set[Path] = set()
    for path in paths:
        for n in range(1, len(path) + 1):
            out.add(path[:n])
    return out


def under(path: Path, roots: Iterable[Path]) -> bool:
    """True when ``path`` is one of ``roots`` or lies below one."""
    return any(path[: len(r)] == r for r in roots)
