"""The garbage collector and the API server's propagation policies, end to end."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    CONFIGMAPS,
    DEPLOYMENTS,
    RCS,
    RSS,
    Obj,
    eventually,
    pod_template,
    pods_of,
    running,
)

from kubesvc.api import errors
from kubesvc.client.rest import ApiClient


async def gone(client: ApiClient, resource: object, name: str) -> bool:
    try:
        await client.get(resource, "default", name)  # type: ignore[arg-type]
    except errors.NotFound:
        return True
    return False


def owned_by(owner: Obj, block: bool = True) -> list[Obj]:
    return [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": block,
        }
    ]


async def test_background_deletion_removes_dependents_after_their_owner(api: Api) -> None:
    async with running(api, ["garbagecollector"]) as client:
        owner = await client.create(CONFIGMAPS, {"metadata": {"name": "owner"}})
        for i in range(3):
            await client.create(
                CONFIGMAPS,
                {"metadata": {"name": f"dep{i}", "ownerReferences": owned_by(owner)}},
            )
        await client.delete(CONFIGMAPS, "default", "owner", propagation_policy="Background")
        for i in range(3):
            await eventually(lambda i=i: gone(client, CONFIGMAPS, f"dep{i}"), f"dep{i} deleted")


async def test_a_dependent_with_a_live_second_owner_only_loses_the_dead_reference(
    api: Api,
) -> None:
    async with running(api, ["garbagecollector"]) as client:
        a = await client.create(CONFIGMAPS, {"metadata": {"name": "a"}})
        b = await client.create(CONFIGMAPS, {"metadata": {"name": "b"}})
        await client.create(
            CONFIGMAPS,
            {"metadata": {"name": "shared", "ownerReferences": owned_by(a) + owned_by(b)}},
        )
        await client.delete(CONFIGMAPS, "default", "a")

        async def one_ref() -> Obj | None:
            obj = await client.get(CONFIGMAPS, "default", "shared")
            refs = obj["metadata"].get("ownerReferences") or []
            return obj if [r["name"] for r in refs] == ["b"] else None

        await eventually(one_ref, "reference to a dropped")


async def test_foreground_deletion_waits_for_blocking_dependents(api: Api) -> None:
    async with running(api, ["garbagecollector", "deployment", "replicaset"]) as client:
        await client.create(
            DEPLOYMENTS,
            {
                "metadata": {"name": "fg"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "fg"}},
                    "template": pod_template({"app": "fg"}),
                },
            },
        )

        async def two_pods() -> list[Obj] | None:
            pods = await pods_of(client, "default", "app=fg")
            return pods if len(pods) == 2 else None

        await eventually(two_pods, "two pods")
        answer = await client.delete(DEPLOYMENTS, "default", "fg", propagation_policy="Foreground")
        # The API keeps the Deployment, marked, with the finalizer, until the GC is done.
        assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
        assert answer["metadata"]["deletionTimestamp"]
        await eventually(lambda: gone(client, DEPLOYMENTS, "fg"), "deployment gone", seconds=15)
        assert await pods_of(client, "default", "app=fg") == []
        listed = await client.list(RSS, "default", label_selector="app=fg")
        assert listed["items"] == []


async def test_orphan_deletion_keeps_dependents_and_drops_their_references(api: Api) -> None:
    async with running(api, ["garbagecollector", "replicationcontroller"]) as client:
        await client.create(
            RCS,
            {
                "metadata": {"name": "keep"},
                "spec": {
                    "replicas": 2,
                    "selector": {"app": "keep"},
                    "template": pod_template({"app": "keep"}),
                },
            },
        )

        async def two_pods() -> list[Obj] | None:
            pods = await pods_of(client, "default", "app=keep")
            return pods if len(pods) == 2 else None

        await eventually(two_pods, "two pods")
        # No policy: core/v1 ReplicationControllers orphan by default.
        answer = await client.delete(RCS, "default", "keep")
        assert answer["metadata"]["finalizers"] == ["orphan"]
        await eventually(lambda: gone(client, RCS, "keep"), "rc gone")

        async def orphans() -> list[Obj] | None:
            pods = await pods_of(client, "default", "app=keep")
            free = [p for p in pods if not p["metadata"].get("ownerReferences")]
            return free if len(free) == 2 else None

        await eventually(orphans, "pods kept without owner references")


async def test_background_is_the_default_for_apps_kinds_and_pods_follow(api: Api) -> None:
    async with running(api, ["garbagecollector", "replicaset"]) as client:
        await client.create(
            RSS,
            {
                "metadata": {"name": "bg"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "bg"}},
                    "template": pod_template({"app": "bg"}),
                },
            },
        )

        async def two_pods() -> list[Obj] | None:
            pods = await pods_of(client, "default", "app=bg")
            return pods if len(pods) == 2 else None

        await eventually(two_pods, "two pods")
        await client.delete(RSS, "default", "bg")
        assert await gone(client, RSS, "bg"), "no finalizer: removed at once"

        async def no_pods() -> bool:
            return await pods_of(client, "default", "app=bg") == []

        await eventually(no_pods, "pods collected")
