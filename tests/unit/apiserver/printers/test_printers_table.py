"""The Table body, the registry, and the column definitions of each kind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesvc.api.errors import BadRequest
from kubesvc.apiserver.printers import DEFAULT_PRINTER, build_table, printer_for

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)

SVC: dict[str, Any] = {
    "kind": "Service",
    "apiVersion": "v1",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web"},
        "resourceVersion": "7",
        "creationTimestamp": "2024-06-01T11:59:00Z",
    },
    "spec": {
        "type": "ClusterIP",
        "clusterIPs": ["10.96.0.10"],
        "ports": [{"port": 80, "protocol": "TCP"}],
        "selector": {"app": "web"},
    },
}


def test_table_with_partial_object_metadata() -> None:
    table = build_table(printer_for("services"), [SVC], resource_version="101", now=NOW)
    assert list(table) == ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "101"}
    assert table["columnDefinitions"][0] == {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": table["columnDefinitions"][0]["description"],
        "priority": 0,
    }
    assert table["rows"] == [
        {
            "cells": ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "60s", "app=web"],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": SVC["metadata"],
            },
        }
    ]


@pytest.mark.parametrize(
    ("include", "obj", "row_object"),
    [
        pytest.param("", SVC, "partial", id="default-is-metadata"),
        pytest.param("Object", SVC, SVC, id="object"),
        pytest.param(
            "Object",
            {k: v for k, v in SVC.items() if k not in ("kind", "apiVersion")},
            SVC,
            id="object-gets-kind-and-api-version",
        ),
        pytest.param("None", SVC, None, id="none"),
    ],
)
def test_include_object(include: str, obj: dict[str, Any], row_object: Any) -> None:
    row = build_table(printer_for("services"), [obj], include_object=include, now=NOW)["rows"][0]
    if row_object == "partial":
        assert row["object"]["kind"] == "PartialObjectMetadata"
    else:
        assert row["object"] == row_object


def test_unknown_include_object_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as info:
        build_table(printer_for("services"), [SVC], include_object="All", now=NOW)
    assert info.value.message == 'unrecognized includeObject value: "All"'


def test_watch_events_after_the_first_have_no_headers() -> None:
    table = build_table(
        printer_for("services"), [SVC], resource_version="7", now=NOW, with_headers=False
    )
    assert table["columnDefinitions"] == []
    assert len(table["rows"][0]["cells"]) == 7


def test_paging_metadata_and_empty_list() -> None:
    table = build_table(
        printer_for("pods"),
        [],
        resource_version="9",
        continue_token="abc",
        remaining_item_count=4,
        now=NOW,
    )
    assert table["metadata"] == {"resourceVersion": "9", "continue": "abc", "remainingItemCount": 4}
    assert table["rows"] == []


def test_default_table_for_kinds_without_printer() -> None:
    printer = printer_for("widgets", "example.com")
    assert printer is DEFAULT_PRINTER
    table = build_table(
        printer,
        [{"metadata": {"name": "w", "creationTimestamp": "2024-06-01T13:00:00+02:00"}}],
        now=NOW,
    )
    assert [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", "name"),
        ("Created At", "date", ""),
    ]
    assert table["rows"][0]["cells"] == ["w", "2024-06-01T11:00:00Z"]


def _columns(plural: str, group: str = "") -> list[tuple[str, int]]:
    return [(c.name, c.priority) for c in printer_for(plural, group).columns]


@pytest.mark.parametrize(
    ("plural", "group", "columns"),
    [
        pytest.param("namespaces", "", [("Name", 0), ("Status", 0), ("Age", 0)], id="namespace"),
        pytest.param(
            "nodes",
            "",
            [
                ("Name", 0),
                ("Status", 0),
                ("Roles", 0),
                ("Age", 0),
                ("Version", 0),
                ("Internal-IP", 1),
                ("External-IP", 1),
                ("OS-Image", 1),
                ("Kernel-Version", 1),
                ("Container-Runtime", 1),
            ],
            id="node",
        ),
        pytest.param(
            "pods",
            "",
            [
                ("Name", 0),
                ("Ready", 0),
                ("Status", 0),
                ("Restarts", 0),
                ("Age", 0),
                ("IP", 1),
                ("Node", 1),
                ("Nominated Node", 1),
                ("Readiness Gates", 1),
            ],
            id="pod",
        ),
        pytest.param(
            "services",
            "",
            [
                ("Name", 0),
                ("Type", 0),
                ("Cluster-IP", 0),
                ("External-IP", 0),
                ("Port(s)", 0),
                ("Age", 0),
                ("Selector", 1),
            ],
            id="service",
        ),
        pytest.param("endpoints", "", [("Name", 0), ("Endpoints", 0), ("Age", 0)], id="endpoints"),
        pytest.param(
            "replicationcontrollers",
            "",
            [
                ("Name", 0),
                ("Desired", 0),
                ("Current", 0),
                ("Ready", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="replicationcontroller",
        ),
        pytest.param(
            "deployments",
            "apps",
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="deployment",
        ),
        pytest.param(
            "daemonsets",
            "apps",
            [
                ("Name", 0),
                ("Desired", 0),
                ("Current", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Node Selector", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1),
            ],
            id="daemonset",
        ),
        pytest.param("configmaps", "", [("Name", 0), ("Data", 0), ("Age", 0)], id="configmap"),
        pytest.param(
            "secrets", "", [("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)], id="secret"
        ),
        pytest.param(
            "serviceaccounts", "", [("Name", 0), ("Secrets", 0), ("Age", 0)], id="serviceaccount"
        ),
        pytest.param(
            "events",
            "",
            [
                ("Last Seen", 0),
                ("Type", 0),
                ("Reason", 0),
                ("Object", 0),
                ("Subobject", 1),
                ("Source", 1),
                ("Message", 0),
                ("First Seen", 1),
                ("Count", 1),
                ("Name", 1),
            ],
            id="event",
        ),
        pytest.param(
            "endpointslices",
            "discovery.k8s.io",
            [("Name", 0), ("AddressType", 0), ("Ports", 0), ("Endpoints", 0), ("Age", 0)],
            id="endpointslice",
        ),
        pytest.param(
            "ingresses",
            "networking.k8s.io",
            [("Name", 0), ("Class", 0), ("Hosts", 0), ("Address", 0), ("Ports", 0), ("Age", 0)],
            id="ingress",
        ),
        pytest.param(
            "ingressclasses",
            "networking.k8s.io",
            [("Name", 0), ("Controller", 0), ("Parameters", 0), ("Age", 0)],
            id="ingressclass",
        ),
        pytest.param(
            "leases", "coordination.k8s.io", [("Name", 0), ("Holder", 0), ("Age", 0)], id="lease"
        ),
    ],
)
def test_columns_match_upstream(plural: str, group: str, columns: list[tuple[str, int]]) -> None:
    assert _columns(plural, group) == columns


def test_replicaset_columns_are_the_replication_controllers() -> None:
    assert _columns("replicasets", "apps") == _columns("replicationcontrollers")


def test_every_column_is_described() -> None:
    for plural, group in [("pods", ""), ("services", ""), ("events", ""), ("daemonsets", "apps")]:
        assert all(c.description for c in printer_for(plural, group).columns)


def test_registry_knows_kind_and_api_version() -> None:
    printer = printer_for("deployments", "apps")
    assert (printer.kind, printer.api_version) == ("Deployment", "apps/v1")
