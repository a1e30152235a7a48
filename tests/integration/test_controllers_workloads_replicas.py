"""ReplicationController and ReplicaSet controllers against a real API server."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    RCS,
    RSS,
    Obj,
    events_for,
    eventually,
    pod_template,
    pods_of,
    running,
    set_pod_ready,
)

from kubesvc.client.rest import ApiClient


async def rc_status(client: ApiClient, name: str) -> Obj:
    return dict((await client.get(RCS, "default", name)).get("status") or {})


async def test_rc_scales_up_and_down_and_reports_status(api: Api) -> None:
    async with running(api, ["replicationcontroller"]) as client:
        rc = await client.create(
            RCS,
            {
                "metadata": {"name": "webapp"},
                "spec": {
                    "replicas": 2,
                    "selector": {"app": "webapp"},
                    "template": pod_template({"app": "webapp"}),
                },
            },
        )

        async def two_pods() -> list[Obj] | None:
            pods = await pods_of(client, "default", "app=webapp")
            return pods if len(pods) == 2 else None

        pods = await eventually(two_pods, "two pods")
        for pod in pods:
            meta = pod["metadata"]
            assert meta["generateName"] == "webapp-"
            assert meta["ownerReferences"] == [
                {
                    "apiVersion": "v1",
                    "kind": "ReplicationController",
                    "name": "webapp",
                    "uid": rc["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        for i, pod in enumerate(pods):
            await set_pod_ready(client, "default", pod["metadata"]["name"], f"10.244.0.{i + 10}")

        async def all_ready() -> Obj | None:
            status = await rc_status(client, "webapp")
            return status if status.get("availableReplicas") == 2 else None

        status = await eventually(all_ready, "two available")
        assert status["replicas"] == 2
        assert status["readyReplicas"] == 2
        assert status["fullyLabeledReplicas"] == 2
        assert status["observedGeneration"] == 1

        await client.patch(RCS, "default", "webapp", {"spec": {"replicas": 5}})
        await eventually(lambda: _count(client, "app=webapp", 5), "five pods after scaling up")
        await client.patch(RCS, "default", "webapp", {"spec": {"replicas": 1}})
        remaining = await eventually(
            lambda: _count(client, "app=webapp", 1), "one pod after scaling down"
        )
        # The ready pods are kept last: one of the two ready ones survives.
        assert remaining[0]["metadata"]["name"] in {p["metadata"]["name"] for p in pods}
        reasons = {e["reason"] for e in await events_for(client, "default", "webapp")}
        assert {"SuccessfulCreate", "SuccessfulDelete"} <= reasons


async def _count(client: ApiClient, selector: str, n: int) -> list[Obj] | None:
    pods = await pods_of(client, "default", selector)
    return pods if len(pods) == n else None


async def test_rs_adopts_orphans_and_releases_relabelled_pods(api: Api) -> None:
    async with running(api, ["replicaset"]) as client:
        from tests.integration.test_controllers_workloads_support import PODS

        orphan = await client.create(
            PODS,
            {
                "metadata": {"name": "stray", "labels": {"app": "api"}},
                "spec": {"containers": [{"name": "c", "image": "x:1"}]},
            },
        )
        rs = await client.create(
            RSS,
            {
                "metadata": {"name": "api"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "api"}},
                    "template": pod_template({"app": "api"}),
                },
            },
        )
        pods = await eventually(lambda: _count(client, "app=api", 2), "two pods")
        by_name = {p["metadata"]["name"]: p for p in pods}
        assert "stray" in by_name, "the orphan is adopted instead of creating a second pod"
        ref = by_name["stray"]["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["uid"], ref["controller"]) == (
            "ReplicaSet",
            rs["metadata"]["uid"],
            True,
        )
        assert orphan["metadata"]["uid"] == by_name["stray"]["metadata"]["uid"]

        # Relabel the adopted pod: it is released and replaced.
        await client.patch(PODS, "default", "stray", {"metadata": {"labels": {"app": "other"}}})

        async def released() -> Obj | None:
            pod = await client.get(PODS, "default", "stray")
            return pod if not pod["metadata"].get("ownerReferences") else None

        await eventually(released, "stray released")
        await eventually(lambda: _count(client, "app=api", 2), "a replacement pod")
