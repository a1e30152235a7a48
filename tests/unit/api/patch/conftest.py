"""A small fake schema for the patch tests, shaped like the real one.

``T.Root`` is a kind with metadata and a spec that holds one list of every
flavour the patch code distinguishes: an associative list with two keys and a
defaulted one (``ports``), merge-by-name lists of objects (``items``, ``volumes``
with retainKeys), a set (``tags``), an atomic list (``args``), a map
(``selector``), a retainKeys struct (``strategy``) and a free-form object
(``config``).
"""

from __future__ import annotations

import pytest

from kubesvc.api.patch import SchemaLookup
from kubesvc.api.schema import Definition, Field


def _d(name: str, *fields: Field) -> Definition:
    return Definition(name=name, fields={f.name: f for f in fields})


def _s(name: str, type_: str = "string", **kw: object) -> Field:
    return Field(name=name, type=type_, **kw)  # type: ignore[arg-type]


DEFS: dict[str, Definition] = {
    d.name: d
    for d in [
        _d(
            "T.Root",
            _s("apiVersion"),
            _s("kind"),
            _s("metadata", "ref", ref="T.Meta"),
            _s("spec", "ref", ref="T.Spec"),
            _s("status", "ref", ref="T.Status"),
        ),
        _d(
            "T.Meta",
            _s("name"),
            _s("namespace"),
            _s("uid"),
            _s("resourceVersion"),
            _s("labels", map=True),
            _s("annotations", map=True),
            _s("finalizers", array=True, patch_strategy="merge", list_type="set"),
            _s(
                "ownerReferences",
                "ref",
                ref="T.Owner",
                array=True,
                patch_strategy="merge",
                merge_key="uid",
                list_type="map",
                list_map_keys=("uid",),
            ),
            _s("managedFields", "ref", ref="T.Managed", array=True, list_type="atomic"),
        ),
        _d("T.Owner", _s("uid"), _s("name"), _s("kind")),
        _d("T.Managed", _s("manager"), _s("fieldsV1", "object")),
        _d(
            "T.Spec",
            _s(
                "ports",
                "ref",
                ref="T.Port",
                array=True,
                patch_strategy="merge",
                merge_key="port",
                list_type="map",
                list_map_keys=("port", "protocol"),
            ),
            _s(
                "items",
                "ref",
                ref="T.Item",
                array=True,
                patch_strategy="merge",
                merge_key="name",
                list_type="map",
                list_map_keys=("name",),
            ),
            _s(
                "volumes",
                "ref",
                ref="T.Volume",
                array=True,
                patch_strategy="merge,retainKeys",
                merge_key="name",
                list_type="map",
                list_map_keys=("name",),
            ),
            _s("tags", array=True, patch_strategy="merge"),
            _s("args", array=True, list_type="atomic"),
            _s("selector", map=True),
            _s("strategy", "ref", ref="T.Strategy", patch_strategy="retainKeys"),
            _s("config", "object"),
            _s("replicas", "integer"),
        ),
        _d("T.Port", _s("port", "integer"), _s("protocol"), _s("targetPort", "int-or-string")),
        _d(
            "T.Item",
            _s("name"),
            _s("image"),
            _s(
                "env",
                "ref",
                ref="T.Env",
                array=True,
                patch_strategy="merge",
                merge_key="name",
            ),
        ),
        _d("T.Env", _s("name"), _s("value")),
        _d(
            "T.Volume",
            _s("name"),
            _s("emptyDir", "ref", ref="T.EmptyDir"),
            _s("hostPath", "ref", ref="T.HostPath"),
        ),
        _d("T.EmptyDir", _s("medium")),
        _d("T.HostPath", _s("path"), _s("type")),
        _d("T.Strategy", _s("type"), _s("rollingUpdate", "ref", ref="T.Rolling")),
        _d("T.Rolling", _s("maxSurge", "int-or-string"), _s("maxUnavailable", "int-or-string")),
        _d("T.Status", _s("phase")),
    ]
}

fake_lookup: SchemaLookup = DEFS.get


@pytest.fixture(scope="session")
def lookup() -> SchemaLookup:
    return fake_lookup
