"""Printers of the small core and coordination kinds.

Namespace, Node, ConfigMap, Secret, ServiceAccount and Lease: columns and cells
as kube-apiserver 1.32 prints them (``pkg/printers/internalversion``).
"""

from __future__ import annotations

from datetime import datetime

from kubesvc.apiserver.printers.table import (
    AGE_COLUMN,
    NAME_COLUMN,
    Cell,
    Column,
    Obj,
    Printer,
    as_list,
    as_map,
    dig,
    name_of,
    text,
)
from kubesvc.apiserver.printers.timefmt import since


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


# -- Namespace ---------------------------------------------------------------


def _namespace_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [name_of(obj), text(dig(obj, "status", "phase")), _age(obj, now)]


NAMESPACE = Printer(
    columns=(
        NAME_COLUMN,
        Column("Status", description="Lifecycle phase of the namespace (Active or Terminating)."),
        AGE_COLUMN,
    ),
    cells=_namespace_cells,
)


# -- Node --------------------------------------------------------------------

_ROLE_PREFIX = "node-role.kubernetes.io/"
_ROLE_LABEL = "kubernetes.io/role"


def node_roles(labels: dict[str, str] | None) -> list[str]:
    """Roles from ``node-role.kubernetes.io/<role>`` keys and the ``kubernetes.io/role`` value."""
    roles: set[str] = set()
    for key, value in (labels or {}).items():
        if key.startswith(_ROLE_PREFIX):
            role = key[len(_ROLE_PREFIX) :]
            if role:
                roles.add(role)
        elif key == _ROLE_LABEL and value:
            roles.add(value)
    return sorted(roles)


def _node_status(obj: Obj) -> str:
    status: list[str] = []
    ready = None
    for cond in as_list(dig(obj, "status", "conditions")):
        if text(as_map(cond).get("type")) == "Ready":
            ready = as_map(cond)
    if ready is not None:
        status.append("Ready" if ready.get("status") == "True" else "NotReady")
    else:
        status.append("Unknown")
    if dig(obj, "spec", "unschedulable") is True:
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_address(obj: Obj, kind: str) -> str:
    for addr in as_list(dig(obj, "status", "addresses")):
        if text(as_map(addr).get("type")) == kind:
            return text(as_map(addr).get("address"))
    return "<none>"


def _node_cells(obj: Obj, now: datetime) -> list[Cell]:
    info = as_map(dig(obj, "status", "nodeInfo"))
    labels = {str(k): str(v) for k, v in as_map(dig(obj, "metadata", "labels")).items()}
    roles = ",".join(node_roles(labels)) or "<none>"
    return [
        name_of(obj),
        _node_status(obj),
        roles,
        _age(obj, now),
        text(info.get("kubeletVersion")),
        _node_address(obj, "InternalIP"),
        _node_address(obj, "ExternalIP"),
        text(info.get("osImage")) or "<unknown>",
        text(info.get("kernelVersion")) or "<unknown>",
        text(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


NODE = Printer(
    columns=(
        NAME_COLUMN,
        Column("Status", description="Readiness of the node, and whether it takes new pods."),
        Column("Roles", description="Roles taken from the node's node-role labels."),
        AGE_COLUMN,
        Column("Version", description="Version of the node agent."),
        Column("Internal-IP", priority=1, description="First internal address of the node."),
        Column("External-IP", priority=1, description="First external address of the node."),
        Column("OS-Image", priority=1, description="Operating system the node reports."),
        Column("Kernel-Version", priority=1, description="Kernel version the node reports."),
        Column("Container-Runtime", priority=1, description="Runtime that runs the containers."),
    ),
    cells=_node_cells,
)


# -- ConfigMap, Secret, ServiceAccount -----------------------------------------


def _configmap_cells(obj: Obj, now: datetime) -> list[Cell]:
    count = len(as_map(obj.get("data"))) + len(as_map(obj.get("binaryData")))
    return [name_of(obj), count, _age(obj, now)]


CONFIGMAP = Printer(
    columns=(
        NAME_COLUMN,
        Column("Data", description="Number of keys, text and binary."),
        AGE_COLUMN,
    ),
    cells=_configmap_cells,
)


def _secret_cells(obj: Obj, now: datetime) -> list[Cell]:
    secret_type = text(obj.get("type")) or "Opaque"
    return [name_of(obj), secret_type, len(as_map(obj.get("data"))), _age(obj, now)]


SECRET = Printer(
    columns=(
        NAME_COLUMN,
        Column("Type", description="Kind of secret, which says what keys it holds."),
        Column("Data", description="Number of keys."),
        AGE_COLUMN,
    ),
    cells=_secret_cells,
)


def _serviceaccount_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [name_of(obj), len(as_list(obj.get("secrets"))), _age(obj, now)]


SERVICEACCOUNT = Printer(
    columns=(
        NAME_COLUMN,
        Column("Secrets", description="Number of secrets listed for the account."),
        AGE_COLUMN,
    ),
    cells=_serviceaccount_cells,
)


# -- Lease -------------------------------------------------------------------


def _lease_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [name_of(obj), text(dig(obj, "spec", "holderIdentity")), _age(obj, now)]


LEASE = Printer(
    columns=(
        NAME_COLUMN,
        Column("Holder", description="Identity of the current holder of the lease."),
        AGE_COLUMN,
    ),
    cells=_lease_cells,
)
