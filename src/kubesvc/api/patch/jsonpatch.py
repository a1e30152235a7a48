"""JSON patch (RFC 6902), as the API server applies ``application/json-patch+json``.

The apiserver uses evanphx/json-patch v4; this module follows its behaviour where
it differs from a strict reading of the RFC, because scripts written against real
clusters rely on it:

* ``replace`` of a missing *object member* succeeds and adds it (only a missing
  array index fails);
* array indices may be negative (counted from the end) for ``add``/``remove``;
* ``test`` against a missing member succeeds only when the expected value is null;
* operations on the document root (path ``""``) are not supported.

Paths are JSON pointers (RFC 6901): ``~1`` decodes to ``/`` and ``~0`` to ``~``;
``-`` as the last array token appends. Error messages are the library's
(``testing value /a failed: test failed``) so logs read like a real server's; the
apiserver itself hides them behind a generic 422 (see ``errors``).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import PatchError
from .jsonvalue import deep_copy, json_equal

MAX_OPERATIONS = 10000
"""The apiserver refuses longer patches with 413."""

_MISSING = "missing value"
_INVALID_INDEX = "invalid index referenced"
_TEST_FAILED = "test failed"
_INDEX = re.compile(r"[+-]?[0-9]+")


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def decode_patch(patch: Any) -> list[dict[str, Any]]:
    """Check that ``patch`` is a list of operation objects (400 otherwise)."""
    if patch is None:
        return []
    if not isinstance(patch, list):
        raise PatchError(
            f"json: cannot unmarshal {_go_type(patch)} into Go value of type jsonpatch.Patch",
            400,
        )
    for op in patch:
        if op is not None and not isinstance(op, dict):
            raise PatchError(
                f"json: cannot unmarshal {_go_type(op)} into Go value of type jsonpatch.Operation",
                400,
            )
    if len(patch) > MAX_OPERATIONS:
        raise PatchError(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(patch)}",
            413,
        )
    return [op or {} for op in patch]


def apply_json_patch(doc: Any, patch: Any) -> Any:
    """Apply the RFC 6902 ``patch`` (decoded JSON) to a copy of ``doc``; return the copy.

    Raises ``PatchError`` (400 for a malformed patch, 422 when an operation fails).
    """
    ops = decode_patch(patch)
    result = deep_copy(doc)
    for op in ops:
        _apply_op(result, op)
    return result


def decode_pointer_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def encode_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# -- operation fields -------------------------------------------------------------------


class _FieldError(Exception):
    pass


def _string_field(op: dict[str, Any], name: str, missing: str) -> str:
    value = op.get(name)
    if value is None:
        raise _FieldError(f"{missing}: {_MISSING}")
    if not isinstance(value, str):
        raise _FieldError(f"json: cannot unmarshal {_go_type(value)} into Go value of type string")
    return value


def _path(op: dict[str, Any]) -> str:
    return _string_field(op, "path", "operation missing path field")


def _from(op: dict[str, Any]) -> str:
    return _string_field(op, "from", "operation, missing from field")


# -- containers ---------------------------------------------------------------------------


class _OpError(Exception):
    """A container-level failure; the caller wraps it with the operation's context."""


def _parse_index(key: str) -> int:
    if _INDEX.fullmatch(key) is None:
        raise _OpError(f'strconv.Atoi: parsing "{key}": invalid syntax')
    return int(key)


def _find(doc: Any, path: str) -> tuple[Any, str] | None:
    """The container holding the target of ``path`` and the decoded last token."""
    if not path.startswith("/"):
        return None
    tokens = [decode_pointer_token(t) for t in path.split("/")[1:]]
    node = doc
    for token in tokens[:-1]:
        try:
            node = _get(node, token)
        except _OpError:
            return None
        if not isinstance(node, (dict, list)):
            return None
    if not isinstance(node, (dict, list)):
        return None
    return node, tokens[-1]


def _get(container: Any, key: str) -> Any:
    """The value at ``key``; None for a missing object member."""
    if isinstance(container, dict):
        return container.get(key)
    if not isinstance(container, list):
        raise _OpError(_MISSING)
    idx = _parse_index(key)
    if idx < 0 or idx >= len(container):
        raise _OpError(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    return container[idx]


def _add(container: dict[str, Any] | list[Any], key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    try:
        idx = _parse_index(key)
    except _OpError as e:
        raise _OpError(f"value was not a proper array index: '{key}': {e}") from None
    size = len(container) + 1
    if idx >= size or idx < -size:
        raise _OpError(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    if idx < 0:
        idx += size
    container.insert(idx, value)


def _remove(container: dict[str, Any] | list[Any], key: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise _OpError(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        return container.pop(key)
    idx = _parse_index(key)
    if idx >= len(container) or idx < -len(container):
        raise _OpError(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")
    return container.pop(idx)


# -- operations ---------------------------------------------------------------------------


def _apply_op(doc: Any, op: dict[str, Any]) -> None:
    kind = op.get("op")
    if not isinstance(kind, str):
        kind = "unknown"
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise PatchError(f"Unexpected kind: {kind}")
    handler(doc, op)


def _op_add(doc: Any, op: dict[str, Any]) -> None:
    try:
        path = _path(op)
    except _FieldError:
        raise PatchError(f"add operation failed to decode path: {_MISSING}") from None
    found = _find(doc, path)
    if found is None:
        raise PatchError(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _add(found[0], found[1], deep_copy(op.get("value")))
    except _OpError as e:
        raise PatchError(f"error in add for path: '{path}': {e}") from None


def _op_remove(doc: Any, op: dict[str, Any]) -> None:
    try:
        path = _path(op)
    except _FieldError:
        raise PatchError(f"remove operation failed to decode path: {_MISSING}") from None
    found = _find(doc, path)
    if found is None:
        raise PatchError(
            f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}'
        )
    try:
        _remove(found[0], found[1])
    except _OpError as e:
        raise PatchError(f"error in remove for path: '{path}': {e}") from None


def _op_replace(doc: Any, op: dict[str, Any]) -> None:
    try:
        path = _path(op)
    except _FieldError as e:
        raise PatchError(f"replace operation failed to decode path: {e}") from None
    found = _find(doc, path)
    if found is None:
        raise PatchError(
            f"replace operation does not apply: doc is missing path: {path}: {_MISSING}"
        )
    container, key = found
    try:
        _get(container, key)
    except _OpError:
        raise PatchError(
            f"replace operation does not apply: doc is missing key: {path}: {_MISSING}"
        ) from None
    value = deep_copy(op.get("value"))
    if isinstance(container, dict):
        container[key] = value
    else:
        container[_parse_index(key)] = value


def _op_move(doc: Any, op: dict[str, Any]) -> None:
    try:
        source = _from(op)
    except _FieldError as e:
        raise PatchError(f"move operation failed to decode from: {e}") from None
    found = _find(doc, source)
    if found is None:
        raise PatchError(
            f"move operation does not apply: doc is missing from path: {source}: {_MISSING}"
        )
    container, key = found
    try:
        if isinstance(container, dict) and key not in container:
            raise _OpError(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        value = _remove(container, key)
    except _OpError as e:
        raise PatchError(f"error in move for path: '{key}': {e}") from None
    try:
        path = _path(op)
    except _FieldError as e:
        raise PatchError(f"move operation failed to decode path: {e}") from None
    target = _find(doc, path)
    if target is None:
        raise PatchError(
            f"move operation does not apply: doc is missing destination path: {path}: {_MISSING}"
        )
    try:
        _add(target[0], target[1], value)
    except _OpError as e:
        raise PatchError(f"error in move for path: '{path}': {e}") from None


def _op_copy(doc: Any, op: dict[str, Any]) -> None:
    try:
        source = _from(op)
    except _FieldError as e:
        raise PatchError(f"copy operation failed to decode from: {e}") from None
    found = _find(doc, source)
    if found is None:
        raise PatchError(
            f"copy operation does not apply: doc is missing from path: {source}: {_MISSING}"
        )
    container, key = found
    try:
        if isinstance(container, dict) and key not in container:
            raise _OpError(f"Unable to get nonexistent key: {key}: {_MISSING}")
        value = _get(container, key)
    except _OpError as e:
        raise PatchError(f"error in copy for from: '{source}': {e}") from None
    try:
        path = _path(op)
    except _FieldError:
        raise PatchError(f"copy operation failed to decode path: {_MISSING}") from None
    target = _find(doc, path)
    if target is None:
        raise PatchError(
            f"copy operation does not apply: doc is missing destination path: {path}: {_MISSING}"
        )
    try:
        _add(target[0], target[1], deep_copy(value))
    except _OpError as e:
        raise PatchError(f"error while adding value during copy: {e}") from None


def _op_test(doc: Any, op: dict[str, Any]) -> None:
    try:
        path = _path(op)
    except _FieldError as e:
        raise PatchError(f"test operation failed to decode path: {e}") from None
    found = _find(doc, path)
    if found is None:
        raise PatchError(f"test operation does not apply: is missing path: {path}: {_MISSING}")
    try:
        actual = _get(found[0], found[1])
    except _OpError as e:
        raise PatchError(f"error in test for path: '{path}': {e}") from None
    if not json_equal(actual, op.get("value")):
        raise PatchError(f"testing value {path} failed: {_TEST_FAILED}")


_HANDLERS = {
    "add": _op_add,
    "remove": _op_remove,
    "replace": _op_replace,
    "move": _op_move,
    "copy": _op_copy,
    "test": _op_test,
}
