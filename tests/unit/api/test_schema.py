"""The generated schema: coverage of the served kinds, types, patch metadata, descriptions."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from kubesvc.api import schema
from kubesvc.api.resources import RESOURCES

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_JSON = ROOT / "src" / "kubesvc" / "api" / "schema" / "schema.json"


def field(definition: str, name: str) -> schema.Field:
    d = schema.definition(definition)
    assert d is not None, definition
    return d.fields[name]


@pytest.mark.parametrize(
    "resource", [pytest.param(r, id=f"{r.group_version}/{r.kind}") for r in RESOURCES]
)
def test_every_served_kind_and_its_list_has_a_definition(resource: object) -> None:
    from kubesvc.api.resources import Resource

    assert isinstance(resource, Resource)
    kind = schema.for_kind(resource.group, resource.version, resource.kind)
    listing = schema.for_kind(resource.group, resource.version, resource.list_kind)
    assert kind is not None and listing is not None
    assert {"apiVersion", "kind", "metadata"} <= set(kind.fields)
    assert listing.fields["items"].ref == kind.name and listing.fields["items"].array
    for sub in resource.subresources:
        if sub.name in ("status", "scale", "binding"):
            assert schema.for_kind(sub.group, sub.version, sub.kind) is not None


def test_every_reference_resolves() -> None:
    defs = schema.definitions()
    for d in defs.values():
        for f in d.fields.values():
            if f.type == "ref":
                assert f.ref in defs, f"{d.name}.{f.name} -> {f.ref}"
            else:
                assert not f.ref


@pytest.mark.parametrize(
    ("definition", "name", "expected"),
    [
        pytest.param(
            "io.k8s.api.core.v1.ServicePort",
            "targetPort",
            {"type": "int-or-string"},
            id="targetPort-int-or-string",
        ),
        pytest.param(
            "io.k8s.api.core.v1.ServicePort",
            "port",
            {"type": "integer", "format": "int32", "required": True},
            id="port-int32-required",
        ),
        pytest.param(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "generation",
            {"type": "integer", "format": "int64"},
            id="generation-int64",
        ),
        pytest.param(
            "io.k8s.api.core.v1.ResourceRequirements",
            "limits",
            {"type": "quantity", "map": True},
            id="limits-quantity-map",
        ),
        pytest.param(
            "io.k8s.api.core.v1.Secret", "data", {"type": "byte", "map": True}, id="secret-bytes"
        ),
        pytest.param(
            "io.k8s.api.core.v1.ConfigMap",
            "data",
            {"type": "string", "map": True},
            id="configmap-strings",
        ),
        pytest.param(
            "io.k8s.api.coordination.v1.LeaseSpec",
            "renewTime",
            {"type": "date-time", "format": "micro-time"},
            id="micro-time",
        ),
        pytest.param(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "creationTimestamp",
            {"type": "date-time", "format": ""},
            id="time",
        ),
        pytest.param(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
            "fieldsV1",
            {"type": "object"},
            id="fieldsV1-free-form",
        ),
        pytest.param(
            "io.k8s.api.core.v1.PodSpec",
            "containers",
            {"type": "ref", "ref": "io.k8s.api.core.v1.Container", "array": True, "required": True},
            id="containers-required",
        ),
        pytest.param(
            "io.k8s.api.core.v1.EndpointSubset",
            "addresses",
            {"type": "ref", "ref": "io.k8s.api.core.v1.EndpointAddress", "array": True},
            id="endpoints-addresses",
        ),
    ],
)
def test_field_types(definition: str, name: str, expected: dict[str, object]) -> None:
    f = field(definition, name)
    for attr, value in expected.items():
        assert getattr(f, attr) == value, attr


@pytest.mark.parametrize(
    ("definition", "name", "strategy", "merge_key", "list_type", "map_keys"),
    [
        pytest.param(
            "ServiceSpec", "ports", "merge", "port", "map", ("port", "protocol"), id="svc"
        ),
        pytest.param("PodSpec", "containers", "merge", "name", "map", ("name",), id="containers"),
        pytest.param(
            "PodSpec", "volumes", "merge,retainKeys", "name", "map", ("name",), id="volumes"
        ),
        pytest.param("PodSpec", "hostAliases", "merge", "ip", "map", ("ip",), id="hostAliases"),
        pytest.param(
            "Container",
            "ports",
            "merge",
            "containerPort",
            "map",
            ("containerPort", "protocol"),
            id="container-ports",
        ),
        pytest.param("Container", "env", "merge", "name", "map", ("name",), id="env"),
        pytest.param(
            "Container", "volumeMounts", "merge", "mountPath", "map", ("mountPath",), id="mounts"
        ),
        pytest.param("PodStatus", "conditions", "merge", "type", "map", ("type",), id="pod-cond"),
        pytest.param("PodStatus", "podIPs", "merge", "ip", "map", ("ip",), id="podIPs"),
        pytest.param("NodeStatus", "addresses", "merge", "type", "map", ("type",), id="node-addr"),
        pytest.param("ObjectMeta", "finalizers", "merge", "", "set", (), id="finalizers"),
        pytest.param("ObjectMeta", "ownerReferences", "merge", "uid", "map", ("uid",), id="owners"),
        pytest.param("ServiceAccount", "secrets", "merge", "name", "map", ("name",), id="sa"),
        pytest.param("DeploymentSpec", "strategy", "retainKeys", "", "", (), id="strategy"),
        pytest.param("EndpointSlice", "endpoints", "", "", "atomic", (), id="slice-atomic"),
        pytest.param("IngressSpec", "rules", "", "", "atomic", (), id="ingress-atomic"),
        pytest.param("PodSpec", "tolerations", "", "", "atomic", (), id="untagged-atomic"),
    ],
)
def test_patch_metadata(
    definition: str,
    name: str,
    strategy: str,
    merge_key: str,
    list_type: str,
    map_keys: tuple[str, ...],
) -> None:
    matches = [d for d in schema.definitions().values() if d.short_name == definition]
    assert len(matches) == 1
    f = matches[0].fields[name]
    assert (f.patch_strategy, f.merge_key, f.list_type, f.list_map_keys) == (
        strategy,
        merge_key,
        list_type,
        map_keys,
    )


def test_every_list_has_a_list_type_and_only_lists_do() -> None:
    for d in schema.definitions().values():
        for f in d.fields.values():
            assert bool(f.list_type) == f.array or f.name == "strategy", f"{d.name}.{f.name}"


def test_every_definition_and_field_is_described() -> None:
    for d in schema.definitions().values():
        assert d.description.endswith("."), d.name
        for f in d.fields.values():
            assert f.description.endswith("."), f"{d.name}.{f.name}"


def test_curated_descriptions_reach_the_fields_users_explain() -> None:
    ports = field("io.k8s.api.core.v1.ServiceSpec", "ports")
    assert "ports this Service exposes" in ports.description
    assert (
        "Exact, Prefix" in field("io.k8s.api.networking.v1.HTTPIngressPath", "pathType").description
    )


def test_atomic_structs_and_maps() -> None:
    selector = schema.definition("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")
    assert selector is not None and selector.struct_type == "atomic"
    assert field("io.k8s.api.core.v1.ServiceSpec", "selector").map_type == "atomic"


def test_schema_json_is_compact_enough() -> None:
    assert SCHEMA_JSON.stat().st_size < 1_500_000


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schema", ROOT / "scripts" / "gen_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_schema_matches_the_generator() -> None:
    kubernetes = pytest.importorskip("kubernetes")
    gen = _generator()
    if kubernetes.__version__ != gen.CLIENT_VERSION:
        pytest.skip(f"needs kubernetes=={gen.CLIENT_VERSION}")
    assert gen.render(gen.build()) == SCHEMA_JSON.read_text(encoding="utf-8")
