"""Equality, hashing and copying of decoded JSON values, the way Go sees them.

Python says ``True == 1`` and ``hash(1) == hash(True)``; Go's decoded JSON keeps
booleans and numbers apart. Every comparison the patch code makes between JSON
values goes through ``json_equal`` or ``scalar_key`` so ``[1, true]`` stays a set
of two.
"""

from __future__ import annotations

from typing import Any


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality of two decoded JSON values, booleans distinct from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or len(a) != len(b):
            return False
        return all(k in b and json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    if isinstance(b, (dict, list, int, float)):
        return False
    return bool(a == b)


def scalar_key(value: Any) -> tuple[str, Any]:
    """A hashable key for a JSON value; equal keys iff ``json_equal`` (scalars exact).

    Maps and lists get a canonical string form so they can still be looked up.
    """
    if value is None:
        return ("z", None)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    return ("j", canonical(value))


def canonical(value: Any) -> str:
    """A canonical text form (sorted keys) of any JSON value."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{canonical(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return repr(scalar_key(value))


def deep_copy(value: Any) -> Any:
    """Copy a decoded JSON value (faster than ``copy.deepcopy`` for plain data)."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def copy_object(obj: dict[str, Any]) -> dict[str, Any]:
    """``deep_copy`` for a JSON object, typed as one."""
    return {k: deep_copy(v) for k, v in obj.items()}
