"""DaemonSet controller and scheduler against a real API server (nodes made by the tests)."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    DAEMONSETS,
    NODES,
    PODS,
    RSS,
    Obj,
    events_for,
    eventually,
    make_node,
    pod_template,
    pods_of,
    running,
    set_pod_ready,
)

from kubesvc.client.rest import ApiClient


def daemonset(
    name: str, image: str = "agent:1", node_selector: dict[str, str] | None = None
) -> Obj:
    template = pod_template({"app": name}, image)
    if node_selector:
        template["spec"]["nodeSelector"] = node_selector
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
    }


async def nodes_with_pods(client: ApiClient, selector: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pod in await pods_of(client, "default", selector):
        out.setdefault(pod["spec"].get("nodeName", ""), []).append(pod["metadata"]["name"])
    return out


async def test_a_daemonset_runs_one_pod_per_eligible_node(api: Api) -> None:
    async with running(api, ["daemonset"]) as client:
        await make_node(client, "n1", labels={"role": "edge"})
        await make_node(client, "n2", labels={"role": "edge"})
        await make_node(client, "n3", labels={"role": "edge"}, ready=False)
        await make_node(client, "n4")
        await make_node(
            client,
            "n5",
            labels={"role": "edge"},
            taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}],
        )
        await make_node(client, "n6", labels={"role": "edge"}, unschedulable=True)
        await client.create(DAEMONSETS, daemonset("agent", node_selector={"role": "edge"}))

        async def placed() -> dict[str, list[str]] | None:
            got = await nodes_with_pods(client, "app=agent")
            return got if set(got) == {"n1", "n2", "n6"} else None

        got = await eventually(placed, "one pod on each eligible node")
        assert all(len(names) == 1 for names in got.values())
        pod = (await pods_of(client, "default", "app=agent"))[0]
        assert "controller-revision-hash" in pod["metadata"]["labels"]
        keys = {t["key"] for t in pod["spec"]["tolerations"]}
        assert "node.kubernetes.io/unschedulable" in keys

        for i, p in enumerate(await pods_of(client, "default", "app=agent")):
            await set_pod_ready(client, "default", p["metadata"]["name"], f"10.3.0.{i + 1}")

        async def status() -> Obj | None:
            ds = await client.get(DAEMONSETS, "default", "agent")
            s = ds.get("status") or {}
            return s if s.get("numberAvailable") == 3 else None

        s = await eventually(status, "three available")
        assert (
            s["desiredNumberScheduled"],
            s["currentNumberScheduled"],
            s["numberReady"],
            s["updatedNumberScheduled"],
            s["numberMisscheduled"],
            s["observedGeneration"],
        ) == (3, 3, 3, 3, 0, 1)

        # A node that stops matching loses its pod; a new matching node gets one.
        await client.patch(NODES, "", "n2", {"metadata": {"labels": {"role": "core"}}})
        await make_node(client, "n7", labels={"role": "edge"})

        async def moved() -> dict[str, list[str]] | None:
            got = await nodes_with_pods(client, "app=agent")
            return got if set(got) == {"n1", "n6", "n7"} else None

        await eventually(moved, "pods follow the nodes")


async def test_a_daemonset_rolls_out_a_new_template_one_node_at_a_time(api: Api) -> None:
    async with running(api, ["daemonset"]) as client:
        for name in ("a", "b", "c"):
            await make_node(client, name)
        await client.create(DAEMONSETS, daemonset("log"))

        async def ready_all() -> None:
            for i, p in enumerate(await pods_of(client, "default", "app=log")):
                conds = (p.get("status") or {}).get("conditions") or []
                if not any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                    await set_pod_ready(client, "default", p["metadata"]["name"], f"10.4.0.{i}")

        async def rolled(image: str) -> list[Obj] | None:
            await ready_all()
            pods = await pods_of(client, "default", "app=log")
            images = {p["spec"]["containers"][0]["image"] for p in pods}
            ds = await client.get(DAEMONSETS, "default", "log")
            done = (ds.get("status") or {}).get("numberAvailable") == 3
            return pods if done and images == {image} and len(pods) == 3 else None

        await eventually(lambda: rolled("agent:1"), "first rollout")
        await client.patch(
            DAEMONSETS,
            "default",
            "log",
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "agent:2"}]}}}},
            patch_type="strategic",
        )
        for _ in range(300):
            pods = await pods_of(client, "default", "app=log")
            old_alive = [p for p in pods if p["spec"]["containers"][0]["image"] == "agent:1"]
            # maxUnavailable 1: never more than one node without its daemon pod.
            assert len(pods) >= 2
            if not old_alive and len(pods) == 3:
                break
            await ready_all()
        await eventually(lambda: rolled("agent:2"), "second rollout")


async def test_the_scheduler_spreads_replicas_and_avoids_host_port_conflicts(api: Api) -> None:
    async with running(api, ["scheduler", "replicaset"]) as client:
        await make_node(client, "w1")
        await make_node(client, "w2")
        await make_node(client, "w3", labels={"disk": "ssd"})
        await client.create(
            RSS,
            {
                "metadata": {"name": "spread"},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "spread"}},
                    "template": pod_template({"app": "spread"}),
                },
            },
        )

        async def bound() -> dict[str, list[str]] | None:
            got = await nodes_with_pods(client, "app=spread")
            return got if "" not in got and sum(map(len, got.values())) == 3 else None

        got = await eventually(bound, "three bound pods")
        assert sorted(got) == ["w1", "w2", "w3"], "one replica per node"
        pod = (await pods_of(client, "default", "app=spread"))[0]
        events = await events_for(client, "default", pod["metadata"]["name"])
        node = pod["spec"]["nodeName"]
        assert (
            "Scheduled",
            f"Successfully assigned default/{pod['metadata']['name']} to {node}",
        ) in {(e["reason"], e["message"]) for e in events}

        # hostPort 8080 fits on each node once; a fourth pod has nowhere to go.
        def host_port_pod(name: str, selector: dict[str, str] | None = None) -> Obj:
            spec: Obj = {
                "containers": [
                    {
                        "name": "c",
                        "image": "x:1",
                        "ports": [{"containerPort": 80, "hostPort": 8080}],
                    }
                ]
            }
            if selector:
                spec["nodeSelector"] = selector
            return {"metadata": {"name": name, "labels": {"app": "hp"}}, "spec": spec}

        for i in range(3):
            await client.create(PODS, host_port_pod(f"hp{i}"))
        got = await eventually(
            lambda: _all_bound(client, "app=hp", 3), "three host-port pods bound"
        )
        assert sorted(got) == ["w1", "w2", "w3"]
        await client.create(PODS, host_port_pod("hp-extra"))

        async def failed() -> list[Obj] | None:
            evs = await events_for(client, "default", "hp-extra")
            return [e for e in evs if e["reason"] == "FailedScheduling"] or None

        [event] = await eventually(failed, "FailedScheduling")
        assert event["type"] == "Warning"
        assert event["message"] == (
            "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod "
            "ports. preemption: 0/3 nodes are available: 3 No preemption victims found for "
            "incoming pod."
        )
        pod = await client.get(PODS, "default", "hp-extra")
        cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
        assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")

        # Freeing a port on a node lets the pending pod in.
        await client.delete(PODS, "default", "hp1")

        async def rescheduled() -> Obj | None:
            p = await client.get(PODS, "default", "hp-extra")
            return p if p["spec"].get("nodeName") else None

        await eventually(rescheduled, "hp-extra bound after a port was freed")


async def _all_bound(client: ApiClient, selector: str, n: int) -> dict[str, list[str]] | None:
    got = await nodes_with_pods(client, selector)
    return got if "" not in got and sum(map(len, got.values())) == n else None


async def test_unschedulable_pods_wait_with_an_upstream_like_message(api: Api) -> None:
    async with running(api, ["scheduler"]) as client:
        await make_node(client, "cordoned", unschedulable=True)
        await make_node(client, "down", ready=False)
        await make_node(client, "plain")
        await client.create(
            PODS,
            {
                "metadata": {"name": "picky"},
                "spec": {
                    "nodeSelector": {"disk": "ssd"},
                    "containers": [{"name": "c", "image": "x:1"}],
                },
            },
        )

        async def failed() -> list[Obj] | None:
            evs = await events_for(client, "default", "picky")
            return [e for e in evs if e["reason"] == "FailedScheduling"] or None

        [event] = await eventually(failed, "FailedScheduling")
        assert event["message"] == (
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
            "1 node(s) were unschedulable. preemption: 0/3 nodes are available: "
            "3 Preemption is not helpful for scheduling."
        )
        # A matching node arrives: the pod is bound without any other change.
        await make_node(client, "fast", labels={"disk": "ssd"})

        async def bound() -> Obj | None:
            p = await client.get(PODS, "default", "picky")
            return p if p["spec"].get("nodeName") == "fast" else None

        await eventually(bound, "picky bound to the new node")
