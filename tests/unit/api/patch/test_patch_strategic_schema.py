"""Strategic merge patch with the real Kubernetes 1.32 schema (kubesvc.api.schema)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubesvc.api import schema
from kubesvc.api.patch import apply_strategic, create_two_way_merge_patch

SERVICE = "io.k8s.api.core.v1.Service"
POD = "io.k8s.api.core.v1.Pod"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"

pytestmark = pytest.mark.skipif(
    schema.definition(SERVICE) is None, reason="schema.json not generated yet"
)


def _svc(target_port: int, *, last_applied: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web2", "namespace": "default"}
    if last_applied:
        meta["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last_applied}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "clusterIP": "10.0.0.7",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": target_port}],
            "selector": {"app": "web"},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
    }


def test_kubectl_client_side_apply_patch_on_a_service() -> None:
    """The exact PATCH body of api-compat.md section 2.5."""
    new_config = json.dumps({"apiVersion": "v1", "kind": "Service", "spec": {"x": 1}}) + "\n"
    live = _svc(8080, last_applied="{}\n")
    patch = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": new_config}
        },
        "spec": {
            "$setElementOrder/ports": [{"port": 80}],
            "ports": [{"port": 80, "targetPort": 9090}],
        },
    }
    assert apply_strategic(live, patch, SERVICE) == _svc(9090, last_applied=new_config)


def test_service_ports_merge_by_port() -> None:
    live = _svc(8080)
    live["spec"]["ports"].append(
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}
    )
    patch = {
        "spec": {"ports": [{"port": 443, "targetPort": 9443}, {"port": 53, "protocol": "UDP"}]}
    }
    ports = apply_strategic(live, patch, SERVICE)["spec"]["ports"]
    assert ports == [
        {"port": 80, "protocol": "TCP", "targetPort": 8080},
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 9443},
        {"port": 53, "protocol": "UDP"},
    ]


POD_LIVE: dict[str, Any] = {
    "metadata": {
        "name": "p",
        "finalizers": ["f1"],
        "ownerReferences": [{"uid": "u1", "name": "rs"}],
    },
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
            },
            {"name": "side", "image": "side:1"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "k", "operator": "Exists"}],
    },
}


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        pytest.param(
            {"spec": {"containers": [{"name": "app", "image": "app:2"}]}},
            ("spec", "containers", 0, "image"),
            "app:2",
            id="containers-by-name",
        ),
        pytest.param(
            {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}]}]}},
            ("spec", "containers", 0, "env"),
            [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
            id="env-by-name",
        ),
        pytest.param(
            {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]}},
            ("spec", "containers", 0, "env"),
            [{"name": "B", "value": "2"}],
            id="env-delete",
        ),
        pytest.param(
            {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
            ("spec", "containers"),
            [POD_LIVE["spec"]["containers"][0]],
            id="container-delete",
        ),
        pytest.param(
            {
                "spec": {
                    "$setElementOrder/volumes": [{"name": "data"}],
                    "volumes": [
                        {
                            "name": "data",
                            "hostPath": {"path": "/srv"},
                            "$retainKeys": ["hostPath", "name"],
                        }
                    ],
                }
            },
            ("spec", "volumes"),
            [{"name": "data", "hostPath": {"path": "/srv"}}],
            id="volumes-retain-keys",
        ),
        pytest.param(
            {"spec": {"tolerations": [{"key": "other", "operator": "Exists"}]}},
            ("spec", "tolerations"),
            [{"key": "other", "operator": "Exists"}],
            id="tolerations-atomic",
        ),
        pytest.param(
            {"metadata": {"finalizers": ["f2"]}},
            ("metadata", "finalizers"),
            ["f2", "f1"],
            id="finalizers-set",
        ),
        pytest.param(
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}},
            ("metadata", "finalizers"),
            [],
            id="finalizers-delete",
        ),
        pytest.param(
            {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]}},
            ("metadata", "ownerReferences"),
            [{"uid": "u1", "name": "rs", "controller": True}],
            id="owner-references-by-uid",
        ),
        pytest.param(
            {"metadata": {"labels": {"a": "b"}, "annotations": {"x": "y"}}},
            ("metadata",),
            {**POD_LIVE["metadata"], "labels": {"a": "b"}, "annotations": {"x": "y"}},
            id="labels-and-annotations-maps",
        ),
    ],
)
def test_pod_patches(patch: dict[str, Any], path: tuple[Any, ...], expected: Any) -> None:
    node: Any = apply_strategic(POD_LIVE, patch, POD)
    for step in path:
        node = node[step]
    assert node == expected


def test_deployment_strategy_retain_keys() -> None:
    live = {
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
        }
    }
    modified = {"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}}
    patch = create_two_way_merge_patch(live, modified, DEPLOYMENT)
    assert patch == {
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}
    }
    assert apply_strategic(live, patch, DEPLOYMENT) == modified
    # the directive alone (no null for rollingUpdate) clears it too
    only_retain = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert apply_strategic(live, only_retain, DEPLOYMENT) == modified


def test_two_way_patch_for_a_pod_round_trips() -> None:
    modified = json.loads(json.dumps(POD_LIVE))
    modified["spec"]["containers"].reverse()
    modified["spec"]["containers"][1]["env"] = [{"name": "C", "value": "9"}]
    modified["spec"]["volumes"] = [{"name": "data", "hostPath": {"path": "/x"}}]
    modified["metadata"]["finalizers"] = ["f3"]
    patch = create_two_way_merge_patch(POD_LIVE, modified, POD)
    assert apply_strategic(POD_LIVE, patch, POD) == modified
