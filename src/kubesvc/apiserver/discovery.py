"""Discovery documents, built from the resource table (pure).

kubectl 1.32 asks ``/api`` and ``/apis`` for the aggregated form
(``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``, chosen by the response
Content-Type) and falls back to the legacy forms (``APIVersions``,
``APIGroupList``, per group-version ``APIResourceList``), which the Python dynamic
client uses. Both are served from the same table so they never disagree.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from kubesvc import __version__
from kubesvc.api import resources as res

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
KUBERNETES_VERSION = "v1.32.5"

Obj = dict[str, Any]


def version_info() -> Obj:
    """``/version``: kubectl's dispatcher picks its client by ``minor``."""
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": f"{KUBERNETES_VERSION}+kubesvc-{__version__}",
        "gitCommit": "kubesvc",
        "gitTreeState": "clean",
        "buildDate": "2026-11-25T00:00:00Z",
        "goVersion": "python",
        "compiler": "cpython",
        "platform": "linux/amd64",
    }


def _aggregated_resource(r: res.Resource) -> Obj:
    out: Obj = {
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": sorted(r.verbs),
    }
    if r.short_names:
        out["shortNames"] = list(r.short_names)
    if r.categories:
        out["categories"] = list(r.categories)
    if r.subresources:
        out["subresources"] = [
            {
                "subresource": s.name,
                "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                "verbs": sorted(s.verbs),
            }
            for s in r.subresources
        ]
    return out


def _aggregated_group(group: str) -> Obj:
    versions = sorted({v for g, v in res.group_versions() if g == group})
    return {
        "metadata": {"name": group, "creationTimestamp": None},
        "versions": [
            {
                "version": v,
                "resources": [_aggregated_resource(r) for r in res.in_group_version(group, v)],
                "freshness": "Current",
            }
            for v in versions
        ],
    }


@cache
def aggregated_core() -> Obj:
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [_aggregated_group("")],
    }


@cache
def aggregated_groups() -> Obj:
    groups = sorted({g for g, _ in res.group_versions() if g}, key=_group_order)
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [_aggregated_group(g) for g in groups],
    }


def _group_order(group: str) -> tuple[int, str]:
    order = ["apps", "discovery.k8s.io", "networking.k8s.io", "coordination.k8s.io"]
    return (order.index(group) if group in order else len(order), group)


def legacy_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_entry(group: str) -> Obj:
    versions = sorted({v for g, v in res.group_versions() if g == group})
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


@cache
def legacy_groups() -> Obj:
    groups = sorted({g for g, _ in res.group_versions() if g}, key=_group_order)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_entry(g) for g in groups]}


def legacy_group(group: str) -> Obj | None:
    if not any(g == group for g, _ in res.group_versions()) or not group:
        return None
    entry = _group_entry(group)
    return {"kind": "APIGroup", "apiVersion": "v1", **entry}


def resource_list(group: str, version: str) -> Obj | None:
    served = res.in_group_version(group, version)
    if not served:
        return None
    out: list[Obj] = []
    for r in served:
        item: Obj = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": sorted(r.verbs),
        }
        if r.short_names:
            item["shortNames"] = list(r.short_names)
        if r.categories:
            item["categories"] = list(r.categories)
        out.append(item)
        for s in r.subresources:
            sub: Obj = {
                "name": f"{r.plural}/{s.name}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": sorted(s.verbs),
            }
            if s.group != r.group or s.version != r.version:
                sub["group"] = s.group
                sub["version"] = s.version
            out.append(sub)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}
