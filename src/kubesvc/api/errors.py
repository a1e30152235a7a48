"""Errors shaped like Kubernetes' own: field errors and Status-carrying API errors.

Two halves:

* ``FieldError`` is one problem found by validation, with the field path and the
  message exactly as Kubernetes' ``field.Error`` renders them. Validation functions
  return ``list[FieldError]`` and never raise.
* ``StatusError`` and its subclasses are what the API server answers with. Each
  carries the ``Status`` object (``to_status()``) byte-compatible with Go's
  ``encoding/json`` output once passed through ``api.jsonenc.dumps``: the field
  order, the omitted empty fields and the messages follow apimachinery's
  ``pkg/api/errors`` constructors, because clients (kubectl's error printer and the
  official Python client's tests) compare them literally.

Nothing here does I/O.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# field.ErrorType -> (reason in StatusCause, prefix in the message)
_FIELD_ERROR_TYPES: dict[str, tuple[str, str]] = {
    "NotFound": ("FieldValueNotFound", "Not found"),
    "Required": ("FieldValueRequired", "Required value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "TooLong": ("FieldValueTooLong", "Too long"),
    "TooMany": ("FieldValueTooMany", "Too many"),
    "Internal": ("InternalError", "Internal error"),
    "TypeInvalid": ("FieldValueTypeInvalid", "Invalid value"),
}

_OMIT = object()


def go_quote(s: str) -> str:
    """``s`` quoted as Go's ``%q`` (``strconv.Quote``) does.

    Printable characters stay as they are; ``"`` and ``\\`` are escaped; control
    characters use the short escapes (``\\n``, ``\\t`` ...) or ``\\xNN``; other
    non-printable characters use ``\\uNNNN`` or ``\\UNNNNNNNN``.
    """
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif ch == " " or (ch.isprintable() and code != 0x7F):
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_string_slice(values: list[str] | tuple[str, ...]) -> str:
    """A ``[]string`` as Go's ``%#v`` prints it: ``[]string{"a", "b"}``."""
    return "[]string{" + ", ".join(go_quote(v) for v in values) + "}"


def go_float(value: float) -> str:
    """A float64 as Go's ``%v`` prints it.

    Shortest round-tripping digits; the ``%e`` form for exponents below -4 or from 6 up.
    """
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    dec = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(str(d) for d in digit_tuple)
    nd = len(digits)
    point = nd + exponent  # position of the decimal point in ``digits``
    exp = point - 1
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if nd > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= nd:
        return f"{sign}{digits}{'0' * (point - nd)}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _go_value(value: Any) -> str:
    """Render a bad value the way field.Error.ErrorBody does (Kubernetes 1.32).

    Strings are ``%q``-quoted, ints and bools print as ``%v``, ``None`` is ``null``,
    a list of strings is a Go ``[]string{...}`` literal; other lists and maps use
    JSON (Go would print its own struct syntax there, which nobody compares); any
    other object prints with ``str()``, as Go prints an ``fmt.Stringer``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return go_string_slice(list(value))
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


# Types whose message never shows the bad value (field.Error.ErrorBody).
_VALUELESS = frozenset({"Required", "Forbidden", "TooLong", "Internal"})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation problem, as Kubernetes' ``field.Error``.

    ``type`` is one of the keys of the field error table (Required, Invalid, ...),
    ``field`` the dotted path (``spec.ports[0].nodePort``), ``value`` the bad value
    (never shown for Required/Forbidden/TooLong/Internal; shown for the others
    unless omitted), ``detail`` the explanation.
    """

    type: str
    field: str
    value: Any = _OMIT
    detail: str = ""
    supported: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return _FIELD_ERROR_TYPES[self.type][0]

    def body(self) -> str:
        """The message without the field path (``field.Error.ErrorBody``)."""
        s = _FIELD_ERROR_TYPES[self.type][1]
        if self.type not in _VALUELESS and self.value is not _OMIT:
            s += f": {_go_value(self.value)}"
        detail = self.detail
        if self.type == "NotSupported" and self.supported:
            detail = "supported values: " + ", ".join(go_quote(v) for v in self.supported)
        if detail:
            s += f": {detail}"
        return s

    def error(self) -> str:
        return f"{self.field}: {self.body()}"


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("Required", path, detail=detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("Invalid", path, value, detail)


def not_supported(path: str, value: Any, supported: list[str] | tuple[str, ...]) -> FieldError:
    return FieldError("NotSupported", path, value, supported=tuple(supported))


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("Duplicate", path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("Forbidden", path, detail=detail)


def too_long(path: str, value: Any, max_len: int) -> FieldError:
    """``field.TooLong``: the value is never shown, only the limit in bytes."""
    unit = "byte" if max_len == 1 else "bytes"
    detail = f"may not be more than {max_len} {unit}" if max_len >= 0 else "value is too long"
    return FieldError("TooLong", path, value, detail)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError("NotFound", path, value)


class StatusError(Exception):
    """An API error that the server answers with a ``Status`` body."""

    code: int = 500
    reason: str = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason
        self.details = details

    def to_status(self) -> dict[str, Any]:
        """The Status object in Go's field order, with Go's omitempty rules."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
        }
        if self.message:
            status["message"] = self.message
        if self.reason:
            status["reason"] = self.reason
        if self.details:
            status["details"] = _ordered_details(self.details)
        status["code"] = self.code
        return status


def _ordered_details(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "group", "kind", "uid"):
        if details.get(key):
            out[key] = details[key]
    if details.get("causes"):
        out["causes"] = [
            {k: c[k] for k in ("reason", "message", "field") if c.get(k)} for c in details["causes"]
        ]
    if details.get("retryAfterSeconds"):
        out["retryAfterSeconds"] = details["retryAfterSeconds"]
    return out


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


class NotFound(StatusError):
    code = 404
    reason = "NotFound"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f'{_qualified(resource, group)} "{name}" not found',
            details={"name": name, "group": group, "kind": resource},
        )


class AlreadyExists(StatusError):
    code = 409
    reason = "AlreadyExists"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f'{_qualified(resource, group)} "{name}" already exists',
            details={"name": name, "group": group, "kind": resource},
        )


class GenerateNameConflict(StatusError):
    code = 409
    reason = "AlreadyExists"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f'{_qualified(resource, group)} "{name}" already exists, the server was not able to '
            "generate a unique name for the object",
            details={"name": name, "group": group, "kind": resource, "retryAfterSeconds": 1},
        )


class Conflict(StatusError):
    code = 409
    reason = "Conflict"

    def __init__(self, resource: str, name: str, detail: str, group: str = "") -> None:
        super().__init__(
            f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {detail}',
            details={"name": name, "group": group, "kind": resource},
        )


OPTIMISTIC_LOCK_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class Invalid(StatusError):
    code = 422
    reason = "Invalid"

    def __init__(self, kind: str, name: str, errors: list[FieldError], group: str = "") -> None:
        self.errors = errors
        qualified = f"{kind}.{group}" if group else kind
        # errors.NewInvalid: one error is inlined, several become "[a, b]".
        rendered = [e.error() for e in errors]
        agg = rendered[0] if len(rendered) == 1 else "[" + ", ".join(dict.fromkeys(rendered)) + "]"
        super().__init__(
            f'{qualified} "{name}" is invalid: {agg}',
            details={
                "name": name,
                "group": group,
                "kind": kind,
                "causes": [
                    {"reason": e.reason, "message": e.body(), "field": e.field} for e in errors
                ],
            },
        )


class BadRequest(StatusError):
    code = 400
    reason = "BadRequest"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Forbidden(StatusError):
    code = 403
    reason = "Forbidden"

    def __init__(self, resource: str, name: str, detail: str, group: str = "") -> None:
        target = f'{_qualified(resource, group)} "{name}"' if name else _qualified(resource, group)
        super().__init__(
            f"{target} is forbidden: {detail}",
            details={"name": name, "group": group, "kind": resource},
        )


class Expired(StatusError):
    code = 410
    reason = "Expired"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Gone(StatusError):
    code = 410
    reason = "Gone"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class MethodNotAllowed(StatusError):
    code = 405
    reason = "MethodNotAllowed"

    def __init__(
        self, message: str = "the server does not allow this method on the requested resource"
    ) -> None:
        super().__init__(message)


class NotAcceptable(StatusError):
    code = 406
    reason = "NotAcceptable"


class UnsupportedMediaType(StatusError):
    code = 415
    reason = "UnsupportedMediaType"

    def __init__(self, accepted: list[str]) -> None:
        super().__init__(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(accepted)
        )


class RequestEntityTooLarge(StatusError):
    code = 413
    reason = "RequestEntityTooLarge"

    def __init__(
        self, message: str = "the server has received a request that is too large"
    ) -> None:
        super().__init__(message)


class NotFoundPath(StatusError):
    """404 for a URL that names no resource at all (Go's generic not-found)."""

    code = 404
    reason = "NotFound"

    def __init__(self) -> None:
        super().__init__("the server could not find the requested resource", details={})


class InternalError(StatusError):
    code = 500
    reason = "InternalError"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Internal error occurred: {detail}",
            details={"causes": [{"message": detail}]},
        )


class ServiceUnavailable(StatusError):
    code = 503
    reason = "ServiceUnavailable"


class Timeout(StatusError):
    code = 504
    reason = "Timeout"
