"""``kubectl explain <resource>.<field>...`` against our OpenAPI v3 documents, simulated.

kubectl's v2 explainer (pkg/explain/v2) fetches the index, follows the
group-version's ``serverRelativeURL``, takes the GVK from an operation on one of
the resource's paths, picks the component schema whose
``x-kubernetes-group-version-kind`` lists it, and walks ``properties`` along the
field path, resolving ``allOf``/``$ref`` and stepping into ``items`` and
``additionalProperties``. It prints the field's description, a type guess such
as ``[]ServicePort`` and the fields of the resolved schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from kubesvc.api.resources import RESOURCES, Resource, lookup
from kubesvc.apiserver import openapi

PREFIX = "#/components/schemas/"


def fetch(url: str) -> dict[str, Any]:
    rendered = openapi.document_bytes(url)
    assert rendered is not None, url
    doc: dict[str, Any] = json.loads(rendered[0])
    return doc


def find_gvk(doc: dict[str, Any], r: Resource) -> dict[str, str]:
    base = f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"
    candidates = [
        f"{base}/{r.plural}",
        f"{base}/{r.plural}/{{name}}",
        f"{base}/namespaces/{{namespace}}/{r.plural}",
        f"{base}/namespaces/{{namespace}}/{r.plural}/{{name}}",
    ]
    for path in candidates:
        item = doc["paths"].get(path, {})
        for verb in ("get", "post", "put", "patch", "delete"):
            gvk = item.get(verb, {}).get("x-kubernetes-group-version-kind")
            if gvk:
                return dict(gvk)
    raise AssertionError(f"no GVK for {r.plural}")


def resolve(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while True:
        if len(node.get("allOf", ())) == 1 and "properties" not in node:
            node = node["allOf"][0]
        elif "$ref" in node:
            node = schemas[node["$ref"].removeprefix(PREFIX)]
        else:
            return node


def type_guess(node: dict[str, Any]) -> str:
    if "items" in node:
        return "[]" + type_guess(node["items"])
    if "additionalProperties" in node:
        return "map[string]" + type_guess(node["additionalProperties"])
    if len(node.get("allOf", ())) == 1 and "properties" not in node:
        return type_guess(node["allOf"][0])
    if "$ref" in node:
        return str(node["$ref"]).rsplit(".", 1)[-1]
    if "type" in node:
        return str(node["type"])
    return "Object"


@dataclass
class Explained:
    kind: str
    field_type: str
    description: str
    fields: dict[str, str]
    required: list[str]


def explain(dotted: str) -> Explained:
    resource_name, *path = dotted.split(".")
    (r,) = [r for r in RESOURCES if resource_name in (r.plural, r.singular, *r.short_names)]
    assert lookup(r.group, r.version, r.plural) is r
    index = fetch("/openapi/v3")
    key = f"api/{r.version}" if not r.group else f"apis/{r.group}/{r.version}"
    doc = fetch(index["paths"][key]["serverRelativeURL"])
    gvk = find_gvk(doc, r)
    schemas = doc["components"]["schemas"]
    (kind_schema,) = [
        s for s in schemas.values() if gvk in s.get("x-kubernetes-group-version-kind", [])
    ]
    node: dict[str, Any] = kind_schema
    field_type, description = gvk["kind"], kind_schema["description"]
    for name in path:
        current = resolve(node, schemas)
        while "items" in current or "additionalProperties" in current:
            current = resolve(current.get("items") or current["additionalProperties"], schemas)
        node = current["properties"][name]
        field_type, description = type_guess(node), node.get("description", "")
    target = resolve(node, schemas)
    while "items" in target or "additionalProperties" in target:
        target = resolve(target.get("items") or target["additionalProperties"], schemas)
    fields = {n: type_guess(p) for n, p in target.get("properties", {}).items()}
    for prop in target.get("properties", {}).values():
        assert prop.get("description"), f"undescribed field under {dotted}"
    return Explained(gvk["kind"], field_type, description, fields, target.get("required", []))


@pytest.mark.parametrize(
    ("dotted", "field_type", "in_description", "some_fields"),
    [
        pytest.param(
            "service",
            "Service",
            "virtual address",
            {"spec": "ServiceSpec", "status": "ServiceStatus", "metadata": "ObjectMeta"},
            id="service",
        ),
        pytest.param(
            "svc.spec.ports",
            "[]ServicePort",
            "ports this Service exposes",
            {"port": "integer", "targetPort": "IntOrString", "nodePort": "integer"},
            id="service-spec-ports",
        ),
        pytest.param(
            "services.spec.ports.targetPort",
            "IntOrString",
            "container port name",
            {},
            id="target-port",
        ),
        pytest.param(
            "service.status.loadBalancer.ingress",
            "[]LoadBalancerIngress",
            "Addresses",
            {"ip": "string", "hostname": "string"},
            id="service-status",
        ),
        pytest.param(
            "ingress.spec.rules.http.paths.backend",
            "IngressBackend",
            "Where matching requests",
            {"service": "IngressServiceBackend", "resource": "TypedLocalObjectReference"},
            id="ingress-backend",
        ),
        pytest.param(
            "ing.spec.tls",
            "[]IngressTLS",
            "TLS",
            {"hosts": "[]string", "secretName": "string"},
            id="ingress-tls",
        ),
        pytest.param(
            "pod.spec.containers.readinessProbe.httpGet",
            "HTTPGetAction",
            "HTTP GET",
            {"port": "IntOrString", "path": "string", "httpHeaders": "[]HTTPHeader"},
            id="pod-probe",
        ),
        pytest.param(
            "pods.spec.containers.resources.limits",
            "map[string]Quantity",
            "Most of each resource",
            {},
            id="limits",
        ),
        pytest.param(
            "deployment.spec.strategy",
            "DeploymentStrategy",
            "old pods are replaced",
            {"type": "string", "rollingUpdate": "RollingUpdateDeployment"},
            id="deployment-strategy",
        ),
        pytest.param(
            "deploy.spec.template",
            "PodTemplateSpec",
            "Template of the pods",
            {"metadata": "ObjectMeta", "spec": "PodSpec"},
            id="deployment-template",
        ),
        pytest.param(
            "endpointslices.endpoints",
            "[]Endpoint",
            "endpoints of this slice",
            {"addresses": "[]string", "conditions": "EndpointConditions"},
            id="endpointslice",
        ),
        pytest.param(
            "endpoints.subsets.addresses",
            "[]EndpointAddress",
            "ready to receive traffic",
            {"ip": "string", "targetRef": "ObjectReference"},
            id="endpoints",
        ),
        pytest.param(
            "configmap.data", "map[string]string", "configuration values", {}, id="configmap"
        ),
        pytest.param(
            "cm.metadata.labels",
            "map[string]string",
            "selectors match on",
            {},
            id="labels",
        ),
        pytest.param("lease.spec.renewTime", "MicroTime", "", {}, id="micro-time"),
    ],
)
def test_explain(
    dotted: str, field_type: str, in_description: str, some_fields: dict[str, str]
) -> None:
    explained = explain(dotted)
    assert explained.field_type == field_type
    assert explained.description
    assert in_description in explained.description
    for name, expected in some_fields.items():
        assert explained.fields[name] == expected, name


def test_explain_service_ports_marks_port_required() -> None:
    assert explain("service.spec.ports").required == ["port"]


@pytest.mark.parametrize(
    "resource", [pytest.param(r, id=f"{r.group_version}/{r.plural}") for r in RESOURCES]
)
def test_every_kind_explains_with_described_top_level_fields(resource: Resource) -> None:
    explained = explain(resource.plural)
    assert explained.kind == resource.kind
    assert explained.description
    assert {"apiVersion", "kind", "metadata"} <= set(explained.fields)
