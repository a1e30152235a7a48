"""Cells of every printed kind except pods, for realistic objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesvc.apiserver.printers import printer_for

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def meta(name: str = "web", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "default",
        "creationTimestamp": "2024-06-01T11:55:00Z",
        **extra,
    }


def svc(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": meta(), "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("obj", "cells"),
    [
        pytest.param(
            svc(
                {
                    "type": "ClusterIP",
                    "clusterIPs": ["10.96.0.10"],
                    "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                    "selector": {"tier": "fe", "app": "web"},
                }
            ),
            ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "5m", "app=web,tier=fe"],
            id="cluster-ip",
        ),
        pytest.param(
            svc(
                {
                    "type": "NodePort",
                    "clusterIPs": ["10.96.0.11"],
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
                    "selector": {"app": "web"},
                }
            ),
            ["web", "NodePort", "10.96.0.11", "<none>", "80:30080/TCP", "5m", "app=web"],
            id="node-port",
        ),
        pytest.param(
            svc(
                {
                    "type": "LoadBalancer",
                    "clusterIPs": ["10.96.0.12"],
                    "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}],
                },
                {"loadBalancer": {}},
            ),
            ["web", "LoadBalancer", "10.96.0.12", "<pending>", "443:31443/TCP", "5m", "<none>"],
            id="load-balancer-pending",
        ),
        pytest.param(
            svc(
                {
                    "type": "LoadBalancer",
                    "clusterIPs": ["10.96.0.12"],
                    "externalIPs": ["192.0.2.9"],
                    "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}],
                },
                {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}, {"hostname": "lb.example"}]}},
            ),
            [
                "web",
                "LoadBalancer",
                "10.96.0.12",
                "198.51.100.7,lb.example,192.0.2.9",
                "443:31443/TCP",
                "5m",
                "<none>",
            ],
            id="load-balancer-with-ingress-and-external-ips",
        ),
        pytest.param(
            svc({"type": "ClusterIP", "clusterIPs": ["None"], "selector": {"app": "db"}}),
            ["web", "ClusterIP", "None", "<none>", "<none>", "5m", "app=db"],
            id="headless-without-ports",
        ),
        pytest.param(
            svc({"type": "ClusterIP", "externalIPs": ["192.0.2.1", "192.0.2.2"], "ports": []}),
            ["web", "ClusterIP", "<none>", "192.0.2.1,192.0.2.2", "<none>", "5m", "<none>"],
            id="external-ips-no-cluster-ip",
        ),
        pytest.param(
            svc({"type": "ExternalName", "externalName": "db.example.com"}),
            ["web", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"],
            id="external-name",
        ),
    ],
)
def test_service(obj: dict[str, Any], cells: list[Any]) -> None:
    assert printer_for("services").row(obj, NOW) == cells


def subset(ips: list[str], ports: list[int]) -> dict[str, Any]:
    return {"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": p} for p in ports]}


@pytest.mark.parametrize(
    ("subsets", "shown"),
    [
        pytest.param(None, "<none>", id="no-subsets"),
        pytest.param([subset(["10.244.0.5"], [8080])], "10.244.0.5:8080", id="one"),
        pytest.param(
            [subset(["10.0.0.1", "10.0.0.2"], [80, 443])],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
            id="more",
        ),
        pytest.param(
            [subset(["10.0.0.1"], [80]), subset(["10.0.0.2", "10.0.0.3", "10.0.0.4"], [81])],
            "10.0.0.1:80,10.0.0.2:81,10.0.0.3:81 + 1 more...",
            id="across-subsets",
        ),
        pytest.param([subset(["10.0.0.1", "10.0.0.2"], [])], "10.0.0.1,10.0.0.2", id="no-ports"),
        pytest.param([subset(["fd00::1"], [80])], "[fd00::1]:80", id="ipv6"),
    ],
)
def test_endpoints(subsets: Any, shown: str) -> None:
    obj: dict[str, Any] = {"metadata": meta()}
    if subsets is not None:
        obj["subsets"] = subsets
    assert printer_for("endpoints").row(obj, NOW) == ["web", shown, "5m"]


@pytest.mark.parametrize(
    ("ports", "endpoints", "cells"),
    [
        pytest.param(
            [{"name": "http", "port": 8080, "protocol": "TCP"}],
            [{"addresses": ["10.244.0.5"]}, {"addresses": ["10.244.0.6"]}],
            ["8080", "10.244.0.5,10.244.0.6"],
            id="simple",
        ),
        pytest.param([], [], ["<unset>", "<unset>"], id="empty"),
        pytest.param(
            [{"name": "a"}, {}, {"port": 1}, {"port": 2}],
            [{"addresses": ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"]}],
            ["a,*,1 + 1 more...", "1.1.1.1,1.1.1.2,1.1.1.3 + 2 more..."],
            id="more",
        ),
    ],
)
def test_endpointslice(ports: list[Any], endpoints: list[Any], cells: list[str]) -> None:
    obj = {
        "metadata": meta("web-abc12"),
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": endpoints,
    }
    assert printer_for("endpointslices", "discovery.k8s.io").row(obj, NOW) == [
        "web-abc12",
        "IPv4",
        *cells,
        "5m",
    ]


TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [
            {"name": "nginx", "image": "nginx:1.27"},
            {"name": "sidecar", "image": "busybox"},
        ],
        "nodeSelector": {"disk": "ssd"},
    },
}


@pytest.mark.parametrize(
    ("plural", "group", "obj", "cells"),
    [
        pytest.param(
            "replicationcontrollers",
            "",
            {
                "metadata": meta(),
                "spec": {"replicas": 3, "selector": {"app": "web"}, "template": TEMPLATE},
                "status": {"replicas": 3, "readyReplicas": 2},
            },
            ["web", 3, 3, 2, "5m", "nginx,sidecar", "nginx:1.27,busybox", "app=web"],
            id="replication-controller",
        ),
        pytest.param(
            "replicationcontrollers",
            "",
            {"metadata": meta(), "spec": {}},
            ["web", 1, 0, 0, "5m", "", "", "<none>"],
            id="replication-controller-bare",
        ),
        pytest.param(
            "replicasets",
            "apps",
            {
                "metadata": meta("web-7d4b9"),
                "spec": {
                    "replicas": 2,
                    "selector": {
                        "matchLabels": {"app": "web"},
                        "matchExpressions": [{"key": "tier", "operator": "Exists"}],
                    },
                    "template": TEMPLATE,
                },
                "status": {"replicas": 2, "readyReplicas": 2},
            },
            ["web-7d4b9", 2, 2, 2, "5m", "nginx,sidecar", "nginx:1.27,busybox", "app=web,tier"],
            id="replica-set",
        ),
        pytest.param(
            "deployments",
            "apps",
            {
                "metadata": meta(),
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": TEMPLATE,
                },
                "status": {"readyReplicas": 1, "updatedReplicas": 3, "availableReplicas": 1},
            },
            ["web", "1/3", 3, 1, "5m", "nginx,sidecar", "nginx:1.27,busybox", "app=web"],
            id="deployment",
        ),
        pytest.param(
            "deployments",
            "apps",
            {"metadata": meta(), "spec": {"template": TEMPLATE}},
            ["web", "0/1", 0, 0, "5m", "nginx,sidecar", "nginx:1.27,busybox", ""],
            id="deployment-new-without-selector",
        ),
        pytest.param(
            "deployments",
            "apps",
            {
                "metadata": meta(),
                "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Bad"}]}},
            },
            ["web", "0/1", 0, 0, "5m", "", "", "<invalid>"],
            id="deployment-invalid-selector",
        ),
        pytest.param(
            "daemonsets",
            "apps",
            {
                "metadata": meta("agent"),
                "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": TEMPLATE},
                "status": {
                    "desiredNumberScheduled": 3,
                    "currentNumberScheduled": 3,
                    "numberReady": 2,
                    "updatedNumberScheduled": 3,
                    "numberAvailable": 2,
                },
            },
            [
                "agent",
                3,
                3,
                2,
                3,
                2,
                "disk=ssd",
                "5m",
                "nginx,sidecar",
                "nginx:1.27,busybox",
                "app=agent",
            ],
            id="daemon-set",
        ),
    ],
)
def test_workloads(plural: str, group: str, obj: dict[str, Any], cells: list[Any]) -> None:
    assert printer_for(plural, group).row(obj, NOW) == cells


def node(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "node-1",
            "creationTimestamp": "2024-05-30T12:00:00Z",
            "labels": {
                "node-role.kubernetes.io/control-plane": "",
                "kubernetes.io/role": "worker",
                "node-role.kubernetes.io/": "",
            },
        },
        "status": status,
    }


@pytest.mark.parametrize(
    ("plural", "group", "obj", "cells"),
    [
        pytest.param(
            "namespaces",
            "",
            {"metadata": meta("kube-system"), "status": {"phase": "Active"}},
            ["kube-system", "Active", "5m"],
            id="namespace",
        ),
        pytest.param(
            "nodes",
            "",
            node(
                conditions=[
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True"},
                ],
                addresses=[
                    {"type": "Hostname", "address": "node-1"},
                    {"type": "InternalIP", "address": "192.168.1.10"},
                ],
                nodeInfo={
                    "kubeletVersion": "v1.32.0",
                    "osImage": "Debian GNU/Linux 12",
                    "kernelVersion": "6.1.0",
                    "containerRuntimeVersion": "kubesvc://0.1.0",
                },
            ),
            [
                "node-1",
                "Ready",
                "control-plane,worker",
                "2d",
                "v1.32.0",
                "192.168.1.10",
                "<none>",
                "Debian GNU/Linux 12",
                "6.1.0",
                "kubesvc://0.1.0",
            ],
            id="node-ready",
        ),
        pytest.param(
            "nodes",
            "",
            {
                **node(conditions=[{"type": "Ready", "status": "Unknown"}]),
                "spec": {"unschedulable": True},
            },
            [
                "node-1",
                "NotReady,SchedulingDisabled",
                "control-plane,worker",
                "2d",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>",
            ],
            id="node-not-ready-cordoned",
        ),
        pytest.param(
            "nodes",
            "",
            {"metadata": {"name": "n"}, "status": {}},
            [
                "n",
                "Unknown",
                "<none>",
                "<unknown>",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>",
            ],
            id="node-without-conditions",
        ),
        pytest.param(
            "configmaps",
            "",
            {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
            ["cfg", 3, "5m"],
            id="configmap",
        ),
        pytest.param(
            "secrets",
            "",
            {
                "metadata": meta("tls"),
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": "", "tls.key": ""},
            },
            ["tls", "kubernetes.io/tls", 2, "5m"],
            id="secret",
        ),
        pytest.param(
            "secrets",
            "",
            {"metadata": meta("s")},
            ["s", "Opaque", 0, "5m"],
            id="secret-default-type",
        ),
        pytest.param(
            "serviceaccounts",
            "",
            {"metadata": meta("default"), "secrets": [{"name": "default-token"}]},
            ["default", 1, "5m"],
            id="service-account",
        ),
        pytest.param(
            "leases",
            "coordination.k8s.io",
            {"metadata": meta("node-1"), "spec": {"holderIdentity": "node-1"}},
            ["node-1", "node-1", "5m"],
            id="lease",
        ),
        pytest.param(
            "leases",
            "coordination.k8s.io",
            {"metadata": meta("free"), "spec": {}},
            ["free", "", "5m"],
            id="lease-without-holder",
        ),
    ],
)
def test_core_kinds(plural: str, group: str, obj: dict[str, Any], cells: list[Any]) -> None:
    assert printer_for(plural, group).row(obj, NOW) == cells


def event(**fields: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-0.17d", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{nginx}"},
        "type": "Warning",
        "reason": "BackOff",
        "message": "  Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        **fields,
    }


@pytest.mark.parametrize(
    ("obj", "cells"),
    [
        pytest.param(
            event(
                firstTimestamp="2024-06-01T11:00:00Z",
                lastTimestamp="2024-06-01T11:58:00Z",
                count=12,
            ),
            [
                "2m",
                "Warning",
                "BackOff",
                "pod/web-0",
                "spec.containers{nginx}",
                "kubelet, node-1",
                "Back-off restarting failed container",
                "60m",
                12,
                "web-0.17d",
            ],
            id="classic-event",
        ),
        pytest.param(
            event(
                eventTime="2024-06-01T11:59:30.000000Z",
                source={},
                reportingComponent="kubesvc-scheduler",
                reportingInstance="",
            ),
            [
                "30s",
                "Warning",
                "BackOff",
                "pod/web-0",
                "spec.containers{nginx}",
                "kubesvc-scheduler",
                "Back-off restarting failed container",
                "30s",
                1,
                "web-0.17d",
            ],
            id="new-api-singleton",
        ),
        pytest.param(
            event(
                eventTime="2024-06-01T11:00:00.000000Z",
                series={"count": 5, "lastObservedTime": "2024-06-01T11:59:00.000000Z"},
            ),
            [
                "60s",
                "Warning",
                "BackOff",
                "pod/web-0",
                "spec.containers{nginx}",
                "kubelet, node-1",
                "Back-off restarting failed container",
                "60m",
                5,
                "web-0.17d",
            ],
            id="series",
        ),
        pytest.param(
            {"metadata": {"name": "e"}, "involvedObject": {"kind": "Node"}},
            ["<unknown>", "", "", "node", "", "", "", "<unknown>", 1, "e"],
            id="bare",
        ),
    ],
)
def test_event(obj: dict[str, Any], cells: list[Any]) -> None:
    assert printer_for("events").row(obj, NOW) == cells


def ingress(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": meta("site"), "spec": spec, "status": status or {"loadBalancer": {}}}


@pytest.mark.parametrize(
    ("obj", "cells"),
    [
        pytest.param(
            ingress(
                {
                    "ingressClassName": "kubesvc",
                    "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}],
                    "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}],
                },
                {"loadBalancer": {"ingress": [{"ip": "127.0.0.50"}]}},
            ),
            ["site", "kubesvc", "a.example.com,b.example.com", "127.0.0.50", "80, 443", "5m"],
            id="tls-and-address",
        ),
        pytest.param(
            ingress({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}),
            ["site", "<none>", "*", "", "80", "5m"],
            id="default-backend-only",
        ),
        pytest.param(
            ingress({"rules": [{"host": h} for h in ["a", "b", "c", "d", "e"]]}),
            ["site", "<none>", "a,b,c + 2 more...", "", "80", "5m"],
            id="many-hosts",
        ),
        pytest.param(
            ingress({"rules": [{}, {"host": "x"}]}),
            ["site", "<none>", "x", "", "80", "5m"],
            id="rule-without-host",
        ),
    ],
)
def test_ingress(obj: dict[str, Any], cells: list[Any]) -> None:
    assert printer_for("ingresses", "networking.k8s.io").row(obj, NOW) == cells


@pytest.mark.parametrize(
    ("spec", "cells"),
    [
        pytest.param(
            {"controller": "kubesvc.io/ingress"},
            ["nginx", "kubesvc.io/ingress", "<none>", "5m"],
            id="no-parameters",
        ),
        pytest.param(
            {
                "controller": "example.com/lb",
                "parameters": {
                    "apiGroup": "k8s.example.com",
                    "kind": "IngressParameters",
                    "name": "p",
                },
            },
            ["nginx", "example.com/lb", "IngressParameters.k8s.example.com/p", "5m"],
            id="parameters",
        ),
        pytest.param(
            {"controller": "c", "parameters": {"kind": "ConfigMap", "name": "cfg"}},
            ["nginx", "c", "ConfigMap/cfg", "5m"],
            id="core-parameters",
        ),
    ],
)
def test_ingressclass(spec: dict[str, Any], cells: list[Any]) -> None:
    obj = {"metadata": meta("nginx"), "spec": spec}
    assert printer_for("ingressclasses", "networking.k8s.io").row(obj, NOW) == cells
