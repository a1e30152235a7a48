"""What a request asks for, read from its method, path and query (pure).

Kubernetes' REST layout::

    /api/v1/<resource>                                   cluster-scoped or all-namespace list
    /api/v1/<resource>/<name>[/<subresource>]            cluster-scoped object
    /api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]]  namespaced
    /apis/<group>/<version>/...                          the same below a named group
    /api/v1/watch/...                                    legacy watch prefix

``namespaces`` is itself a resource, so ``/api/v1/namespaces/<name>`` and
``/api/v1/namespaces/<name>/status`` name a Namespace object and its subresource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    verb: str
    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""


def truthy(value: str | None) -> bool:
    """Query booleans as apimachinery reads them: anything but "", "0", "false"."""
    if value is None:
        return False
    return value.lower() not in ("", "0", "false")


def parse(method: str, path: str, query: Mapping[str, str]) -> RequestInfo | None:
    """The resource request named by the URL, or None for a non-resource path."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None

    legacy_watch = False
    if rest and rest[0] == "watch":
        legacy_watch = True
        rest = rest[1:]
        if not rest:
            return None

    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    # else /api/v1/namespaces/<name>[/status|/finalize]: the Namespace object itself.

    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = "/".join(rest[2:]) if len(rest) > 2 else ""

    m = method.upper()
    watch = legacy_watch or truthy(query.get("watch"))
    if m in ("GET", "HEAD"):
        verb = "watch" if watch else ("get" if name else "list")
    elif m == "POST":
        verb = "create"
    elif m == "PUT":
        verb = "update"
    elif m == "PATCH":
        verb = "patch"
    elif m == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = m.lower()
    return RequestInfo(verb, group, version, resource, namespace, name, subresource)
