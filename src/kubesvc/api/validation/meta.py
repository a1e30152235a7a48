"""``ObjectMeta`` validation on create and update, as kube-apiserver does it.

Ports apimachinery's ``pkg/api/validation/objectmeta.go`` (plus the finalizer
check that ``pkg/apis/core/validation`` adds for built-in kinds) to plain
dicts. The order of checks, the field paths and the messages are upstream's:

create (``validate_object_meta``)
    generateName (as a prefix) -> name (``name or generateName is required``,
    then the kind's name format) -> namespace (required for namespaced kinds,
    ``not allowed on this type`` otherwise) -> generation >= 0 -> labels ->
    annotations (keys, total size) -> ownerReferences -> finalizers.

update (``validate_object_meta_update``)
    no new finalizers once deleting -> generation not decremented -> name,
    namespace, uid, creationTimestamp, deletionTimestamp,
    deletionGracePeriodSeconds immutable (``field is immutable``) -> labels ->
    annotations -> ownerReferences -> finalizer names.

Two upstream checks are left to the store, which runs before validation:
an update without ``resourceVersion`` (the store answers ``must be specified
for an update`` itself), and the resetting of server-owned fields (generation,
uid, creationTimestamp) from the old object.

Maps are walked in the object's own key order; Go walks them in random order,
so any order is what upstream could produce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubesvc.api.errors import (
    FieldError,
    forbidden,
    go_string_slice,
    invalid,
    required,
    too_long,
)
from kubesvc.api.validation.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    mask_trailing_dash,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
)

FIELD_IMMUTABLE_ERROR_MSG = "field is immutable"
IS_NEGATIVE_ERROR_MSG = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * (1 << 10)

FINALIZER_ORPHAN_DEPENDENTS = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"
STANDARD_FINALIZERS = frozenset(
    {"kubernetes", FINALIZER_ORPHAN_DEPENDENTS, FINALIZER_DELETE_DEPENDENTS}
)

# GroupVersionKinds that may not own other objects (apimachinery's BannedOwners).
BANNED_OWNERS = frozenset({("", "v1", "Event")})

NameValidator = Callable[[str], list[str]]
Obj = Mapping[str, Any]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _blen(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def validate_labels(labels: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """``v1validation.ValidateLabels``: keys are qualified names, values label values."""
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        errs.extend(invalid(path, key, msg) for msg in is_qualified_name(key))
        text = _str(value)
        errs.extend(invalid(path, text, msg) for msg in is_valid_label_value(text))
    return errs


def validate_annotations(annotations: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """``ValidateAnnotations``: keys are qualified names (case-insensitively), 256 KiB in all."""
    errs: list[FieldError] = []
    total = 0
    for key, value in (annotations or {}).items():
        errs.extend(invalid(path, key, msg) for msg in is_qualified_name(key.lower()))
        total += _blen(key) + _blen(_str(value))
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errs.append(too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return errs


def _group_version(api_version: str) -> tuple[str, str] | None:
    """``schema.ParseGroupVersion``; None where it fails (more than one ``/``)."""
    if api_version in ("", "/"):
        return "", ""
    if api_version.count("/") == 0:
        return "", api_version
    if api_version.count("/") == 1:
        group, version = api_version.split("/")
        return group, version
    return None


def _validate_owner_reference(ref: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    api_version = _str(ref.get("apiVersion"))
    kind = _str(ref.get("kind"))
    gv = _group_version(api_version)
    group, version = gv if gv is not None else ("", "")
    if not version:
        errs.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
    if not kind:
        errs.append(invalid(f"{path}.kind", kind, "kind must not be empty"))
    name = _str(ref.get("name"))
    if not name:
        errs.append(invalid(f"{path}.name", name, "name must not be empty"))
    uid = _str(ref.get("uid"))
    if not uid:
        errs.append(invalid(f"{path}.uid", uid, "uid must not be empty"))
    if (group, version, kind) in BANNED_OWNERS:
        gvk = f"{group}/{version}, Kind={kind}"
        errs.append(invalid(path, dict(ref), f"{gvk} is disallowed from being an owner"))
    return errs


def validate_owner_references(refs: list[Any] | None, path: str) -> list[FieldError]:
    """``ValidateOwnerReferences``: the basics of each, and at most one controller.

    Upstream reports each reference's problems at the list's path (not indexed).
    """
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs or []:
        ref = ref if isinstance(ref, Mapping) else {}
        errs.extend(_validate_owner_reference(ref, path))
        if ref.get("controller") is True:
            current = f"{_str(ref.get('kind'))}/{_str(ref.get('name'))}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        list(refs or []),
                        "Only one reference can have Controller set to true. "
                        f'Found "true" in references for {first_controller} and {current}',
                    )
                )
            else:
                first_controller = current
    return errs


def validate_finalizer_name(name: str, path: str) -> list[FieldError]:
    """``ValidateFinalizerName``: a qualified name."""
    return [invalid(path, name, msg) for msg in is_qualified_name(name)]


def validate_kube_finalizer_name(name: str, path: str) -> list[FieldError]:
    """Built-in kinds only: an unqualified finalizer must be a standard one."""
    if "/" not in name and name not in STANDARD_FINALIZERS:
        detail = "name is neither a standard finalizer name nor is it fully qualified"
        return [invalid(path, name, detail)]
    return []


def validate_finalizers(finalizers: list[Any] | None, path: str) -> list[FieldError]:
    """``ValidateFinalizers``: qualified names, and not both orphan and foregroundDeletion."""
    names = [_str(f) for f in finalizers or []]
    errs: list[FieldError] = []
    for name in names:
        errs.extend(validate_finalizer_name(name, path))
    if FINALIZER_ORPHAN_DEPENDENTS in names and FINALIZER_DELETE_DEPENDENTS in names:
        errs.append(
            invalid(
                path,
                names,
                f"finalizer {FINALIZER_ORPHAN_DEPENDENTS} and {FINALIZER_DELETE_DEPENDENTS} "
                "cannot be both set",
            )
        )
    return errs


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def validate_object_meta(
    meta: Obj,
    *,
    namespaced: bool,
    name_validator: NameValidator = name_is_dns_subdomain,
    path: str = "metadata",
    kube_finalizers: bool = True,
) -> list[FieldError]:
    """``ValidateObjectMeta`` for an object about to be created.

    ``name_validator`` checks a whole name (e.g. ``is_dns1123_subdomain``, or
    ``is_dns1035_label`` for Services, ``is_dns1123_label`` for Namespaces); a
    ``generateName`` is checked with it after ``mask_trailing_dash``. Name
    generation is expected to have happened already. ``kube_finalizers`` adds the
    check built-in kinds have on unqualified finalizer names.
    """
    errs: list[FieldError] = []
    generate_name = _str(meta.get("generateName"))
    if generate_name:
        errs.extend(
            invalid(f"{path}.generateName", generate_name, msg)
            for msg in name_validator(mask_trailing_dash(generate_name))
        )
    name = _str(meta.get("name"))
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs.extend(invalid(f"{path}.name", name, msg) for msg in name_validator(name))
    namespace = _str(meta.get("namespace"))
    if namespaced:
        if not namespace:
            errs.append(required(f"{path}.namespace"))
        else:
            errs.extend(
                invalid(f"{path}.namespace", namespace, msg) for msg in is_dns1123_label(namespace)
            )
    elif namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    generation = _int(meta.get("generation"))
    if generation < 0:
        errs.append(invalid(f"{path}.generation", generation, IS_NEGATIVE_ERROR_MSG))
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers"))
    if kube_finalizers:
        for i, finalizer in enumerate(meta.get("finalizers") or []):
            errs.extend(validate_kube_finalizer_name(_str(finalizer), f"{path}.finalizers[{i}]"))
    return errs


class GoTime:
    """A ``metav1.Time`` value as field errors print it (Go's ``time.Time.String``).

    ``None`` stands for Go's zero time. Equality compares instants, as
    ``apiequality.Semantic`` does for timestamps.
    """

    __slots__ = ("when",)

    def __init__(self, when: datetime | None) -> None:
        self.when = when

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and self.when == other.when

    def __hash__(self) -> int:
        return hash(self.when)

    def __str__(self) -> str:
        when = self.when or datetime(1, 1, 1, tzinfo=UTC)
        text = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if when.microsecond:
            text += f".{when.microsecond:06d}".rstrip("0")
        return text + " +0000 UTC"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _go_time(value: Any) -> GoTime:
    return GoTime(_parse_time(value))


def _go_time_ptr(value: Any) -> GoTime | None:
    """``*metav1.Time``: absent is nil (printed ``null``)."""
    return None if value is None else _go_time(value)


def _immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    if new != old:
        return [invalid(path, new, FIELD_IMMUTABLE_ERROR_MSG)]
    return []


def validate_no_new_finalizers(
    new: list[Any] | None, old: list[Any] | None, path: str
) -> list[FieldError]:
    """``ValidateNoNewFinalizers``: nothing may be added while the object is being deleted."""
    extra = sorted({_str(f) for f in new or []} - {_str(f) for f in old or []})
    if extra:
        return [
            forbidden(
                path,
                "no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {go_string_slice(extra)}",
            )
        ]
    return []


def validate_object_meta_update(
    new: Obj,
    old: Obj,
    *,
    path: str = "metadata",
    kube_finalizers: bool = True,
) -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: what may not change, and the new labels/annotations/owners."""
    errs: list[FieldError] = []
    if old.get("deletionTimestamp") is not None:
        errs.extend(
            validate_no_new_finalizers(
                new.get("finalizers"), old.get("finalizers"), f"{path}.finalizers"
            )
        )
    new_generation, old_generation = _int(new.get("generation")), _int(old.get("generation"))
    if new_generation < old_generation:
        errs.append(invalid(f"{path}.generation", new_generation, "must not be decremented"))
    for key in ("name", "namespace", "uid"):
        errs.extend(_immutable(_str(new.get(key)), _str(old.get(key)), f"{path}.{key}"))
    errs.extend(
        _immutable(
            _go_time(new.get("creationTimestamp")),
            _go_time(old.get("creationTimestamp")),
            f"{path}.creationTimestamp",
        )
    )
    errs.extend(
        _immutable(
            _go_time_ptr(new.get("deletionTimestamp")),
            _go_time_ptr(old.get("deletionTimestamp")),
            f"{path}.deletionTimestamp",
        )
    )
    errs.extend(
        _immutable(
            new.get("deletionGracePeriodSeconds"),
            old.get("deletionGracePeriodSeconds"),
            f"{path}.deletionGracePeriodSeconds",
        )
    )
    errs.extend(validate_labels(new.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(new.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(new.get("ownerReferences"), f"{path}.ownerReferences"))
    if kube_finalizers:
        for i, finalizer in enumerate(new.get("finalizers") or []):
            errs.extend(validate_kube_finalizer_name(_str(finalizer), f"{path}.finalizers[{i}]"))
    return errs


__all__ = [
    "BANNED_OWNERS",
    "FIELD_IMMUTABLE_ERROR_MSG",
    "STANDARD_FINALIZERS",
    "TOTAL_ANNOTATION_SIZE_LIMIT_B",
    "GoTime",
    "NameValidator",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_qualified_name",
    "is_valid_label_value",
    "mask_trailing_dash",
    "name_is_dns1035_label",
    "name_is_dns_label",
    "name_is_dns_subdomain",
    "validate_annotations",
    "validate_finalizer_name",
    "validate_finalizers",
    "validate_kube_finalizer_name",
    "validate_labels",
    "validate_no_new_finalizers",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_owner_references",
]
