"""Object semantics of the API server over real HTTP: CRUD, concurrency, finalizers, paging.

Each test gets a fresh in-process server on the memory store (see conftest).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_create_sets_system_fields_and_get_returns_them(api: Any) -> None:
    status, body, _ = await api.call("POST", CM, cm("a", k="v"))
    assert status == 201
    meta = body["metadata"]
    assert meta["namespace"] == "default"
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    status, got, _ = await api.call("GET", f"{CM}/a")
    assert status == 200
    assert got == body


async def test_create_twice_gives_go_encoded_already_exists(api: Any) -> None:
    await api.call("POST", CM, cm("dup"))
    async with api.session.post(api.base + CM, json=cm("dup")) as resp:
        raw = await resp.read()
        assert resp.status == 409
        assert resp.reason == "Conflict"
    assert raw == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"configmaps \\"dup\\" already exists","reason":"AlreadyExists",'
        b'"details":{"name":"dup","kind":"configmaps"},"code":409}\n'
    )


async def test_group_appears_in_not_found_message(api: Any) -> None:
    status, body, _ = await api.call("GET", "/apis/apps/v1/namespaces/default/deployments/x")
    assert status == 404
    assert body["message"] == 'deployments.apps "x" not found'
    assert body["details"] == {"name": "x", "group": "apps", "kind": "deployments"}


async def test_update_with_stale_resource_version_conflicts_and_changes_nothing(api: Any) -> None:
    _, created, _ = await api.call("POST", CM, cm("c", k="1"))
    stale = json.loads(json.dumps(created))
    created["data"]["k"] = "2"
    status, updated, _ = await api.call("PUT", f"{CM}/c", created)
    assert status == 200
    stale["data"]["k"] = "3"
    status, body, _ = await api.call("PUT", f"{CM}/c", stale)
    assert status == 409
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    _, now, _ = await api.call("GET", f"{CM}/c")
    assert now["data"]["k"] == "2"
    assert now["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]


async def test_noop_update_writes_no_new_revision(api: Any) -> None:
    _, created, _ = await api.call("POST", CM, cm("n", k="1"))
    status, again, _ = await api.call("PUT", f"{CM}/n", created)
    assert status == 200
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_generate_name(api: Any) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    status, created, _ = await api.call("POST", CM, body)
    assert status == 201
    name = created["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == len("gen-") + 5


async def test_namespace_from_url_and_mismatch_rejected(api: Any) -> None:
    body = cm("m")
    body["metadata"]["namespace"] = "kube-system"
    status, err, _ = await api.call("POST", CM, body)
    assert status == 400
    assert "does not match the namespace" in err["message"]


async def test_create_in_missing_namespace_is_not_found(api: Any) -> None:
    status, err, _ = await api.call("POST", "/api/v1/namespaces/nope/configmaps", cm("x"))
    assert status == 404
    assert err["message"] == 'namespaces "nope" not found'


async def test_finalizers_delay_deletion_until_removed(api: Any) -> None:
    body = cm("f")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await api.call("POST", CM, body)
    status, deleting, _ = await api.call("DELETE", f"{CM}/f")
    assert status == 200
    assert deleting["metadata"]["deletionTimestamp"]
    status, _, _ = await api.call("GET", f"{CM}/f")
    assert status == 200
    patch = [{"op": "remove", "path": "/metadata/finalizers"}]
    status, _, _ = await api.call(
        "PATCH", f"{CM}/f", patch, content_type="application/json-patch+json"
    )
    assert status == 200
    status, _, _ = await api.call("GET", f"{CM}/f")
    assert status == 404


async def test_dry_run_create_stores_nothing(api: Any) -> None:
    status, _, _ = await api.call("POST", CM, cm("dry"), params={"dryRun": "All"})
    assert status == 201
    status, _, _ = await api.call("GET", f"{CM}/dry")
    assert status == 404


async def test_list_paging_with_continue(api: Any) -> None:
    for i in range(7):
        await api.call("POST", CM, cm(f"p{i}"))
    names: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"limit": "3"}
        if token:
            params["continue"] = token
        status, page, _ = await api.call("GET", CM, params=params)
        assert status == 200
        pages += 1
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == [f"p{i}" for i in range(7)]
    assert pages == 3


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("app=web", ["a1", "a2"], id="equality"),
        pytest.param("app!=web", ["b1", "c1"], id="inequality-includes-missing-key"),
        pytest.param("app in (web,db)", ["a1", "a2", "b1"], id="set-in"),
        pytest.param("tier", ["a2"], id="exists"),
        pytest.param("!app", ["c1"], id="not-exists"),
    ],
)
async def test_label_selectors(api: Any, selector: str, expected: list[str]) -> None:
    objs = {"a1": {"app": "web"}, "a2": {"app": "web", "tier": "fe"}, "b1": {"app": "db"}, "c1": {}}
    for name, labels in objs.items():
        body = cm(name)
        body["metadata"]["labels"] = labels
        await api.call("POST", CM, body)
    status, page, _ = await api.call("GET", CM, params={"labelSelector": selector})
    assert status == 200
    assert [i["metadata"]["name"] for i in page["items"]] == expected


async def test_unknown_field_selector_is_bad_request(api: Any) -> None:
    status, err, _ = await api.call("GET", CM, params={"fieldSelector": "spec.foo=bar"})
    assert status == 400
    assert err["message"].startswith('"spec.foo" is not a known field selector')


async def test_watch_from_resource_version_sees_changes(api: Any) -> None:
    _, first, _ = await api.call("POST", CM, cm("w0"))
    rv = first["metadata"]["resourceVersion"]

    async def writer() -> None:
        await asyncio.sleep(0.05)
        await api.call("POST", CM, cm("w1"))
        await api.call("DELETE", f"{CM}/w0")

    task = asyncio.create_task(writer())
    events: list[tuple[str, str]] = []
    async with api.session.get(
        api.base + CM, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"}
    ) as resp:
        assert resp.status == 200
        async for line in resp.content:
            ev = json.loads(line)
            events.append((ev["type"], ev["object"]["metadata"]["name"]))
            if len(events) == 2:
                break
    await task
    assert events == [("ADDED", "w1"), ("DELETED", "w0")]


async def test_watch_with_table_accept_sends_headers_once(api: Any) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

    async def writer() -> None:
        await asyncio.sleep(0.05)
        await api.call("POST", CM, cm("t1"))

    task = asyncio.create_task(writer())
    tables = []
    async with api.session.get(
        api.base + CM, params={"watch": "true", "timeoutSeconds": "5"}, headers={"Accept": accept}
    ) as resp:
        async for line in resp.content:
            tables.append(json.loads(line)["object"])
            if any(r["cells"][0] == "t1" for t in tables for r in t["rows"]):
                break
    await task
    assert tables[0]["kind"] == "Table"
    assert tables[0]["columnDefinitions"]
    assert all(not t["columnDefinitions"] for t in tables[1:])


async def test_namespace_deletion_removes_contents(api: Any) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}
    assert (await api.call("POST", "/api/v1/namespaces", ns))[0] == 201
    await api.call("POST", "/api/v1/namespaces/gone/configmaps", cm("x"))
    status, body, _ = await api.call("DELETE", "/api/v1/namespaces/gone")
    assert status == 200
    assert body["status"]["phase"] == "Terminating"
    status, _, _ = await api.call("POST", "/api/v1/namespaces/gone/configmaps", cm("y"))
    assert status == 403
    for _ in range(100):
        await api.server.lifecycle.sync_all()
        status, _, _ = await api.call("GET", "/api/v1/namespaces/gone")
        if status == 404:
            break
        await asyncio.sleep(0.02)
    assert status == 404
    status, _, _ = await api.call("GET", "/api/v1/namespaces/gone/configmaps/x")
    assert status == 404


async def test_system_namespaces_and_default_service_account_exist(api: Any) -> None:
    _, page, _ = await api.call("GET", "/api/v1/namespaces")
    names = {i["metadata"]["name"] for i in page["items"]}
    assert {"default", "kube-system", "kube-public"} <= names
    status, _, _ = await api.call("GET", "/api/v1/namespaces/default/serviceaccounts/default")
    assert status == 200
    status, _, _ = await api.call("DELETE", "/api/v1/namespaces/default")
    assert status == 403


async def test_oversized_body_is_rejected(api: Any) -> None:
    big = cm("big", blob="x" * (3 * 1024 * 1024 + 10))
    status, err, _ = await api.call("POST", CM, big)
    assert status == 413
    assert err["reason"] == "RequestEntityTooLarge"
    assert (await api.call("GET", f"{CM}/big"))[0] == 404


async def test_malformed_json_is_bad_request(api: Any) -> None:
    status, err, _ = await api.call("POST", CM, raw=b'{"apiVersion": "v1", "kind": ')
    assert status == 400
    assert err["reason"] == "BadRequest"


async def test_unsupported_patch_type_is_415(api: Any) -> None:
    await api.call("POST", CM, cm("pt"))
    status, err, _ = await api.call("PATCH", f"{CM}/pt", {}, content_type="text/plain")
    assert status == 415
    assert err["reason"] == "UnsupportedMediaType"


async def test_scale_subresource_round_trip(api: Any) -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "python:3"}]},
            },
        },
    }
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert (await api.call("POST", path, dep))[0] == 201
    status, s, _ = await api.call(
        "PATCH",
        f"{path}/web/scale",
        {"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )
    assert status == 200
    assert s["kind"] == "Scale" and s["apiVersion"] == "autoscaling/v1"
    assert s["spec"]["replicas"] == 3
    assert s["status"]["selector"] == "app=web"
    _, d, _ = await api.call("GET", f"{path}/web")
    assert d["spec"]["replicas"] == 3
    assert d["metadata"]["generation"] == 2
