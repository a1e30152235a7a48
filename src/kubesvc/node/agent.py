"""The node agent: registers the Node and runs the pods bound to it, one worker each.

``NodeAgent.run(stop)``:

1. starts its log endpoint (the API server proxies ``pods/log`` to it) and
   registers the Node, then keeps the Lease and status fresh;
2. lists what a previous agent left on this node (container records, sandboxes)
   and watches the pods bound here (``spec.nodeName``), plus Services,
   ConfigMaps and Secrets for environments and volumes;
3. gives every pod a ``PodWorker``, handing it the containers a previous agent
   started for it (re-adoption); what belongs to no pod any more is stopped
   and removed;
4. on ``stop``: with ``drain`` every pod is stopped (``kubesvc up`` exiting);
   without it the pods keep running for the next agent to adopt (kubelet's
   behaviour on restart).

Informer handlers only hand the new pod version to its worker; all API writes
happen in workers and the registration loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from typing import Any

from kubesvc.api.errors import NotFound, StatusError
from kubesvc.client.errors import ClientError
from kubesvc.client.events import EventRecorder
from kubesvc.client.factory import InformerFactory
from kubesvc.client.rest import ApiClient, resolve
from kubesvc.node import logsource, nodeobj, podconfig
from kubesvc.node.layout import StateDir
from kubesvc.node.logs.index import LogIndexer
from kubesvc.node.nodeobj import gather_facts
from kubesvc.node.podworker import PodWorker
from kubesvc.node.registration import NodeRegistration
from kubesvc.node.runtime.base import ContainerHandle, ContainerRuntime
from kubesvc.node.runtime.process import ProcessRuntime
from kubesvc.node.sandbox.base import Sandbox
from kubesvc.node.sandbox.registry import make_sandbox
from kubesvc.node.server import KubeletServer, LogError, LogLocation
from kubesvc.node.settings import NodeSettings
from kubesvc.util.clock import Clock, RealClock
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
PODS = resolve(("v1", "Pod"))
SERVICES = resolve(("v1", "Service"))
CONFIG_MAPS = resolve(("v1", "ConfigMap"))
SECRETS = resolve(("v1", "Secret"))
COMPONENT = "kubelet"
START_CONCURRENCY = 4
"""Pods starting at once (``PodWorker``'s start slots): a burst of pods is started a few
at a time, each pod running sooner, instead of all of them together at the end."""


class NodeAgent:
    def __init__(
        self,
        api: ApiClient,
        settings: NodeSettings,
        *,
        runtime: ContainerRuntime | None = None,
        sandbox: Sandbox | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.api = api
        self.settings = settings
        self.clock: Clock = clock or RealClock()
        self.state = StateDir(settings.state_dir)
        self.runtime: ContainerRuntime = runtime or ProcessRuntime(self.state)
        self.sandbox: Sandbox = sandbox or make_sandbox(settings, self.state)
        self.indexer = LogIndexer(self.clock)
        self.informers = InformerFactory(api)
        self.pods = self.informers.informer(
            PODS, field_selector=f"spec.nodeName={settings.node_name}"
        )
        self.services = self.informers.informer(SERVICES)
        self.config_maps = self.informers.informer(CONFIG_MAPS)
        self.secrets = self.informers.informer(SECRETS)
        self.recorder = EventRecorder(api, COMPONENT, host=settings.node_name, clock=self.clock)
        self.workers: dict[str, PodWorker] = {}
        self.removed: set[str] = set()
        """UIDs whose worker ended by removing the pod from the API: events about them still
        on their way (echoes of its last status writes) start no new worker."""
        self.start_slots = asyncio.Semaphore(START_CONCURRENCY)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.adoptable: dict[str, list[ContainerHandle]] = {}
        self.side_tasks: set[asyncio.Task[bool]] = set()
        self.ready = asyncio.Event()
        self.server: KubeletServer | None = None
        self.allocatable: dict[str, str] = {}

    # -- running ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        self.state.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.server = KubeletServer(self, self.settings.kubelet_address, self.settings.kubelet_port)
        await self.server.start()
        facts = gather_facts(
            self.settings.node_name,
            self.sandbox.node_ip,
            self.settings.pod_cidr,
            self.runtime.name,
            f"{self.settings.kubelet_address}:{self.server.port}",
            self.settings.network_mode,
        )
        self.allocatable = nodeobj.capacity(facts)
        registration = NodeRegistration(self.api, facts, self.settings, self.clock)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(registration.run(stop))
                tg.create_task(self.indexer.run(stop))
                tg.create_task(self.informers.run(stop))
                await until_stopped(registration.registered.wait(), stop)
                await until_stopped(self.informers.wait_for_sync(), stop)
                if stop.is_set():
                    return
                await self._adopt()
                self.pods.add_handlers(
                    on_add=self._pod_added,
                    on_update=lambda old, new: self._pod_added(new),
                    on_delete=self._pod_deleted,
                )
                self.ready.set()
                logger.info("node agent ready node=%s pods=%d", facts.name, len(self.workers))
                await stop.wait()
                await self._shutdown(drain)
        finally:
            await self.server.stop()

    async def _adopt(self) -> None:
        """Hand what a previous agent left to the pods' workers; remove the rest."""
        grouped: dict[str, list[ContainerHandle]] = defaultdict(list)
        for handle in self.runtime.adopt():
            grouped[handle.pod_uid].append(handle)
        self.adoptable = dict(grouped)
        live = {str(p["metadata"].get("uid")) for p in self.pods.list()}
        for pod in self.pods.list():
            self._pod_added(pod)
        orphans = (set(grouped) | set(self.sandbox.existing())) - live
        for uid in orphans:
            await self._remove_orphan(uid, grouped.get(uid, []))

    async def _remove_orphan(self, uid: str, handles: list[ContainerHandle]) -> None:
        logger.info("removing leftovers of a pod that is gone uid=%s", uid)
        await asyncio.gather(*(self.runtime.stop(h, 0) for h in handles))
        for h in handles:
            self.runtime.remove(h)
        try:
            await self.sandbox.teardown(uid)
        except Exception as exc:  # logged, `kubesvc node --cleanup` sweeps
            logger.warning("orphan sandbox teardown failed uid=%s error=%s", uid, exc)
        podconfig.remove_pod_files(self.settings, uid)

    async def _shutdown(self, drain: bool) -> None:
        if drain:
            for worker in self.workers.values():
                worker.vanished()
            tasks = list(self.tasks.values())
            if tasks:
                await asyncio.wait(tasks)
        tasks = list(self.tasks.values())  # workers leave ``self.tasks`` as they end
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except BaseException:  # each worker already logged its end
                pass

    # -- informer handlers --------------------------------------------------------------
    def _pod_added(self, pod: Obj) -> None:
        uid = str(pod["metadata"].get("uid") or "")
        if uid in self.removed:
            return
        worker = self.workers.get(uid)
        if worker is not None:
            worker.update(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") and uid not in self.adoptable:
            if pod["metadata"].get("deletionTimestamp"):
                podconfig.remove_pod_files(self.settings, uid)  # its logs, kept until now
                finishing = asyncio.ensure_future(self.finish(pod))
                self.side_tasks.add(finishing)
                finishing.add_done_callback(self.side_tasks.discard)
            return  # finished before this agent started: nothing to run
        worker = PodWorker(self, pod, self.adoptable.pop(uid, []))
        worker.update(pod)
        self.workers[uid] = worker
        task = asyncio.ensure_future(worker.run())
        self.tasks[uid] = task
        task.add_done_callback(functools.partial(self._worker_done, uid))

    def _pod_deleted(self, pod: Obj) -> None:
        uid = str(pod["metadata"].get("uid") or "")
        self.removed.discard(uid)
        worker = self.workers.get(uid)
        if worker is not None:
            worker.vanished()

    def _worker_done(self, uid: str, task: asyncio.Task[None]) -> None:
        worker = self.workers.pop(uid, None)
        self.tasks.pop(uid, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("pod worker failed uid=%s", uid, exc_info=task.exception())
        elif worker is not None and worker.removed and self._still_listed(worker):
            self.removed.add(uid)  # forgotten when the informer shows the deletion

    def _still_listed(self, worker: PodWorker) -> bool:
        meta = worker.pod["metadata"]
        listed = self.pods.get(str(meta.get("namespace") or ""), str(meta["name"]))
        return listed is not None and listed["metadata"].get("uid") == worker.uid

    # -- PodHost ------------------------------------------------------------------------
    def sources(self) -> podconfig.Sources:
        return podconfig.Sources(
            services=self.services,
            config_maps=self.config_maps,
            secrets=self.secrets,
            allocatable=self.allocatable,
        )

    async def event(self, pod: Obj, warning: bool, reason: str, message: str) -> None:
        if warning:
            await self.recorder.warning(pod, reason, message)
        else:
            await self.recorder.normal(pod, reason, message)

    async def patch_status(self, pod: Obj, status: Obj) -> Obj:
        meta = pod["metadata"]
        body = dict(status)
        for key in pod.get("status") or {}:
            body.setdefault(key, None)
        return await self.api.patch(
            PODS,
            str(meta.get("namespace")),
            str(meta["name"]),
            {"status": body},
            subresource="status",
        )

    async def finish(self, pod: Obj) -> bool:
        meta = pod["metadata"]
        try:
            await self.api.delete(
                PODS,
                str(meta.get("namespace")),
                str(meta["name"]),
                grace_period_seconds=0,
                uid=str(meta.get("uid") or ""),
            )
        except NotFound:
            return True
        except (StatusError, ClientError) as exc:
            if getattr(exc, "reason", "") == "Conflict":
                return True  # a newer pod of the same name: not ours to delete
            logger.warning("pod not removed pod=%s error=%s", meta.get("name"), exc)
            return False
        return True

    def track_log(self, handle: ContainerHandle) -> None:
        self.indexer.track(handle.log_path, handle.log_path.with_suffix(".idx"))

    def untrack_log(self, handle: ContainerHandle) -> None:
        self.indexer.untrack(handle.log_path)

    # -- LogSource --------------------------------------------------------------------------
    def locate(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> LogLocation | LogError:
        return logsource.locate(self.workers.values(), namespace, pod, container, previous)
