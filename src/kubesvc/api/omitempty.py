"""Objects as Go would store them: ``omitempty`` fields left out when empty (pure).

kube-apiserver decodes every write into its Go struct and encodes that struct
again, so what clients read back never carries a field whose json tag says
``omitempty`` and whose value is empty: ``kubectl annotate svc web owner-``
removes the last annotation and the object has no ``annotations`` at all (not
``annotations: {}``); ``clusterIP: ""`` or ``hostNetwork: false`` in a manifest
are not stored. kubesvc keeps objects as JSON, so ``drop_empty`` applies the
same rule to a decoded object, guided by the schema's ``omit_empty`` and
``pointer`` flags:

* ``null`` is Go's nil: left out when the field is an ``omitempty`` pointer, map
  or list (or a scalar, whose zero is left out); a ``null`` struct that is not a
  pointer decodes to the zero struct, written as ``{}``; a ``null`` ``Time``
  stays ``null`` (how Go writes the zero time);
* an empty map or list is left out when ``omitempty``;
* a zero scalar (``""``, ``0``, ``false``) is left out when ``omitempty`` and
  not a pointer (a pointer to zero is a value: ``replicas: 0`` stays);
* structs are never empty to Go's encoder (``status: {loadBalancer: {}}``
  stays), nor are ``Time``, ``IntOrString`` and ``Quantity`` values.

Fields the schema does not know are left alone (they were pruned or rejected
before this runs).
"""

from __future__ import annotations

from typing import Any

from kubesvc.api import schema

_SCALARS = frozenset({"string", "integer", "number", "boolean"})


def drop_empty(obj: dict[str, Any], definition_name: str) -> None:
    """Apply ``omitempty`` to ``obj`` (an object of ``definition_name``), in place."""
    definition = schema.definition(definition_name)
    if definition is None:
        return
    for name in list(obj):
        f = definition.fields.get(name)
        if f is None:
            continue
        value = obj[name]
        if value is None:
            if f.pointer or f.array or f.map:
                if f.omit_empty:
                    del obj[name]
            elif _is_struct(f):
                obj[name] = {}
            elif f.type in _SCALARS and f.omit_empty:
                del obj[name]
            # Time, IntOrString and Quantity are structs to Go: never omitted (a zero
            # Time is written as null, as in a pod template's creationTimestamp).
            continue
        if f.array or f.map:
            if f.omit_empty and not value and isinstance(value, (list, dict)):
                del obj[name]
                continue
            _descend_collection(f, value)
            continue
        if f.ref and isinstance(value, dict):
            drop_empty(value, f.ref)
            continue
        if f.omit_empty and not f.pointer and f.type in _SCALARS and _is_zero(value):
            del obj[name]


def _is_struct(f: schema.Field) -> bool:
    return bool(f.ref) and not f.array and not f.map


def _is_zero(value: Any) -> bool:
    # bool is an int in Python: False and 0 are both zero, True and 1 are not.
    return value == "" or (isinstance(value, (int, float)) and not value)


def _descend_collection(f: schema.Field, value: Any) -> None:
    if not f.ref:
        return
    if f.map and isinstance(value, dict):
        items = list(value.values())
    elif f.array and isinstance(value, list):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, dict):
            drop_empty(item, f.ref)
