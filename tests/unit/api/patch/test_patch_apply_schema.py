"""Server-side apply with the real Kubernetes 1.32 schema: what kubectl sees."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesvc.api import schema
from kubesvc.api.patch import apply_config, conflict_message, update_managed_fields

SERVICE = "io.k8s.api.core.v1.Service"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
NOW = "2024-05-01T10:00:00Z"

pytestmark = pytest.mark.skipif(
    schema.definition(SERVICE) is None, reason="schema.json not generated yet"
)


def service(target_port: int | str = 8080) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web3", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"ports": [{"port": 80, "targetPort": target_port}], "selector": {"app": "web"}},
    }


def test_kubectl_create_then_server_side_apply() -> None:
    created = update_managed_fields(
        None, service(), "kubectl-create", definition_name=SERVICE, now=NOW
    )
    assert created["metadata"]["managedFields"] == [
        {
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "v1",
            "time": NOW,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:ports": {
                        ".": {},
                        'k:{"port":80,"protocol":"TCP"}': {
                            ".": {},
                            "f:port": {},
                            "f:targetPort": {},
                        },
                    },
                    "f:selector": {},
                },
            },
        }
    ]
    same = apply_config(created, service(), SERVICE, "kubectl", force=False, now=NOW)
    assert same.conflicts == ()
    changed = apply_config(created, service(9090), SERVICE, "kubectl", force=False, now=NOW)
    assert conflict_message(changed.conflicts) == (
        'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: '
        '.spec.ports[port=80,protocol="TCP"].targetPort'
    )
    forced = apply_config(created, service(9090), SERVICE, "kubectl", force=True, now=NOW)
    assert forced.obj is not None
    assert forced.obj["spec"]["ports"] == [{"port": 80, "targetPort": 9090}]


def test_service_selector_is_atomic() -> None:
    first = apply_config(None, service(), SERVICE, "kubectl", force=False, now=NOW).obj
    assert first is not None
    other = service()
    other["spec"]["selector"] = {"app": "web", "tier": "front"}
    result = apply_config(first, other, SERVICE, "helm", force=False, now=NOW)
    assert conflict_message(result.conflicts) == (
        'Apply failed with 1 conflict: conflict with "kubectl": .spec.selector'
    )
    forced = apply_config(first, other, SERVICE, "helm", force=True, now=NOW).obj
    assert forced is not None
    assert forced["spec"]["selector"] == {"app": "web", "tier": "front"}


def deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "app", **container}]},
            },
        },
    }


def test_deployment_fields_v1_and_pruning() -> None:
    obj = apply_config(
        None,
        deployment(image="nginx", env=[{"name": "A", "value": "1"}]),
        DEPLOYMENT,
        "kubectl",
        force=False,
        now=NOW,
    ).obj
    assert obj is not None
    assert obj["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"app"}': {
                            ".": {},
                            "f:env": {
                                'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}},
                            },
                            "f:image": {},
                            "f:name": {},
                        }
                    }
                },
            },
        }
    }
    # a controller scales it; the next apply without replicas leaves the scale alone
    scaled = copy.deepcopy(obj)
    scaled["spec"]["replicas"] = 5
    scaled = update_managed_fields(obj, scaled, "hpa", definition_name=DEPLOYMENT, now=NOW)
    again = deployment(image="nginx:2")
    del again["spec"]["replicas"]
    final = apply_config(scaled, again, DEPLOYMENT, "kubectl", force=False, now=NOW).obj
    assert final is not None
    assert final["spec"]["replicas"] == 5
    assert final["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "nginx:2"}]
