"""Pod start latency and node agent memory, against an API server with a node agent joined.

Run as ``python -m benchmarks.node_load --url URL --pods N [--concurrency 20]
[--agent-pid PID] [--settle 2]``; prints one JSON object with the figures. Everything
happens in a namespace of its own, deleted at the end.

1. A watch on the namespace's pods is opened (and confirmed open) before anything is
   created; every timestamp is this process's monotonic clock.
2. ``--warmup-pods`` pods (default 1) are created, awaited Ready and deleted, so that the
   measured batch does not pay for the agent's first-pod code paths.
3. N pods (``sleep 3600``, no probes) are created with C requests in flight. A pod's
   start latency runs from just before its POST was sent to the first watch event that
   shows its ``Ready=True`` condition. Also recorded: the time until the scheduler bound it
   (``spec.nodeName`` seen), and the time from the first create until all N were Ready.
4. With ``--agent-pid``: ``--settle`` seconds after the last pod became Ready, the agent's
   VmRSS, and the summed VmRSS and Pss of its descendant processes (the pods' processes;
   the RSS sum counts shared pages once per process, the Pss sum shares them out). The
   agent's VmRSS before the warm-up is reported as its idle figure.
5. The N pods are deleted (gracefully: the agent stops their processes, then the pod goes
   away) and awaited gone; pods still there after ``--delete-timeout`` are deleted with
   grace 0 and counted in ``not_deleted``.

The figures and the bookkeeping (``Tracker``, ``startup_figures``, ``descendants``,
``parse_vmrss_kib``) are pure; only ``run`` and the ``/proc`` readers do I/O.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.stats import percentile

PROC = Path("/proc")
KIB_PER_MIB = 1024.0


def pod_body(name: str, grace_seconds: int = 2) -> dict[str, Any]:
    """One benchmark pod: a process that sleeps, no probes, a short termination grace."""
    return {
        "metadata": {"name": name, "labels": {"kubesvc.io/benchmark": "node"}},
        "spec": {
            "terminationGracePeriodSeconds": grace_seconds,
            "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }


def _condition_true(obj: Mapping[str, Any], kind: str) -> bool:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return bool(condition.get("status") == "True")
    return False


def is_ready(obj: Mapping[str, Any]) -> bool:
    """Whether the pod's ``Ready`` condition is ``True``."""
    return _condition_true(obj, "Ready")


def is_scheduled(obj: Mapping[str, Any]) -> bool:
    """Whether the pod is bound to a node (``spec.nodeName`` set or ``PodScheduled=True``)."""
    return bool((obj.get("spec") or {}).get("nodeName")) or _condition_true(obj, "PodScheduled")


@dataclass
class PodTimes:
    """When this driver sent a pod's create and first saw it scheduled, Ready and gone."""

    sent: float | None = None
    scheduled: float | None = None
    ready: float | None = None
    gone: float | None = None


@dataclass
class Tracker:
    """Per-pod timestamps, fed by the pod watch (pure: the caller passes the clock)."""

    pods: dict[str, PodTimes] = field(default_factory=dict)

    def times(self, name: str) -> PodTimes:
        return self.pods.setdefault(name, PodTimes())

    def sent(self, name: str, now: float) -> None:
        """Record that ``name``'s create is being sent now (a fresh pod of that name)."""
        self.pods[name] = PodTimes(sent=now)

    def apply(self, etype: str, obj: Mapping[str, Any], now: float) -> None:
        """Take one watch event; only the first sighting of each state counts."""
        name = str((obj.get("metadata") or {}).get("name", ""))
        times = self.times(name)
        if etype == "DELETED":
            if times.gone is None:
                times.gone = now
            return
        if times.scheduled is None and is_scheduled(obj):
            times.scheduled = now
        if times.ready is None and is_ready(obj):
            times.ready = now

    def count(self, names: Iterable[str], state: str) -> int:
        """How many of ``names`` have reached ``state`` (scheduled, ready or gone)."""
        return sum(1 for n in names if n in self.pods and getattr(self.pods[n], state) is not None)


def latency_summary(values_ms: Sequence[float], prefix: str = "") -> dict[str, float]:
    """p50, p99, min and max of ``values_ms`` (keys prefixed); empty when there are none."""
    if not values_ms:
        return {}
    return {
        f"{prefix}p50_ms": percentile(values_ms, 50.0),
        f"{prefix}p99_ms": percentile(values_ms, 99.0),
        f"{prefix}min_ms": float(min(values_ms)),
        f"{prefix}max_ms": float(max(values_ms)),
    }


def startup_figures(tracker: Tracker, names: Sequence[str]) -> dict[str, float]:
    """The batch's figures: create-to-Ready and create-to-scheduled latencies (ms), and
    the seconds from the first create sent until the last pod was Ready."""
    ready_ms: list[float] = []
    scheduled_ms: list[float] = []
    sent: list[float] = []
    last_ready: float | None = None
    for name in names:
        t = tracker.pods.get(name)
        if t is None or t.sent is None:
            continue
        sent.append(t.sent)
        if t.ready is not None:
            ready_ms.append((t.ready - t.sent) * 1000.0)
            last_ready = t.ready if last_ready is None else max(last_ready, t.ready)
        if t.scheduled is not None:
            scheduled_ms.append((t.scheduled - t.sent) * 1000.0)
    out: dict[str, float] = {
        "pods": float(len(names)),
        "ready": float(len(ready_ms)),
        "not_ready": float(len(names) - len(ready_ms)),
    }
    out.update(latency_summary(ready_ms))
    out.update(latency_summary(scheduled_ms, "scheduled_"))
    if sent and last_ready is not None and len(ready_ms) == len(names):
        out["all_ready_s"] = last_ready - min(sent)
    return out


def parse_vmrss_kib(status: str) -> int | None:
    """The ``VmRSS`` of a /proc/<pid>/status text, in KiB (None for kernel threads)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def parse_pss_kib(smaps_rollup: str) -> int | None:
    """The ``Pss`` of a /proc/<pid>/smaps_rollup text, in KiB: resident memory with each
    shared page divided among the processes that map it (so that sums add up)."""
    for line in smaps_rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


def parse_ppid(stat: str) -> int:
    """The parent PID from a /proc/<pid>/stat line (the command may hold spaces and parens)."""
    return int(stat.rpartition(")")[2].split()[1])


def descendants(parents: Mapping[int, int], root: int) -> set[int]:
    """Every process below ``root`` in the ``pid -> ppid`` map (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found and child != root:
                found.add(child)
                pending.append(child)
    return found


def read_parents(proc: Path = PROC) -> dict[int, int]:
    """``pid -> ppid`` of every live process."""
    parents = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = parse_ppid((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    return parents


def rss_kib(pid: int, proc: Path = PROC) -> int:
    """VmRSS of ``pid`` in KiB; 0 when it is gone or has none."""
    try:
        return parse_vmrss_kib((proc / str(pid) / "status").read_text()) or 0
    except OSError:
        return 0


def pss_kib(pid: int, proc: Path = PROC) -> int:
    """Pss of ``pid`` in KiB; 0 when it is gone or has none."""
    try:
        return parse_pss_kib((proc / str(pid) / "smaps_rollup").read_text()) or 0
    except OSError:
        return 0


def parse_start_ticks(stat: str) -> int:
    """When the process started (field 22 of /proc/<pid>/stat, clock ticks after boot)."""
    return int(stat.rpartition(")")[2].split()[19])


def start_ticks(pids: Iterable[int], proc: Path = PROC) -> dict[int, int]:
    """``pid -> start ticks`` of those of ``pids`` still alive."""
    found = {}
    for pid in pids:
        try:
            found[pid] = parse_start_ticks((proc / str(pid) / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
    return found


def end_leftovers(snapshot: Mapping[int, int], proc: Path = PROC) -> list[int]:
    """SIGKILL the processes of ``snapshot`` (``pid -> start ticks``) still alive; a PID
    whose start time differs now names someone else's process and is left alone."""
    killed = []
    for pid, ticks in start_ticks(snapshot, proc).items():
        if ticks != snapshot[pid]:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(pid)
    return killed


def memory_figures(agent_pid: int, proc: Path = PROC) -> dict[str, float]:
    """The agent's resident memory and that of the processes it started (its pods)."""
    below = descendants(read_parents(proc), agent_pid)
    return {
        "agent_rss_mib": rss_kib(agent_pid, proc) / KIB_PER_MIB,
        "pods_rss_mib": sum(rss_kib(pid, proc) for pid in below) / KIB_PER_MIB,
        "pods_pss_mib": sum(pss_kib(pid, proc) for pid in below) / KIB_PER_MIB,
        "pod_processes": float(len(below)),
    }


async def _drive(
    names: Sequence[str], concurrency: int, op: Callable[[str], Awaitable[None]]
) -> None:
    """Run ``op`` on every name with at most ``concurrency`` in flight."""
    pending = list(reversed(names))

    async def worker() -> None:
        while pending:
            await op(pending.pop())

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(names))))))


async def _check(resp: aiohttp.ClientResponse) -> Any:
    if resp.status >= 300:
        raise RuntimeError(f"{resp.method} {resp.url}: {resp.status} {await resp.text()}")
    return await resp.json()


class PodWatch:
    """A watch on one namespace's pods feeding a ``Tracker``."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.changed = asyncio.Event()
        self.opened = asyncio.Event()

    async def run(self, s: aiohttp.ClientSession, url: str, rv: str) -> None:
        params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "false"}
        async with s.get(url, params=params, timeout=aiohttp.ClientTimeout(total=None)) as r:
            if r.status >= 300:
                raise RuntimeError(f"watch {url}: {r.status} {await r.text()}")
            self.opened.set()
            buf = b""
            async for chunk in r.content.iter_any():
                buf += chunk
                *lines, buf = buf.split(b"\n")
                now = time.perf_counter()
                for line in lines:
                    if line.strip():
                        ev = json.loads(line)
                        if ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            self.tracker.apply(ev["type"], ev["object"], now)
                self.changed.set()
        raise RuntimeError("pod watch ended")


class _Batches:
    """Create a batch of pods and wait until Ready; delete it and wait until gone."""

    def __init__(
        self, s: aiohttp.ClientSession, pods_url: str, watch: PodWatch, task: asyncio.Task[None]
    ) -> None:
        self.s = s
        self.pods_url = pods_url
        self.watch = watch
        self.task = task

    async def until(self, names: Sequence[str], state: str, seconds: float) -> bool:
        deadline = time.perf_counter() + seconds
        tracker = self.watch.tracker
        while tracker.count(names, state) < len(names):
            if self.task.done():
                self.task.result()  # raises what ended the watch
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            self.watch.changed.clear()
            try:
                await asyncio.wait_for(self.watch.changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass
        return True

    async def create(self, names: Sequence[str], concurrency: int, wait_s: float) -> float:
        """Create ``names``; seconds until every POST returned. Waits for Ready."""
        tracker = self.watch.tracker

        async def one(name: str) -> None:
            tracker.sent(name, time.perf_counter())
            async with self.s.post(self.pods_url, json=pod_body(name)) as r:
                await _check(r)

        started = time.perf_counter()
        await _drive(names, concurrency, one)
        created = time.perf_counter() - started
        await self.until(names, "ready", wait_s)
        return created

    async def delete(self, names: Sequence[str], concurrency: int, wait_s: float) -> int:
        """Delete ``names`` gracefully and wait until gone; force what is left. Returns
        how many had to be forced."""

        async def one(name: str, grace: int | None = None) -> None:
            params = {} if grace is None else {"gracePeriodSeconds": str(grace)}
            async with self.s.delete(f"{self.pods_url}/{name}", params=params) as r:
                if r.status != 404:
                    await _check(r)

        await _drive(names, concurrency, one)
        if await self.until(names, "gone", wait_s):
            return 0
        left = [n for n in names if self.watch.tracker.times(n).gone is None]
        await _drive(left, concurrency, lambda n: one(n, 0))
        await self.until(left, "gone", 10.0)
        return len(left)


async def run(
    url: str,
    pods: int,
    concurrency: int,
    warmup_pods: int,
    agent_pid: int | None,
    settle: float,
    ready_s: float,
    delete_s: float,
) -> dict[str, Any]:
    ns = "bench-node-" + uuid.uuid4().hex[:6]
    out: dict[str, Any] = {"concurrency": concurrency, "warmup_pods": warmup_pods}
    conn = aiohttp.TCPConnector(limit=concurrency * 2 + 2)
    async with aiohttp.ClientSession(connector=conn) as s:
        async with s.post(f"{url}/api/v1/namespaces", json={"metadata": {"name": ns}}) as r:
            await _check(r)
        pods_url = f"{url}/api/v1/namespaces/{ns}/pods"
        watch_task: asyncio.Task[None] | None = None
        try:
            if agent_pid is not None:
                out["agent_rss_idle_mib"] = rss_kib(agent_pid) / KIB_PER_MIB
            async with s.get(pods_url) as r:
                rv = (await _check(r))["metadata"]["resourceVersion"]
            watch = PodWatch(Tracker())
            watch_task = asyncio.create_task(watch.run(s, pods_url, rv))
            await asyncio.wait_for(watch.opened.wait(), 10.0)
            batches = _Batches(s, pods_url, watch, watch_task)

            warm = [f"warm-{i}" for i in range(warmup_pods)]
            if warm:
                await batches.create(warm, concurrency, ready_s)
                if watch.tracker.count(warm, "ready") < len(warm):
                    raise RuntimeError(f"warm-up pods not Ready within {ready_s} s")
                await batches.delete(warm, concurrency, delete_s)

            names = [f"p-{i}" for i in range(pods)]
            out["create_s"] = await batches.create(names, concurrency, ready_s)
            out.update(startup_figures(watch.tracker, names))
            if agent_pid is not None:
                await asyncio.sleep(settle)
                out.update(memory_figures(agent_pid))
            started = time.perf_counter()
            out["not_deleted"] = await batches.delete(names, concurrency, delete_s)
            out["delete_all_s"] = time.perf_counter() - started
        finally:
            if watch_task is not None:
                watch_task.cancel()
            async with s.delete(f"{url}/api/v1/namespaces/{ns}") as r:
                await r.read()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--url", required=True, help="API server URL (a node agent must be joined)")
    p.add_argument("--pods", type=int, default=100, help="pods in the measured batch")
    p.add_argument("--concurrency", type=int, default=20, help="creates in flight")
    p.add_argument("--warmup-pods", type=int, default=1)
    p.add_argument("--agent-pid", type=int, default=None, help="report this process's memory")
    p.add_argument("--settle", type=float, default=2.0, help="seconds before reading memory")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds for a batch to be Ready")
    p.add_argument("--delete-timeout", type=float, default=60.0)
    a = p.parse_args()
    result = asyncio.run(
        run(
            a.url,
            a.pods,
            a.concurrency,
            a.warmup_pods,
            a.agent_pid,
            a.settle,
            a.timeout,
            a.delete_timeout,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
