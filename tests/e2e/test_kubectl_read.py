"""kubectl reads against kubesvc (issue 2, "Must show"): get in every output format,
short names, selectors, sorting, all namespaces, ``get all``, describe, explain and
api-resources, on Services, Pods, ConfigMaps, Deployments and Ingresses.

Tests that only read share one namespace (``five``: one object of each of the five
kinds and a few more, created once with ``kubectl create -f``); tests that write get
a namespace of their own (``k``). Expected texts are what kubectl prints against a
real 1.32 cluster for the same objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import ApiProcess
from tests.e2e.kubectl_helpers import (
    Kubectl,
    configmap,
    namespaced_kubectl,
    requires_kubectl,
    service,
    squeeze,
    the_five,
    workload_extras,
)

pytestmark = [pytest.mark.e2e, requires_kubectl]


@pytest.fixture
def k(api_process: ApiProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Kubectl]:
    """kubectl in a fresh namespace of the test's own."""
    with namespaced_kubectl(
        api_process.kubeconfig, tmp_path, request.node.name, api_process.url
    ) as kubectl:
        yield kubectl


def _unlabelled_service() -> dict[str, Any]:
    svc = service("unlabelled")
    svc["metadata"].pop("labels")
    return svc


@pytest.fixture(scope="module")
def five(api_process: ApiProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """One namespace, shared by the tests that only read, holding web (Service), web-0
    (Pod), web-config (ConfigMap), web (Deployment) and web (Ingress); the Services api
    (app=web, tier=backend), db (app=db) and unlabelled; and an Endpoints, ReplicaSet,
    ReplicationController, DaemonSet and Event labelled app=extra."""
    workdir = tmp_path_factory.mktemp("kubectl-read")
    with namespaced_kubectl(
        api_process.kubeconfig, workdir, "read-shared", api_process.url
    ) as kubectl:
        objects = [
            *the_five(),
            service("api", tier="backend"),
            service("db", app="db"),
            _unlabelled_service(),
            *workload_extras(kubectl.namespace),
        ]
        kubectl.write("all.yaml", objects)
        kubectl.ok("create", "-f", "all.yaml")
        yield kubectl


KINDS = [
    pytest.param("service", "web", id="service"),
    pytest.param("pod", "web-0", id="pod"),
    pytest.param("configmap", "web-config", id="configmap"),
    pytest.param("deployment", "web", id="deployment"),
    pytest.param("ingress", "web", id="ingress"),
]


def test_create_from_a_multi_document_file_reports_each_object(k: Kubectl) -> None:
    k.write("all.yaml", the_five())
    out = k.ok("create", "-f", "all.yaml")
    assert out.splitlines() == [
        "service/web created",
        "pod/web-0 created",
        "configmap/web-config created",
        "deployment.apps/web created",
        "ingress.networking.k8s.io/web created",
    ]


TABLES = [
    pytest.param(
        "services",
        "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
        "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR",
        r"web ClusterIP \S+ <none> 80/TCP \d+s app=web",
        id="services",
    ),
    pytest.param(
        "pods",
        "NAME READY STATUS RESTARTS AGE",
        "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES",
        r"web-0 0/1 Pending 0 \d+s <none> <none> <none> <none>",
        id="pods",
    ),
    pytest.param(
        "configmaps",
        "NAME DATA AGE",
        "NAME DATA AGE",
        r"web-config 1 \d+s",
        id="configmaps",
    ),
    pytest.param(
        "deployments",
        "NAME READY UP-TO-DATE AVAILABLE AGE",
        "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR",
        r"web 0/2 0 0 \d+s web nginx:1\.25 app=web",
        id="deployments",
    ),
    pytest.param(
        "ingresses",
        "NAME CLASS HOSTS ADDRESS PORTS AGE",
        "NAME CLASS HOSTS ADDRESS PORTS AGE",
        r"web nginx web\.example\.com 80 \d+s",
        id="ingresses",
    ),
]


@pytest.mark.parametrize(("resource", "header", "wide_header", "wide_row"), TABLES)
def test_get_prints_the_server_side_table(
    five: Kubectl, resource: str, header: str, wide_header: str, wide_row: str
) -> None:
    lines = five.ok("get", resource, "-l", "app=web,!tier").splitlines()
    assert squeeze(lines[0]) == header
    assert len(lines) == 2
    wide = five.ok("get", resource, "-l", "app=web,!tier", "-o", "wide").splitlines()
    assert squeeze(wide[0]) == wide_header
    assert re.fullmatch(wide_row, squeeze(wide[1])), wide[1]


@pytest.mark.parametrize(("kind", "name"), KINDS)
def test_get_yaml_and_json_show_the_stored_object(five: Kubectl, kind: str, name: str) -> None:
    as_yaml = yaml.safe_load(five.ok("get", kind, name, "-o", "yaml"))
    as_json = json.loads(five.ok("get", kind, name, "-o", "json"))
    assert as_yaml == as_json
    meta = as_json["metadata"]
    assert meta["name"] == name
    assert meta["namespace"] == five.namespace
    assert meta["labels"] == {"app": "web"}
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d+", meta["resourceVersion"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert "managedFields" not in meta  # kubectl hides them unless asked
    shown = json.loads(five.ok("get", kind, name, "-o", "json", "--show-managed-fields"))
    managers = {m["manager"] for m in shown["metadata"]["managedFields"]}
    assert managers == {"kubectl-create"}


def test_get_several_objects_as_a_list(five: Kubectl) -> None:
    doc = five.obj("services/web", "configmaps/web-config")
    assert doc["kind"] == "List"
    assert [(i["kind"], i["metadata"]["name"]) for i in doc["items"]] == [
        ("Service", "web"),
        ("ConfigMap", "web-config"),
    ]


SHORT_NAMES = [
    pytest.param(short, full, id=short)
    for short, full in [
        ("svc", "services"),
        ("po", "pods"),
        ("cm", "configmaps"),
        ("deploy", "deployments"),
        ("ing", "ingresses"),
        ("ep", "endpoints"),
        ("rs", "replicasets"),
        ("rc", "replicationcontrollers"),
        ("ds", "daemonsets"),
        ("sa", "serviceaccounts"),
        ("ev", "events"),
    ]
]


@pytest.mark.parametrize(("short", "full"), SHORT_NAMES)
def test_short_names_name_the_same_resources(five: Kubectl, short: str, full: str) -> None:
    by_short = five.names(short)
    assert by_short, f"nothing listed for {short}"
    assert by_short == five.names(full)


@pytest.mark.parametrize(
    ("short", "full", "expected"),
    [
        pytest.param("ns", "namespaces", "namespace/default", id="ns"),
        pytest.param("no", "nodes", None, id="no"),
    ],
)
def test_cluster_scoped_short_names(
    five: Kubectl, short: str, full: str, expected: str | None
) -> None:
    res = five.run("get", short, "-o", "name", namespaced=False)
    assert res.rc == 0, res.err
    assert res.out == five.run("get", full, "-o", "name", namespaced=False).out
    if expected is not None:
        assert expected in res.out.split()
        assert f"namespace/{five.namespace}" in res.out.split()


def test_get_all_lists_the_all_category(five: Kubectl) -> None:
    names = five.names("all")
    assert set(names) == {
        "pod/web-0",
        "service/api",
        "service/db",
        "service/unlabelled",
        "service/web",
        "daemonset.apps/extra-ds",
        "deployment.apps/web",
        "replicaset.apps/extra-rs",
        "replicationcontroller/extra-rc",
    }
    tables = five.ok("get", "all")
    headers = [squeeze(line) for line in tables.splitlines() if line.startswith("NAME")]
    assert "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE" in headers
    assert "NAME READY STATUS RESTARTS AGE" in headers


def test_get_all_in_an_empty_namespace(k: Kubectl) -> None:
    res = k.run("get", "all")
    assert res.rc == 0
    assert res.out == ""
    assert res.err == f"No resources found in {k.namespace} namespace.\n"


LABEL_SELECTORS = [
    pytest.param("app=web", ["api", "web"], id="equals"),
    pytest.param("app==web", ["api", "web"], id="double-equals"),
    pytest.param("app!=web", ["db", "unlabelled"], id="not-equals"),
    pytest.param("app in (db,cache)", ["db"], id="in"),
    pytest.param("app notin (web,db)", ["unlabelled"], id="notin"),
    pytest.param("tier", ["api"], id="exists"),
    pytest.param("!tier", ["db", "unlabelled", "web"], id="does-not-exist"),
    pytest.param("app=web,!tier", ["web"], id="and"),
    pytest.param("app in (web),tier in (backend)", ["api"], id="two-sets"),
]


@pytest.mark.parametrize(("selector", "expected"), LABEL_SELECTORS)
def test_label_selectors(five: Kubectl, selector: str, expected: list[str]) -> None:
    assert five.names("services", "-l", selector) == [f"service/{n}" for n in expected]
    assert five.names("svc", f"--selector={selector}") == [f"service/{n}" for n in expected]


def test_label_selector_that_does_not_parse(five: Kubectl) -> None:
    err = five.fail("get", "services", "-l", "app in (web")
    assert err == (
        'Error from server (BadRequest): Unable to find "/v1, Resource=services" that match '
        'label selector "app in (web", field selector "": unable to parse requirement: '
        "found '', expected: ',' or ')'\n"
    )


def test_label_selector_on_every_kind(five: Kubectl) -> None:
    kinds = "services,pods,configmaps,deployments,ingresses,replicasets"
    assert five.names(kinds, "-l", "app=web") == [
        "service/api",
        "service/web",
        "pod/web-0",
        "configmap/web-config",
        "deployment.apps/web",
        "ingress.networking.k8s.io/web",
    ]
    assert five.names(kinds, "-l", "app=extra") == ["replicaset.apps/extra-rs"]


FIELD_SELECTORS = [
    pytest.param("services", "metadata.name=web", ["service/web"], id="name"),
    pytest.param(
        "services",
        "metadata.name!=web",
        ["service/api", "service/db", "service/unlabelled"],
        id="name-not",
    ),
    pytest.param(
        "services",
        "spec.type=ClusterIP",
        ["service/api", "service/db", "service/unlabelled", "service/web"],
        id="svc-type",
    ),
    pytest.param("pods", "status.phase=Pending", ["pod/web-0"], id="pod-phase"),
    pytest.param("pods", "status.phase!=Pending", [], id="pod-phase-not"),
    pytest.param("pods", "spec.nodeName=", ["pod/web-0"], id="pod-unscheduled"),
    pytest.param(
        "configmaps", "metadata.namespace!=default", ["configmap/web-config"], id="namespace"
    ),
]


@pytest.mark.parametrize(("resource", "selector", "expected"), FIELD_SELECTORS)
def test_field_selectors(five: Kubectl, resource: str, selector: str, expected: list[str]) -> None:
    assert five.names(resource, "--field-selector", selector) == expected


@pytest.mark.parametrize(
    ("resource", "selector", "message"),
    [
        pytest.param(
            "services",
            "spec.selector=x",
            'Error from server (BadRequest): Unable to find "/v1, Resource=services" that match '
            'label selector "", field selector "spec.selector=x": field label not supported: '
            "spec.selector\n",
            id="service",
        ),
        pytest.param(
            "configmaps",
            "data.a=1",
            'Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that '
            'match label selector "", field selector "data.a=1": "data.a" is not a known field '
            'selector: only "metadata.name", "metadata.namespace"\n',
            id="configmap",
        ),
    ],
)
def test_unsupported_field_selector(
    five: Kubectl, resource: str, selector: str, message: str
) -> None:
    assert five.fail("get", resource, "--field-selector", selector) == message


def test_sort_by(k: Kubectl) -> None:
    k.write(
        "cms.yaml",
        [configmap("b", order="2"), configmap("c", order="1"), configmap("a", order="3")],
    )
    k.ok("create", "-f", "cms.yaml")
    assert k.names("cm", "--sort-by=.metadata.name") == [
        "configmap/a",
        "configmap/b",
        "configmap/c",
    ]
    assert k.names("cm", "--sort-by=.data.order") == ["configmap/c", "configmap/b", "configmap/a"]
    lines = k.ok("get", "cm", "--sort-by=.data.order").splitlines()
    assert [squeeze(line).split()[0] for line in lines] == ["NAME", "c", "b", "a"]


def test_all_namespaces(five: Kubectl) -> None:
    out = five.ok("get", "services", "-A", "-l", "app=web", namespaced=False)
    lines = [squeeze(line) for line in out.splitlines()]
    assert lines[0] == "NAMESPACE NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE"
    assert [line.split()[:2] for line in lines[1:] if line.startswith(five.namespace)] == [
        [five.namespace, "api"],
        [five.namespace, "web"],
    ]
    names = five.ok(
        "get", "configmaps", "--all-namespaces", "-o", "name", "-l", "app=web", namespaced=False
    )
    assert "configmap/web-config" in names.split()


def test_show_labels(five: Kubectl) -> None:
    lines = five.ok("get", "svc", "api", "--show-labels").splitlines()
    assert squeeze(lines[0]) == "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE LABELS"
    assert squeeze(lines[1]).endswith(" app=web,tier=backend")
    lines = five.ok("get", "pods", "--show-labels").splitlines()
    assert squeeze(lines[0]) == "NAME READY STATUS RESTARTS AGE LABELS"
    assert squeeze(lines[1]).endswith(" app=web")


def test_get_missing_object(five: Kubectl) -> None:
    assert five.fail("get", "svc", "nothere") == (
        'Error from server (NotFound): services "nothere" not found\n'
    )
    assert five.fail("get", "deploy", "nothere") == (
        'Error from server (NotFound): deployments.apps "nothere" not found\n'
    )
    assert five.fail("get", "ing", "nothere") == (
        'Error from server (NotFound): ingresses.networking.k8s.io "nothere" not found\n'
    )


def test_get_unknown_resource_type(five: Kubectl) -> None:
    assert (
        five.fail("get", "widgets") == 'error: the server doesn\'t have a resource type "widgets"\n'
    )


DESCRIBE = [
    pytest.param(
        "service",
        "web",
        [
            r"Name:\s+web",
            r"Namespace:\s+{ns}",
            r"Labels:\s+app=web",
            r"Selector:\s+app=web",
            r"Type:\s+ClusterIP",
            r"Port:\s+<unset>\s+80/TCP",
            r"TargetPort:\s+8080/TCP",
            r"Session Affinity:\s+None",
            r"Events:\s+<none>",
        ],
        id="service",
    ),
    pytest.param(
        "pod",
        "web-0",
        [
            r"Name:\s+web-0",
            r"Namespace:\s+{ns}",
            r"Labels:\s+app=web",
            r"Status:\s+Pending",
            r"Containers:",
            r"\s+web:",
            r"\s+Image:\s+nginx:1\.25",
            r"\s+Port:\s+80/TCP",
            r"QoS Class:\s+BestEffort",
        ],
        id="pod",
    ),
    pytest.param(
        "configmap",
        "web-config",
        [r"Name:\s+web-config", r"Namespace:\s+{ns}", r"Data", r"greeting:", r"hello"],
        id="configmap",
    ),
    pytest.param(
        "deployment",
        "web",
        [
            r"Name:\s+web",
            r"Namespace:\s+{ns}",
            r"Selector:\s+app=web",
            r"Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable",
            r"StrategyType:\s+RollingUpdate",
            r"RollingUpdateStrategy:\s+25% max unavailable, 25% max surge",
            r"\s+Image:\s+nginx:1\.25",
        ],
        id="deployment",
    ),
    pytest.param(
        "ingress",
        "web",
        [
            r"Name:\s+web",
            r"Namespace:\s+{ns}",
            r"Ingress Class:\s+nginx",
            r"\s+web\.example\.com\s*",
            r"\s+/\s+web:80 \(<none>\)",
        ],
        id="ingress",
    ),
]


@pytest.mark.parametrize(("kind", "name", "patterns"), DESCRIBE)
def test_describe(five: Kubectl, kind: str, name: str, patterns: list[str]) -> None:
    lines = five.ok("describe", kind, name).splitlines()
    at = 0
    for pattern in patterns:
        regex = re.compile(pattern.replace("{ns}", re.escape(five.namespace)))
        while at < len(lines) and not regex.fullmatch(lines[at]):
            at += 1
        assert at < len(lines), f"no line matching {regex.pattern!r} in order:\n" + "\n".join(lines)


def test_describe_every_object_of_a_kind(five: Kubectl) -> None:
    out = five.ok("describe", "services")
    assert re.search(r"^Name:\s+web$", out, re.M)


def test_explain_service_spec_ports(five: Kubectl) -> None:
    out = five.ok("explain", "service.spec.ports", namespaced=False)
    lines = out.splitlines()
    assert lines[:2] == ["KIND:       Service", "VERSION:    v1"]
    assert "FIELD: ports <[]ServicePort>" in lines
    assert "DESCRIPTION:" in lines
    fields = [line.strip() for line in lines if line.startswith("  ") and "\t" in line]
    assert fields == [
        "appProtocol\t<string>",
        "name\t<string>",
        "nodePort\t<integer>",
        "port\t<integer> -required-",
        "protocol\t<string>",
        "targetPort\t<IntOrString>",
    ]


def test_explain_ingress_spec(five: Kubectl) -> None:
    lines = five.ok("explain", "ingress.spec", namespaced=False).splitlines()
    assert lines[:3] == ["GROUP:      networking.k8s.io", "KIND:       Ingress", "VERSION:    v1"]
    assert "FIELD: spec <IngressSpec>" in lines
    fields = [line.strip() for line in lines if line.startswith("  ") and "\t" in line]
    assert fields == [
        "defaultBackend\t<IngressBackend>",
        "ingressClassName\t<string>",
        "rules\t<[]IngressRule>",
        "tls\t<[]IngressTLS>",
    ]


def test_explain_by_short_name_and_unknown_field(five: Kubectl) -> None:
    assert five.ok("explain", "svc.spec.ports", namespaced=False) == five.ok(
        "explain", "service.spec.ports", namespaced=False
    )
    deploy = five.ok("explain", "deploy.spec.replicas", namespaced=False).splitlines()
    assert deploy[:3] == ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1"]
    assert "FIELD: replicas <integer>" in deploy
    assert five.fail("explain", "service.spec.nope", namespaced=False) == (
        'error: field "nope" does not exist\n'
    )


API_RESOURCES = [
    "configmaps cm v1 true ConfigMap",
    "endpoints ep v1 true Endpoints",
    "events ev v1 true Event",
    "namespaces ns v1 false Namespace",
    "nodes no v1 false Node",
    "pods po v1 true Pod",
    "replicationcontrollers rc v1 true ReplicationController",
    "secrets v1 true Secret",
    "serviceaccounts sa v1 true ServiceAccount",
    "services svc v1 true Service",
    "daemonsets ds apps/v1 true DaemonSet",
    "deployments deploy apps/v1 true Deployment",
    "replicasets rs apps/v1 true ReplicaSet",
    "leases coordination.k8s.io/v1 true Lease",
    "endpointslices discovery.k8s.io/v1 true EndpointSlice",
    "ingressclasses networking.k8s.io/v1 false IngressClass",
    "ingresses ing networking.k8s.io/v1 true Ingress",
]


def test_api_resources(five: Kubectl) -> None:
    lines = [squeeze(line) for line in five.ok("api-resources", namespaced=False).splitlines()]
    assert lines[0] == "NAME SHORTNAMES APIVERSION NAMESPACED KIND"
    rows = lines[1:]
    assert [row for row in rows if row in API_RESOURCES] == API_RESOURCES
    wide = five.ok("api-resources", "-o", "wide", namespaced=False).splitlines()
    assert squeeze(wide[0]) == "NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS CATEGORIES"
    services = next(squeeze(line) for line in wide if line.startswith("services "))
    verbs = "create,delete,deletecollection,get,list,patch,update,watch"
    assert services == f"services svc v1 true Service {verbs} all"
    cluster = five.ok("api-resources", "--namespaced=false", "-o", "name", namespaced=False).split()
    assert {"namespaces", "nodes", "ingressclasses.networking.k8s.io"} <= set(cluster)
    assert "services" not in cluster
    apps = five.ok("api-resources", "--api-group=apps", "-o", "name", namespaced=False).split()
    assert apps == ["daemonsets.apps", "deployments.apps", "replicasets.apps"]
