"""The official Python client (``kubernetes==32.0.1``) against ``kubesvc server``.

Each test works in its own namespace of the session's server (``api_process``),
through ``kubernetes.config.load_kube_config`` and a ``client.ApiClient``. The
typed models enforce required fields on deserialization, so every call here also
checks that our responses carry what the models need.

Two facts of 32.0.1 shape the patch tests: the generated ``patch_*`` methods
have no ``_content_type`` argument; the REST layer sends
``application/json-patch+json`` for a list body and
``application/strategic-merge-patch+json`` for anything else. A merge patch
through the typed API therefore goes through a client whose default
``Content-Type`` header overrides the generated one (default headers win), and
through the dynamic client's ``content_type=``.

Lists and watches are in ``test_python_client_watch.py``.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, utils, watch
from kubernetes.client.rest import ApiException
from tests.conftest import ApiProcess

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]


# -- fixtures -------------------------------------------------------------------------


def make_client(kubeconfig: Path) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


@pytest.fixture
def api(api_process: ApiProcess) -> Iterator[client.ApiClient]:
    c = make_client(api_process.kubeconfig)
    yield c
    c.close()


@pytest.fixture
def v1(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def ns(v1: client.CoreV1Api) -> Iterator[str]:
    name = f"pyc-{uuid.uuid4().hex[:10]}"
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        v1.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def merge_patching(api_process: ApiProcess) -> Iterator[client.ApiClient]:
    """A client that sends every body as ``application/merge-patch+json``."""
    c = make_client(api_process.kubeconfig)
    c.set_default_header("Content-Type", "application/merge-patch+json")
    yield c
    c.close()


@pytest.fixture
def dyn(api: client.ApiClient, tmp_path: Path) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))


def status_of(exc: ApiException) -> Obj:
    body: Obj = json.loads(exc.body)
    return body


def wait_until(check: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def deployment_body(name: str, replicas: int = 1, image: str = "nginx") -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def service_body(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


# -- CRUD on every kind ------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    api: type[Any]
    suffix: str  # create_namespaced_<suffix>, read_namespaced_<suffix>, ...
    model: type[Any]
    resource: str  # as in NotFound messages: <plural>[.<group>]
    body: Callable[[str], Obj]
    check: Callable[[Any], None] = lambda obj: None


def _check_service(svc: client.V1Service) -> None:
    assert svc.status is not None and svc.status.load_balancer is not None
    port = svc.spec.ports[0]
    assert (port.port, port.protocol, port.target_port) == (80, "TCP", 8080)
    assert svc.spec.type == "ClusterIP"
    assert svc.spec.session_affinity == "None"


def _check_configmap(cm: client.V1ConfigMap) -> None:
    assert cm.data == {"key": "value"}


def _check_lease(lease: client.V1Lease) -> None:
    assert lease.spec.holder_identity == "node-a"
    assert lease.spec.lease_duration_seconds == 40


def _check_pod(pod: client.V1Pod) -> None:
    assert pod.status is not None and pod.status.phase == "Pending"


def _check_deployment(dep: client.V1Deployment) -> None:
    assert dep.metadata.generation >= 1
    assert dep.spec.replicas == 2
    assert dep.spec.template.spec.containers[0].name == "web"


def _check_ingress(ing: client.V1Ingress) -> None:
    path = ing.spec.rules[0].http.paths[0]
    assert path.backend.service.port.number == 80
    assert path.path_type == "Prefix"


def _check_slice(es: client.V1EndpointSlice) -> None:
    assert es.address_type == "IPv4"
    assert es.endpoints[0].addresses == ["10.1.0.5"]
    assert es.ports[0].port == 8080


KINDS = [
    pytest.param(
        Kind(
            client.CoreV1Api, "service", client.V1Service, "services", service_body, _check_service
        ),
        id="service",
    ),
    pytest.param(
        Kind(
            client.CoreV1Api,
            "config_map",
            client.V1ConfigMap,
            "configmaps",
            lambda n: {"metadata": {"name": n}, "data": {"key": "value"}},
            _check_configmap,
        ),
        id="configmap",
    ),
    pytest.param(
        Kind(
            client.CoreV1Api,
            "pod",
            client.V1Pod,
            "pods",
            lambda n: {
                "metadata": {"name": n},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
            _check_pod,
        ),
        id="pod",
    ),
    pytest.param(
        Kind(
            client.AppsV1Api,
            "deployment",
            client.V1Deployment,
            "deployments.apps",
            lambda n: deployment_body(n, replicas=2),
            _check_deployment,
        ),
        id="deployment",
    ),
    pytest.param(
        Kind(
            client.NetworkingV1Api,
            "ingress",
            client.V1Ingress,
            "ingresses.networking.k8s.io",
            lambda n: {
                "metadata": {"name": n},
                "spec": {
                    "rules": [
                        {
                            "host": "web.example",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
            _check_ingress,
        ),
        id="ingress",
    ),
    pytest.param(
        Kind(
            client.DiscoveryV1Api,
            "endpoint_slice",
            client.V1EndpointSlice,
            "endpointslices.discovery.k8s.io",
            lambda n: {
                "metadata": {"name": n, "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": True}}],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            },
            _check_slice,
        ),
        id="endpointslice",
    ),
    pytest.param(
        Kind(
            client.CoordinationV1Api,
            "lease",
            client.V1Lease,
            "leases.coordination.k8s.io",
            lambda n: {
                "metadata": {"name": n},
                "spec": {"holderIdentity": "node-a", "leaseDurationSeconds": 40},
            },
            _check_lease,
        ),
        id="lease",
    ),
]


@pytest.mark.parametrize("kind", KINDS)
def test_crud(api: client.ApiClient, ns: str, kind: Kind) -> None:
    typed = kind.api(api)

    def op(verb: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(typed, f"{verb}_namespaced_{kind.suffix}")
        return method

    created = op("create")(ns, kind.body("obj"))
    assert isinstance(created, kind.model)
    meta = created.metadata
    assert (meta.name, meta.namespace) == ("obj", ns)
    assert meta.uid and meta.resource_version and meta.creation_timestamp is not None
    kind.check(created)

    read = op("read")("obj", ns)
    assert isinstance(read, kind.model)
    assert read.metadata.uid == meta.uid
    assert read.metadata.resource_version == meta.resource_version
    kind.check(read)

    listed = op("list")(ns)
    assert [o.metadata.name for o in listed.items] == ["obj"]
    assert int(listed.metadata.resource_version) >= int(meta.resource_version)

    read.metadata.labels = {**(read.metadata.labels or {}), "step": "replace"}
    replaced = op("replace")("obj", ns, read)
    assert isinstance(replaced, kind.model)
    assert replaced.metadata.labels["step"] == "replace"
    assert int(replaced.metadata.resource_version) > int(meta.resource_version)
    assert replaced.metadata.uid == meta.uid
    kind.check(replaced)

    patched = op("patch")("obj", ns, {"metadata": {"annotations": {"step": "patch"}}})
    assert isinstance(patched, kind.model)
    assert patched.metadata.annotations == {"step": "patch"}
    assert patched.metadata.labels["step"] == "replace"

    op("delete")("obj", ns)
    with pytest.raises(ApiException) as err:
        op("read")("obj", ns)
    assert err.value.status == 404
    assert status_of(err.value)["message"] == f'{kind.resource} "obj" not found'
    assert status_of(err.value)["reason"] == "NotFound"


def test_namespace_crud(v1: client.CoreV1Api) -> None:
    name = f"pyc-ns-{uuid.uuid4().hex[:8]}"
    created = v1.create_namespace({"metadata": {"name": name, "labels": {"team": "a"}}})
    assert isinstance(created, client.V1Namespace)
    assert created.status.phase == "Active"
    assert v1.read_namespace(name).metadata.uid == created.metadata.uid
    names = [n.metadata.name for n in v1.list_namespace(label_selector="team=a").items]
    assert name in names
    assert "default" not in names
    patched = v1.patch_namespace(name, {"metadata": {"labels": {"team": "b"}}})
    assert patched.metadata.labels["team"] == "b"
    # The default ServiceAccount appears in every namespace.
    wait_until(
        lambda: bool(v1.list_namespaced_service_account(name).items), "the default ServiceAccount"
    )
    v1.delete_namespace(name)
    wait_until(lambda: name not in [n.metadata.name for n in v1.list_namespace().items], "deletion")


def test_system_namespaces_exist_and_default_cannot_be_deleted(v1: client.CoreV1Api) -> None:
    names = {n.metadata.name for n in v1.list_namespace().items}
    assert {"default", "kube-system", "kube-public"} <= names
    with pytest.raises(ApiException) as err:
        v1.delete_namespace("default")
    assert err.value.status == 403


def test_lease_renewal_with_micro_time(api: client.ApiClient, ns: str) -> None:
    coord = client.CoordinationV1Api(api)
    now = datetime.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)
    lease = coord.create_namespaced_lease(
        ns,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="holder"),
            spec=client.V1LeaseSpec(
                holder_identity="a", lease_duration_seconds=10, acquire_time=now, renew_time=now
            ),
        ),
    )
    assert lease.spec.renew_time == now
    lease.spec.renew_time = now + datetime.timedelta(seconds=5)
    renewed = coord.replace_namespaced_lease("holder", ns, lease)
    assert renewed.spec.renew_time == now + datetime.timedelta(seconds=5)
    assert renewed.spec.acquire_time == now


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_string_data_is_written_to_data(v1: client.CoreV1Api, ns: str) -> None:
    created = v1.create_namespaced_secret(
        ns,
        {
            "metadata": {"name": "creds"},
            "data": {"user": b64("nobody"), "token": b64("t0")},
            "stringData": {"user": "admin"},
        },
    )
    # stringData is write-only: it overwrites data and is not stored.
    assert created.data == {"user": b64("admin"), "token": b64("t0")}
    assert created.string_data is None
    assert created.type == "Opaque"
    patched = v1.patch_namespaced_secret("creds", ns, {"stringData": {"token": "t1"}})
    assert patched.data == {"user": b64("admin"), "token": b64("t1")}
    assert v1.read_namespaced_secret("creds", ns).string_data is None


def test_pod_binding_assigns_a_node_once(v1: client.CoreV1Api, ns: str) -> None:
    v1.create_namespaced_pod(
        ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    )
    body = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "p", "annotations": {"scheduled-by": "test"}},
        "target": {"kind": "Node", "name": "node-a"},
    }
    # The answer is a Status, as upstream sends; 32.0.1 would deserialize it
    # into V1Binding (which requires ``target``), so read it raw.
    resp = v1.create_namespaced_pod_binding("p", ns, body, _preload_content=False)
    assert resp.status == 201
    assert json.loads(resp.data) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
    pod = v1.read_namespaced_pod("p", ns)
    assert pod.spec.node_name == "node-a"
    assert pod.metadata.annotations == {"scheduled-by": "test"}
    on_node = v1.list_namespaced_pod(ns, field_selector="spec.nodeName=node-a")
    assert [p.metadata.name for p in on_node.items] == ["p"]

    body["target"]["name"] = "node-b"
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod_binding("p", ns, body, _preload_content=False)
    assert err.value.status == 409
    assert status_of(err.value)["message"] == (
        'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node '
        '"node-a"'
    )
    assert v1.read_namespaced_pod("p", ns).spec.node_name == "node-a"


# -- patches and optimistic concurrency --------------------------------------------------


def test_json_patch(v1: client.CoreV1Api, ns: str) -> None:
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    patched = v1.patch_namespaced_config_map(
        "c",
        ns,
        [
            {"op": "add", "path": "/data/c", "value": "3"},
            {"op": "remove", "path": "/data/a"},
            {"op": "replace", "path": "/data/b", "value": "20"},
            {"op": "test", "path": "/data/c", "value": "3"},
        ],
    )
    assert patched.data == {"b": "20", "c": "3"}
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map("c", ns, [{"op": "test", "path": "/data/c", "value": "9"}])
    assert err.value.status == 422
    assert v1.read_namespaced_config_map("c", ns).data == {"b": "20", "c": "3"}


def test_strategic_merge_patch_merges_lists_by_key(apps: client.AppsV1Api, ns: str) -> None:
    body = deployment_body("web")
    body["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    apps.create_namespaced_deployment(ns, body)
    # A dict body goes out as application/strategic-merge-patch+json: the
    # containers list is merged by name, so "side" stays.
    patched = apps.patch_namespaced_deployment(
        "web",
        ns,
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}},
    )
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("web", "nginx:2"), ("side", "busybox")]
    assert patched.metadata.generation == 2
    # $patch: delete removes one element by its merge key.
    patched = apps.patch_namespaced_deployment(
        "web",
        ns,
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}},
    )
    assert [c.name for c in patched.spec.template.spec.containers] == ["web"]


def test_merge_patch_replaces_lists(
    apps: client.AppsV1Api, merge_patching: client.ApiClient, ns: str
) -> None:
    body = deployment_body("web")
    body["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    apps.create_namespaced_deployment(ns, body)
    patched = client.AppsV1Api(merge_patching).patch_namespaced_deployment(
        "web",
        ns,
        {
            "metadata": {"labels": {"tier": "front", "app": None}},
            "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}},
        },
    )
    # RFC 7386: lists are replaced whole and null removes a key.
    assert [c.name for c in patched.spec.template.spec.containers] == ["only"]
    assert patched.metadata.labels == {"tier": "front"}


def test_patch_with_stale_resource_version_conflicts(v1: client.CoreV1Api, ns: str) -> None:
    cm = v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"v": "1"}})
    v1.patch_namespaced_config_map("c", ns, {"data": {"v": "2"}})
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map(
            "c", ns, {"metadata": {"resourceVersion": cm.metadata.resource_version}}
        )
    assert err.value.status == 409
    assert v1.read_namespaced_config_map("c", ns).data == {"v": "2"}


def test_replace_with_stale_resource_version_conflicts(v1: client.CoreV1Api, ns: str) -> None:
    stale = v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"v": "1"}})
    v1.replace_namespaced_config_map("c", ns, {"metadata": {"name": "c"}, "data": {"v": "2"}})
    stale.data = {"v": "3"}
    with pytest.raises(ApiException) as err:
        v1.replace_namespaced_config_map("c", ns, stale)
    assert err.value.status == 409
    assert err.value.reason == "Conflict"
    assert err.value.body == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
        '"Operation cannot be fulfilled on configmaps \\"c\\": the object has been modified; '
        'please apply your changes to the latest version and try again","reason":"Conflict",'
        '"details":{"name":"c","kind":"configmaps"},"code":409}\n'
    )
    assert v1.read_namespaced_config_map("c", ns).data == {"v": "2"}


# -- exact error bodies and create_from_yaml -------------------------------------------


def already_exists(resource: str, name: str, group: str = "") -> str:
    qualified = f"{resource}.{group}" if group else resource
    details = (
        f'"name":"{name}",' + (f'"group":"{group}",' if group else "") + f'"kind":"{resource}"'
    )
    return (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        f'"message":"{qualified} \\"{name}\\" already exists","reason":"AlreadyExists",'
        f'"details":{{{details}}},"code":409}}\n'
    )


def test_already_exists_body_is_byte_exact(
    v1: client.CoreV1Api, apps: client.AppsV1Api, ns: str
) -> None:
    v1.create_namespaced_service(ns, service_body("x"))
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_service(ns, service_body("x"))
    assert err.value.status == 409
    assert err.value.reason == "Conflict"
    assert err.value.body == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
        '"services \\"x\\" already exists","reason":"AlreadyExists",'
        '"details":{"name":"x","kind":"services"},"code":409}\n'
    )
    assert err.value.body == already_exists("services", "x")
    assert str(err.value) == (
        "(409)\nReason: Conflict\nHTTP response headers: "
        f"{err.value.headers}\nHTTP response body: {err.value.body}\n"
    )

    apps.create_namespaced_deployment(ns, deployment_body("x"))
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(ns, deployment_body("x"))
    assert err.value.body == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
        '"deployments.apps \\"x\\" already exists","reason":"AlreadyExists",'
        '"details":{"name":"x","group":"apps","kind":"deployments"},"code":409}\n'
    )


MANIFEST = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  color: blue
"""


def test_create_from_yaml(
    api: client.ApiClient, v1: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFEST)
    created = utils.create_from_yaml(api, str(path), namespace=ns)
    kinds = [type(objs[0]).__name__ for objs in created]
    assert kinds == ["V1Service", "V1Deployment", "V1ConfigMap"]
    assert client.AppsV1Api(api).read_namespaced_deployment("web", ns).spec.replicas == 3
    assert v1.read_namespaced_config_map("web-config", ns).data == {"color": "blue"}

    with pytest.raises(utils.FailToCreateError) as err:
        utils.create_from_yaml(api, str(path), namespace=ns)
    assert str(err.value) == (
        "Error from server (Conflict): " + already_exists("services", "web")
        + "Error from server (Conflict): " + already_exists("deployments", "web", "apps")
        + "Error from server (Conflict): " + already_exists("configmaps", "web-config")
    )  # fmt: skip


def test_create_from_yaml_with_apply_is_idempotent(
    api: client.ApiClient, ns: str, tmp_path: Path
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFEST)
    for _ in range(2):
        utils.create_from_yaml(api, str(path), namespace=ns, apply=True)
    dep = client.AppsV1Api(api).read_namespaced_deployment("web", ns)
    assert dep.spec.replicas == 3
    assert dep.metadata.generation == 1
    assert [m.manager for m in dep.metadata.managed_fields] == ["python-client"]
    assert dep.metadata.managed_fields[0].operation == "Apply"


# -- the dynamic client ------------------------------------------------------------------


def test_dynamic_client_discovery(dyn: dynamic.DynamicClient) -> None:
    svc = dyn.resources.get(api_version="v1", kind="Service")
    assert (svc.name, svc.namespaced, svc.short_names) == ("services", True, ["svc"])
    assert "status" in svc.subresources
    assert {"create", "get", "list", "patch", "watch", "delete"} <= set(svc.verbs)
    dep = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert (dep.group, dep.name, dep.short_names) == ("apps", "deployments", ["deploy"])
    assert "scale" in dep.subresources
    ing = dyn.resources.get(short_names=["ing"])
    assert (ing.group_version, ing.kind) == ("networking.k8s.io/v1", "Ingress")
    ns = dyn.resources.get(api_version="v1", kind="Namespace")
    assert ns.namespaced is False


def test_dynamic_client_service_and_deployment(dyn: dynamic.DynamicClient, ns: str) -> None:
    services = dyn.resources.get(api_version="v1", kind="Service")
    created = services.create(body=service_body("web"), namespace=ns)
    assert created.spec.ports[0].protocol == "TCP"
    assert services.get(name="web", namespace=ns).metadata.uid == created.metadata.uid
    listed = services.get(namespace=ns, label_selector="app=web")
    assert [i.metadata.name for i in listed.items] == ["web"]
    patched = services.patch(
        body={"metadata": {"labels": {"tier": "front"}}}, name="web", namespace=ns
    )
    assert patched.to_dict()["metadata"]["labels"] == {"app": "web", "tier": "front"}
    merged = services.patch(
        body={"metadata": {"labels": {"tier": None}}},
        name="web",
        namespace=ns,
        content_type="application/merge-patch+json",
    )
    assert merged.to_dict()["metadata"]["labels"] == {"app": "web"}

    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.create(body=deployment_body("web"), namespace=ns)
    scaled = deployments.patch(body={"spec": {"replicas": 4}}, name="web", namespace=ns)
    assert scaled.spec.replicas == 4
    scale = deployments.subresources["scale"].get(name="web", namespace=ns)
    assert (scale.kind, scale.spec.replicas) == ("Scale", 4)
    deleted = deployments.delete(name="web", namespace=ns)
    assert deleted.status == "Success"


def test_dynamic_client_server_side_apply(dyn: dynamic.DynamicClient, ns: str) -> None:
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = deployment_body("web", replicas=2)
    first = deployments.server_side_apply(body=body, namespace=ns, field_manager="team-a")
    assert first.spec.replicas == 2
    assert [m.manager for m in first.metadata.managedFields] == ["team-a"]
    again = deployments.server_side_apply(body=body, namespace=ns, field_manager="team-a")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion  # no change

    other = deployment_body("web", replicas=5)
    with pytest.raises(ApiException) as err:
        deployments.server_side_apply(body=other, namespace=ns, field_manager="team-b")
    assert err.value.status == 409
    assert 'conflict with "team-a"' in status_of(err.value)["message"]
    assert ".spec.replicas" in status_of(err.value)["message"]

    forced = deployments.server_side_apply(
        body=other, namespace=ns, field_manager="team-b", force_conflicts=True
    )
    assert forced.spec.replicas == 5

    # Through the generic patch call with the apply content type.
    services = dyn.resources.get(api_version="v1", kind="Service")
    svc = services.patch(
        body=service_body("web"),
        namespace=ns,
        name="web",
        content_type="application/apply-patch+yaml",
        field_manager="team-a",
    )
    assert svc.spec.ports[0].port == 80
    assert svc.status is not None


# -- deletion ---------------------------------------------------------------------------


def test_delete_with_background_propagation(
    v1: client.CoreV1Api, apps: client.AppsV1Api, ns: str
) -> None:
    apps.create_namespaced_deployment(ns, deployment_body("web"))
    status = apps.delete_namespaced_deployment(
        "web", ns, body=client.V1DeleteOptions(propagation_policy="Background")
    )
    assert isinstance(status, client.V1Status)
    assert status.status == "Success"
    assert (status.details.name, status.details.group, status.details.kind) == (
        "web", "apps", "deployments"
    )  # fmt: skip
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", ns)
    assert err.value.status == 404

    v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    v1.delete_namespaced_config_map("c", ns, propagation_policy="Background")
    assert v1.list_namespaced_config_map(ns).items == []

    with pytest.raises(ApiException) as err:
        v1.delete_namespaced_config_map("c", ns)
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'configmaps "c" not found'

    with pytest.raises(ApiException) as err:
        v1.delete_namespaced_config_map(
            "c", ns, body=client.V1DeleteOptions(propagation_policy="Sideways")
        )
    assert err.value.status == 422


def test_delete_with_finalizers(v1: client.CoreV1Api, ns: str) -> None:
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(
        ns, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )
    v1.delete_namespaced_config_map("held", ns, body=client.V1DeleteOptions())
    held = v1.read_namespaced_config_map("held", ns)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/hold"]
    # Deleting again changes nothing; the object stays until its finalizers go.
    v1.delete_namespaced_config_map("held", ns)
    again = v1.read_namespaced_config_map("held", ns)
    assert again.metadata.resource_version == held.metadata.resource_version
    with pytest.raises(ApiException) as err:
        v1.patch_namespaced_config_map(
            "held", ns, {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}}
        )
    assert err.value.status == 422

    v1.patch_namespaced_config_map("held", ns, [{"op": "remove", "path": "/metadata/finalizers"}])
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_config_map("held", ns)
    assert err.value.status == 404

    w = watch.Watch()
    types = []
    for ev in w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=5):
        types.append(ev["type"])
        if ev["type"] == "DELETED":
            w.stop()
    assert types == ["ADDED", "MODIFIED", "DELETED"]


def test_namespace_deletion_removes_contents(v1: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    name = f"pyc-del-{uuid.uuid4().hex[:8]}"
    v1.create_namespace({"metadata": {"name": name}})
    v1.create_namespaced_config_map(name, {"metadata": {"name": "c"}})
    v1.create_namespaced_service(name, service_body("web"))
    apps.create_namespaced_deployment(name, deployment_body("web"))
    # A finalizer holds the namespace in Terminating until it is removed.
    v1.create_namespaced_config_map(
        name, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )

    v1.delete_namespace(name)
    assert v1.read_namespace(name).status.phase == "Terminating"
    wait_until(
        lambda: (
            [c.metadata.name for c in v1.list_namespaced_config_map(name).items] == ["held"]
            and not v1.list_namespaced_service(name).items
            and not apps.list_namespaced_deployment(name).items
        ),
        "the namespace's contents to go",
    )
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_config_map(name, {"metadata": {"name": "late"}})
    assert err.value.status == 403
    assert status_of(err.value)["message"] == (
        f'configmaps "late" is forbidden: unable to create new content in namespace {name} '
        "because it is being terminated"
    )

    v1.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})

    def gone() -> bool:
        try:
            v1.read_namespace(name)
        except ApiException as exc:
            assert exc.status == 404
            return True
        return False

    wait_until(gone, "the namespace to go")
    assert (
        v1.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={name}").items
        == []
    )


def test_concurrent_writers_never_lose_an_update(v1: client.CoreV1Api, ns: str) -> None:
    """Unconditional patches from several threads: each one lands (server-side retry)."""
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {}})

    def add(i: int) -> None:
        for j in range(5):
            v1.patch_namespaced_config_map("c", ns, {"data": {f"k{i}-{j}": "x"}})

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(v1.read_namespaced_config_map("c", ns).data) == 20
