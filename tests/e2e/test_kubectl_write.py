"""kubectl writes against kubesvc (issue 2, "Must show"): apply (client-side twice, and
server-side with its conflict), delete -f, scale, label, annotate, patch in its three
types, replace, deletion held by a finalizer, namespace deletion and ``wait``.

Every test works in a namespace of its own; outputs are compared with what kubectl
prints against a real 1.32 cluster.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ApiProcess
from tests.e2e.kubectl_helpers import (
    Kubectl,
    Waiter,
    configmap,
    deployment,
    ingress,
    namespace_name,
    pod,
    requires_kubectl,
    service,
    the_five,
    without_klog,
)

pytestmark = [pytest.mark.e2e, requires_kubectl]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Obj = dict[str, Any]


def _set_target_port(o: Obj) -> None:
    o["spec"]["ports"][0]["targetPort"] = 9090


def _set_image(o: Obj) -> None:
    o["spec"]["containers"][0]["image"] = "nginx:1.26"


def _set_greeting(o: Obj) -> None:
    o["data"]["greeting"] = "goodbye"


def _scale_and_upgrade(o: Obj) -> None:
    o["spec"]["replicas"] = 3
    o["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"


def _set_backend_port(o: Obj) -> None:
    backend = o["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    backend["service"]["port"]["number"] = 8080


def _target_port(o: Obj) -> Any:
    return o["spec"]["ports"][0]["targetPort"]


def _image(o: Obj) -> Any:
    return o["spec"]["containers"][0]["image"]


def _deploy_state(o: Obj) -> Any:
    image = o["spec"]["template"]["spec"]["containers"][0]["image"]
    return (o["spec"]["replicas"], image, o["metadata"]["generation"])


def _backend_port(o: Obj) -> Any:
    return o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"]


APPLY_CASES = [
    pytest.param(service(), "service/web", _set_target_port, _target_port, 8080, 9090, id="svc"),
    pytest.param(pod(), "pod/web-0", _set_image, _image, "nginx:1.25", "nginx:1.26", id="pod"),
    pytest.param(
        configmap(),
        "configmap/web-config",
        _set_greeting,
        lambda o: o["data"],
        {"greeting": "hello"},
        {"greeting": "goodbye"},
        id="configmap",
    ),
    pytest.param(
        deployment(),
        "deployment.apps/web",
        _scale_and_upgrade,
        _deploy_state,
        (2, "nginx:1.25", 1),
        (3, "nginx:1.26", 2),
        id="deployment",
    ),
    pytest.param(
        ingress(),
        "ingress.networking.k8s.io/web",
        _set_backend_port,
        _backend_port,
        80,
        8080,
        id="ingress",
    ),
]


def _last_applied_for(manifest: Obj, namespace: str) -> Obj:
    """What kubectl records: the manifest, with the namespace and an empty annotation map."""
    expected = copy.deepcopy(manifest)
    expected["metadata"]["annotations"] = {}
    expected["metadata"]["namespace"] = namespace
    return expected


@pytest.mark.parametrize(("manifest", "ref", "change", "observe", "before", "after"), APPLY_CASES)
def test_apply_twice_changes_the_field(
    k: Kubectl,
    manifest: Obj,
    ref: str,
    change: Callable[[Obj], None],
    observe: Callable[[Obj], Any],
    before: Any,
    after: Any,
) -> None:
    k.write("obj.yaml", manifest)
    assert k.ok("apply", "-f", "obj.yaml") == f"{ref} created\n"
    first = k.obj(ref)
    assert observe(first) == before
    recorded = json.loads(first["metadata"]["annotations"][LAST_APPLIED])
    assert recorded == _last_applied_for(manifest, k.namespace)

    changed = copy.deepcopy(manifest)
    change(changed)
    k.write("obj.yaml", changed)
    assert k.ok("apply", "-f", "obj.yaml") == f"{ref} configured\n"
    second = k.obj(ref)
    assert observe(second) == after
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    recorded = json.loads(second["metadata"]["annotations"][LAST_APPLIED])
    assert recorded == _last_applied_for(changed, k.namespace)
    assert second["metadata"]["labels"] == {"app": "web"}

    assert k.ok("apply", "-f", "obj.yaml") == f"{ref} unchanged\n"
    assert k.obj(ref)["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]


def test_apply_removes_what_the_last_apply_set(k: Kubectl) -> None:
    first = configmap(greeting="hello", extra="x")
    first["metadata"]["labels"]["tier"] = "frontend"
    k.write("cm.yaml", first)
    k.ok("apply", "-f", "cm.yaml")
    k.ok("label", "configmap", "web-config", "owner=ops")  # not from apply: kept
    k.write("cm.yaml", configmap(greeting="hello"))
    assert k.ok("apply", "-f", "cm.yaml") == "configmap/web-config configured\n"
    got = k.obj("configmap/web-config")
    assert got["data"] == {"greeting": "hello"}
    assert got["metadata"]["labels"] == {"app": "web", "owner": "ops"}


def test_apply_strategic_merge_keeps_list_items_by_key(k: Kubectl) -> None:
    svc = service()
    svc["spec"]["ports"] = [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "https", "port": 443, "targetPort": 8443},
    ]
    k.write("svc.yaml", svc)
    k.ok("apply", "-f", "svc.yaml")
    svc["spec"]["ports"][1]["targetPort"] = 9443
    k.write("svc.yaml", svc)
    k.ok("apply", "-f", "svc.yaml")
    ports = k.obj("svc/web")["spec"]["ports"]
    assert ports == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 9443},
    ]


def test_apply_server_side_creates_updates_and_reports_conflicts(k: Kubectl) -> None:
    cm = configmap(greeting="hello")
    k.write("cm.yaml", cm)
    assert k.ok("apply", "--server-side", "-f", "cm.yaml") == (
        "configmap/web-config serverside-applied\n"
    )
    created = k.obj("cm/web-config", "--show-managed-fields")
    assert [(m["manager"], m["operation"]) for m in created["metadata"]["managedFields"]] == [
        ("kubectl", "Apply")
    ]
    assert LAST_APPLIED not in (created["metadata"].get("annotations") or {})

    cm["data"]["greeting"] = "hi"
    k.write("cm.yaml", cm)
    assert k.ok("apply", "--server-side", "-f", "cm.yaml") == (
        "configmap/web-config serverside-applied\n"
    )
    assert k.obj("cm/web-config")["data"] == {"greeting": "hi"}

    cm["data"]["greeting"] = "hey"
    k.write("cm.yaml", cm)
    dry = k.ok("apply", "--server-side", "--dry-run=server", "-f", "cm.yaml")
    assert dry == "configmap/web-config serverside-applied (server dry run)\n"
    assert k.obj("cm/web-config")["data"] == {"greeting": "hi"}

    res = k.run("apply", "--server-side", "--field-manager=other", "-f", "cm.yaml")
    assert res.rc == 1
    assert res.err.splitlines()[0] == (
        'error: Apply failed with 1 conflict: conflict with "kubectl": .data.greeting'
    )
    assert "--force-conflicts" in res.err
    assert k.obj("cm/web-config")["data"] == {"greeting": "hi"}

    out = k.ok(
        "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "cm.yaml"
    )
    assert out == "configmap/web-config serverside-applied\n"
    after = k.obj("cm/web-config", "--show-managed-fields")
    assert after["data"] == {"greeting": "hey"}
    owners = {
        m["manager"]: m["fieldsV1"] for m in after["metadata"]["managedFields"] if m["manager"]
    }
    assert "f:greeting" in owners["other"]["f:data"]
    assert "f:greeting" not in owners["kubectl"].get("f:data", {})


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(service(), id="svc"),
        pytest.param(deployment(), id="deployment"),
        pytest.param(ingress(), id="ingress"),
    ],
)
def test_apply_server_side_on_other_kinds(k: Kubectl, manifest: Obj) -> None:
    k.write("obj.yaml", manifest)
    out = k.ok("apply", "--server-side", "-f", "obj.yaml")
    assert out.endswith(" serverside-applied\n")
    ref = out.split()[0]
    got = k.obj(ref)
    assert got["metadata"]["labels"] == {"app": "web"}
    assert got["spec"] == k.obj(ref)["spec"]


def test_delete_from_file(k: Kubectl) -> None:
    k.write("all.yaml", the_five())
    k.ok("create", "-f", "all.yaml")
    assert k.ok("delete", "-f", "all.yaml").splitlines() == [
        'service "web" deleted',
        'pod "web-0" deleted',
        'configmap "web-config" deleted',
        'deployment.apps "web" deleted',
        'ingress.networking.k8s.io "web" deleted',
    ]
    res = k.run("get", "-f", "all.yaml")
    assert res.out == ""
    assert res.err.splitlines() == [
        'Error from server (NotFound): services "web" not found',
        'Error from server (NotFound): pods "web-0" not found',
        'Error from server (NotFound): configmaps "web-config" not found',
        'Error from server (NotFound): deployments.apps "web" not found',
        'Error from server (NotFound): ingresses.networking.k8s.io "web" not found',
    ]
    assert k.fail("delete", "-f", "all.yaml").splitlines()[0] == (
        'Error from server (NotFound): error when deleting "all.yaml": services "web" not found'
    )


def test_delete_by_label(k: Kubectl) -> None:
    k.write("cms.yaml", [configmap("a"), configmap("b"), configmap("c", app="other")])
    k.ok("create", "-f", "cms.yaml")
    out = k.ok("delete", "configmaps", "-l", "app=web")
    assert out.splitlines() == ['configmap "a" deleted', 'configmap "b" deleted']
    assert k.names("cm", "-l", "app") == ["configmap/c"]


def test_scale_deployment(k: Kubectl) -> None:
    k.write("deploy.yaml", deployment(replicas=2))
    k.ok("create", "-f", "deploy.yaml")
    assert k.ok("scale", "deployment", "web", "--replicas=3") == "deployment.apps/web scaled\n"
    got = k.obj("deploy/web")
    assert got["spec"]["replicas"] == 3
    assert got["metadata"]["generation"] == 2
    assert k.ok("scale", "deploy/web", "--replicas=1", "--current-replicas=3") == (
        "deployment.apps/web scaled\n"
    )
    assert k.obj("deploy/web")["spec"]["replicas"] == 1
    assert k.fail("scale", "deploy/web", "--replicas=5", "--current-replicas=3") == (
        "error: Expected replicas to be 3, was 1\n"
    )
    assert k.obj("deploy/web")["spec"]["replicas"] == 1
    assert k.ok("scale", "-f", "deploy.yaml", "--replicas=0") == "deployment.apps/web scaled\n"
    assert k.obj("deploy/web")["spec"]["replicas"] == 0


def test_label_and_annotate(k: Kubectl) -> None:
    k.write("svc.yaml", service())
    k.ok("create", "-f", "svc.yaml")
    assert k.ok("label", "svc", "web", "tier=frontend") == "service/web labeled\n"
    assert k.fail("label", "svc", "web", "tier=backend") == (
        "error: 'tier' already has a value (frontend), and --overwrite is false\n"
    )
    assert k.ok("label", "svc", "web", "tier=backend", "--overwrite") == "service/web labeled\n"
    assert k.obj("svc/web")["metadata"]["labels"] == {"app": "web", "tier": "backend"}
    assert k.ok("label", "svc", "web", "tier-") == "service/web unlabeled\n"
    assert k.obj("svc/web")["metadata"]["labels"] == {"app": "web"}

    assert k.ok("annotate", "svc", "web", "owner=team-a") == "service/web annotated\n"
    assert k.fail("annotate", "svc", "web", "owner=team-b") == (
        "error: --overwrite is false but found the following declared annotation(s): "
        "'owner' already has a value (team-a)\n"
    )
    k.ok("annotate", "svc", "web", "owner=team-b", "--overwrite")
    assert k.obj("svc/web")["metadata"]["annotations"] == {"owner": "team-b"}
    k.ok("annotate", "svc", "web", "owner-")
    assert "annotations" not in k.obj("svc/web")["metadata"]  # Go omits the empty map


def test_label_every_object_matching_a_selector(k: Kubectl) -> None:
    k.write("all.yaml", the_five())
    k.ok("create", "-f", "all.yaml")
    out = k.ok("label", "svc,po,cm,deploy,ing", "-l", "app=web", "checked=yes")
    assert out.splitlines() == [
        "service/web labeled",
        "pod/web-0 labeled",
        "configmap/web-config labeled",
        "deployment.apps/web labeled",
        "ingress.networking.k8s.io/web labeled",
    ]
    assert len(k.names("svc,po,cm,deploy,ing", "-l", "checked=yes")) == 5


def test_patch_json_merge_and_strategic(k: Kubectl) -> None:
    k.write("deploy.yaml", deployment())
    k.ok("create", "-f", "deploy.yaml")

    out = k.ok(
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":4}]',
    )
    assert out == "deployment.apps/web patched\n"
    assert k.obj("deploy/web")["spec"]["replicas"] == 4

    k.ok("patch", "deploy", "web", "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    assert k.obj("deploy/web")["metadata"]["labels"] == {"app": "web", "m": "1"}

    # Strategic merge (the default type) merges containers by name: the port stays.
    strategic = (
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}'
    )
    assert k.ok("patch", "deploy", "web", "-p", strategic) == "deployment.apps/web patched\n"
    containers = k.obj("deploy/web")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"], c["ports"][0]["containerPort"]) for c in containers] == [
        ("web", "nginx:1.27", 80)
    ]
    assert k.ok("patch", "deploy", "web", "--type=strategic", "-p", strategic) == (
        "deployment.apps/web patched (no change)\n"
    )

    # A merge patch replaces the whole list.
    merge = '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox"}]}}}}'
    k.ok("patch", "deploy", "web", "--type=merge", "-p", merge)
    containers = k.obj("deploy/web")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"], "ports" in c) for c in containers] == [
        ("app", "busybox", False)
    ]


def test_patch_strategic_on_service_ports(k: Kubectl) -> None:
    svc = service()
    svc["spec"]["ports"][0]["name"] = "http"
    k.write("svc.yaml", svc)
    k.ok("create", "-f", "svc.yaml")
    k.ok("patch", "svc", "web", "-p", '{"spec":{"ports":[{"port":80,"targetPort":7070}]}}')
    assert k.obj("svc/web")["spec"]["ports"] == [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 7070}
    ]
    k.ok("patch", "svc", "web", "-p", '{"spec":{"ports":[{"port":443,"name":"https"}]}}')
    ports = k.obj("svc/web")["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in ports] == [(443, 443), (80, 7070)]
    delete = '{"spec":{"ports":[{"port":443,"$patch":"delete"}]}}'
    k.ok("patch", "svc", "web", "-p", delete)
    assert [p["port"] for p in k.obj("svc/web")["spec"]["ports"]] == [80]


def test_patch_that_cannot_apply(k: Kubectl) -> None:
    k.write("cm.yaml", configmap())
    k.ok("create", "-f", "cm.yaml")
    before = k.obj("cm/web-config")
    err = k.fail(
        "patch",
        "cm",
        "web-config",
        "--type=json",
        "-p",
        '[{"op":"test","path":"/data/greeting","value":"x"}]',
    )
    assert err == (
        "The request is invalid: the server rejected our request due to an error in our request\n"
    )
    err = k.fail("patch", "cm", "web-config", "--type=json", "-p", '{"op":"add"}')
    assert err == (
        "Error from server (BadRequest): json: cannot unmarshal object into Go value of type "
        "jsonpatch.Patch\n"
    )
    assert k.obj("cm/web-config") == before


def test_replace_from_file(k: Kubectl) -> None:
    k.write("cm.yaml", configmap())
    k.ok("create", "-f", "cm.yaml")
    current = k.obj("cm/web-config")
    current["data"]["greeting"] = "replaced"
    k.write("current.yaml", current)
    assert k.ok("replace", "-f", "current.yaml") == "configmap/web-config replaced\n"
    assert k.obj("cm/web-config")["data"] == {"greeting": "replaced"}
    # Without a resourceVersion the replace is unconditional.
    k.write("cm.yaml", configmap(greeting="again"))
    assert k.ok("replace", "-f", "cm.yaml") == "configmap/web-config replaced\n"
    assert k.obj("cm/web-config")["data"] == {"greeting": "again"}


def test_delete_waits_for_finalizers(k: Kubectl) -> None:
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    k.write("held.yaml", held)
    k.ok("create", "-f", "held.yaml")
    assert k.ok("delete", "cm", "held", "--wait=false") == 'configmap "held" deleted\n'
    marked = k.obj("cm/held")
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["finalizers"] == ["example.com/hold"]
    # Still there, and deleting again changes nothing.
    k.ok("delete", "cm", "held", "--wait=false")
    assert k.obj("cm/held")["metadata"]["resourceVersion"] == marked["metadata"]["resourceVersion"]

    waiter = Waiter(k, "wait", "--for=delete", "configmap/held", "--timeout=20s")
    waiter.ready()
    remove = '[{"op":"remove","path":"/metadata/finalizers"}]'
    k.ok("patch", "cm", "held", "--type=json", "-p", remove)
    assert waiter.finish() == (0, "configmap/held condition met\n", "")
    assert k.fail("get", "cm", "held") == (
        'Error from server (NotFound): configmaps "held" not found\n'
    )


def test_wait_for_delete_of_a_pod(k: Kubectl) -> None:
    k.write("pod.yaml", pod())
    k.ok("create", "-f", "pod.yaml")
    waiter = Waiter(k, "wait", "--for=delete", "pod/web-0", "--timeout=20s")
    waiter.ready()
    k.ok("delete", "-f", "pod.yaml", "--wait=false")
    assert waiter.finish() == (0, "pod/web-0 condition met\n", "")


def test_wait_times_out_while_the_object_stays(k: Kubectl) -> None:
    k.write("cm.yaml", configmap())
    k.ok("create", "-f", "cm.yaml")
    res = k.run("wait", "--for=delete", "cm/web-config", "--timeout=1s")
    assert res.rc == 1
    # kubectl may also log (klog) that its own deadline cut the watch short.
    assert without_klog(res.err) == (
        "error: timed out waiting for the condition on configmaps/web-config\n"
    )
    assert k.obj("cm/web-config")["metadata"]["name"] == "web-config"


def test_namespace_deletion_removes_its_contents(api_process: ApiProcess, tmp_path: Path) -> None:
    ns = namespace_name("doomed")
    k = Kubectl(api_process.kubeconfig, tmp_path, ns)
    k.write("ns.yaml", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    assert k.ok("create", "-f", "ns.yaml", namespaced=False) == f"namespace/{ns} created\n"
    assert k.obj(f"ns/{ns}", namespaced=False)["status"] == {"phase": "Active"}
    k.write("all.yaml", the_five())
    k.ok("create", "-f", "all.yaml")
    assert len(k.names("svc,po,cm,deploy,ing")) == 5

    out = k.ok("delete", "-f", "ns.yaml", "--timeout=30s", namespaced=False)
    assert out == f'namespace "{ns}" deleted\n'
    assert k.fail("get", "ns", ns, namespaced=False) == (
        f'Error from server (NotFound): namespaces "{ns}" not found\n'
    )
    for resource in ("services", "pods", "configmaps", "deployments", "ingresses", "sa"):
        res = k.run("get", resource)
        assert (res.rc, res.out) == (0, ""), resource
        assert res.err == f"No resources found in {ns} namespace.\n"
    assert k.fail("create", "-f", "all.yaml").splitlines()[0] == (
        f'Error from server (NotFound): error when creating "all.yaml": namespaces "{ns}" not found'
    )


def test_namespace_being_deleted_refuses_new_content(
    api_process: ApiProcess, tmp_path: Path
) -> None:
    ns = namespace_name("terminating")
    k = Kubectl(api_process.kubeconfig, tmp_path, ns)
    k.write("ns.yaml", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    k.ok("create", "-f", "ns.yaml", namespaced=False)
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    k.write("held.yaml", held)
    k.ok("create", "-f", "held.yaml")
    k.ok("delete", "ns", ns, "--wait=false", namespaced=False)
    try:
        k.ok(
            "wait",
            "--for=jsonpath={.status.phase}=Terminating",
            f"ns/{ns}",
            "--timeout=10s",
            namespaced=False,
        )
        k.write("cm.yaml", configmap("late"))
        assert k.fail("create", "-f", "cm.yaml") == (
            'Error from server (Forbidden): error when creating "cm.yaml": configmaps "late" is '
            f"forbidden: unable to create new content in namespace {ns} because it is being "
            "terminated\n"
        )
    finally:
        k.run("patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    # The namespace goes once the finalizer is gone (the lifecycle loop's next pass);
    # test_namespace_deletion_removes_its_contents waits for that end to end.
