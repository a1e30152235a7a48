"""EndpointSlice reconciliation at scale, against a running ``kubesvc up`` (controllers on).

Run as ``python -m benchmarks.controllers_load --url URL [--services 1000]
[--pods-per-service 100]``; prints one JSON object with the figures. Everything
happens in a namespace of its own, deleted at the end (``--keep`` leaves it).

1. ``pods``: S x P pods are created directly (C requests in flight), bound to
   a Node of the benchmark's own (so no scheduler touches them), each then
   given a pod IP and ``Ready=True`` through the status subresource, as a node
   agent would. No Service selects them yet, so the endpoint controllers have
   nothing to do. A sentinel pod written last, selected by a sentinel Service,
   marks when the controllers' caches hold every pod (``settle_seconds``: from
   the last pod write until the sentinel's slice shows it).
2. ``converge``: S Services are created, each selecting its P pods. A watch on
   the namespace's EndpointSlices (opened before the first Service) follows the
   controllers' writes; the figure is the time from the first Service create
   to the moment every Service's slices hold its P ready endpoints, and the
   time from the last Service create to that moment. This is the controllers'
   cold start over S x P existing endpoints.
3. ``flip``: one pod's readiness is flipped F times, one flip at a time; each
   latency is from sending the status patch to the slice watch event that
   shows the endpoint's new ``ready`` condition (p50/p99 ms).

The controllers run inside the server process, so the figures include the API
server's work for their writes and watches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

SERVICE_NAME = "kubernetes.io/service-name"
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def pod_ip(n: int) -> str:
    n += 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def ready_status(ip: str, ready: bool) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        }
    }


async def _drive(count: int, concurrency: int, op: Callable[[int], Awaitable[None]]) -> float:
    """Run ``op(0..count-1)`` with ``concurrency`` in flight; seconds taken."""
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            await op(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _check(resp: aiohttp.ClientResponse) -> Any:
    if resp.status >= 300:
        raise RuntimeError(f"{resp.method} {resp.url}: {resp.status} {await resp.text()}")
    return await resp.json()


class SliceWatch:
    """Ready endpoints per Service, from a watch on the namespace's EndpointSlices."""

    def __init__(self) -> None:
        self.slices: dict[str, tuple[str, int]] = {}
        self.ready: dict[str, int] = {}
        self.changed = asyncio.Event()
        self.on_event: Callable[[dict[str, Any]], None] | None = None

    def apply(self, etype: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        service = (obj["metadata"].get("labels") or {}).get(SERVICE_NAME, "")
        count = sum(
            1 for e in obj.get("endpoints") or [] if (e.get("conditions") or {}).get("ready", True)
        )
        old = self.slices.pop(name, None)
        if old is not None:
            self.ready[old[0]] = self.ready.get(old[0], 0) - old[1]
        if etype != "DELETED":
            self.slices[name] = (service, count)
            self.ready[service] = self.ready.get(service, 0) + count
        if self.on_event is not None:
            self.on_event(obj)
        self.changed.set()

    async def run(self, s: aiohttp.ClientSession, url: str, rv: str, selector: str = "") -> None:
        params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "false"}
        if selector:
            params["labelSelector"] = selector
        async with s.get(url, params=params, timeout=aiohttp.ClientTimeout(total=None)) as r:
            if r.status >= 300:
                raise RuntimeError(f"watch {url}: {r.status} {await r.text()}")
            buf = b""
            async for chunk in r.content.iter_any():
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        ev = json.loads(line)
                        if ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            self.apply(ev["type"], ev["object"])


async def run(
    url: str,
    services: int,
    per_service: int,
    concurrency: int,
    flips: int,
    deadline_seconds: float,
    keep: bool,
) -> dict[str, Any]:
    ns = "bench-ctl-" + uuid.uuid4().hex[:6]
    out: dict[str, Any] = {"services": services, "pods_per_service": per_service}
    conn = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=conn) as s:
        async with s.post(f"{url}/api/v1/namespaces", json={"metadata": {"name": ns}}) as r:
            await _check(r)
        node = {"metadata": {"name": ns, "labels": {"kubesvc.io/benchmark": "controllers"}}}
        async with s.post(f"{url}/api/v1/nodes", json=node) as r:
            await _check(r)
        pods_url = f"{url}/api/v1/namespaces/{ns}/pods"
        svc_url = f"{url}/api/v1/namespaces/{ns}/services"
        slices_url = f"{url}/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
        try:
            # 1. Pods with IPs, Ready, selected by nothing yet.
            async def make_pod(n: int) -> None:
                i, j = divmod(n, per_service)
                name = f"p-{i}-{j}"
                body = {
                    "metadata": {"name": name, "labels": {"app": f"s{i}"}},
                    "spec": {
                        "nodeName": ns,
                        "containers": [{"name": "app", "image": "example/app:1"}],
                    },
                }
                async with s.post(pods_url, json=body) as r:
                    await _check(r)
                async with s.patch(
                    f"{pods_url}/{name}/status",
                    data=json.dumps(ready_status(pod_ip(n), True)),
                    headers=STRATEGIC,
                ) as r:
                    await _check(r)

            total_pods = services * per_service
            seconds = await _drive(total_pods, concurrency, make_pod)
            out["pods"] = {"count": total_pods, "seconds": seconds, "rps": 2 * total_pods / seconds}

            async with s.get(slices_url) as r:
                rv = (await _check(r))["metadata"]["resourceVersion"]
            watch = SliceWatch()
            watcher = asyncio.create_task(watch.run(s, slices_url, rv))

            async def until(done: Callable[[], bool], what: str, deadline: float) -> None:
                while not done():
                    if watcher.done():
                        watcher.result()
                        raise RuntimeError("slice watch ended")
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        raise RuntimeError(f"{what}: not reached in {deadline_seconds} s")
                    watch.changed.clear()
                    try:
                        await asyncio.wait_for(watch.changed.wait(), min(left, 5.0))
                    except TimeoutError:
                        pass

            # The barrier: the sentinel pod is the last pod event of the run.
            last_write = time.perf_counter()
            sentinel = {
                "metadata": {"name": "sentinel"},
                "spec": {"selector": {"app": "sentinel"}, "ports": [{"port": 80}]},
            }
            async with s.post(svc_url, json=sentinel) as r:
                await _check(r)

            async def sentinel_pod() -> None:
                body = {
                    "metadata": {"name": "sentinel", "labels": {"app": "sentinel"}},
                    "spec": {
                        "nodeName": ns,
                        "containers": [{"name": "app", "image": "example/app:1"}],
                    },
                }
                async with s.post(pods_url, json=body) as r:
                    await _check(r)
                async with s.patch(
                    f"{pods_url}/sentinel/status",
                    data=json.dumps(ready_status(pod_ip(total_pods), True)),
                    headers=STRATEGIC,
                ) as r:
                    await _check(r)

            await sentinel_pod()
            await until(
                lambda: watch.ready.get("sentinel", 0) >= 1,
                "sentinel",
                time.perf_counter() + deadline_seconds,
            )
            out["pods"]["settle_seconds"] = time.perf_counter() - last_write

            # 2. Services; the watch tells when every one has all its endpoints ready.

            def converged() -> bool:
                return all(watch.ready.get(f"s{i}", 0) >= per_service for i in range(services))

            async def make_service(i: int) -> None:
                body = {
                    "metadata": {"name": f"s{i}"},
                    "spec": {
                        "selector": {"app": f"s{i}"},
                        "ports": [{"port": 80, "targetPort": 8080}],
                    },
                }
                async with s.post(svc_url, json=body) as r:
                    await _check(r)

            started = time.perf_counter()
            created = await _drive(services, concurrency, make_service)
            created_at = time.perf_counter()
            await until(converged, "convergence", started + deadline_seconds)
            done = time.perf_counter()
            watcher.cancel()
            out["converge"] = {
                "endpoints": total_pods,
                "slices": len(watch.slices),
                "services_create_seconds": created,
                "seconds_from_first_service": done - started,
                "seconds_after_last_service": done - created_at,
            }

            # 3. Readiness flips of one pod, each timed to its slice update.
            target, target_ip = "p-0-0", pod_ip(0)
            async with s.get(slices_url, params={"labelSelector": f"{SERVICE_NAME}=s0"}) as r:
                rv = (await _check(r))["metadata"]["resourceVersion"]
            flip_watch = SliceWatch()
            wanted: dict[str, bool] = {}
            seen = asyncio.Event()

            def on_slice(obj: dict[str, Any]) -> None:
                for e in obj.get("endpoints") or []:
                    ready = (e.get("conditions") or {}).get("ready")
                    if (e.get("targetRef") or {}).get("name") == target and ready == wanted.get(
                        "ready"
                    ):
                        seen.set()

            flip_watch.on_event = on_slice
            flip_task = asyncio.create_task(flip_watch.run(s, slices_url, rv, f"{SERVICE_NAME}=s0"))
            await asyncio.sleep(0.2)
            latencies: list[float] = []
            for k in range(flips):
                ready = k % 2 == 1  # first flip makes it not ready, the next ready again, ...
                wanted["ready"] = ready
                seen.clear()
                sent = time.perf_counter()
                async with s.patch(
                    f"{pods_url}/{target}/status",
                    data=json.dumps(ready_status(target_ip, ready)),
                    headers=STRATEGIC,
                ) as r:
                    await _check(r)
                await asyncio.wait_for(seen.wait(), 30)
                latencies.append((time.perf_counter() - sent) * 1000)
            flip_task.cancel()
            out["flip"] = {
                "flips": len(latencies),
                "p50_ms": _pct(latencies, 0.5),
                "p99_ms": _pct(latencies, 0.99),
            }
        finally:
            if not keep:
                async with s.delete(f"{url}/api/v1/namespaces/{ns}") as r:
                    await r.read()
                async with s.delete(f"{url}/api/v1/nodes/{ns}") as r:
                    await r.read()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--url", required=True, help="API server URL of a running `kubesvc up`")
    p.add_argument("--services", type=int, default=1000)
    p.add_argument("--pods-per-service", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--flips", type=int, default=100)
    p.add_argument("--timeout", type=float, default=1800.0, help="convergence deadline, seconds")
    p.add_argument("--keep", action="store_true", help="leave the namespace in place")
    a = p.parse_args()
    result = asyncio.run(
        run(
            a.url,
            a.services,
            a.pods_per_service,
            a.concurrency,
            a.flips,
            a.timeout,
            a.keep,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
