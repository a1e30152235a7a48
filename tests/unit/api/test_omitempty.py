"""``drop_empty``: objects as Go's JSON encoder writes them back (omitempty)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesvc.api.omitempty import drop_empty

SERVICE = "io.k8s.api.core.v1.Service"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
CONFIGMAP = "io.k8s.api.core.v1.ConfigMap"


def _svc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}], **spec},
    }


CASES = [
    pytest.param(
        CONFIGMAP,
        {"metadata": {"name": "c", "annotations": {}, "labels": {}}, "data": {"a": "1"}},
        {"metadata": {"name": "c"}, "data": {"a": "1"}},
        id="empty-maps-in-metadata",
    ),
    pytest.param(
        CONFIGMAP,
        {"metadata": {"name": "c", "finalizers": []}, "data": {}},
        {"metadata": {"name": "c"}},
        id="empty-list-and-data",
    ),
    pytest.param(
        CONFIGMAP,
        {
            "metadata": {
                "name": "c",
                "labels": None,
                "deletionGracePeriodSeconds": None,
                "uid": None,
            }
        },
        {"metadata": {"name": "c"}},
        id="nulls-of-omitempty-fields",
    ),
    pytest.param(
        DEPLOYMENT,
        {
            "metadata": {"name": "d", "deletionTimestamp": None},
            "spec": {"template": {"metadata": {"creationTimestamp": None}}},
        },
        {
            "metadata": {"name": "d"},
            "spec": {"template": {"metadata": {"creationTimestamp": None}}},
        },
        id="zero-time-stays-null-nil-pointer-time-goes",
    ),
    pytest.param(
        SERVICE,
        _svc(clusterIP="", externalIPs=[], publishNotReadyAddresses=False),
        _svc(),
        id="zero-scalars-and-empty-list",
    ),
    pytest.param(
        SERVICE,
        _svc(type="ClusterIP", sessionAffinity="None"),
        _svc(type="ClusterIP", sessionAffinity="None"),
        id="set-values-stay",
    ),
    pytest.param(
        SERVICE,
        {**_svc(), "status": {"loadBalancer": {}}},
        {**_svc(), "status": {"loadBalancer": {}}},
        id="empty-structs-stay",
    ),
    pytest.param(
        SERVICE,
        {**_svc(), "status": {"loadBalancer": {"ingress": []}}},
        {**_svc(), "status": {"loadBalancer": {}}},
        id="empty-list-inside-struct",
    ),
    pytest.param(
        SERVICE,
        {**_svc(), "status": None},
        {**_svc(), "status": {}},
        id="null-struct-is-the-zero-struct",
    ),
    pytest.param(
        SERVICE,
        _svc(ports=[{"port": 80, "name": "", "nodePort": 0, "targetPort": 0}]),
        _svc(ports=[{"port": 80, "targetPort": 0}]),
        id="inside-list-items-but-not-int-or-string",
    ),
    pytest.param(
        DEPLOYMENT,
        {
            "metadata": {"name": "d"},
            "spec": {
                "replicas": 0,
                "paused": False,
                "template": {"metadata": {"labels": {}}, "spec": {"hostNetwork": False}},
            },
        },
        {
            "metadata": {"name": "d"},
            "spec": {"replicas": 0, "template": {"metadata": {}, "spec": {}}},
        },
        id="pointer-zero-stays",
    ),
    pytest.param(
        CONFIGMAP,
        {"metadata": {"name": "c"}, "data": {"a": ""}, "unknownThing": {}},
        {"metadata": {"name": "c"}, "data": {"a": ""}, "unknownThing": {}},
        id="map-values-and-unknown-fields-untouched",
    ),
]


@pytest.mark.parametrize(("definition", "given", "expected"), CASES)
def test_drop_empty(definition: str, given: dict[str, Any], expected: dict[str, Any]) -> None:
    obj = copy.deepcopy(given)
    drop_empty(obj, definition)
    assert obj == expected


def test_unknown_definition_changes_nothing() -> None:
    obj = {"metadata": {"labels": {}}}
    drop_empty(obj, "io.example.Nothing")
    assert obj == {"metadata": {"labels": {}}}
