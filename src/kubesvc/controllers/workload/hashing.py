"""The pod-template hash: ``pod-template-hash`` and ``controller-revision-hash`` values.

Upstream (``controller.ComputeHash``) feeds a Go-specific dump of the typed
``PodTemplateSpec`` (``spew`` with sorted keys) into FNV-32a, then, when a
``collisionCount`` is given, its 32-bit little-endian value padded to 8 bytes,
and renders the decimal sum with ``rand.SafeEncodeString`` (each byte mapped
into ``bcdfghjklmnpqrstvwxz2456789``: no vowels, no look-alike digits).

We cannot reproduce the Go dump from a JSON object (it prints every zero
field and Go type name), so our input is the template's canonical JSON
(sorted keys, no spaces). Everything after that is upstream's: same hash
function, same collision suffix, same alphabet and length (up to 10
characters). The consequence: a template hashes to a different value here than
on a real cluster, but equally stable and equally collision-handled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, h: int = _FNV_OFFSET) -> int:
    for byte in data:
        h ^= byte
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in text.encode())


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    h = fnv32a(canonical_json(template))
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0" * 4, h)
    return safe_encode(str(h))
