"""EventRecorder against a real API server: the Event's fields, aggregation, recreation."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.integration.conftest import Api

from kubesvc.client.events import EventRecorder
from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient, ClientSettings, resolve
from kubesvc.util.clock import FakeClock

CM = resolve(("v1", "ConfigMap"))
EV = resolve(("v1", "Event"))
NS = resolve(("v1", "Namespace"))


@pytest.fixture
async def client(api: Api) -> AsyncIterator[ApiClient]:
    async with ApiClient(ClientConfig(api.base), field_manager="events-test") as c:
        yield c


@pytest.fixture
async def target(client: ApiClient) -> dict[str, Any]:
    return await client.create(CM, {"metadata": {"name": "web"}, "data": {}})


async def events_about(client: ApiClient, name: str, ns: str = "default") -> list[dict[str, Any]]:
    listed = await client.list(EV, ns, field_selector=f"involvedObject.name={name}")
    return list(listed["items"])


async def test_an_event_points_at_its_object_and_names_its_source(
    client: ApiClient, target: dict[str, Any]
) -> None:
    clock = FakeClock()
    recorder = EventRecorder(client, "toy-controller", host="node-1", clock=clock)
    event = await recorder.warning(target, "SyncFailed", "could not sync: boom")
    assert event is not None
    meta = target["metadata"]
    assert event["involvedObject"] == {
        "kind": "ConfigMap",
        "namespace": "default",
        "name": "web",
        "uid": meta["uid"],
        "apiVersion": "v1",
        "resourceVersion": meta["resourceVersion"],
    }
    nanos = 1_704_067_200 * 10**9  # the fake clock's 2024-01-01T00:00:00Z
    assert event["metadata"]["name"] == f"web.{nanos:x}"
    assert event["metadata"]["namespace"] == "default"
    assert event["source"] == {"component": "toy-controller", "host": "node-1"}
    assert event["reportingComponent"] == "toy-controller"
    assert (event["type"], event["reason"], event["message"], event["count"]) == (
        "Warning",
        "SyncFailed",
        "could not sync: boom",
        1,
    )
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2024-01-01T00:00:00Z"


async def test_identical_events_aggregate_into_one_with_a_count(
    client: ApiClient, target: dict[str, Any]
) -> None:
    clock = FakeClock()
    recorder = EventRecorder(client, "toy", clock=clock)
    await recorder.normal(target, "Synced", "all good")
    clock.advance(30)
    again = await recorder.normal(target, "Synced", "all good")
    assert again is not None
    assert again["count"] == 2
    assert again["firstTimestamp"] == "2024-01-01T00:00:00Z"
    assert again["lastTimestamp"] == "2024-01-01T00:00:30Z"
    await recorder.normal(target, "Synced", "something else")
    stored = await events_about(client, "web")
    assert sorted((e["message"], e["count"]) for e in stored) == [
        ("all good", 2),
        ("something else", 1),
    ]


async def test_an_aggregated_event_deleted_meanwhile_is_created_again(
    client: ApiClient, target: dict[str, Any]
) -> None:
    clock = FakeClock()
    recorder = EventRecorder(client, "toy", clock=clock)
    first = await recorder.normal(target, "Synced", "ok")
    assert first is not None
    await client.delete(EV, "default", first["metadata"]["name"])
    clock.advance(5)
    again = await recorder.normal(target, "Synced", "ok")
    assert again is not None
    assert again["metadata"]["name"] == first["metadata"]["name"]
    assert (again["count"], again["firstTimestamp"]) == (2, "2024-01-01T00:00:00Z")


async def test_events_about_cluster_scoped_objects_go_to_default(client: ApiClient) -> None:
    ns = await client.get(NS, "", "kube-system")
    event = await EventRecorder(client, "toy").normal(ns, "Seen", "hello")
    assert event is not None and event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"]


async def test_recording_never_raises(target: dict[str, Any]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ClientSettings(read_retries=0)
    async with ApiClient(ClientConfig(f"http://127.0.0.1:{port}"), settings=settings) as dead:
        assert await EventRecorder(dead, "toy").normal(target, "Synced", "x") is None
    with pytest.raises(ValueError, match="Normal or Warning"):
        await EventRecorder(dead, "toy").event(target, "Info", "Synced", "x")
