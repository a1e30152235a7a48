"""Every patch type the API server accepts, as pure functions over decoded JSON.

=================================  ===========================================
Content-Type                       function
=================================  ===========================================
``application/json-patch+json``    ``apply_json_patch(doc, ops)``
``application/merge-patch+json``   ``apply_merge_patch(doc, patch)``
``application/strategic-merge-     ``apply_strategic(obj, patch, definition)``
patch+json``
``application/apply-patch+yaml``   ``apply_config(live, applied, definition,
                                   manager, force=, now=)``
=================================  ===========================================

After every other write the server calls ``update_managed_fields`` so ownership
stays right for later server-side applies. ``create_two_way_merge_patch`` is the
strategic diff kubectl's client-side apply computes.

All failures raise ``PatchError``; its ``code``, ``reason`` and
``status_message`` say which Status to answer with (``errors``). Apply conflicts
are not errors: ``ApplyResult.conflicts`` is non-empty and ``conflict_message`` /
``conflict_causes`` build the 409. Schema-driven functions take the definition
name (``io.k8s.api.core.v1.Service``) and an optional ``lookup`` (defaulting to
``kubesvc.api.schema.definition``). Nothing here does I/O or mutates its inputs.
"""

from __future__ import annotations

from .apply import (
    BEFORE_FIRST_APPLY,
    ApplyResult,
    Conflict,
    Manager,
    apply_config,
    conflict_causes,
    conflict_message,
    managed_field_sets,
    update_managed_fields,
)
from .errors import GENERIC_422, PatchError
from .jsonpatch import apply_json_patch
from .mergepatch import apply_merge_patch, create_merge_patch
from .shape import SchemaLookup
from .strategic import apply_strategic
from .strategic_diff import create_two_way_merge_patch

__all__ = [
    "BEFORE_FIRST_APPLY",
    "GENERIC_422",
    "ApplyResult",
    "Conflict",
    "Manager",
    "PatchError",
    "SchemaLookup",
    "apply_config",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic",
    "conflict_causes",
    "conflict_message",
    "create_merge_patch",
    "create_two_way_merge_patch",
    "managed_field_sets",
    "update_managed_fields",
]
