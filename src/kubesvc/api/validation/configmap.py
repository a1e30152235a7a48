"""ConfigMap validation with Kubernetes' field paths and messages (pure).

Upstream's ``ValidateConfigMap`` / ``ValidateConfigMapUpdate``:

* every key of ``data`` and ``binaryData`` is a config key
  (``validation.IsConfigMapKey``: ``[-._a-zA-Z0-9]+``, at most 253 characters,
  not ``.``, ``..`` or starting with ``..``), reported at ``data[<key>]``;
* a key may not be in both maps;
* the values together (``binaryData`` decoded) hold at most 1 MiB, else
  ``[]: Too long: may not be more than 1048576 bytes`` (the path of the whole
  object is ``[]``);
* once ``immutable: true`` is stored, ``immutable``, ``data`` and ``binaryData``
  can no longer change.

Keys are checked in sorted order (Go ranges over the maps in random order).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from kubesvc.api.errors import FieldError, forbidden, invalid, too_long
from kubesvc.api.validation.names import (
    DNS1123_SUBDOMAIN_MAX_LENGTH,
    max_len_error,
    regex_error,
)

MAX_SIZE = 1024 * 1024
"""``core.MaxSecretSize``: the limit for a ConfigMap's (and a Secret's) data."""

CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
CONFIG_MAP_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_CONFIG_MAP_KEY = re.compile(CONFIG_MAP_KEY_FMT)

IMMUTABLE = "field is immutable when `immutable` is set"


def is_config_map_key(value: str) -> list[str]:
    """``validation.IsConfigMapKey``."""
    errs: list[str] = []
    if len(value.encode("utf-8", "surrogatepass")) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _CONFIG_MAP_KEY.fullmatch(value):
        errs.append(
            regex_error(CONFIG_MAP_KEY_ERR, CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name")
        )
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _decoded_len(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))


def validate_config_map(obj: dict[str, Any]) -> list[FieldError]:
    """Everything but the metadata (which the generic strategy checks)."""
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    binary = obj.get("binaryData") if isinstance(obj.get("binaryData"), dict) else {}
    assert isinstance(data, dict) and isinstance(binary, dict)
    errs: list[FieldError] = []
    total = 0
    for key in sorted(data):
        errs.extend(invalid(f"data[{key}]", key, msg) for msg in is_config_map_key(key))
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        value = data[key]
        total += len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else 0
    for key in sorted(binary):
        errs.extend(invalid(f"binaryData[{key}]", key, msg) for msg in is_config_map_key(key))
        total += _decoded_len(binary[key])
    if total > MAX_SIZE:
        errs.append(too_long("[]", "", MAX_SIZE))
    return errs


def validate_config_map_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """What an update may not change once the ConfigMap is immutable."""
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", IMMUTABLE))
    if (new.get("data") or {}) != (old.get("data") or {}):
        errs.append(forbidden("data", IMMUTABLE))
    if (new.get("binaryData") or {}) != (old.get("binaryData") or {}):
        errs.append(forbidden("binaryData", IMMUTABLE))
    return errs
