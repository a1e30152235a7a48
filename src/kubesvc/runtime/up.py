"""Composition of a running cluster: storage, API server, and (as they land) the rest.

``serve`` is what ``kubesvc up`` and ``kubesvc server`` run: it opens the store,
starts the API server, writes the kubeconfig and ``server.json`` into the data
directory, applies the given manifests through the API (server-side apply), and
runs until ``stop`` is set; then it stops everything in reverse order.

With ``ServeSettings.controllers`` set (``kubesvc up``), the controller manager
runs beside the API server as one of its clients, over HTTP with the
kubeconfig just written, and so does the node agent (``ServeSettings.node``);
``on_ready`` is called only once every controller has synced its caches and
the node is registered. ``run_controllers`` is the same manager on its own
(``kubesvc controllers``), against any API server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kubesvc.api import resources as res
from kubesvc.api.errors import StatusError
from kubesvc.apiserver.app import ApiServer, ApiServerSettings
from kubesvc.client.factory import InformerFactory
from kubesvc.client.kubeconfig import ClientConfig, load_config
from kubesvc.client.rest import ApiClient
from kubesvc.controllers.context import ControllerContext, ControllerSettings
from kubesvc.controllers.manager import ControllerManager
from kubesvc.node.settings import NodeSettings
from kubesvc.runtime import kubeconfig, manifests, paths
from kubesvc.runtime.node import run_node
from kubesvc.storage.registry import open_backend
from kubesvc.util.tasks import until_stopped

logger = logging.getLogger(__name__)

# apiVersions that Kubernetes removed, with what replaced them (for a helpful hint).
LEGACY_API_VERSIONS = {
    ("extensions/v1beta1", "Deployment"): "apps/v1",
    ("extensions/v1beta1", "DaemonSet"): "apps/v1",
    ("extensions/v1beta1", "ReplicaSet"): "apps/v1",
    ("extensions/v1beta1", "Ingress"): "networking.k8s.io/v1",
    ("networking.k8s.io/v1beta1", "Ingress"): "networking.k8s.io/v1",
    ("apps/v1beta1", "Deployment"): "apps/v1",
    ("apps/v1beta2", "Deployment"): "apps/v1",
}


@dataclass(frozen=True)
class ServeSettings:
    data_dir: Path
    storage: str = ""
    """Storage URL; empty means the sqlite file in the data directory."""
    api: ApiServerSettings = field(default_factory=ApiServerSettings)
    manifests: list[str] = field(default_factory=list)
    controllers: ControllerSettings | None = None
    """Run every controller beside the API server (``up``); None: the API server alone."""
    node: NodeSettings | None = None
    """Run a node agent too (``up``, unless ``--disable-agent``); it drains its pods on stop."""


CONTROLLER_FIELD_MANAGER = "kube-controller-manager"
MANIFEST_FIELD_MANAGER = "kubesvc-up"


class ApplyError(Exception):
    """A manifest the API refused; the message is kubectl-like."""


async def serve(
    settings: ServeSettings, stop: asyncio.Event, on_ready: Callable[[str, Path], None]
) -> None:
    data_dir = paths.prepare(settings.data_dir)
    url = settings.storage or paths.storage_url(data_dir)
    docs = manifests.load(settings.manifests) if settings.manifests else []
    backend = open_backend(url)
    await backend.start()
    server = ApiServer(backend, settings.api)
    try:
        await server.start()
        kc = paths.kubeconfig_path(data_dir)
        kc.write_text(kubeconfig.render(server.url))
        kc.chmod(0o600)
        paths.write_server_info(data_dir, {"server": server.url, "storage": url})
        if docs:
            await apply_manifests(load_config(kc), docs)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(server.lifecycle.run(stop))
            if settings.controllers is not None:
                controllers_ready = asyncio.Event()
                tg.create_task(
                    run_controllers(
                        load_config(kc), settings.controllers, stop, ready=controllers_ready
                    )
                )
                await until_stopped(controllers_ready.wait(), stop)
            if settings.node is not None:
                node_ready = asyncio.Event()
                tg.create_task(
                    run_node(load_config(kc), settings.node, stop, ready=node_ready, drain=True)
                )
                await until_stopped(node_ready.wait(), stop)
            if not stop.is_set():
                on_ready(server.url, kc)
    finally:
        await server.stop()
        await backend.close()


async def run_controllers(
    config: ClientConfig,
    settings: ControllerSettings,
    stop: asyncio.Event,
    *,
    names: list[str] | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the controller manager (``names``, or every controller) until ``stop`` is set.

    ``ready`` is set once every controller has synced its caches.
    """
    async with ApiClient(config, field_manager=CONTROLLER_FIELD_MANAGER) as client:
        manager = ControllerManager(
            ControllerContext(client, InformerFactory(client), settings), names
        )
        async with asyncio.TaskGroup() as tg:
            tg.create_task(manager.run(stop))
            if ready is not None:
                await until_stopped(manager.ready.wait(), stop)
                if manager.ready.is_set():
                    ready.set()


async def apply_manifests(config: ClientConfig, docs: list[manifests.Manifest]) -> None:
    """Server-side apply every manifest, in order, as field manager ``kubesvc-up``."""
    async with ApiClient(config, field_manager=MANIFEST_FIELD_MANAGER) as client:
        for m in docs:
            await apply_one(client, m)


async def apply_one(client: ApiClient, m: manifests.Manifest) -> None:
    doc = m.doc
    api_version, kind = str(doc.get("apiVersion")), str(doc.get("kind"))
    r = res.for_kind(api_version, kind)
    if r is None:
        hint = LEGACY_API_VERSIONS.get((api_version, kind))
        msg = f'{m.source}: no matches for kind "{kind}" in version "{api_version}"'
        if hint:
            msg += f" ({kind} moved to apiVersion {hint})"
        raise ApplyError(msg)
    meta = doc.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise ApplyError(f"{m.source}: {kind} has no metadata.name")
    namespace = str(meta.get("namespace") or "default") if r.namespaced else ""
    try:
        await client.apply(r, doc, namespace=namespace, force=True)
    except StatusError as exc:
        raise ApplyError(
            f'Error from server ({exc.reason}): error when applying "{m.source}": {exc.message}'
        ) from exc
    logger.info("applied manifest kind=%s name=%s", kind, name)
