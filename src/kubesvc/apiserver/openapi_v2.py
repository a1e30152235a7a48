"""The ``/openapi/v2`` document: present, valid and empty of schemas (pure).

Why it exists at all: kubectl validates manifests before it maps them to
resources. For a kind the server's OpenAPI v3 documents do not describe (the
classic mistake ``apiVersion: extensions/v1beta1`` with ``kind: Deployment``)
the field-validation probe reports "parameter unsupported", and kubectl then
validates on the client against ``/openapi/v2``. When that download fails the
command aborts with "error validating data: the server could not find the
requested resource" instead of reaching the mapping step, which prints what
real clusters print: ``no matches for kind "Deployment" in version
"extensions/v1beta1"``. With a document that names no definitions, the
client-side validator finds nothing to check for that kind and moves on.

Every kind kubesvc serves is described in the v3 documents, which is what
kubectl uses for validation (server-side), ``explain`` and client-side apply;
those never need v2 definitions. kubectl asks for v2 in protobuf
(``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``, the gnostic
``openapi.v2.Document`` message); other clients get the same document as JSON.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""What the answer is labelled with. Clients ask for the older spelling with ``@``,
which Go's ``mime.ParseMediaType`` rejects in a Content-Type, so, like
kube-openapi, the answer uses the spelling with a dot."""
_PROTOBUF_ACCEPTED = frozenset(
    {PROTOBUF_CONTENT_TYPE, "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
)

# Field numbers of gnostic's openapi.v2 messages used here.
_DOCUMENT_SWAGGER = 1
_DOCUMENT_INFO = 2
_DOCUMENT_PATHS = 8
_INFO_TITLE = 1
_INFO_VERSION = 2


def document(version: str) -> dict[str, Any]:
    """The JSON form: Swagger 2.0 header, no paths, no definitions."""
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": {},
    }


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings and embedded messages."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_protobuf(doc: dict[str, Any]) -> bytes:
    """``doc`` (as ``document`` returns it) as an ``openapi.v2.Document`` message."""
    info = doc["info"]
    info_msg = _field(_INFO_TITLE, info["title"].encode()) + _field(
        _INFO_VERSION, info["version"].encode()
    )
    return (
        _field(_DOCUMENT_SWAGGER, doc["swagger"].encode())
        + _field(_DOCUMENT_INFO, info_msg)
        + _field(_DOCUMENT_PATHS, b"")
    )


@cache
def document_bytes(version: str, protobuf: bool) -> bytes:
    doc = document(version)
    if protobuf:
        return encode_protobuf(doc)
    return json.dumps(doc, separators=(",", ":")).encode()


def wants_protobuf(accept: str) -> bool:
    """Whether the Accept header lists the protobuf form (kubectl always does)."""
    return any(entry.split(";", 1)[0].strip() in _PROTOBUF_ACCEPTED for entry in accept.split(","))
