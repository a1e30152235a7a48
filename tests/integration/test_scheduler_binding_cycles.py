"""The scheduler's binding cycles run beside its decisions, against a real API server."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.integration.conftest import Api
from tests.integration.test_controllers_workloads_support import (
    PODS,
    Obj,
    events_for,
    eventually,
    make_node,
    running,
)

PODS_IN_BURST = 30


async def test_a_burst_of_pods_is_spread_as_if_bound_one_at_a_time(api: Api) -> None:
    async with running(api, ["scheduler"]) as client:
        for name in ("w1", "w2", "w3"):
            await make_node(client, name)
        names = [f"burst-{i}" for i in range(PODS_IN_BURST)]
        await asyncio.gather(
            *(
                client.create(
                    PODS,
                    {
                        "metadata": {"name": n, "labels": {"app": "burst"}},
                        "spec": {"containers": [{"name": "c", "image": "x:1"}]},
                    },
                )
                for n in names
            )
        )

        async def all_scheduled() -> list[Obj] | None:
            listed = (await client.list(PODS, "default", label_selector="app=burst"))["items"]
            done = [p for p in listed if _scheduled(p)]
            return done if len(done) == PODS_IN_BURST else None

        pods = await eventually(all_scheduled, "every pod bound with PodScheduled=True")
        # Decisions count the pods whose binding is still in flight: an even spread.
        assert Counter(p["spec"]["nodeName"] for p in pods) == {"w1": 10, "w2": 10, "w3": 10}
        for pod in pods[:3]:
            name, node = pod["metadata"]["name"], pod["spec"]["nodeName"]
            events = await events_for(client, "default", name)
            assert [(e["reason"], e["message"], e["count"]) for e in events] == [
                ("Scheduled", f"Successfully assigned default/{name} to {node}", 1)
            ]


def _scheduled(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return bool(pod["spec"].get("nodeName")) and any(
        c.get("type") == "PodScheduled" and c.get("status") == "True" for c in conditions
    )
