"""The Deployment controller (with the ReplicaSet controller) against a real API server.

Pods become ready only when a test says so (``set_pod_ready``), so every step
of a rollout can be checked against maxSurge and maxUnavailable.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    DEPLOYMENTS,
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

CONTROLLERS = ["deployment", "replicaset"]
REVISION = "deployment.kubernetes.io/revision"


def deployment(name: str, replicas: int, strategy: Obj | None = None, image: str = "web:1") -> Obj:
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template({"app": name}, image),
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"metadata": {"name": name}, "spec": spec}


async def get_d(client: ApiClient, name: str) -> Obj:
    return await client.get(DEPLOYMENTS, "default", name)


async def rss_of(client: ApiClient, name: str) -> list[Obj]:
    listed = await client.list(RSS, "default", label_selector=f"app={name}")
    # Oldest first; creation timestamps have second precision, so revisions break ties.
    return sorted(
        listed["items"],
        key=lambda rs: (
            rs["metadata"]["creationTimestamp"],
            int(rs["metadata"].get("annotations", {}).get(REVISION, "0")),
        ),
    )


def complete(d: Obj) -> bool:
    s = d.get("status") or {}
    want = d["spec"]["replicas"]
    return (
        s.get("observedGeneration", 0) >= d["metadata"]["generation"]
        and s.get("updatedReplicas", 0) == want
        and s.get("replicas", 0) == want
        and s.get("availableReplicas", 0) == want
    )


async def ready_all(client: ApiClient, name: str) -> None:
    for i, pod in enumerate(await pods_of(client, "default", f"app={name}")):
        if not _ready(pod):
            await set_pod_ready(client, "default", pod["metadata"]["name"], f"10.1.0.{i + 2}")


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


async def roll_out(client: ApiClient, name: str) -> Obj:
    """Make pods ready as they come until the Deployment is complete."""

    async def done() -> Obj | None:
        await ready_all(client, name)
        d = await get_d(client, name)
        return d if complete(d) else None

    return await eventually(done, f"{name} rolled out")


def condition(d: Obj, ctype: str) -> Obj:
    for c in d["status"].get("conditions") or []:
        if c["type"] == ctype:
            return dict(c)
    raise AssertionError(f"no {ctype} condition in {d['status']}")


async def test_a_deployment_creates_a_hashed_replica_set_and_completes(api: Api) -> None:
    async with running(api, CONTROLLERS) as client:
        await client.create(DEPLOYMENTS, deployment("web", 3))
        d = await roll_out(client, "web")
        [rs] = await rss_of(client, "web")
        pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert rs["spec"]["selector"]["matchLabels"] == {
            "app": "web",
            "pod-template-hash": pod_hash,
        }
        assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
        assert rs["metadata"]["annotations"] == {
            REVISION: "1",
            "deployment.kubernetes.io/desired-replicas": "3",
            "deployment.kubernetes.io/max-replicas": "4",
        }
        ref = rs["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"]) == (
            "Deployment",
            "web",
            True,
            True,
        )
        assert d["metadata"]["annotations"][REVISION] == "1"
        assert d["status"]["readyReplicas"] == 3
        available = condition(d, "Available")
        assert (available["status"], available["reason"], available["message"]) == (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
        progressing = condition(d, "Progressing")
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "web-{pod_hash}" has successfully progressed.',
        )
        messages = [e["message"] for e in await events_for(client, "default", "web")]
        assert f"Scaled up replica set web-{pod_hash} from 0 to 3" in messages


async def test_rolling_update_respects_max_surge_and_max_unavailable(api: Api) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    async with running(api, CONTROLLERS) as client:
        await client.create(DEPLOYMENTS, deployment("api", 4, strategy))
        await roll_out(client, "api")
        await client.patch(
            DEPLOYMENTS,
            "default",
            "api",
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}},
            patch_type="strategic",
        )
        steps = 0
        for _ in range(400):
            rss = await rss_of(client, "api")
            pods = await pods_of(client, "default", "app=api")
            assert sum(rs["spec"]["replicas"] for rs in rss) <= 4 + 1, "maxSurge exceeded"
            assert sum(1 for p in pods if _ready(p)) >= 4 - 1, "maxUnavailable exceeded"
            d = await get_d(client, "api")
            if d["metadata"]["generation"] == 2 and complete(d):
                break
            new_pods = [
                p for p in pods if p["spec"]["containers"][0]["image"] == "web:2" and not _ready(p)
            ]
            if new_pods:
                steps += 1
                await set_pod_ready(
                    client, "default", new_pods[0]["metadata"]["name"], f"10.2.0.{steps}"
                )
            else:
                await _settle()
        else:
            raise AssertionError("rollout did not complete")
        assert steps == 4
        old, new = await rss_of(client, "api")
        assert old["spec"]["replicas"] == 0
        assert new["spec"]["replicas"] == 4
        assert new["metadata"]["annotations"][REVISION] == "2"
        assert d["metadata"]["annotations"][REVISION] == "2"
        assert d["status"]["updatedReplicas"] == 4


async def _settle() -> None:
    import asyncio

    await asyncio.sleep(0.02)


async def test_recreate_removes_old_pods_before_creating_new_ones(api: Api) -> None:
    async with running(api, CONTROLLERS) as client:
        await client.create(DEPLOYMENTS, deployment("batch", 3, {"type": "Recreate"}))
        await roll_out(client, "batch")
        await client.patch(
            DEPLOYMENTS,
            "default",
            "batch",
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}},
            patch_type="strategic",
        )
        for _ in range(400):
            pods = await pods_of(client, "default", "app=batch")
            images = {p["spec"]["containers"][0]["image"] for p in pods}
            assert images != {"web:1", "web:2"}, "old and new pods ran together"
            if images == {"web:2"} and len(pods) == 3:
                break
            await _settle()
        else:
            raise AssertionError("new pods never came")
        d = await roll_out(client, "batch")
        assert d["metadata"]["annotations"][REVISION] == "2"


async def test_rollout_undo_as_kubectl_does_it_revives_the_old_replica_set(api: Api) -> None:
    async with running(api, CONTROLLERS) as client:
        await client.create(DEPLOYMENTS, deployment("shop", 2))
        await roll_out(client, "shop")
        await client.patch(
            DEPLOYMENTS,
            "default",
            "shop",
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}},
            patch_type="strategic",
        )
        await roll_out(client, "shop")
        first, _ = await rss_of(client, "shop")
        assert first["metadata"]["annotations"][REVISION] == "1"
        # kubectl rollout undo: the previous revision's template, without the hash label,
        # replaces the Deployment's, by JSON patch (polymorphichelpers/rollback.go).
        d = await get_d(client, "shop")
        template: dict[str, Any] = copy.deepcopy(first["spec"]["template"])
        del template["metadata"]["labels"]["pod-template-hash"]
        annotations = {REVISION: d["metadata"]["annotations"][REVISION]}
        await client.patch(
            DEPLOYMENTS,
            "default",
            "shop",
            [
                {"op": "replace", "path": "/spec/template", "value": template},
                {"op": "replace", "path": "/metadata/annotations", "value": annotations},
            ],
            patch_type="json",
        )
        d = await roll_out(client, "shop")
        assert d["metadata"]["annotations"][REVISION] == "3"
        by_name = {r["metadata"]["name"]: r for r in await rss_of(client, "shop")}
        revived = by_name[first["metadata"]["name"]]
        [retired] = [r for n, r in by_name.items() if n != first["metadata"]["name"]]
        assert revived["metadata"]["annotations"][REVISION] == "3"
        assert (
            revived["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        )
        assert (revived["spec"]["replicas"], retired["spec"]["replicas"]) == (2, 0)
        images = {
            p["spec"]["containers"][0]["image"]
            for p in await pods_of(client, "default", "app=shop")
        }
        assert images == {"web:1"}


async def test_scaling_a_deployment_scales_its_replica_set(api: Api) -> None:
    async with running(api, CONTROLLERS) as client:
        await client.create(DEPLOYMENTS, deployment("scale", 2))
        await roll_out(client, "scale")
        await client.patch(
            DEPLOYMENTS, "default", "scale", {"spec": {"replicas": 5}}, subresource="scale"
        )
        d = await roll_out(client, "scale")
        assert d["status"]["replicas"] == 5
        [rs] = await rss_of(client, "scale")
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"
