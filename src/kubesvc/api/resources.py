"""The table of kinds the API serves: group, version, plural, scope, short names, verbs.

One row per resource. Discovery (aggregated and legacy), request routing, the
OpenAPI documents, storage keys and ``kubectl``'s short names all read this table,
so adding a kind is adding a row here (plus its schema and, if it behaves, a
strategy in the API server).

Storage keys follow the etcd layout of kube-apiserver
(``/registry/<resource>/<namespace>/<name>``), with its two historical
exceptions for Services and Endpoints, so that data in an etcd backend looks
like upstream's.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
SUBRESOURCE_VERBS: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True, slots=True)
class Subresource:
    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...] = SUBRESOURCE_VERBS


@dataclass(frozen=True, slots=True)
class Resource:
    """One servable resource (a GroupVersionResource with its kind and scope)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    etcd_prefix: str = ""

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """``services`` or ``deployments.apps``: how errors name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key_prefix(self) -> str:
        return "/registry/" + (self.etcd_prefix or self.plural) + "/"

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return f"{self.key_prefix}{namespace}/{name}"
        return f"{self.key_prefix}{name}"

    def list_prefix(self, namespace: str = "") -> str:
        if self.namespaced and namespace:
            return f"{self.key_prefix}{namespace}/"
        return self.key_prefix

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def url_path(self, namespace: str = "", name: str = "") -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


def _status(group: str, version: str, kind: str) -> Subresource:
    return Subresource("status", group, version, kind)


_SCALE = Subresource("scale", "autoscaling", "v1", "Scale")

RESOURCES: tuple[Resource, ...] = (
    # core/v1
    Resource(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        ("ns",),
        subresources=(
            _status("", "v1", "Namespace"),
            Subresource("finalize", "", "v1", "Namespace", ("update",)),
        ),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    Resource(
        "",
        "v1",
        "Node",
        "nodes",
        False,
        ("no",),
        subresources=(_status("", "v1", "Node"),),
        etcd_prefix="minions",
    ),
    Resource(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ("po",),
        ("all",),
        subresources=(
            _status("", "v1", "Pod"),
            Subresource("log", "", "v1", "Pod", ("get",)),
            Subresource("binding", "", "v1", "Binding", ("create",)),
        ),
    ),
    Resource(
        "",
        "v1",
        "Service",
        "services",
        True,
        ("svc",),
        ("all",),
        subresources=(_status("", "v1", "Service"),),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
        etcd_prefix="services/specs",
    ),
    Resource("", "v1", "Endpoints", "endpoints", True, ("ep",), etcd_prefix="services/endpoints"),
    Resource(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        True,
        ("rc",),
        ("all",),
        subresources=(_status("", "v1", "ReplicationController"), _SCALE),
        etcd_prefix="controllers",
    ),
    Resource("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    Resource("", "v1", "Secret", "secrets", True),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    Resource("", "v1", "Event", "events", True, ("ev",)),
    # apps/v1
    Resource(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        ("deploy",),
        ("all",),
        subresources=(_status("apps", "v1", "Deployment"), _SCALE),
    ),
    Resource(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        True,
        ("rs",),
        ("all",),
        subresources=(_status("apps", "v1", "ReplicaSet"), _SCALE),
    ),
    Resource(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        True,
        ("ds",),
        ("all",),
        subresources=(_status("apps", "v1", "DaemonSet"),),
    ),
    # discovery.k8s.io/v1
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    # networking.k8s.io/v1
    Resource(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        True,
        ("ing",),
        subresources=(_status("networking.k8s.io", "v1", "Ingress"),),
    ),
    Resource("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    # coordination.k8s.io/v1
    Resource("coordination.k8s.io", "v1", "Lease", "leases", True),
)

_BY_GVR: dict[tuple[str, str, str], Resource] = {
    (r.group, r.version, r.plural): r for r in RESOURCES
}
_BY_GVK: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.kind): r for r in RESOURCES}


def lookup(group: str, version: str, plural: str) -> Resource | None:
    """The resource served at ``/apis/<group>/<version>/<plural>``, if any."""
    return _BY_GVR.get((group, version, plural))


def for_kind(api_version: str, kind: str) -> Resource | None:
    """The resource of an object's ``apiVersion`` and ``kind``, if served."""
    group, _, version = api_version.rpartition("/")
    return _BY_GVK.get((group, version, kind))


def group_versions() -> list[tuple[str, str]]:
    """Every (group, version) served, core first, in a stable order."""
    seen: dict[tuple[str, str], None] = {}
    for r in RESOURCES:
        seen[(r.group, r.version)] = None
    return list(seen)


def in_group_version(group: str, version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version
