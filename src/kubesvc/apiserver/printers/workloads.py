"""Printers of the workload controllers: ReplicationController, ReplicaSet, Deployment, DaemonSet.

Counts come straight from ``spec`` and ``status`` as integers (``spec.replicas``
defaults to 1, as the API would have defaulted it). The wide columns list the
pod template's container names and images, and the selector: a label map for
ReplicationControllers, the structured selector text for the apps kinds
(``<none>`` when empty; for Deployments upstream prints an empty string there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesvc.api.selectors import (
    SelectorError,
    format_label_selector,
    format_labels,
    from_label_selector,
)
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
    number,
    text,
)
from kubesvc.apiserver.printers.timefmt import since


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def container_cells(template: Any) -> tuple[str, str]:
    """``layoutContainerCells``: container names and images, each comma-joined."""
    containers = [as_map(c) for c in as_list(dig(template, "spec", "containers"))]
    names = ",".join(text(c.get("name")) for c in containers)
    images = ",".join(text(c.get("image")) for c in containers)
    return names, images


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_map(value).items()}


CONTAINERS_COLUMN = Column(
    "Containers", priority=1, description="Container names of the pod template."
)
IMAGES_COLUMN = Column("Images", priority=1, description="Container images of the pod template.")


def _replicas(obj: Obj) -> int:
    return number(dig(obj, "spec", "replicas"), default=1)


# -- ReplicationController and ReplicaSet --------------------------------------


def _rc_cells(obj: Obj, now: datetime) -> list[Cell]:
    status = as_map(obj.get("status"))
    names, images = container_cells(dig(obj, "spec", "template"))
    return [
        name_of(obj),
        _replicas(obj),
        number(status.get("replicas")),
        number(status.get("readyReplicas")),
        _age(obj, now),
        names,
        images,
        format_labels(_str_map(dig(obj, "spec", "selector"))),
    ]


def _rs_cells(obj: Obj, now: datetime) -> list[Cell]:
    status = as_map(obj.get("status"))
    names, images = container_cells(dig(obj, "spec", "template"))
    return [
        name_of(obj),
        _replicas(obj),
        number(status.get("replicas")),
        number(status.get("readyReplicas")),
        _age(obj, now),
        names,
        images,
        format_label_selector(dig(obj, "spec", "selector")),
    ]


_REPLICA_COLUMNS = (
    NAME_COLUMN,
    Column("Desired", type="integer", description="Number of pods asked for."),
    Column("Current", type="integer", description="Number of pods that exist now."),
    Column("Ready", type="integer", description="Number of pods that are ready."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    Column("Selector", priority=1, description="Labels of the pods the controller owns."),
)

REPLICATIONCONTROLLER = Printer(columns=_REPLICA_COLUMNS, cells=_rc_cells)
REPLICASET = Printer(columns=_REPLICA_COLUMNS, cells=_rs_cells)


# -- Deployment ----------------------------------------------------------------


def _deployment_selector(selector: Any) -> str:
    try:
        return str(from_label_selector(selector if isinstance(selector, dict) else None))
    except SelectorError:
        return "<invalid>"


def _deployment_cells(obj: Obj, now: datetime) -> list[Cell]:
    status = as_map(obj.get("status"))
    names, images = container_cells(dig(obj, "spec", "template"))
    return [
        name_of(obj),
        f"{number(status.get('readyReplicas'))}/{_replicas(obj)}",
        number(status.get("updatedReplicas")),
        number(status.get("availableReplicas")),
        _age(obj, now),
        names,
        images,
        _deployment_selector(dig(obj, "spec", "selector")),
    ]


DEPLOYMENT = Printer(
    columns=(
        NAME_COLUMN,
        Column("Ready", description="Ready pods out of the pods asked for."),
        Column("Up-to-date", description="Pods that run the current pod template."),
        Column("Available", description="Pods that have been ready long enough to count."),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column("Selector", priority=1, description="Labels of the pods the deployment owns."),
    ),
    cells=_deployment_cells,
)


# -- DaemonSet -----------------------------------------------------------------


def _daemonset_cells(obj: Obj, now: datetime) -> list[Cell]:
    status = as_map(obj.get("status"))
    template = dig(obj, "spec", "template")
    names, images = container_cells(template)
    return [
        name_of(obj),
        number(status.get("desiredNumberScheduled")),
        number(status.get("currentNumberScheduled")),
        number(status.get("numberReady")),
        number(status.get("updatedNumberScheduled")),
        number(status.get("numberAvailable")),
        format_labels(_str_map(dig(template, "spec", "nodeSelector"))),
        _age(obj, now),
        names,
        images,
        format_label_selector(dig(obj, "spec", "selector")),
    ]


DAEMONSET = Printer(
    columns=(
        NAME_COLUMN,
        Column("Desired", type="integer", description="Nodes that should run the daemon pod."),
        Column("Current", type="integer", description="Nodes that run the daemon pod."),
        Column("Ready", type="integer", description="Nodes whose daemon pod is ready."),
        Column("Up-to-date", type="integer", description="Nodes running the current template."),
        Column("Available", type="integer", description="Nodes whose daemon pod is available."),
        Column("Node Selector", description="Labels a node needs to run the daemon pod."),
        AGE_COLUMN,
        CONTAINERS_COLUMN,
        IMAGES_COLUMN,
        Column("Selector", priority=1, description="Labels of the pods the daemon set owns."),
    ),
    cells=_daemonset_cells,
)
