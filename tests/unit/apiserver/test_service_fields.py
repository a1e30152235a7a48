"""The Service strategy's field shaping: clusterIP(s) sync, kept allocations, type changes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesvc.apiserver.services import (
    drop_type_dependent_fields,
    normalize_cluster_ips,
    patch_allocated_values,
)

Obj = dict[str, Any]


def svc(**spec: Any) -> Obj:
    return {"metadata": {"name": "web"}, "spec": spec, "status": {"loadBalancer": {}}}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            None,
            {"clusterIP": "10.96.0.5"},
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]},
            id="create-mirrors-singular",
        ),
        pytest.param(None, {}, {}, id="create-nothing-given"),
        pytest.param(
            None,
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.6"]},
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.6"]},
            id="create-both-given-left-for-validation",
        ),
        pytest.param(
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]},
            {"clusterIP": "10.96.0.5"},
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]},
            id="update-old-client-dropped-plural",
        ),
        pytest.param(
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]},
            {"clusterIP": "", "clusterIPs": ["10.96.0.5"]},
            {"clusterIP": ""},
            id="update-clearing-singular-clears-plural",
        ),
        pytest.param(
            {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]},
            {"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.5"]},
            {"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"]},
            id="update-changing-singular-carries-over",
        ),
    ],
)
def test_normalize_cluster_ips(old: Obj | None, new: Obj, expected: Obj) -> None:
    obj = svc(**copy.deepcopy(new))
    normalize_cluster_ips(obj, svc(**old) if old is not None else None)
    assert obj["spec"] == expected


NP_OLD = svc(
    type="NodePort",
    clusterIP="10.96.0.5",
    clusterIPs=["10.96.0.5"],
    ports=[
        {"name": "a", "port": 80, "nodePort": 30080},
        {"name": "b", "port": 81, "nodePort": 30081},
    ],
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            NP_OLD,
            {"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]},
            {
                "type": "NodePort",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
                "ports": [
                    {"name": "a", "port": 80, "nodePort": 30080},
                    {"name": "b", "port": 81, "nodePort": 30081},
                ],
            },
            id="reapplied-yaml-keeps-allocations",
        ),
        pytest.param(
            NP_OLD,
            {
                "type": "NodePort",
                "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81, "nodePort": 30080}],
            },
            {
                "type": "NodePort",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
                "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81, "nodePort": 30080}],
            },
            id="node-port-moved-to-another-port-is-not-patched-back",
        ),
        pytest.param(
            NP_OLD,
            {
                "type": "ExternalName",
                "externalName": "x.example.com",
                "ports": [{"name": "a", "port": 80}],
            },
            {
                "type": "ExternalName",
                "externalName": "x.example.com",
                "ports": [{"name": "a", "port": 80}],
            },
            id="no-patching-into-external-name",
        ),
        pytest.param(
            svc(type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=30500),
            {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
            {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "healthCheckNodePort": 30500,
            },
            id="health-check-port-kept",
        ),
    ],
)
def test_patch_allocated_values(old: Obj, new: Obj, expected: Obj) -> None:
    obj = svc(**copy.deepcopy(new))
    patch_allocated_values(obj, copy.deepcopy(old))
    assert obj["spec"] == expected


LB_OLD = svc(
    type="LoadBalancer",
    clusterIP="10.96.0.5",
    clusterIPs=["10.96.0.5"],
    ipFamilies=["IPv4"],
    ipFamilyPolicy="SingleStack",
    ports=[{"port": 80, "nodePort": 30080}],
    externalTrafficPolicy="Local",
    healthCheckNodePort=30500,
    allocateLoadBalancerNodePorts=True,
    loadBalancerClass="example.com/lb",
)
LB_OLD["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}}


def changed(old: Obj, **spec: Any) -> Obj:
    new = copy.deepcopy(old)
    new["spec"].update(spec)
    return new


@pytest.mark.parametrize(
    ("old", "new", "expected_spec"),
    [
        pytest.param(
            LB_OLD,
            changed(LB_OLD, type="ClusterIP"),
            {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80}],
            },
            id="loadbalancer-to-clusterip",
        ),
        pytest.param(
            LB_OLD,
            changed(LB_OLD, type="ExternalName", externalName="x.example.com"),
            {"type": "ExternalName", "externalName": "x.example.com", "ports": [{"port": 80}]},
            id="loadbalancer-to-externalname",
        ),
        pytest.param(
            LB_OLD,
            changed(LB_OLD, type="ClusterIP", ports=[{"port": 80, "nodePort": 30099}]),
            {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "nodePort": 30099}],
            },
            id="new-node-port-left-for-validation",
        ),
        pytest.param(
            LB_OLD,
            changed(LB_OLD, type="NodePort"),
            {
                "type": "NodePort",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "nodePort": 30080}],
                "externalTrafficPolicy": "Local",
            },
            id="loadbalancer-to-nodeport",
        ),
        pytest.param(
            LB_OLD,
            changed(LB_OLD, externalTrafficPolicy="Cluster"),
            {**LB_OLD["spec"], "externalTrafficPolicy": "Cluster", "healthCheckNodePort": None},
            id="local-to-cluster-drops-health-check-port",
        ),
    ],
)
def test_drop_type_dependent_fields(old: Obj, new: Obj, expected_spec: Obj) -> None:
    obj = copy.deepcopy(new)
    drop_type_dependent_fields(obj, copy.deepcopy(old))
    assert obj["spec"] == {k: v for k, v in expected_spec.items() if v is not None}
    if obj["spec"]["type"] == "LoadBalancer":
        assert obj["status"] == old["status"]
    else:
        assert obj["status"] == {"loadBalancer": {}}
