"""Decoding of Kubernetes protobuf request bodies into the JSON dicts clients mean (pure).

client-go's typed clients (``kubectl create ...``, ``kubectl run``) send objects as
``application/vnd.kubernetes.protobuf``: the four bytes ``k8s\\x00``, then a
``runtime.Unknown`` message whose ``typeMeta`` names the kind and whose ``raw``
holds the object's own message. ``decode`` turns such a body into the dict the
same client would have sent as JSON, so everything after body decoding is shared
with the JSON path. Field numbers and Go facts come from the schema
(``Field.proto``, ``proto_embed``, ``pointer``, ``omit_empty``); nothing here
knows a particular kind.

How the Go types shape the result:

* Go writes every non-pointer field, zero or not, and pointer fields when set.
  Go's JSON leaves out a zero scalar whose tag has ``omitempty`` unless it is a
  pointer, so such zeros are dropped here and all other values kept. Nested
  messages are always kept (``"status": {}``), as Go's JSON keeps structs.
* A Go struct embedded inline (``Volume``'s ``VolumeSource``, ``Probe``'s
  ``ProbeHandler``) is a nested message on the wire and flat in JSON.
* ``Time`` becomes RFC 3339 in seconds (``null`` when zero), ``MicroTime`` RFC
  3339 with microseconds, ``IntOrString`` a number or string, ``Quantity`` its
  string, ``bytes`` base64, ``FieldsV1``/``RawExtension`` the JSON they hold.
* Repeated fields: each occurrence is one element (packed numeric lists are
  accepted too). Maps: entries with key = 1 and value = 2. A non-repeated field
  seen twice: the last scalar wins and messages merge, as protobuf specifies.
* Unknown field numbers are skipped; anything malformed raises ``ValueError``
  with a message fit for a 400 response.

Only decoding lives here: responses are always JSON.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from kubesvc.api import schema

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5
_WIRE_NAMES = {VARINT: "varint", FIXED64: "64-bit", BYTES: "length-delimited", FIXED32: "32-bit"}

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GO_ZERO_TIME_SECONDS = -62135596800
"""Seconds from the Unix epoch to Go's zero time (year 1), which JSON writes as null."""
_MESSAGE_TYPES = frozenset({"ref", "date-time", "quantity", "int-or-string", "object"})
_PACKABLE = frozenset({"integer", "boolean", "number"})

WireValue = int | bytes


# --------------------------------------------------------------------------------------------
# Wire format.


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` (kept to 64 bits) and the position after it."""
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(buf):
            raise ValueError("protobuf: truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos
    raise ValueError("protobuf: varint longer than 10 bytes")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, WireValue]]:
    """(field number, wire type, value) of each field of one message, in order.

    Varints come as unsigned ints, length-delimited and fixed-size values as bytes.
    """
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("protobuf: field number 0 is invalid")
        value: WireValue
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == BYTES:
            size, pos = read_varint(buf, pos)
            if size > end - pos:
                raise ValueError(f"protobuf: field {number} is longer than its message")
            value = buf[pos : pos + size]
            pos += size
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if size > end - pos:
                raise ValueError(f"protobuf: field {number} is truncated")
            value = buf[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"protobuf: unsupported wire type {wire} for field {number}")
        yield number, wire, value


def _signed(value: int, bits: int) -> int:
    """Two's complement reading of a varint, truncated to ``bits`` as Go's int32(v) does."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


# --------------------------------------------------------------------------------------------
# The envelope.


def decode(body: bytes) -> dict[str, Any]:
    """The JSON-shaped object of a ``k8s\\x00`` + ``runtime.Unknown`` body."""
    if not body.startswith(MAGIC):
        raise ValueError("protobuf: body does not start with the k8s\\x00 prefix")
    api_version = kind = encoding = content_type = ""
    raw = b""
    for number, wire, value in iter_fields(body[len(MAGIC) :]):
        if number == 1:
            for sub, sub_wire, sub_value in iter_fields(_bytes(wire, value, "Unknown.typeMeta")):
                if sub == 1:
                    api_version = _text(sub_wire, sub_value, "TypeMeta.apiVersion")
                elif sub == 2:
                    kind = _text(sub_wire, sub_value, "TypeMeta.kind")
        elif number == 2:
            raw = _bytes(wire, value, "Unknown.raw")
        elif number == 3:
            encoding = _text(wire, value, "Unknown.contentEncoding")
        elif number == 4:
            content_type = _text(wire, value, "Unknown.contentType")
    if encoding:
        raise ValueError(f"protobuf: unsupported content encoding {encoding!r}")
    if content_type not in ("", MEDIA_TYPE):
        raise ValueError(f"protobuf: unsupported content type {content_type!r} in the envelope")
    if not kind:
        raise ValueError("protobuf: the envelope names no kind")
    definition = _definition_for(api_version, kind)
    obj: dict[str, Any] = {"kind": kind}
    if api_version:
        obj["apiVersion"] = api_version
    obj.update(_decode_message(raw, _plan(definition.name)))
    return obj


def _definition_for(api_version: str, kind: str) -> schema.Definition:
    group, _, version = api_version.rpartition("/")
    found = schema.for_kind(group, version, kind)
    if found is None:
        # meta/v1 kinds (DeleteOptions, Status) travel under any group's version.
        meta = schema.definition(_META + kind)
        found = meta if meta is not None and meta.gvk is not None else None
    if found is None:
        raise ValueError(f"protobuf: no kind {kind!r} is served in version {api_version!r}")
    return found


# --------------------------------------------------------------------------------------------
# Messages.


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to read one definition's message: its fields by number."""

    name: str
    fields: dict[int, schema.Field]
    embedded: dict[int, dict[int, schema.Field]]
    """Fields of messages embedded inline, by the number they are embedded at."""


@cache
def _plan(name: str) -> _Plan:
    definition = schema.definition(name)
    if definition is None:
        raise ValueError(f"protobuf: no schema for {name}")
    fields: dict[int, schema.Field] = {}
    embedded: dict[int, dict[int, schema.Field]] = {}
    for field in definition.fields.values():
        if not field.proto:
            continue
        if field.proto_embed:
            embedded.setdefault(field.proto_embed, {})[field.proto] = field
        else:
            fields[field.proto] = field
    return _Plan(definition.short_name, fields, embedded)


def _decode_message(buf: bytes, plan: _Plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    parts: dict[str, tuple[schema.Field, list[bytes]]] = {}
    _read_into(buf, plan, plan.fields, out, parts)
    for name, (field, chunks) in parts.items():
        out[name] = _message_value(field, b"".join(chunks), plan)
    return out


def _read_into(
    buf: bytes,
    plan: _Plan,
    table: dict[int, schema.Field],
    out: dict[str, Any],
    parts: dict[str, tuple[schema.Field, list[bytes]]],
) -> None:
    """Read one message's fields into ``out``; single message fields collect in ``parts``."""
    for number, wire, value in iter_fields(buf):
        if table is plan.fields and number in plan.embedded:
            inner = _bytes(wire, value, f"{plan.name} field {number}")
            _read_into(inner, plan, plan.embedded[number], out, parts)
            continue
        field = table.get(number)
        if field is None:
            continue
        where = f"{plan.name}.{field.name}"
        if field.map:
            key, item = _map_entry(_bytes(wire, value, where), field, plan)
            out.setdefault(field.name, {})[key] = item
        elif field.array:
            items = out.setdefault(field.name, [])
            if wire == BYTES and field.type in _PACKABLE:
                items.extend(_packed(field, _bytes(wire, value, where), where))
            else:
                items.append(_element(field, wire, value, plan))
        elif field.type in _MESSAGE_TYPES:
            out.setdefault(field.name, None)  # keeps the wire order of keys
            parts.setdefault(field.name, (field, []))[1].append(_bytes(wire, value, where))
        else:
            scalar = _scalar(field, wire, value, where)
            if field.omit_empty and not field.pointer and not scalar:
                out.pop(field.name, None)
            else:
                out[field.name] = scalar


def _element(field: schema.Field, wire: int, value: WireValue, plan: _Plan) -> Any:
    """One list element or map value."""
    where = f"{plan.name}.{field.name}"
    if field.type in _MESSAGE_TYPES:
        return _message_value(field, _bytes(wire, value, where), plan)
    return _scalar(field, wire, value, where)


def _map_entry(buf: bytes, field: schema.Field, plan: _Plan) -> tuple[str, Any]:
    key = ""
    item: Any = None
    seen = False
    for number, wire, value in iter_fields(buf):
        if number == 1:
            key = _text(wire, value, f"{plan.name}.{field.name} key")
        elif number == 2:
            item = _element(field, wire, value, plan)
            seen = True
    if not seen:
        item = _zero(field, plan)
    return key, item


def _zero(field: schema.Field, plan: _Plan) -> Any:
    """The value of an absent map value: what Go's zero value looks like in JSON."""
    if field.type in _MESSAGE_TYPES:
        return _message_value(field, b"", plan)
    return {"string": "", "byte": "", "integer": 0, "number": 0.0, "boolean": False}.get(
        field.type, ""
    )


def _packed(field: schema.Field, buf: bytes, where: str) -> list[Any]:
    out: list[Any] = []
    pos = 0
    if field.type == "number":
        if len(buf) % 8:
            raise ValueError(f"protobuf: {where}: packed doubles are not a multiple of 8 bytes")
        return [v for (v,) in struct.iter_unpack("<d", buf)]
    while pos < len(buf):
        raw, pos = read_varint(buf, pos)
        out.append(_scalar(field, VARINT, raw, where))
    return out


def _scalar(field: schema.Field, wire: int, value: WireValue, where: str) -> Any:
    kind = field.type
    if kind == "string":
        return _text(wire, value, where)
    if kind == "byte":
        return base64.b64encode(_bytes(wire, value, where)).decode("ascii")
    if kind == "boolean":
        return _varint(wire, value, where) != 0
    if kind == "integer":
        return _signed(_varint(wire, value, where), 64 if field.format == "int64" else 32)
    if kind == "number":
        if wire == FIXED64 and isinstance(value, bytes):
            return float(struct.unpack("<d", value)[0])
        if wire == FIXED32 and isinstance(value, bytes):
            return float(struct.unpack("<f", value)[0])
        raise _wrong_wire(where, wire, "64-bit")
    raise ValueError(f"protobuf: {where}: cannot decode a field of type {kind}")


def _message_value(field: schema.Field, buf: bytes, plan: _Plan) -> Any:
    where = f"{plan.name}.{field.name}"
    if field.type == "ref":
        return _decode_message(buf, _plan(field.ref))
    if field.type == "date-time":
        return _time(buf, micro=field.format == "micro-time", where=where)
    if field.type == "quantity":
        return _quantity(buf, where)
    if field.type == "int-or-string":
        return _int_or_string(buf, where)
    return _raw_json(buf, where)


# --------------------------------------------------------------------------------------------
# Well-known Kubernetes messages.


def _time(buf: bytes, *, micro: bool, where: str) -> str | None:
    """metav1.Time / MicroTime (seconds = 1, nanos = 2) as Go's JSON writes them."""
    if not buf:
        return None
    seconds = nanos = 0
    for number, wire, value in iter_fields(buf):
        if number == 1:
            seconds = _signed(_varint(wire, value, where), 64)
        elif number == 2:
            nanos = _signed(_varint(wire, value, where), 32)
    if seconds == _GO_ZERO_TIME_SECONDS and nanos == 0:
        return None
    total_ns = seconds * 1_000_000_000 + nanos
    try:
        if micro:
            moment = _EPOCH + timedelta(microseconds=total_ns // 1000)
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        moment = _EPOCH + timedelta(seconds=total_ns // 1_000_000_000)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError as exc:
        raise ValueError(f"protobuf: {where}: time outside years 1 to 9999") from exc


def _quantity(buf: bytes, where: str) -> str:
    """resource.Quantity (string = 1); the zero Quantity is "0" in JSON."""
    text = ""
    for number, wire, value in iter_fields(buf):
        if number == 1:
            text = _text(wire, value, where)
    return text or "0"


def _int_or_string(buf: bytes, where: str) -> int | str:
    """intstr.IntOrString: type = 1 (0 int, 1 string), intVal = 2, strVal = 3."""
    kind, number_value, text = 0, 0, ""
    for number, wire, value in iter_fields(buf):
        if number == 1:
            kind = _signed(_varint(wire, value, where), 64)
        elif number == 2:
            number_value = _signed(_varint(wire, value, where), 32)
        elif number == 3:
            text = _text(wire, value, where)
    if kind == 0:
        return number_value
    if kind == 1:
        return text
    raise ValueError(f"protobuf: {where}: IntOrString type {kind} is neither 0 (int) nor 1")


def _raw_json(buf: bytes, where: str) -> Any:
    """FieldsV1 / RawExtension (raw = 1): the JSON document they carry, null when empty."""
    raw = b""
    for number, wire, value in iter_fields(buf):
        if number == 1:
            raw = _bytes(wire, value, where)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"protobuf: {where}: raw value is not JSON: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Checked access to wire values.


def _wrong_wire(where: str, wire: int, expected: str) -> ValueError:
    got = _WIRE_NAMES.get(wire, str(wire))
    return ValueError(f"protobuf: {where}: got a {got} value, expected {expected}")


def _bytes(wire: int, value: WireValue, where: str) -> bytes:
    if wire != BYTES or not isinstance(value, bytes):
        raise _wrong_wire(where, wire, "length-delimited")
    return value


def _text(wire: int, value: WireValue, where: str) -> str:
    # Go keeps the bytes as they are and its JSON writes invalid UTF-8 as U+FFFD.
    return _bytes(wire, value, where).decode("utf-8", errors="replace")


def _varint(wire: int, value: WireValue, where: str) -> int:
    if wire != VARINT or not isinstance(value, int):
        raise _wrong_wire(where, wire, "varint")
    return value
