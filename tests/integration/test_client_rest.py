"""ApiClient against a real in-process API server: CRUD, patches, apply, errors, watch."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.integration.conftest import Api

from kubesvc.api import errors
from kubesvc.client.errors import ApiUnavailable
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient, ClientSettings, resolve, resource_of
from kubesvc.util.backoff import BackoffPolicy

CM = resolve(("v1", "ConfigMap"))
NS = resolve(("v1", "Namespace"))
SVC = resolve(("v1", "Service"))


def configmap(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


@pytest.fixture
async def client(api: Api) -> AsyncIterator[ApiClient]:
    async with ApiClient(ClientConfig(api.base), field_manager="client-test") as c:
        yield c


async def test_create_get_update_delete(client: ApiClient) -> None:
    created = await client.create(CM, configmap("one", a="1"))
    assert created["metadata"]["uid"]
    got = await client.get(CM, "default", "one")
    assert got["data"] == {"a": "1"}
    got["data"]["b"] = "2"
    updated = await client.update(CM, got)
    assert updated["data"] == {"a": "1", "b": "2"}
    assert updated["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    managers = {m["manager"] for m in updated["metadata"]["managedFields"]}
    assert managers == {"client-test"}
    await client.delete(CM, "default", "one")
    with pytest.raises(errors.NotFound) as info:
        await client.get(CM, "default", "one")
    assert info.value.message == 'configmaps "one" not found'
    assert info.value.details == {"name": "one", "kind": "configmaps"}


async def test_kind_pairs_and_the_default_namespace(client: ApiClient) -> None:
    await client.create(("v1", "ConfigMap"), {"metadata": {"name": "x"}, "data": {}})
    got = await client.get(("v1", "ConfigMap"), client.namespace, "x")
    assert got["metadata"]["namespace"] == "default"
    assert resource_of(got) == CM
    with pytest.raises(ValueError, match="no served resource"):
        await client.get(("v9", "Nope"), "", "x")


async def test_list_selectors_and_pages(client: ApiClient) -> None:
    await client.create(NS, {"metadata": {"name": "other"}})
    for i in range(5):
        cm = configmap(f"cm{i}", "default" if i < 4 else "other")
        cm["metadata"]["labels"] = {"even": str(i % 2 == 0).lower()}
        await client.create(CM, cm)
    everything = await client.list(CM)
    assert len([i for i in everything["items"] if i["metadata"]["name"].startswith("cm")]) == 5
    names = [i["metadata"]["name"] for i in (await client.list(CM, "default"))["items"]]
    assert names == ["cm0", "cm1", "cm2", "cm3"]
    even = await client.list(CM, label_selector="even=true")
    assert sorted(i["metadata"]["name"] for i in even["items"]) == ["cm0", "cm2", "cm4"]
    by_name = await client.list(CM, field_selector="metadata.name=cm3")
    assert [i["metadata"]["name"] for i in by_name["items"]] == ["cm3"]
    first = await client.list(CM, "default", limit=3)
    assert len(first["items"]) == 3 and first["metadata"]["continue"]
    rest = await client.list(CM, "default", limit=3, continue_token=first["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in rest["items"]] == ["cm3"]


@pytest.mark.parametrize(
    ("patch_type", "patch", "expected"),
    [
        pytest.param("merge", {"data": {"a": None, "b": "2"}}, {"b": "2"}, id="merge"),
        pytest.param("strategic", {"data": {"b": "2"}}, {"a": "1", "b": "2"}, id="strategic"),
        pytest.param(
            "json", [{"op": "replace", "path": "/data/a", "value": "9"}], {"a": "9"}, id="json"
        ),
    ],
)
async def test_patch_types(
    client: ApiClient, patch_type: str, patch: Any, expected: dict[str, str]
) -> None:
    await client.create(CM, configmap("p", a="1"))
    patched = await client.patch(CM, "default", "p", patch, patch_type=patch_type)
    assert patched["data"] == expected


async def test_server_side_apply_owns_fields_and_conflicts_need_force(api: Api) -> None:
    config = ClientConfig(api.base)
    async with (
        ApiClient(config, field_manager="alice") as alice,
        ApiClient(config, field_manager="bob") as bob,
    ):
        applied = await alice.apply(CM, configmap("shared", owner="alice"))
        assert applied["data"] == {"owner": "alice"}
        with pytest.raises(errors.Conflict) as info:
            await bob.apply(CM, configmap("shared", owner="bob"))
        assert info.value.code == 409
        assert info.value.details and info.value.details["causes"][0]["field"] == ".data.owner"
        forced = await bob.apply(CM, configmap("shared", owner="bob"), force=True)
        assert forced["data"] == {"owner": "bob"}


async def test_update_status_and_dry_run(client: ApiClient) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": "web"}},
    }
    dry = await client.create(SVC, svc, dry_run=True)
    assert dry["metadata"]["name"] == "web"
    with pytest.raises(errors.NotFound):
        await client.get(SVC, "default", "web")
    created = await client.create(SVC, svc)
    created["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.200"}]}}
    created["spec"]["ports"][0]["port"] = 81  # ignored by the status subresource
    result = await client.update_status(SVC, created)
    assert [i["ip"] for i in result["status"]["loadBalancer"]["ingress"]] == ["127.0.0.200"]
    assert result["spec"]["ports"][0]["port"] == 80


async def test_write_errors_are_typed(client: ApiClient) -> None:
    await client.create(CM, configmap("dup"))
    with pytest.raises(errors.AlreadyExists, match='configmaps "dup" already exists'):
        await client.create(CM, configmap("dup"))
    stale = await client.get(CM, "default", "dup")
    await client.update(CM, {**stale, "data": {"v": "1"}})
    with pytest.raises(errors.Conflict, match="the object has been modified"):
        await client.update(CM, {**stale, "data": {"v": "2"}})
    with pytest.raises(errors.Invalid) as info:
        await client.create(CM, configmap("Bad_Name"))
    assert info.value.details and info.value.details["causes"][0]["field"] == "metadata.name"
    with pytest.raises(errors.Conflict, match="Precondition failed"):
        await client.delete(CM, "default", "dup", uid="not-the-uid")


async def test_watch_streams_changes_from_a_version(client: ApiClient) -> None:
    first = await client.create(CM, configmap("w1"))
    rv = first["metadata"]["resourceVersion"]
    async with client.watch(CM, "default", resource_version=rv) as stream:
        await client.create(CM, configmap("w2"))
        await client.patch(CM, "default", "w2", {"data": {"x": "1"}})
        await client.delete(CM, "default", "w2")
        seen = []
        async for event_type, obj in stream:
            seen.append((event_type, obj["metadata"]["name"]))
            if len(seen) == 3:
                break
    assert seen == [("ADDED", "w2"), ("MODIFIED", "w2"), ("DELETED", "w2")]


async def test_watch_from_now_lists_first_and_ends_at_its_timeout(client: ApiClient) -> None:
    await client.create(CM, configmap("w1"))
    events = [
        (t, o["metadata"]["name"]) async for t, o in client.watch(CM, "default", timeout_seconds=1)
    ]
    assert ("ADDED", "w1") in events


async def test_watch_one_object_by_name(client: ApiClient) -> None:
    start = await client.create(CM, configmap("a"))
    rv = start["metadata"]["resourceVersion"]
    await client.create(CM, configmap("b"))
    await client.patch(CM, "default", "a", {"data": {"k": "v"}})
    async with client.watch(CM, "default", name="a", resource_version=rv) as stream:
        event_type, obj = await anext(stream)
    assert (event_type, obj["metadata"]["name"]) == ("MODIFIED", "a"), "b's ADDED is filtered"


async def test_a_watch_from_a_compacted_version_raises_expired(api: Api, client: ApiClient) -> None:
    old = await client.create(CM, configmap("c1"))
    await client.create(CM, configmap("c2"))
    backend = api.server.backend
    await backend.compact(await backend.current_revision())
    stream = client.watch(CM, "default", resource_version=old["metadata"]["resourceVersion"])
    with pytest.raises(errors.Expired, match="too old resource version"):
        await anext(stream)


async def test_watch_errors_before_streaming_are_typed(client: ApiClient) -> None:
    stream = client.watch(CM, "default", label_selector="a in (")
    with pytest.raises(errors.BadRequest):
        await anext(stream)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_server_is_api_unavailable_after_read_retries() -> None:
    settings = ClientSettings(read_retries=2, retry_backoff=BackoffPolicy(0.0, 0.0))
    async with ApiClient(
        ClientConfig(f"http://127.0.0.1:{_free_port()}"), settings=settings
    ) as client:
        with pytest.raises(ApiUnavailable, match=r"GET http://127\.0\.0\.1"):
            await client.get(CM, "default", "x")
        with pytest.raises(ApiUnavailable):
            await client.create(CM, configmap("x"))
        with pytest.raises(ApiUnavailable):
            await anext(client.watch(CM))


async def test_reads_retry_until_the_server_answers(api: Api) -> None:
    """The first attempts hit a port nobody listens on; a proxy then forwards to the API."""
    port = _free_port()
    attempts = 0
    proxy: asyncio.Server | None = None

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", api.server.port)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
            w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    class CountingClock:
        """Real time, but the first retry sleep opens the proxy."""

        def monotonic(self) -> float:
            return asyncio.get_running_loop().time()

        def now(self) -> Any:
            raise AssertionError

        def call_later(self, delay: float, cb: Any) -> Any:
            return asyncio.get_running_loop().call_later(delay, cb)

        async def sleep(self, delay: float) -> None:
            nonlocal attempts, proxy
            attempts += 1
            if attempts == 2:
                proxy = await asyncio.start_server(forward, "127.0.0.1", port)

    settings = ClientSettings(read_retries=3)
    async with ApiClient(
        ClientConfig(f"http://127.0.0.1:{port}"), settings=settings, clock=CountingClock()
    ) as client:
        ns = await client.get(NS, "", "default")
    assert ns["metadata"]["name"] == "default"
    assert attempts == 2
    assert proxy is not None
    proxy.close()
    await proxy.wait_closed()
