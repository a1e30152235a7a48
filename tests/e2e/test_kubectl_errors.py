"""Bad input through kubectl (issue 2, "Must show"): each mistake gets the error text a
real Kubernetes 1.32 cluster gives, word for word, and nothing stored changes.

Covered: unknown fields under Strict (create, apply, replace, patch, server-side
apply, and Warn), the seed article's Endpoints mistakes (``address``, ``IP``), a
kind in an API version that does not serve it (``extensions/v1beta1`` Deployment),
invalid names, malformed YAML and JSON (kubectl's own parse errors, and the
server's for a malformed body), an oversized object, a stale resourceVersion,
AlreadyExists, and a missing namespace.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.e2e.kubectl_helpers import (
    Kubectl,
    configmap,
    deployment,
    ingress,
    pod,
    requires_kubectl,
    service,
)

pytestmark = [pytest.mark.e2e, requires_kubectl]

KINDS_TO_WATCH = "services,pods,configmaps,deployments,ingresses,endpoints"

Obj = dict[str, Any]


def stored(k: Kubectl) -> list[tuple[str, str, str]]:
    """(kind, name, resourceVersion) of everything in the test's namespace."""
    items = k.obj(KINDS_TO_WATCH)["items"]
    return sorted(
        (i["kind"], i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in items
    )


@pytest.fixture
def existing(k: Kubectl) -> Kubectl:
    """The namespace holds a Service, a ConfigMap and a Deployment, all named web."""
    k.write("existing.yaml", [service(), configmap("web"), deployment()])
    k.ok("create", "-f", "existing.yaml")
    return k


def _bad_service(name: str = "web") -> Obj:
    svc = service(name)
    svc["spec"]["foo"] = "bar"
    svc["spec"]["ports"][0]["nodeport"] = 30080
    return svc


STRICT = (
    'Service in version "v1" cannot be handled as a Service: strict decoding error: '
    'unknown field "spec.foo", unknown field "spec.ports[0].nodeport"'
)


@pytest.mark.parametrize("verb", ["create", "apply"])
def test_unknown_fields_are_rejected_on_create(existing: Kubectl, verb: str) -> None:
    before = stored(existing)
    existing.write("svc.yaml", _bad_service("other"))
    assert existing.fail(verb, "-f", "svc.yaml") == (
        f'Error from server (BadRequest): error when creating "svc.yaml": {STRICT}\n'
    )
    assert stored(existing) == before


def test_unknown_fields_are_rejected_on_replace(existing: Kubectl) -> None:
    before = stored(existing)
    existing.write("svc.yaml", _bad_service())
    assert existing.fail("replace", "-f", "svc.yaml") == (
        f'Error from server (BadRequest): error when replacing "svc.yaml": {STRICT}\n'
    )
    assert stored(existing) == before


def test_unknown_field_is_rejected_by_the_apply_patch(existing: Kubectl) -> None:
    existing.ok("apply", "-f", "existing.yaml")  # now carries the last-applied annotation
    before = stored(existing)
    svc = service()
    svc["spec"]["foo"] = "bar"
    existing.write("existing.yaml", svc)
    err = existing.fail("apply", "-f", "existing.yaml")
    assert err.startswith("Error from server (BadRequest): error when applying patch:\n")
    assert err.endswith(
        'for: "existing.yaml": error when patching "existing.yaml": strict decoding error: '
        'unknown field "spec.foo"\n'
    )
    assert stored(existing) == before


def test_unknown_field_under_server_side_apply(existing: Kubectl) -> None:
    before = stored(existing)
    svc = service()
    svc["spec"]["foo"] = "bar"
    existing.write("svc.yaml", svc)
    assert existing.fail("apply", "--server-side", "-f", "svc.yaml") == (
        "Error from server: failed to create typed patch object "
        f"({existing.namespace}/web; /v1, Kind=Service): .spec.foo: field not declared in schema\n"
    )
    svc = service()
    svc["spec"]["ports"][0]["nodeport"] = 30080
    existing.write("svc.yaml", svc)
    assert existing.fail("apply", "--server-side", "-f", "svc.yaml") == (
        "Error from server: failed to create typed patch object "
        f"({existing.namespace}/web; /v1, Kind=Service): "
        '.spec.ports[port=80,protocol="TCP"].nodeport: field not declared in schema\n'
    )
    assert stored(existing) == before


def test_unknown_fields_are_dropped_with_a_warning_under_warn(k: Kubectl) -> None:
    k.write("svc.yaml", _bad_service())
    res = k.run("create", "-f", "svc.yaml", "--validate=warn")
    assert (res.rc, res.out) == (0, "service/web created\n")
    assert res.err == (
        'Warning: unknown field "spec.foo"\nWarning: unknown field "spec.ports[0].nodeport"\n'
    )
    spec = k.obj("svc/web")["spec"]
    assert "foo" not in spec
    assert "nodeport" not in spec["ports"][0]


def test_unknown_fields_are_dropped_silently_without_validation(k: Kubectl) -> None:
    k.write("svc.yaml", _bad_service())
    res = k.run("create", "-f", "svc.yaml", "--validate=false")
    assert (res.rc, res.out, res.err) == (0, "service/web created\n", "")
    assert "foo" not in k.obj("svc/web")["spec"]


# The seed article's hand-written Endpoints, as printed there: `address` for
# `addresses`, and `IP` for `ip`.
SEED_ENDPOINTS = """\
kind: Endpoints
apiVersion: v1
metadata:
  name: my-service
subsets:
- address:
  - IP: 1.2.3.4
  ports:
  - port: 80
"""


@pytest.mark.parametrize(
    ("manifest", "unknown"),
    [
        pytest.param(SEED_ENDPOINTS, "subsets[0].address", id="address"),
        pytest.param(
            SEED_ENDPOINTS.replace("address:", "addresses:"),
            "subsets[0].addresses[0].IP",
            id="IP",
        ),
    ],
)
def test_seed_endpoints_mistakes(k: Kubectl, manifest: str, unknown: str) -> None:
    before = stored(k)
    k.write("endpoints.yaml", manifest)
    expected = (
        'Error from server (BadRequest): error when creating "endpoints.yaml": Endpoints in '
        'version "v1" cannot be handled as a Endpoints: strict decoding error: unknown field '
        f'"{unknown}"\n'
    )
    assert k.fail("create", "-f", "endpoints.yaml") == expected
    assert k.fail("apply", "-f", "endpoints.yaml") == expected
    assert stored(k) == before


def test_seed_endpoints_corrected(k: Kubectl) -> None:
    fixed = SEED_ENDPOINTS.replace("address:", "addresses:").replace("IP:", "ip:")
    k.write("endpoints.yaml", fixed)
    assert k.ok("create", "-f", "endpoints.yaml") == "endpoints/my-service created\n"
    lines = k.ok("get", "endpoints", "my-service").splitlines()
    assert lines[1].split()[:2] == ["my-service", "1.2.3.4:80"]


@pytest.mark.parametrize(
    "api_version", ["extensions/v1beta1", "extensions:v1beta1", "apps/v1beta2"]
)
@pytest.mark.parametrize("verb", ["create", "apply"])
def test_kind_in_an_api_version_that_does_not_serve_it(
    k: Kubectl, api_version: str, verb: str
) -> None:
    before = stored(k)
    manifest = deployment()
    manifest["apiVersion"] = api_version
    k.write("deploy.yaml", manifest)
    assert k.fail(verb, "-f", "deploy.yaml") == (
        'error: resource mapping not found for name: "web" namespace: "" from "deploy.yaml": '
        f'no matches for kind "Deployment" in version "{api_version}"\n'
        "ensure CRDs are installed first\n"
    )
    assert stored(k) == before


DNS_1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
DNS_1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


@pytest.mark.parametrize(
    ("manifest", "kind", "rule"),
    [
        pytest.param(service("Bad_Name"), "Service", DNS_1035, id="service"),
        pytest.param(pod("Bad_Name"), "Pod", DNS_1123_SUBDOMAIN, id="pod"),
        pytest.param(configmap("Bad_Name"), "ConfigMap", DNS_1123_SUBDOMAIN, id="configmap"),
        pytest.param(deployment("Bad_Name"), "Deployment", DNS_1123_SUBDOMAIN, id="deployment"),
        pytest.param(ingress("Bad_Name"), "Ingress", DNS_1123_SUBDOMAIN, id="ingress"),
    ],
)
def test_invalid_names(k: Kubectl, manifest: Obj, kind: str, rule: str) -> None:
    before = stored(k)
    k.write("bad.yaml", manifest)
    expected = (
        f'The {kind} "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {rule}\n'
    )
    assert k.fail("create", "-f", "bad.yaml") == expected
    assert k.fail("apply", "-f", "bad.yaml") == expected
    assert stored(k) == before


def test_several_invalid_fields_are_listed(k: Kubectl) -> None:
    bad = configmap("web")
    bad["metadata"]["labels"] = {"app": "no spaces allowed"}
    bad["data"] = {"bad key": "x"}
    k.write("bad.yaml", bad)
    assert k.fail("create", "-f", "bad.yaml") == (
        'The ConfigMap "web" is invalid: \n'
        '* metadata.labels: Invalid value: "no spaces allowed": a valid label must be an empty '
        "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
        "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
        "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')\n"
        '* data[bad key]: Invalid value: "bad key": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')\n"
    )


MALFORMED_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
 data:
  a: "1"
"""


def test_malformed_yaml_is_kubectls_own_error(k: Kubectl) -> None:
    before = stored(k)
    k.write("broken.yaml", MALFORMED_YAML)
    expected = (
        "error: error parsing broken.yaml: error converting YAML to JSON: yaml: line 4: did "
        "not find expected key\n"
    )
    assert k.fail("create", "-f", "broken.yaml") == expected
    assert k.fail("apply", "-f", "broken.yaml") == expected
    k.write("broken.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}')
    assert k.fail("create", "-f", "broken.json") == (
        "error: error parsing broken.json: unexpected EOF\n"
    )
    assert stored(k) == before


RAW = [
    pytest.param(
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw"},"data":{"a":"1"}',
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        "version/kind; json parse error: unexpected end of JSON input "
        '({"apiVersion":"v1","kind":"Con ...)',
        id="truncated",
    ),
    pytest.param(
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw"},}',
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        "version/kind; json parse error: invalid character '}' looking for beginning of object "
        'key string ({"apiVersion":"v1","kind":"Con ...)',
        id="trailing-comma",
    ),
    pytest.param(
        b"[1,2]",
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        "version/kind; json parse error: json: cannot unmarshal array into Go value of type "
        'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string '
        '"json:\\"kind,omitempty\\"" } (5b312c325d)',
        id="not-an-object",
    ),
    pytest.param(
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw"},"data":{"a":1}}',
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
        "number into Go struct field ConfigMap.data of type string",
        id="wrong-type",
    ),
]


@pytest.mark.parametrize(("body", "message"), RAW)
def test_malformed_json_body(k: Kubectl, body: bytes, message: str) -> None:
    before = stored(k)
    (k.workdir / "body.json").write_bytes(body)
    path = f"/api/v1/namespaces/{k.namespace}/configmaps"
    assert k.fail("create", "--raw", path, "-f", "body.json") == (
        f"Error from server (BadRequest): {message}\n"
    )
    assert stored(k) == before


def test_oversized_object(k: Kubectl) -> None:
    before = stored(k)
    big = configmap("big", blob="x" * (3 * 1024 * 1024 + 1))
    (k.workdir / "big.json").write_text(json.dumps(big))
    expected = (
        'Error from server (RequestEntityTooLarge): error when creating "big.json": Request '
        "entity too large: limit is 3145728\n"
    )
    assert k.fail("create", "-f", "big.json") == expected
    assert k.fail("apply", "-f", "big.json") == expected
    assert stored(k) == before


def test_configmap_over_one_mebibyte(k: Kubectl) -> None:
    before = stored(k)
    big = configmap("big", blob="x" * (1024 * 1024 + 1))
    (k.workdir / "big.json").write_text(json.dumps(big))
    assert k.fail("create", "-f", "big.json") == (
        'The ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes\n'
    )
    assert stored(k) == before


def test_stale_resource_version_on_replace(existing: Kubectl) -> None:
    old = existing.obj("cm/web")
    existing.ok("label", "cm", "web", "touched=yes")
    before = stored(existing)
    old["data"] = {"greeting": "from a stale copy"}
    existing.write("stale.yaml", old)
    assert existing.fail("replace", "-f", "stale.yaml") == (
        'Error from server (Conflict): error when replacing "stale.yaml": Operation cannot be '
        'fulfilled on configmaps "web": the object has been modified; please apply your changes '
        "to the latest version and try again\n"
    )
    assert stored(existing) == before
    assert existing.obj("cm/web")["data"] == {"greeting": "hello"}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        pytest.param(service(), 'services "web" already exists', id="service"),
        pytest.param(configmap("web"), 'configmaps "web" already exists', id="configmap"),
        pytest.param(deployment(), 'deployments.apps "web" already exists', id="deployment"),
        pytest.param(ingress(), 'ingresses.networking.k8s.io "web" already exists', id="ingress"),
    ],
)
def test_create_twice(k: Kubectl, manifest: Obj, message: str) -> None:
    k.write("x.yaml", manifest)
    k.ok("create", "-f", "x.yaml")
    before = stored(k)
    assert k.fail("create", "-f", "x.yaml") == (
        f'Error from server (AlreadyExists): error when creating "x.yaml": {message}\n'
    )
    assert stored(k) == before


def test_create_in_a_missing_namespace(k: Kubectl) -> None:
    k.write("cm.yaml", configmap())
    res = k.run("create", "-f", "cm.yaml", "--namespace", "no-such-namespace", namespaced=False)
    assert res.rc == 1
    assert res.err == (
        'Error from server (NotFound): error when creating "cm.yaml": namespaces '
        '"no-such-namespace" not found\n'
    )
