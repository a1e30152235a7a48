"""Strict decoding of request bodies, the way the API server's JSON decoder does it.

kube-apiserver decodes a body straight into the Go struct of its kind with
``sigs.k8s.io/json``. That decoder is case-sensitive, and when asked to be
strict (``fieldValidation`` Strict or Warn) it also collects *strict errors*:
``unknown field "spec.foo"`` for a key no struct field has, and
``duplicate field "spec.replicas"`` for a key seen twice in one object. Paths
join field names and map keys with ``.`` and put list indices in brackets
(``spec.ports[0].nodeport``); an unknown field's value is skipped unread; the
list is in document order, without repeats, and capped at 100. Strict errors
turn into a 400 (Strict) or into warnings (Warn); with Warn and Ignore the
unknown fields are simply dropped, because the Go struct has nowhere to put
them.

Wrongly typed values are different: they fail the request whatever the
validation mode, with Go's message, e.g. ``json: cannot unmarshal string into Go
struct field ServicePort.spec.ports.port of type int32`` (the innermost struct
type, then the chain of field names without indices or map keys). Only the
first such error is reported, and none if a custom decoder (IntOrString,
Quantity, Time) failed, because that one stops the decode outright. ``null`` is
fine anywhere: Go decodes it to the zero value.

The apiserver wraps both kinds of failure as
``<Kind> in version "<v>" cannot be handled as a <Kind>: <error>``;
``FieldReport.fatal_message`` and ``strict_message`` build those strings.

Pure functions over parsed JSON; nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubesvc.api import schema
from kubesvc.api.errors import go_quote

MAX_STRICT_ERRORS = 100
"""The decoder stops collecting strict errors after this many."""


@dataclass(frozen=True, slots=True)
class FieldReport:
    """What strict decoding found in one object."""

    unknown: tuple[str, ...] = ()
    """Paths of unknown fields, in document order."""
    duplicates: tuple[str, ...] = ()
    """Paths of repeated keys, in document order."""
    strict_errors: tuple[str, ...] = ()
    """``unknown field "..."`` / ``duplicate field "..."`` in document order (the warnings)."""
    decode_error: str = ""
    """Go's decoding error for a wrongly typed value; fatal in every validation mode."""

    @property
    def ok(self) -> bool:
        return not self.strict_errors and not self.decode_error

    def fatal_message(self, kind: str, version: str) -> str:
        """The 400 message for a decode error, or ``""``."""
        return cannot_handle_message(kind, version, self.decode_error) if self.decode_error else ""

    def strict_message(self, kind: str, version: str) -> str:
        """The 400 message under ``fieldValidation=Strict``, or ``""``."""
        return strict_decoding_message(kind, version, self.strict_errors)


def cannot_handle_message(kind: str, version: str, detail: str, into_kind: str = "") -> str:
    """``Service in version "v1" cannot be handled as a Service: <detail>``."""
    target = into_kind or kind
    return f"{kind} in version {go_quote(version)} cannot be handled as a {target}: {detail}"


def strict_decoding_message(
    kind: str, version: str, strict_errors: tuple[str, ...] | list[str]
) -> str:
    """The Strict rejection message, or ``""`` when there is nothing to reject."""
    if not strict_errors:
        return ""
    return cannot_handle_message(
        kind, version, "strict decoding error: " + ", ".join(strict_errors)
    )


def check_fields(obj: Any, definition_name: str) -> FieldReport:
    """Strict-decode an already parsed object against a schema definition."""
    walk = _Walk(prune=False)
    walk.root(obj, _definition(definition_name))
    return walk.report()


def prune_unknown_fields(obj: Any, definition_name: str) -> Any:
    """A copy of ``obj`` without the fields its schema does not know (Warn and Ignore)."""
    walk = _Walk(prune=True)
    return walk.root(obj, _definition(definition_name))


def decode(
    text: str | bytes, definition_name: str, *, prune: bool = False
) -> tuple[Any, FieldReport]:
    """Parse a JSON body and strict-decode it, duplicates included.

    Returns the object (unknown fields dropped when ``prune``) and the report.
    Malformed JSON raises ``ValueError``.
    """
    walk = _Walk(prune=prune)
    obj = walk.root(_parse(text), _definition(definition_name))
    return obj, walk.report()


def loads_checking_duplicates(text: str | bytes) -> tuple[Any, list[str]]:
    """Parse JSON and list the paths of keys repeated within one object.

    Without a schema every key is a map key, so the paths follow the decoder's
    notation (``metadata.labels.app``, ``items[0].name``); the later value wins.
    """
    walk = _Walk(prune=False)
    obj = walk.free(_parse(text), "", report=True)
    return obj, list(walk.duplicates)


# --------------------------------------------------------------------------------------------
# Parsing that keeps what Python's json would lose: repeated keys and number literals.


class _DupDict(dict[str, Any]):
    """A JSON object that repeated a key: last values, plus every pair in order."""

    __slots__ = ("pairs",)
    pairs: list[tuple[str, Any]]


class _Float(float):
    """A parsed JSON number with a fraction or exponent, remembering its literal text."""

    __slots__ = ("literal",)
    literal: str

    def __new__(cls, text: str) -> _Float:
        obj = super().__new__(cls, text)
        obj.literal = text
        return obj


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    dup = _DupDict(obj)
    dup.pairs = pairs
    return dup


def _reject_constant(name: str) -> Any:
    if name.startswith("-"):
        raise ValueError(f"invalid character {name[1]!r} in numeric literal")
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def _parse(text: str | bytes) -> Any:
    return json.loads(
        text,
        object_pairs_hook=_object_pairs,
        parse_float=_Float,
        parse_constant=_reject_constant,
    )


def _entries(node: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(key, value, repeated) in document order."""
    if isinstance(node, _DupDict):
        seen: set[str] = set()
        for key, value in node.pairs:
            yield key, value, key in seen
            seen.add(key)
    else:
        for key, value in node.items():
            yield key, value, False


def _merge(old: Any, new: Any) -> Any:
    """A repeated struct key decodes into the same Go value: objects merge, the rest replaces."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = _merge(out[key], value) if key in out else value
        return out
    return new


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------------------------
# Go's names for values and types in decoding errors.


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array"


def _literal(value: int | float) -> str:
    if isinstance(value, _Float):
        return value.literal
    return str(value) if isinstance(value, int) else repr(value)


_GO_SCALARS = {
    "string": "string",
    "number": "float64",
    "boolean": "bool",
    "byte": "[]uint8",
    "int-or-string": "intstr.IntOrString",
    "quantity": "resource.Quantity",
    "object": "v1.FieldsV1",
}


def _go_type(f: schema.Field, *, element: bool) -> str:
    if f.type == "ref":
        package, _, name = f.ref.rpartition(".")
        base = f"{package.rpartition('.')[2]}.{name}"
    elif f.type == "integer":
        base = f.format or "int32"
    elif f.type == "date-time":
        base = "v1.MicroTime" if f.format == "micro-time" else "v1.Time"
    else:
        base = _GO_SCALARS[f.type]
    if not element and f.array:
        return "[]" + base
    if not element and f.map:
        return "map[string]" + base
    return base


_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "uint8": (0, 255)}


class _Abort(Exception):
    """A custom Go unmarshaler failed; decoding stops with this message."""


# Go's error context: the innermost struct type and the json names leading to the field.
_Ctx = tuple[str, tuple[str, ...]]


def _type_error(value_desc: str, go_type: str, ctx: _Ctx) -> str:
    struct, stack = ctx
    if not struct and not stack:
        return f"json: cannot unmarshal {value_desc} into Go value of type {go_type}"
    return (
        f"json: cannot unmarshal {value_desc} into Go struct field "
        f"{struct}.{'.'.join(stack)} of type {go_type}"
    )


# --------------------------------------------------------------------------------------------
# The walk: one pass in document order, building the decoded (or pruned) copy.


def _definition(name: str) -> schema.Definition:
    found = schema.definition(name)
    if found is None:
        raise ValueError(f"no schema definition {name}")
    return found


class _Walk:
    def __init__(self, *, prune: bool) -> None:
        self.prune = prune
        self.unknown: list[str] = []
        self.duplicates: list[str] = []
        self.strict: list[str] = []
        self._seen: set[str] = set()
        self.saved_error = ""
        self.abort_error = ""

    def report(self) -> FieldReport:
        return FieldReport(
            unknown=tuple(self.unknown),
            duplicates=tuple(self.duplicates),
            strict_errors=tuple(self.strict),
            decode_error=self.abort_error or self.saved_error,
        )

    def _strict_error(self, kind: str, path: str) -> None:
        message = f"{kind} field {go_quote(path)}"
        if message in self._seen:
            return
        self._seen.add(message)
        (self.unknown if kind == "unknown" else self.duplicates).append(path)
        if len(self.strict) < MAX_STRICT_ERRORS:
            self.strict.append(message)

    def _save(self, message: str) -> None:
        if not self.saved_error:
            self.saved_error = message

    def root(self, obj: Any, definition: schema.Definition) -> Any:
        try:
            if isinstance(obj, dict):
                return self.object(obj, definition, "", ())
            if obj is not None:
                go_type = f"{definition.name.rsplit('.', 2)[-2]}.{definition.short_name}"
                self._save(_type_error(_json_kind(obj), go_type, ("", ())))
            return self.free(obj, "", report=False)
        except _Abort as abort:
            self.abort_error = str(abort)
            return obj

    def free(self, value: Any, path: str, *, report: bool) -> Any:
        """Schema-less copy (free-form JSON): every key is a map key, the last value wins."""
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item, repeated in _entries(value):
                if repeated and report:
                    self._strict_error("duplicate", _join(path, key))
                out[key] = self.free(item, _join(path, key), report=report)
            return out
        if isinstance(value, list):
            return [self.free(item, f"{path}[{i}]", report=report) for i, item in enumerate(value)]
        if isinstance(value, _Float):
            return float(value)
        return value

    def object(
        self, node: dict[str, Any], definition: schema.Definition, path: str, stack: tuple[str, ...]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value, repeated in _entries(node):
            field_path = _join(path, key)
            f = definition.fields.get(key)
            if f is None:
                self._strict_error("unknown", field_path)
                if not self.prune:
                    out[key] = self.free(value, field_path, report=False)
                continue
            if repeated:
                self._strict_error("duplicate", field_path)
            decoded = self.field(f, value, field_path, (definition.short_name, (*stack, key)))
            out[key] = _merge(out[key], decoded) if repeated and key in out else decoded
        return out

    def field(self, f: schema.Field, value: Any, path: str, ctx: _Ctx) -> Any:
        if value is None:
            return None
        if f.array:
            if not isinstance(value, list):
                self._save(_type_error(_json_kind(value), _go_type(f, element=False), ctx))
                return self.free(value, path, report=False)
            return [self.element(f, item, f"{path}[{i}]", ctx) for i, item in enumerate(value)]
        if f.map:
            if not isinstance(value, dict):
                self._save(_type_error(_json_kind(value), _go_type(f, element=False), ctx))
                return self.free(value, path, report=False)
            out: dict[str, Any] = {}
            for key, item, repeated in _entries(value):
                if repeated:
                    self._strict_error("duplicate", _join(path, key))
                out[key] = self.element(f, item, _join(path, key), ctx)
            return out
        return self.element(f, value, path, ctx)

    def element(self, f: schema.Field, value: Any, path: str, ctx: _Ctx) -> Any:
        if value is None:
            return None
        kind = f.type
        if kind == "ref":
            if isinstance(value, dict):
                return self.object(value, _definition(f.ref), path, ctx[1])
            self._mismatch(f, value, ctx)
        elif kind == "object":
            return self.free(value, path, report=False)
        elif kind == "string":
            if not isinstance(value, str):
                self._mismatch(f, value, ctx)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self._mismatch(f, value, ctx)
        elif kind == "integer":
            self._integer(value, f.format or "int32", ctx, save=True)
        elif kind == "number":
            bad = not isinstance(value, int | float) or isinstance(value, bool)
            if bad or value in (float("inf"), float("-inf")):
                self._mismatch(f, value, ctx)
        elif kind == "byte":
            self._bytes(value, ctx)
        elif kind == "int-or-string":
            if not isinstance(value, str):
                self._integer(value, "int32", ctx, save=False)
        elif kind == "quantity":
            text = value if isinstance(value, str) else _raw_text(value)
            if error := quantity_error(text.strip()):
                raise _Abort(error)
        elif kind == "date-time":
            if not isinstance(value, str):
                raise _Abort(_type_error(_json_kind(value), "string", ctx))
            if error := time_error(value, micro=f.format == "micro-time"):
                raise _Abort(error)
        return self.free(value, path, report=False)

    def _mismatch(self, f: schema.Field, value: Any, ctx: _Ctx) -> None:
        self._save(_type_error(_json_kind(value), _go_type(f, element=True), ctx))

    def _integer(self, value: Any, go_type: str, ctx: _Ctx, *, save: bool) -> None:
        """Go's int decoding; ``save`` False for IntOrString, whose own decoder aborts."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = _INT_RANGES[go_type]
            if isinstance(value, int) and low <= value <= high:
                return
            desc = "number " + _literal(value)
        else:
            desc = _json_kind(value)
        message = _type_error(desc, go_type, ctx)
        if not save:
            raise _Abort(message)
        self._save(message)

    def _bytes(self, value: Any, ctx: _Ctx) -> None:
        if isinstance(value, str):
            if error := base64_error(value):
                self._save(error)
        elif isinstance(value, list):  # a JSON array decodes element-wise into []byte
            for item in value:
                if item is not None:
                    self._integer(item, "uint8", ctx, save=True)
        else:
            self._save(_type_error(_json_kind(value), "[]uint8", ctx))


def _raw_text(value: Any) -> str:
    """The JSON text a custom Go unmarshaler would receive for a non-string value."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _literal(value)
    return json.dumps(value, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Custom Go decoders: resource.Quantity, metav1.Time / MicroTime, []byte.

QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"
_QUANTITY_SUFFIXES = {"", "n", "u", "m", "k", "M", "G", "T", "P", "E"} | {
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Pi",
    "Ei",
}


def quantity_error(text: str) -> str:
    """Why ``resource.ParseQuantity`` rejects ``text``, or ``""``.

    Follows its scanner: optional sign, digits, optional fraction, then a suffix
    of ``eEinumkKMGTP`` letters with an optional signed exponent; the suffix must
    be a known SI/binary suffix or ``e<int>``.
    """
    if not text:
        return QUANTITY_FORMAT_ERROR
    i, end = 0, len(text)
    if text[0] in "+-":
        i += 1
    while i < end and text[i] == "0":
        i += 1
    if i >= end:
        return ""
    while i < end and text[i] in _DIGITS:
        i += 1
    if i < end and text[i] == ".":
        i += 1
        while i < end and text[i] in _DIGITS:
            i += 1
    suffix_start = i
    while i < end and text[i] in "eEinumkKMGTP":
        i += 1
    if i < end and text[i] in "+-":
        i += 1
    while i < end and text[i] in _DIGITS:
        i += 1
    if i < end:
        return QUANTITY_FORMAT_ERROR
    suffix = text[suffix_start:]
    if suffix in _QUANTITY_SUFFIXES:
        return ""
    if len(suffix) > 1 and suffix[0] in "eE":
        exponent = suffix[1:]
        digits = exponent[1:] if exponent[0] in "+-" else exponent
        if _digits(digits):
            return ""
    return QUANTITY_SUFFIX_ERROR


_DIGITS = frozenset("0123456789")


def _digits(s: str) -> bool:
    """Non-empty and ASCII digits only."""
    return bool(s) and all(ch in _DIGITS for ch in s)


_RFC3339 = "2006-01-02T15:04:05Z07:00"
_RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"


def _time_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ord(ch) < 0x20 or ord(ch) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _two_digits(s: str, *, fixed: bool) -> tuple[int, str] | None:
    """Go's ``getnum``: one or two leading digits (exactly two when ``fixed``)."""
    if not _digits(s[:1]):
        return None
    if not _digits(s[1:2]):
        return None if fixed else (int(s[0]), s[1:])
    return int(s[:2]), s[2:]


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def time_error(value: str, *, micro: bool = False) -> str:
    """Why Go's ``time.Parse(RFC3339[Micro], value)`` fails, or ``""``.

    ``metav1.Time`` parses RFC 3339; ``metav1.MicroTime`` requires exactly six
    fractional digits. The message is Go's ``ParseError`` text.
    """
    layout = _RFC3339_MICRO if micro else _RFC3339
    chunks = ["2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05"]
    chunks += [".000000", "Z07:00"] if micro else ["Z07:00"]
    rest = value
    month = day = year = 0

    def cannot(elem: str, value_elem: str) -> str:
        return (
            f"parsing time {_time_quote(value)} as {_time_quote(layout)}: "
            f"cannot parse {_time_quote(value_elem)} as {_time_quote(elem)}"
        )

    def out_of_range(what: str) -> str:
        return f"parsing time {_time_quote(value)}: {what} out of range"

    for elem in chunks:
        if elem in ("-", "T", ":"):
            if not rest.startswith(elem):
                return cannot(elem, rest)
            rest = rest[1:]
            continue
        hold = rest
        if elem == "2006":
            if len(rest) < 4 or not _digits(rest[:4]):
                return cannot(elem, hold)
            year, rest = int(rest[:4]), rest[4:]
        elif elem in ("01", "02", "04", "05", "15"):
            parsed = _two_digits(rest, fixed=elem != "15")
            if parsed is None:
                return cannot(elem, hold)
            number, rest = parsed
            limits = {"01": (1, 12, "month"), "04": (0, 59, "minute"), "05": (0, 59, "second")}
            limits["15"] = (0, 23, "hour")
            if elem in limits and not limits[elem][0] <= number <= limits[elem][1]:
                return out_of_range(limits[elem][2])
            if elem == "01":
                month = number
            elif elem == "02":
                day = number
            elif elem == "05" and not micro and rest[:1] in (".", ",") and _digits(rest[1:2]):
                n = 2  # a fraction the layout does not name is accepted
                while n < len(rest) and rest[n] in _DIGITS:
                    n += 1
                rest = rest[n:]
        elif elem == ".000000":
            frac = rest[:7]
            if len(frac) < 7 or frac[0] not in ".," or not _digits(frac[1:]):
                return cannot(elem, hold)
            rest = rest[7:]
        else:  # Z07:00
            if rest.startswith("Z"):
                rest = rest[1:]
                continue
            if len(rest) < 6 or rest[3] != ":":
                return cannot(elem, hold)
            sign, hours, minutes, rest = rest[0], rest[1:3], rest[4:6], rest[6:]
            hh = _two_digits(hours, fixed=True)
            mm = _two_digits(minutes, fixed=True) if hh else None
            if mm and mm[0] > 60:
                return out_of_range("time zone offset minute")
            if hh and hh[0] > 24:
                return out_of_range("time zone offset hour")
            if hh is None or mm is None or sign not in "+-":
                return cannot(elem, hold)
    if rest:
        return f"parsing time {_time_quote(value)}: extra text: {_time_quote(rest)}"
    if not 1 <= day <= _days_in(month, year):
        return out_of_range("day")
    return ""


_B64 = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}


def base64_error(text: str) -> str:
    """Why Go's ``base64.StdEncoding`` rejects ``text``, or ``""``.

    Padding is required; CR and LF are skipped; the offset is Go's.
    """
    src = text.encode("utf-8")
    n, si = len(src), 0
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return ""
                return f"illegal base64 data at input byte {si - j}"
            ch = src[si]
            si += 1
            if chr(ch) in _B64:
                j += 1
                continue
            if ch in (10, 13):
                continue
            if ch != ord("="):
                return f"illegal base64 data at input byte {si - 1}"
            if j in (0, 1):
                return f"illegal base64 data at input byte {si - 1}"
            if j == 2:
                while si < n and src[si] in (10, 13):
                    si += 1
                if si == n:
                    return f"illegal base64 data at input byte {n}"
                if src[si] != ord("="):
                    return f"illegal base64 data at input byte {si - 1}"
                si += 1
            while si < n and src[si] in (10, 13):
                si += 1
            if si < n:
                return f"illegal base64 data at input byte {si}"
            return ""
    return ""
