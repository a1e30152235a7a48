"""``kubectl get -w`` against kubesvc (issue 2, "Must show"): ADDED, MODIFIED and DELETED
arrive live, as JSON events and as table rows printed under the one header.

kubectl lists first and then watches from the list's resourceVersion, so a change
made once the initial rows are printed is never lost; every wait has a deadline.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.e2e.kubectl_helpers import (
    Kubectl,
    configmap,
    deployment,
    ingress,
    pod,
    requires_kubectl,
    service,
    squeeze,
)

pytestmark = [pytest.mark.e2e, requires_kubectl]


KINDS = [
    pytest.param("services", service, "service", id="services"),
    pytest.param("pods", pod, "pod", id="pods"),
    pytest.param("configmaps", configmap, "configmap", id="configmaps"),
    pytest.param("deployments", deployment, "deployment", id="deployments"),
    pytest.param("ingresses", ingress, "ingress", id="ingresses"),
]


@pytest.mark.parametrize(("resource", "make", "kind"), KINDS)
def test_watch_events_as_json(k: Kubectl, resource: str, make: Any, kind: str) -> None:
    k.write("first.yaml", make("first"))
    k.ok("create", "-f", "first.yaml")
    watch = k.watch(resource, json_events=True)
    try:
        initial = watch.event("ADDED", "first")
        assert initial["object"]["kind"] == make("x")["kind"]
        k.write("second.yaml", make("second"))
        k.ok("create", "-f", "second.yaml")
        added = watch.event("ADDED", "second")
        k.ok("label", kind, "second", "stage=two")
        modified = watch.event("MODIFIED", "second")
        assert modified["object"]["metadata"]["labels"]["stage"] == "two"
        assert int(modified["object"]["metadata"]["resourceVersion"]) > int(
            added["object"]["metadata"]["resourceVersion"]
        )
        k.ok("delete", kind, "second", "--wait=false")
        deleted = watch.event("DELETED", "second")
        assert deleted["object"]["metadata"]["uid"] == added["object"]["metadata"]["uid"]
    finally:
        err = watch.stop()
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in watch.seen]
    assert events == [
        ("ADDED", "first"),
        ("ADDED", "second"),
        ("MODIFIED", "second"),
        ("DELETED", "second"),
    ]
    assert err == ""


def test_watch_table_rows_under_one_header(k: Kubectl) -> None:
    k.write("a.yaml", configmap("a"))
    k.ok("create", "-f", "a.yaml")
    watch = k.watch("configmaps")
    try:
        assert squeeze(watch.next()) == "NAME DATA AGE"
        assert squeeze(watch.next()).split()[:2] == ["a", "1"]
        k.write("b.yaml", configmap("b", one="1", two="2"))
        k.ok("create", "-f", "b.yaml")
        assert squeeze(watch.next()).split()[:2] == ["b", "2"]
        k.ok("patch", "cm", "b", "--type=merge", "-p", '{"data":{"three":"3"}}')
        assert squeeze(watch.next()).split()[:2] == ["b", "3"]
        k.ok("delete", "cm", "b", "--wait=false")
        assert squeeze(watch.next()).split()[:2] == ["b", "3"]
    finally:
        err = watch.stop()
    headers = [line for line in watch.seen if line.startswith("NAME")]
    assert len(headers) == 1
    assert err == ""


def test_watch_table_with_event_column(k: Kubectl) -> None:
    k.write("svc.yaml", service("web"))
    k.ok("create", "-f", "svc.yaml")
    watch = k.watch("services", "--output-watch-events")
    try:
        assert squeeze(watch.next()) == "EVENT NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE"
        assert squeeze(watch.next()).split()[:3] == ["ADDED", "web", "ClusterIP"]
        k.write("api.yaml", service("api"))
        k.ok("create", "-f", "api.yaml")
        assert squeeze(watch.next()).split()[:3] == ["ADDED", "api", "ClusterIP"]
        k.ok("patch", "svc", "api", "-p", '{"spec":{"ports":[{"port":80,"targetPort":81}]}}')
        assert squeeze(watch.next()).split()[:2] == ["MODIFIED", "api"]
        k.ok("delete", "svc", "api", "--wait=false")
        row = squeeze(watch.next()).split()
        assert row[:2] == ["DELETED", "api"]
        assert row[4:6] == ["<none>", "80/TCP"]
    finally:
        watch.stop()
    assert len([line for line in watch.seen if line.startswith("EVENT")]) == 1


def test_watch_one_object_by_name(k: Kubectl) -> None:
    k.write("cms.yaml", [configmap("watched"), configmap("other")])
    k.ok("create", "-f", "cms.yaml")
    watch = k.watch("configmap", "watched", json_events=True)
    try:
        watch.event("ADDED", "watched")
        k.ok("label", "cm", "other", "x=1")
        k.ok("label", "cm", "watched", "x=1")
        watch.event("MODIFIED", "watched")
    finally:
        watch.stop()
    assert [e["object"]["metadata"]["name"] for e in watch.seen] == ["watched", "watched"]


def test_watch_with_label_selector_sees_objects_enter_and_leave(k: Kubectl) -> None:
    k.write("cm.yaml", configmap("c", app="other"))
    k.ok("create", "-f", "cm.yaml")
    k.write("anchor.yaml", configmap("anchor"))
    k.ok("create", "-f", "anchor.yaml")
    watch = k.watch("configmaps", "-l", "app=web", json_events=True)
    try:
        watch.event("ADDED", "anchor")
        k.ok("label", "cm", "c", "app=web", "--overwrite")
        watch.event("ADDED", "c")
        k.ok("label", "cm", "c", "app=gone", "--overwrite")
        watch.event("DELETED", "c")
    finally:
        watch.stop()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in watch.seen] == [
        ("ADDED", "anchor"),
        ("ADDED", "c"),
        ("DELETED", "c"),
    ]


def test_watch_all_namespaces(k: Kubectl) -> None:
    k.write("anchor.yaml", configmap("anchor"))
    k.ok("create", "-f", "anchor.yaml")
    watch = k.watch("configmaps", "-A", "-l", "app=web", json_events=True)
    try:
        watch.event("ADDED", "anchor")
        k.write("late.yaml", configmap("late"))
        k.ok("create", "-f", "late.yaml")
        event = watch.event("ADDED", "late")
        assert event["object"]["metadata"]["namespace"] == k.namespace
    finally:
        watch.stop()
