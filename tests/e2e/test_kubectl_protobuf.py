"""kubectl's generator commands against a live server, which send protobuf bodies.

client-go's typed clientset, behind ``kubectl create namespace|configmap|secret|
deployment|service|serviceaccount|ingress``, posts objects as
``application/vnd.kubernetes.protobuf``; kubectl 1.32's ``run`` posts JSON and is
kept so both paths stay covered. Each case asks kubectl first for the object it
would send (``--dry-run=client -o json``, Go's JSON of that very object), then
creates it for real (checking the request went out as protobuf) and reads it back
with ``kubectl get -o json``: everything kubectl meant must have arrived (the
server may add defaults), and a few fields are checked by name.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ApiProcess

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH"),
]

PROTOBUF_HEADER = "Content-Type: application/vnd.kubernetes.protobuf"


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: Path
    cache_dir: Path
    namespace: str

    def run(self, *args: str, namespaced: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir)]
        if namespaced:
            cmd += ["--namespace", self.namespace]
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stderr}"
        return done

    def json(self, *args: str, namespaced: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.run(*args, namespaced=namespaced).stdout)
        return out


@pytest.fixture
def kubectl(api_process: ApiProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Kubectl:
    """A kubectl with its own cache dir and its own namespace (created through protobuf)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())
    namespace = ("pb-" + slug)[:63].strip("-")
    k = Kubectl(api_process.kubeconfig, tmp_path / "kube-cache", namespace)
    k.run("create", "namespace", namespace, namespaced=False)
    return k


def assert_contains(got: Any, want: Any, path: str = "") -> None:
    """Every value in ``want`` is in ``got`` (nulls in ``want`` are skipped)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{path}: {got!r} is not an object"
        for key, value in want.items():
            if value is None:
                continue
            assert key in got, f"{path}.{key} is missing"
            assert_contains(got[key], value, f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for i, (item, wanted) in enumerate(zip(got, want, strict=True)):
            assert_contains(item, wanted, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


CASES = [
    pytest.param(
        ["create", "configmap", "demo", "--from-literal=a=b", "--from-literal=empty="],
        "configmap/demo",
        {"data": {"a": "b", "empty": ""}},
        True,
        id="create-configmap",
    ),
    pytest.param(
        ["create", "secret", "generic", "s1", "--from-literal=k=v"],
        "secret/s1",
        {"data": {"k": "dg=="}, "type": "Opaque"},
        True,
        id="create-secret-generic",
    ),
    pytest.param(
        ["create", "deployment", "web", "--image=x", "--replicas=2", "--port=8080"],
        "deployment/web",
        {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {"name": "x", "image": "x", "ports": [{"containerPort": 8080}]}
                        ]
                    },
                },
            },
        },
        True,
        id="create-deployment",
    ),
    pytest.param(
        ["create", "deployment", "idle", "--image=x", "--replicas=0"],
        "deployment/idle",
        {"spec": {"replicas": 0}},
        True,
        id="create-deployment-zero-replicas",
    ),
    pytest.param(
        ["create", "service", "clusterip", "x", "--tcp=80:8080"],
        "service/x",
        {
            "spec": {
                "type": "ClusterIP",
                "selector": {"app": "x"},
                "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            }
        },
        True,
        id="create-service-clusterip",
    ),
    pytest.param(
        ["create", "service", "nodeport", "np", "--tcp=81:http"],
        "service/np",
        {"spec": {"type": "NodePort", "ports": [{"port": 81, "targetPort": "http"}]}},
        True,
        id="create-service-nodeport-named-target-port",
    ),
    pytest.param(
        ["create", "service", "externalname", "ext", "--external-name=db.example.com"],
        "service/ext",
        {"spec": {"type": "ExternalName", "externalName": "db.example.com"}},
        True,
        id="create-service-externalname",
    ),
    pytest.param(
        ["create", "serviceaccount", "robot"],
        "serviceaccount/robot",
        {"kind": "ServiceAccount", "metadata": {"name": "robot"}},
        True,
        id="create-serviceaccount",
    ),
    pytest.param(
        ["create", "ingress", "x", "--rule=foo.com/bar=svc:80"],
        "ingress/x",
        {
            "spec": {
                "rules": [
                    {
                        "host": "foo.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/bar",
                                    "pathType": "Exact",
                                    "backend": {"service": {"name": "svc", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            }
        },
        True,
        id="create-ingress",
    ),
    pytest.param(
        ["run", "pod1", "--image=x", "--port=80", "--env=A=B", "--labels=a=b"],
        "pod/pod1",
        {
            "metadata": {"labels": {"a": "b"}},
            "spec": {
                "containers": [
                    {
                        "name": "pod1",
                        "image": "x",
                        "ports": [{"containerPort": 80}],
                        "env": [{"name": "A", "value": "B"}],
                    }
                ]
            },
        },
        False,
        id="run-pod",
    ),
]


@pytest.mark.parametrize(("args", "target", "want", "protobuf"), CASES)
def test_generator_command(
    kubectl: Kubectl, args: list[str], target: str, want: dict[str, Any], protobuf: bool
) -> None:
    meant = kubectl.json(*args, "--dry-run=client", "-o", "json")
    created = kubectl.run(*args, "-v=8")
    assert (PROTOBUF_HEADER in created.stderr) == protobuf
    stored = kubectl.json("get", target, "-o", "json")
    assert_contains(stored, meant)
    assert_contains(stored, want)
    assert stored["metadata"]["namespace"] == kubectl.namespace


def test_create_namespace(kubectl: Kubectl) -> None:
    # The fixture created it with ``kubectl create namespace``, which sends protobuf.
    stored = kubectl.json("get", "namespace", kubectl.namespace, "-o", "json", namespaced=False)
    assert stored["kind"] == "Namespace"
    assert stored["metadata"]["name"] == kubectl.namespace
    assert stored["status"]["phase"] == "Active"
    created = kubectl.run("create", "namespace", kubectl.namespace + "-2", "-v=8", namespaced=False)
    assert PROTOBUF_HEADER in created.stderr
