"""Server behaviour the kubectl e2e tests found wanting, checked over HTTP in-process.

* ``/openapi/v2`` exists (empty), so kubectl's client-side validation of a kind
  the server does not serve gets to "no matches for kind";
* a malformed or non-object JSON body gets upstream's "the object provided is
  unrecognized" message with Go's JSON error;
* ``timeoutSeconds=0`` on a watch means "no timeout given", not "close now";
* creating into a terminating namespace names the object in the Forbidden message;
* stored objects leave out empty ``omitempty`` fields, as Go writes them;
* server-side apply of an undeclared field answers upstream's reason-less 500.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_openapi_v2_is_served_in_protobuf_and_json(api: Any) -> None:
    proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    async with api.session.get(api.base + "/openapi/v2", headers={"Accept": proto}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == (
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        )
        body = await resp.read()
    assert body.startswith(b"\x0a\x032.0")
    status, doc, _ = await api.call("GET", "/openapi/v2")
    assert status == 200
    assert doc["swagger"] == "2.0"
    assert doc["paths"] == {}


async def test_malformed_json_body_message(api: Any) -> None:
    status, err, _ = await api.call("POST", CM, raw=b'{"apiVersion": "v1", "kind": ')
    assert status == 400
    assert err["message"] == (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        'version/kind; json parse error: unexpected end of JSON input ({"apiVersion": "v1", '
        '"kind": )'
    )
    status, err, _ = await api.call("PUT", f"{CM}/x", raw=b'"just a string"')
    assert status == 400
    assert err["message"].startswith(
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get "
        "version/kind; json parse error: json: cannot unmarshal string into Go value of type "
    )
    assert err["message"].endswith(" (226a757374206120737472696e6722)")


async def test_watch_with_zero_timeout_stays_open(api: Any) -> None:
    _, first, _ = await api.call("POST", CM, cm("z0"))
    rv = first["metadata"]["resourceVersion"]

    async def writer() -> None:
        await asyncio.sleep(0.2)
        await api.call("POST", CM, cm("z1"))

    task = asyncio.create_task(writer())
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "0"}
    async with api.session.get(api.base + CM, params=params) as resp:
        line = await asyncio.wait_for(resp.content.readline(), 5)
    await task
    assert json.loads(line)["object"]["metadata"]["name"] == "z1"


async def test_terminating_namespace_forbids_new_objects_by_name(api: Any) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "closing"}}
    await api.call("POST", "/api/v1/namespaces", ns)
    held = cm("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await api.call("POST", "/api/v1/namespaces/closing/configmaps", held)
    await api.call("DELETE", "/api/v1/namespaces/closing")
    status, err, _ = await api.call("POST", "/api/v1/namespaces/closing/configmaps", cm("late"))
    assert status == 403
    assert err["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace closing '
        "because it is being terminated"
    )
    assert err["details"] == {
        "name": "late",
        "kind": "configmaps",
        "causes": [
            {
                "reason": "NamespaceTerminating",
                "message": "namespace closing is being terminated",
                "field": "metadata.namespace",
            }
        ],
    }


async def test_empty_omitempty_fields_are_not_stored(api: Any) -> None:
    obj = cm("e", a="1")
    obj["metadata"].update({"labels": {}, "annotations": {"x": "y"}, "finalizers": []})
    status, created, _ = await api.call("POST", CM, obj)
    assert status == 201
    assert "labels" not in created["metadata"]
    assert "finalizers" not in created["metadata"]
    patch = {"metadata": {"annotations": {"x": None}}}
    status, patched, _ = await api.call(
        "PATCH", f"{CM}/e", patch, content_type="application/merge-patch+json"
    )
    assert status == 200
    assert "annotations" not in patched["metadata"]
    _, got, _ = await api.call("GET", f"{CM}/e")
    assert "annotations" not in got["metadata"]


async def test_server_side_apply_of_an_undeclared_field(api: Any) -> None:
    applied = cm("ssa", a="1")
    applied["dataa"] = {"typo": "x"}
    status, err, _ = await api.call(
        "PATCH",
        f"{CM}/ssa",
        applied,
        content_type="application/apply-patch+yaml",
        params={"fieldManager": "test", "fieldValidation": "Ignore"},
    )
    assert status == 500
    assert err == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "failed to create typed patch object (/ssa; /v1, Kind=ConfigMap): .dataa: "
        "field not declared in schema",
        "code": 500,
    }
    assert (await api.call("GET", f"{CM}/ssa"))[0] == 404
