"""Load generator for the API server: creates, gets, lists and watch delivery over HTTP.

Run as ``python -m benchmarks.apiload --url URL --count N --concurrency C`` against a
running ``kubesvc server``; prints one JSON object with the figures. The scenario
module starts the server (pinned to one core) and this generator (pinned to the
other), so the two do not share a core.

What it measures, in order, in one namespace of its own:

1. ``create``: N ConfigMaps, C requests in flight; requests/s and p50/p99 ms.
2. ``get``: N GETs of random ones, C in flight.
3. ``list``: the time to list all N (median of 3), as JSON.
4. ``watch``: a watch is open; W updates are sent one after another; for each the
   time from sending the PUT to the watch event arriving (p50/p99 ms).
5. ``services``: N Services created, then the server's resident memory (VmRSS of
   ``--pid``) with them stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


async def _drive(
    count: int, concurrency: int, op: Callable[[int], Awaitable[None]]
) -> dict[str, float]:
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            t0 = time.perf_counter()
            await op(i)
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "rps": count / elapsed,
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
        "seconds": elapsed,
    }


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def run(
    url: str, count: int, concurrency: int, watch_updates: int, pid: int
) -> dict[str, Any]:
    ns = "bench-" + uuid.uuid4().hex[:6]
    out: dict[str, Any] = {}
    conn = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=conn) as s:

        async def check(resp: aiohttp.ClientResponse) -> None:
            if resp.status >= 300:
                raise RuntimeError(f"{resp.method} {resp.url}: {resp.status} {await resp.text()}")
            await resp.read()

        async with s.post(f"{url}/api/v1/namespaces", json={"metadata": {"name": ns}}) as r:
            await check(r)
        base = f"{url}/api/v1/namespaces/{ns}/configmaps"

        async def create(i: int) -> None:
            body = {
                "metadata": {"name": f"cm-{i}", "labels": {"bench": "yes"}},
                "data": {"index": str(i), "payload": "x" * 200},
            }
            async with s.post(base, json=body) as r:
                await check(r)

        out["create"] = await _drive(count, concurrency, create)

        async def get(i: int) -> None:
            async with s.get(f"{base}/cm-{random.randrange(count)}") as r:
                await check(r)

        out["get"] = await _drive(count, concurrency, get)

        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            async with s.get(base) as r:
                data = await r.json()
            times.append(time.perf_counter() - t0)
            assert len(data["items"]) == count
        out["list"] = {"seconds": statistics.median(times), "items": count}

        # Watch delivery: one update at a time, measured from send to event.
        async with s.get(base, params={"limit": "1"}) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        sent: dict[str, float] = {}
        delays: list[float] = []
        got_all = asyncio.Event()

        async def watcher() -> None:
            async with s.get(
                base,
                params={"watch": "1", "resourceVersion": rv, "fieldSelector": "metadata.name=cm-0"},
                timeout=aiohttp.ClientTimeout(total=None),
            ) as r:
                async for line in r.content:
                    ev = json.loads(line)
                    token = ev["object"].get("data", {}).get("token", "")
                    if token in sent:
                        delays.append((time.perf_counter() - sent.pop(token)) * 1000)
                        waiting.set()
                        if len(delays) >= watch_updates:
                            got_all.set()
                            return

        waiting = asyncio.Event()
        task = asyncio.create_task(watcher())
        await asyncio.sleep(0.2)
        for i in range(watch_updates):
            token = f"t{i}"
            patch = {"data": {"token": token}}
            waiting.clear()
            sent[token] = time.perf_counter()
            async with s.patch(
                f"{base}/cm-0",
                data=json.dumps(patch),
                headers={"Content-Type": "application/merge-patch+json"},
            ) as r:
                await check(r)
            await asyncio.wait_for(waiting.wait(), 5)
        await asyncio.wait_for(got_all.wait(), 10)
        task.cancel()
        out["watch"] = {
            "p50_ms": _pct(delays, 0.5),
            "p99_ms": _pct(delays, 0.99),
            "events": len(delays),
        }

        # Resident memory with N Services stored.
        sbase = f"{url}/api/v1/namespaces/{ns}/services"

        async def create_svc(i: int) -> None:
            body = {
                "metadata": {"name": f"svc-{i}", "labels": {"app": f"a{i % 50}"}},
                "spec": {
                    "selector": {"app": f"a{i % 50}"},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                },
            }
            async with s.post(sbase, json=body) as r:
                await check(r)

        out["services_create"] = await _drive(count, concurrency, create_svc)
        if pid:
            out["rss_mib_with_services"] = _rss_kib(pid) / 1024
        async with s.delete(f"{url}/api/v1/namespaces/{ns}") as r:
            await r.read()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--watch-updates", type=int, default=500)
    p.add_argument("--pid", type=int, default=0, help="server pid, for its resident memory")
    a = p.parse_args()
    result = asyncio.run(run(a.url, a.count, a.concurrency, a.watch_updates, a.pid))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
