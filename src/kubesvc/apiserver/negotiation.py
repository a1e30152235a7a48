"""Content negotiation and body decoding for API requests (pure).

* Output is always JSON (a client that prefers protobuf gets JSON, as kubectl
  accepts); a Table is sent when the Accept header asks for
  ``as=Table;g=meta.k8s.io``.
* Input bodies are JSON or YAML for create/update, and one of the four patch
  types for PATCH. Anything else is 415 UnsupportedMediaType.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from kubesvc.api import errors

MAX_BODY_BYTES = 3 * 1024 * 1024

JSON = "application/json"
YAML = "application/yaml"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"

PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_PATCH)
BODY_TYPES = (JSON, YAML, "application/vnd.kubernetes.protobuf")


@dataclass(frozen=True, slots=True)
class Accept:
    table: bool = False
    table_version: str = "v1"


def parse_accept(header: str) -> Accept:
    """Whether the client asked for a Table (first acceptable entry wins)."""
    for entry in header.split(","):
        parts = [p.strip() for p in entry.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return Accept(table=True, table_version=params.get("v", "v1"))
        media = parts[0]
        plain = media in ("application/json", "*/*", "application/*", "application/yaml")
        if (
            plain or media.startswith("application/vnd.kubernetes.protobuf")
        ) and "as" not in params:
            return Accept()
    return Accept()


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY_BYTES}")


def decode_object(body: bytes, content_type: str) -> tuple[Any, list[str]]:
    """Decode a create/update body. Returns (object, duplicate field paths)."""
    mt = media_type(content_type) or JSON
    if mt in (JSON, "*/*", "text/plain", ""):
        return decode_json(body)
    if mt in (YAML, "application/x-yaml", "text/yaml"):
        return decode_yaml(body), []
    if mt == "application/vnd.kubernetes.protobuf":
        from kubesvc.api import protobuf

        try:
            return protobuf.decode(body), []
        except ValueError as exc:
            raise errors.BadRequest(str(exc)) from exc
    raise errors.UnsupportedMediaType(
        [JSON, YAML, "application/vnd.kubernetes.protobuf", "application/cbor"]
    )


def decode_json(body: bytes) -> tuple[Any, list[str]]:
    from kubesvc.api import fields

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.BadRequest(f"invalid UTF-8 in request body: {exc}") from exc
    try:
        return fields.loads_checking_duplicates(text)
    except json.JSONDecodeError as exc:
        raise errors.BadRequest(_json_error(exc)) from exc


def _json_error(exc: json.JSONDecodeError) -> str:
    return (
        "couldn't get version/kind; json parse error: "
        f"{exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})"
    )


def decode_yaml(body: bytes) -> Any:
    try:
        return yaml.safe_load(body.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise errors.BadRequest(f"error converting YAML to JSON: {exc}") from exc
