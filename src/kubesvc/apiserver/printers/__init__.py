"""Server-side printing: objects to ``meta.k8s.io/v1`` Tables for ``kubectl get``.

kubectl asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and
prints whatever columns the server defines, so the columns and cells here are
the ones kube-apiserver 1.32 defines (``pkg/printers/internalversion``), with
descriptions in our own words. Kinds without a printer get the default table
(Name, Created At).

* ``printer_for(plural, group)`` picks the printer of a resource;
* ``build_table(printer, objs, ...)`` builds the Table body (lists, single
  objects and watch events);
* ``human_duration`` is kubectl's AGE formatting.

Everything here is pure: a clock value comes in as ``now``.
"""

from __future__ import annotations

from dataclasses import replace

from kubesvc.api.resources import RESOURCES
from kubesvc.apiserver.printers import core, events, networking, pod, service, workloads
from kubesvc.apiserver.printers.table import (
    DEFAULT_PRINTER,
    INCLUDE_METADATA,
    INCLUDE_NONE,
    INCLUDE_OBJECT,
    Cell,
    Column,
    Printer,
    build_table,
)
from kubesvc.apiserver.printers.timefmt import human_duration, since

_BY_RESOURCE: dict[tuple[str, str], Printer] = {
    ("", "namespaces"): core.NAMESPACE,
    ("", "nodes"): core.NODE,
    ("", "pods"): pod.POD,
    ("", "services"): service.SERVICE,
    ("", "endpoints"): service.ENDPOINTS,
    ("", "replicationcontrollers"): workloads.REPLICATIONCONTROLLER,
    ("", "configmaps"): core.CONFIGMAP,
    ("", "secrets"): core.SECRET,
    ("", "serviceaccounts"): core.SERVICEACCOUNT,
    ("", "events"): events.EVENT,
    ("apps", "replicasets"): workloads.REPLICASET,
    ("apps", "deployments"): workloads.DEPLOYMENT,
    ("apps", "daemonsets"): workloads.DAEMONSET,
    ("discovery.k8s.io", "endpointslices"): service.ENDPOINTSLICE,
    ("networking.k8s.io", "ingresses"): networking.INGRESS,
    ("networking.k8s.io", "ingressclasses"): networking.INGRESSCLASS,
    ("coordination.k8s.io", "leases"): core.LEASE,
}


def _with_types() -> dict[tuple[str, str], Printer]:
    out: dict[tuple[str, str], Printer] = {}
    for res in RESOURCES:
        key = (res.group, res.plural)
        if key in out:
            continue
        base = _BY_RESOURCE.get(key, DEFAULT_PRINTER)
        out[key] = replace(base, kind=res.kind, api_version=res.api_version)
    return out


_PRINTERS = _with_types()


def printer_for(resource_plural: str, group: str = "") -> Printer:
    """The printer of a resource (``services``, ``deployments`` + ``apps``), or the default one."""
    key = (group, resource_plural)
    return _PRINTERS.get(key) or _BY_RESOURCE.get(key) or DEFAULT_PRINTER


__all__ = [
    "DEFAULT_PRINTER",
    "INCLUDE_METADATA",
    "INCLUDE_NONE",
    "INCLUDE_OBJECT",
    "Cell",
    "Column",
    "Printer",
    "build_table",
    "human_duration",
    "printer_for",
    "since",
]
