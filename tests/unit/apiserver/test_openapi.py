"""The OpenAPI v3 documents: what kubectl's field-validation probe, client-side apply and the
index need from them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from kubesvc.api.resources import RESOURCES, Resource, group_versions
from kubesvc.apiserver import openapi

RESOURCE_PARAMS = [pytest.param(r, id=f"{r.group_version}/{r.plural}") for r in RESOURCES]
VERBS = ("get", "put", "post", "delete", "patch")


def doc_for(group: str, version: str) -> dict[str, Any]:
    doc = openapi.group_version_document(group, version)
    assert doc is not None
    return doc


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for verb in VERBS:
            if verb in item:
                yield path, verb, item[verb]


def query_params(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", ()) if p["in"] == "query"}


def patch_ops_for(doc: dict[str, Any], gvk: dict[str, str]) -> list[dict[str, Any]]:
    return [
        item["patch"]
        for item in doc["paths"].values()
        if item.get("patch", {}).get("x-kubernetes-group-version-kind") == gvk
    ]


def test_index_lists_every_served_group_version_with_its_hash() -> None:
    index = openapi.index_document()
    assert set(index["paths"]) == {openapi.gv_path(g, v) for g, v in group_versions()}
    for key, entry in index["paths"].items():
        url = entry["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{key}?hash=")
        rendered = openapi.document_bytes(url)
        assert rendered is not None
        data, etag = rendered
        assert url.endswith("hash=" + etag)
        assert etag == hashlib.sha512(data).hexdigest().upper()
        assert len(etag) == 128


@pytest.mark.parametrize(
    ("path", "found"),
    [
        pytest.param("/openapi/v3", True, id="index"),
        pytest.param("", True, id="index-key"),
        pytest.param("/openapi/v3/api/v1?hash=ABC", True, id="core-with-query"),
        pytest.param("apis/apps/v1", True, id="apps-key"),
        pytest.param("/openapi/v3/apis/autoscaling/v1", False, id="autoscaling-not-served"),
        pytest.param("/openapi/v3/apis/apps", False, id="group-only"),
        pytest.param("/openapi/v3/apis/nope.example.com/v1", False, id="unknown-group"),
    ],
)
def test_document_bytes_lookup(path: str, found: bool) -> None:
    assert (openapi.document_bytes(path) is not None) is found


def test_document_bytes_are_memoised_and_valid_json() -> None:
    first = openapi.document_bytes("/openapi/v3/api/v1")
    assert first is not None
    assert openapi.document_bytes("api/v1") is first
    doc = json.loads(first[0])
    assert doc["openapi"] == "3.0.0"
    assert doc == doc_for("", "v1")


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
def test_kubectl_finds_field_validation_for_every_kind(resource: Resource) -> None:
    doc = doc_for(resource.group, resource.version)
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    # cli-runtime's supportsQueryParamV3 decides on the first PATCH for the GVK it meets while
    # walking a Go map, so every one of them must declare the parameter.
    ops = patch_ops_for(doc, gvk)
    assert ops
    for op in ops:
        assert query_params(op)["fieldValidation"]["in"] == "query"


def test_every_write_operation_declares_the_write_parameters() -> None:
    for group, version in group_versions():
        for path, verb, op in operations(doc_for(group, version)):
            params = query_params(op)
            assert "x-kubernetes-group-version-kind" in op, (path, verb)
            assert "x-kubernetes-action" in op, (path, verb)
            if verb in ("put", "post", "patch"):
                for name in ("dryRun", "fieldManager", "fieldValidation"):
                    assert name in params, (path, verb, name)
                assert params["fieldValidation"]["schema"] == {
                    "type": "string",
                    "uniqueItems": True,
                }
            if verb == "patch":
                assert params["force"]["schema"]["type"] == "boolean"
                assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
def test_paths_and_actions(resource: Resource) -> None:
    doc = doc_for(resource.group, resource.version)
    base = resource.url_path()
    collection = resource.url_path(namespace="{namespace}") if resource.namespaced else base
    item = collection + "/{name}"
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    paths = doc["paths"]
    actions = {
        (collection, "get"): "list",
        (collection, "post"): "post",
        (item, "get"): "get",
        (item, "put"): "put",
        (item, "patch"): "patch",
        (item, "delete"): "delete",
    }
    if "deletecollection" in resource.verbs:
        actions[(collection, "delete")] = "deletecollection"
    if resource.namespaced:
        actions[(base, "get")] = "list"
        assert set(paths[base]) == {"get", "parameters"}
    for (path, verb), action in actions.items():
        op = paths[path][verb]
        assert op["x-kubernetes-action"] == action
        assert op["x-kubernetes-group-version-kind"] == gvk
    for sub in resource.subresources:
        sub_item = paths[f"{item}/{sub.name}"]
        sub_gvk = {"group": sub.group, "kind": sub.kind, "version": sub.version}
        for verb in ("get", "put", "patch", "post"):
            if verb in sub_item:
                assert sub_item[verb]["x-kubernetes-group-version-kind"] == sub_gvk


def test_scale_subresource_carries_the_autoscaling_scale_schema() -> None:
    doc = doc_for("apps", "v1")
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling",
        "kind": "Scale",
        "version": "v1",
    }
    scale = doc["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"]
    assert scale["x-kubernetes-group-version-kind"] == [op["x-kubernetes-group-version-kind"]]
    assert (
        "io.k8s.api.autoscaling.v1.Scale"
        not in doc_for("discovery.k8s.io", "v1")["components"]["schemas"]
    )


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.mark.parametrize(
    ("group", "version"), [pytest.param(g, v, id=f"{g or 'core'}/{v}") for g, v in group_versions()]
)
def test_every_ref_resolves(group: str, version: str) -> None:
    doc = doc_for(group, version)
    schemas = doc["components"]["schemas"]
    found = set(refs(doc))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


@pytest.mark.parametrize("resource", RESOURCE_PARAMS)
def test_kind_schemas_carry_their_gvk(resource: Resource) -> None:
    schemas = doc_for(resource.group, resource.version)["components"]["schemas"]
    gvk = {"group": resource.group, "kind": resource.kind, "version": resource.version}
    owners = [n for n, s in schemas.items() if gvk in s.get("x-kubernetes-group-version-kind", ())]
    assert len(owners) == 1
    assert schemas[owners[0]]["type"] == "object"


# client-side apply: strategicpatch.PatchMetaFromOpenAPIV3, followed field by field.


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    if schema.get("allOf"):
        schema = schema["allOf"][0]
    if "$ref" in schema:
        schema = schemas[schema["$ref"].removeprefix("#/components/schemas/")]
    return schema


def patch_meta(
    doc: dict[str, Any], gvk: dict[str, str], path: list[str]
) -> tuple[str, str, dict[str, Any]]:
    """(strategy, merge key, element schema) of the last field of ``path``."""
    schemas = doc["components"]["schemas"]
    (current,) = [
        s for s in schemas.values() if gvk in s.get("x-kubernetes-group-version-kind", [])
    ]
    strategy = key = ""
    for name in path:
        prop = current["properties"][name]
        strategy = prop.get("x-kubernetes-patch-strategy", "")
        key = prop.get("x-kubernetes-patch-merge-key", "")
        current = _resolve(prop.get("items", prop), schemas)
    return strategy, key, current


@pytest.mark.parametrize(
    ("group", "kind", "path", "strategy", "key"),
    [
        pytest.param("", "Service", ["spec", "ports"], "merge", "port", id="service-ports"),
        pytest.param("", "Service", ["spec", "selector"], "", "", id="service-selector"),
        pytest.param(
            "apps",
            "Deployment",
            ["spec", "template", "spec", "containers"],
            "merge",
            "name",
            id="deployment-containers",
        ),
        pytest.param(
            "apps",
            "Deployment",
            ["spec", "template", "spec", "containers", "ports"],
            "merge",
            "containerPort",
            id="container-ports",
        ),
        pytest.param(
            "apps",
            "Deployment",
            ["spec", "template", "spec", "volumes"],
            "merge,retainKeys",
            "name",
            id="volumes",
        ),
        pytest.param("apps", "Deployment", ["spec", "strategy"], "retainKeys", "", id="strategy"),
        pytest.param("", "Pod", ["metadata", "finalizers"], "merge", "", id="finalizers"),
        pytest.param("", "Pod", ["metadata", "ownerReferences"], "merge", "uid", id="owners"),
        pytest.param(
            "networking.k8s.io", "Ingress", ["spec", "rules"], "", "", id="ingress-rules-replace"
        ),
    ],
)
def test_strategic_merge_metadata(
    group: str, kind: str, path: list[str], strategy: str, key: str
) -> None:
    doc = doc_for(group, "v1")
    found = patch_meta(doc, {"group": group, "kind": kind, "version": "v1"}, path)
    assert found[:2] == (strategy, key)


def test_service_ports_items_schema() -> None:
    doc = doc_for("", "v1")
    gvk = {"group": "", "kind": "Service", "version": "v1"}
    _, _, port = patch_meta(doc, gvk, ["spec", "ports"])
    assert port["required"] == ["port"]
    assert port["properties"]["port"] == {
        "description": port["properties"]["port"]["description"],
        "format": "int32",
        "type": "integer",
    }
    assert port["properties"]["targetPort"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}
    ]
    spec = doc["components"]["schemas"]["io.k8s.api.core.v1.ServiceSpec"]
    assert spec["properties"]["ports"]["x-kubernetes-list-map-keys"] == ["port", "protocol"]
    assert spec["properties"]["ports"]["x-kubernetes-list-type"] == "map"


def test_scalar_types_become_upstream_definitions() -> None:
    schemas = doc_for("", "v1")["components"]["schemas"]
    assert schemas[openapi.INT_OR_STRING]["x-kubernetes-int-or-string"] is True
    assert schemas[openapi.TIME]["format"] == "date-time"
    limits = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {"$ref": "#/components/schemas/" + openapi.QUANTITY}
    secret = schemas["io.k8s.api.core.v1.Secret"]["properties"]["data"]
    assert secret["additionalProperties"] == {"format": "byte", "type": "string"}
    lease = doc_for("coordination.k8s.io", "v1")["components"]["schemas"]
    renew = lease["io.k8s.api.coordination.v1.LeaseSpec"]["properties"]["renewTime"]
    assert renew["allOf"] == [{"$ref": "#/components/schemas/" + openapi.MICRO_TIME}]


def test_not_served_group_version_has_no_document() -> None:
    assert openapi.group_version_document("autoscaling", "v1") is None
    assert openapi.group_version_document("apps", "v2") is None
