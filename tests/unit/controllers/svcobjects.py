"""Builders of Services, pods, Nodes and Endpoints for the endpoints controllers' unit tests,
and ``FakeSlices``: an in-memory stand-in for the API that applies slice plans the way the
server does (names from generateName, uids, generation bumps)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]

NS = "default"


def service(
    name: str = "web",
    *,
    selector: Mapping[str, str] | None = None,
    ports: list[Obj] | None = None,
    cluster_ip: str = "10.96.0.10",
    labels: Mapping[str, str] | None = None,
    namespace: str = NS,
    publish_not_ready: bool = False,
    families: list[str] | None = None,
    svc_type: str = "ClusterIP",
    deleting: bool = False,
    uid: str = "",
) -> Obj:
    spec: Obj = {
        "type": svc_type,
        "ports": ports
        if ports is not None
        else [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
    }
    if selector is not None:
        spec["selector"] = dict(selector)
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
        spec["clusterIPs"] = [cluster_ip]
    spec["ipFamilies"] = families if families is not None else ["IPv4"]
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    meta: Obj = {
        "name": name,
        "namespace": namespace,
        "uid": uid or f"uid-svc-{name}",
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "resourceVersion": "1",
    }
    if labels:
        meta["labels"] = dict(labels)
    if deleting:
        meta["deletionTimestamp"] = "2024-01-02T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def pod(
    name: str,
    ip: str | None = "10.244.0.1",
    *,
    ready: bool = True,
    labels: Mapping[str, str] | None = None,
    namespace: str = NS,
    phase: str = "Running",
    deleting: bool = False,
    node: str = "",
    hostname: str = "",
    subdomain: str = "",
    ports: list[Obj] | None = None,
    ips: list[str] | None = None,
    ready_since: str = "2024-01-01T00:00:10Z",
    rv: str = "1",
) -> Obj:
    meta: Obj = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "labels": dict(labels if labels is not None else {"app": "web"}),
        "resourceVersion": rv,
    }
    if deleting:
        meta["deletionTimestamp"] = "2024-01-02T00:00:00Z"
    container: Obj = {"name": "c", "image": "img"}
    if ports:
        container["ports"] = ports
    spec: Obj = {"containers": [container]}
    if node:
        spec["nodeName"] = node
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    status: Obj = {
        "phase": phase,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": ready_since,
            }
        ],
    }
    if ips is not None:
        status["podIPs"] = [{"ip": i} for i in ips]
        if ips:
            status["podIP"] = ips[0]
    elif ip is not None:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def node(name: str, zone: str = "") -> Obj:
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def node_lookup(*nodes: Obj) -> Any:
    by_name = {n["metadata"]["name"]: n for n in nodes}
    return by_name.get


def endpoints(name: str = "web", subsets: list[Obj] | None = None, **meta_extra: Any) -> Obj:
    meta: Obj = {"name": name, "namespace": NS, "uid": f"uid-ep-{name}", "resourceVersion": "1"}
    meta.update(meta_extra)
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": subsets or []}


class FakeSlices:
    """EndpointSlices as the API server would hold them after applying plans."""

    def __init__(self) -> None:
        self.items: dict[str, Obj] = {}
        self._ids = itertools.count(1)

    def apply(self, create: Iterable[Obj], update: Iterable[Obj], delete: Iterable[Obj]) -> None:
        for s in create:
            s = copy.deepcopy(s)
            n = next(self._ids)
            meta = s["metadata"]
            meta["name"] = f"{meta.pop('generateName')}{n:05d}"
            meta["uid"] = f"uid-slice-{n}"
            meta["generation"] = 1
            meta["resourceVersion"] = str(100 + n)
            self.items[meta["name"]] = s
        for s in update:
            s = copy.deepcopy(s)
            name = s["metadata"]["name"]
            old = self.items[name]
            s["metadata"]["uid"] = old["metadata"]["uid"]
            s["metadata"]["generation"] = old["metadata"]["generation"] + 1
            self.items[name] = s
        for s in delete:
            del self.items[s["metadata"]["name"]]

    def list(self) -> list[Obj]:
        return [copy.deepcopy(s) for s in self.items.values()]

    def endpoints(self) -> list[Obj]:
        return [ep for s in self.items.values() for ep in s.get("endpoints") or []]
