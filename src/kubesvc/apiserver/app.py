"""The API server: HTTP routing, non-resource endpoints, lifecycle.

``ApiServer`` owns one ``ObjectStore`` per served resource over one storage
backend, answers Kubernetes REST on an aiohttp server, and runs the namespace
lifecycle loop. Every error leaves as a Kubernetes ``Status`` body; an
unexpected exception is logged and answered with 500, never with a trace.

Authentication and TLS slot in as an aiohttp middleware and an SSL context in
``ApiServerSettings``; today the server listens in plain HTTP on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from kubesvc.api import errors
from kubesvc.api import resources as res
from kubesvc.api.jsonenc import dumps
from kubesvc.apiserver import discovery, openapi, openapi_v2, podlogs
from kubesvc.apiserver import negotiation as neg
from kubesvc.apiserver.allocators import (
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_CIDR,
    ServiceAllocators,
)
from kubesvc.apiserver.handlers import Reply, ResourceHandlers
from kubesvc.apiserver.namespaces import NamespaceLifecycle
from kubesvc.apiserver.request_info import RequestInfo, parse
from kubesvc.apiserver.services import ServiceUpkeep
from kubesvc.apiserver.store import ObjectStore, utc_now
from kubesvc.apiserver.strategy import strategy_for
from kubesvc.storage import interface as st

logger = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ApiServerSettings:
    bind_address: str = "127.0.0.1"
    """Loopback by default: the API is unauthenticated until TLS and auth land."""
    port: int = 6443
    """The port kube-apiserver uses; 0 picks a free one (tests)."""
    max_body_bytes: int = neg.MAX_BODY_BYTES
    """Upstream's limit for a request body (3 MiB)."""
    service_cluster_ip_range: str = DEFAULT_SERVICE_CIDR
    """ClusterIPs come from here (kubeadm's default; any IPv4 CIDR from /12 to /29,
    127.0.0.0/8 ranges in loopback mode). The ``kubernetes`` Service takes the first
    address, ``kube-dns`` the tenth."""
    service_node_port_range: str = DEFAULT_NODE_PORT_RANGE
    """NodePorts come from here (kube-apiserver's default; any range in 1-65535)."""


class ApiServer:
    def __init__(
        self,
        backend: st.Backend,
        settings: ApiServerSettings = ApiServerSettings(),
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.clock = clock
        self.service_allocators = ServiceAllocators.from_settings(
            settings.service_cluster_ip_range, settings.service_node_port_range
        )
        self.stores: dict[tuple[str, str], ObjectStore] = {}
        for r in res.RESOURCES:
            strategy = strategy_for(r, service_allocators=self.service_allocators)
            self.stores[(r.group, r.plural)] = ObjectStore(r, strategy, backend, clock=clock)
        self.service_upkeep = ServiceUpkeep(self.stores, self.service_allocators, clock=clock)
        self._upkeep_stop = asyncio.Event()
        self._upkeep: asyncio.Task[None] | None = None
        self.lifecycle = NamespaceLifecycle(self.stores)
        for store in self.stores.values():
            if store.resource.namespaced:
                store._admit_create = self.lifecycle.admitter(store.resource)
        self.handlers = {key: ResourceHandlers(store, clock) for key, store in self.stores.items()}
        self.ready = asyncio.Event()
        self.port = settings.port
        self._runner: web.AppRunner | None = None
        self._watches: set[asyncio.Task[object]] = set()

    # -- lifecycle ---------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body_bytes + 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def start(self) -> None:
        """Bootstrap state and start listening; sets ``ready`` and ``port``."""
        await self.lifecycle.bootstrap()
        # Allocators are rebuilt from the stored Services before any request is served.
        await self.service_upkeep.rebuild()
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.settings.bind_address, self.settings.port, reuse_address=True
        )
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        await self.service_upkeep.ensure_kubernetes_service(self.advertise_address, self.port)
        self._upkeep_stop.clear()
        self._upkeep = asyncio.create_task(self.service_upkeep.run(self._upkeep_stop))
        self.ready.set()

    @property
    def advertise_address(self) -> str:
        """The address the ``kubernetes`` Service's endpoints point at."""
        if self.settings.bind_address in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return self.settings.bind_address

    async def stop(self) -> None:
        if self._upkeep is not None:
            self._upkeep_stop.set()
            self._upkeep.cancel()
            try:
                await self._upkeep
            except asyncio.CancelledError:
                pass
            self._upkeep = None
        for task in list(self._watches):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set."""
        await self.start()
        try:
            await self.lifecycle.run(stop)
        finally:
            await self.stop()

    @property
    def url(self) -> str:
        host = self.settings.bind_address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- dispatch ----------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            resp = await self._dispatch(request)
        except errors.StatusError as exc:
            resp = self._status_response(exc)
        except asyncio.CancelledError:
            raise
        except ConnectionResetError:
            raise
        except Exception as exc:
            logger.exception("request failed", extra={"path": request.path})
            resp = self._status_response(errors.InternalError(f"{type(exc).__name__}: {exc}"))
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request method=%s path=%s status=%s ms=%.2f",
                request.method,
                request.path_qs,
                resp.status,
                (time.perf_counter() - started) * 1000,
            )
        return resp

    @staticmethod
    def _status_response(exc: errors.StatusError) -> web.Response:
        return web.Response(
            body=dumps(exc.to_status()), status=exc.code, content_type="application/json"
        )

    @staticmethod
    def _json(body: Any, status: int = 200, content_type: str = "application/json") -> web.Response:
        resp = web.Response(body=dumps(body), status=status)
        resp.headers["Content-Type"] = content_type
        return resp

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.method in ("GET", "HEAD"):
            static = self._non_resource(request, path)
            if static is not None:
                return await static
        info = parse(request.method, path, request.query)
        if info is None:
            raise errors.NotFoundPath()
        key = (info.group, info.resource)
        handlers = self.handlers.get(key)
        if handlers is None or handlers.resource.version != info.version:
            raise errors.NotFoundPath()
        r = handlers.resource
        if info.subresource and r.subresource(info.subresource.split("/")[0]) is None:
            raise errors.NotFoundPath()
        if r.namespaced is False and info.namespace:
            raise errors.NotFoundPath()
        return await self._resource(request, info, handlers)

    async def _resource(
        self, request: web.Request, info: RequestInfo, h: ResourceHandlers
    ) -> web.StreamResponse:
        verb = info.verb
        if verb == "watch":
            return await self._watch(request, info, h)
        if verb == "get" and info.subresource == "log":
            return await self._log(request, info)
        body = b""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if (
                request.content_length is not None
                and request.content_length > self.settings.max_body_bytes
            ):
                raise errors.RequestEntityTooLarge(
                    f"Request entity too large: limit is {self.settings.max_body_bytes}"
                )
            body = await self._read_body(request)
        reply: Reply
        if verb == "get":
            reply = await h.get(request, info)
        elif verb == "list":
            reply = await h.list(request, info)
        elif verb == "create":
            if info.subresource and info.subresource != "binding":
                raise errors.MethodNotAllowed()
            reply = await h.create(request, info, body)
        elif verb == "update":
            if not info.name:
                raise errors.MethodNotAllowed()
            reply = await h.update(request, info, body)
        elif verb == "patch":
            if not info.name:
                raise errors.MethodNotAllowed()
            reply = await h.patch(request, info, body)
        elif verb == "delete":
            if h.resource.kind == "Namespace":
                self.lifecycle.check_delete(info.name)
            try:
                reply = await h.delete(request, info, body)
            finally:
                if h.resource.kind == "Namespace":
                    self.lifecycle.forget(info.name)
        elif verb == "deletecollection":
            if "deletecollection" not in h.resource.verbs:
                raise errors.MethodNotAllowed()
            reply = await h.delete_collection(request, info, body)
        else:
            raise errors.MethodNotAllowed()
        resp = self._json(reply.body, reply.status)
        for w in reply.warnings:
            resp.headers.add("Warning", _warning_header(w))
        return resp

    async def _watch(
        self, request: web.Request, info: RequestInfo, h: ResourceHandlers
    ) -> web.StreamResponse:
        """Serve a watch; ``stop()`` cancels open watches so shutdown never waits on them."""
        task = asyncio.current_task()
        assert task is not None
        self._watches.add(task)
        try:
            return await h.watch(request, info)
        finally:
            self._watches.discard(task)

    async def _log(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        """``pods/log``, proxied to the node agent; ``stop()`` ends it like a watch."""
        task = asyncio.current_task()
        assert task is not None
        self._watches.add(task)
        try:
            pods, nodes = self.stores[("", "pods")], self.stores[("", "nodes")]
            return await podlogs.serve(request, info, pods, nodes)
        finally:
            self._watches.discard(task)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {limit}")
            chunks.append(chunk)
        return b"".join(chunks)

    # -- non-resource endpoints ----------------------------------------------------
    def _non_resource(
        self, request: web.Request, path: str
    ) -> Awaitable[web.StreamResponse] | None:
        p = path.rstrip("/") or "/"
        simple: dict[str, Callable[[], web.StreamResponse]] = {
            "/version": lambda: self._json(discovery.version_info()),
            "/healthz": lambda: web.Response(text="ok", content_type="text/plain"),
            "/livez": lambda: web.Response(text="ok", content_type="text/plain"),
            "/readyz": lambda: web.Response(text="ok", content_type="text/plain"),
            "/api": lambda: self._api_root(request, core=True),
            "/apis": lambda: self._api_root(request, core=False),
            "/openapi/v3": lambda: self._openapi(request, ""),
            "/openapi/v2": lambda: self._openapi_v2(request),
            "/": lambda: self._json({"paths": sorted(self._paths())}),
        }
        fn = simple.get(p)
        if fn is not None:
            return _done(fn())
        parts = [x for x in p.split("/") if x]
        if parts[:2] == ["openapi", "v3"] and len(parts) > 2:
            return _done(self._openapi(request, "/".join(parts[2:])))
        if p.startswith("/healthz/") or p.startswith("/livez/") or p.startswith("/readyz/"):
            return _done(web.Response(text="ok", content_type="text/plain"))
        if parts and parts[0] == "api" and len(parts) == 2:
            doc = discovery.resource_list("", parts[1])
            return _done(self._json(doc)) if doc else None
        if parts and parts[0] == "apis" and len(parts) == 2:
            group_doc = discovery.legacy_group(parts[1])
            if group_doc is None:
                raise errors.NotFoundPath()
            return _done(self._json(group_doc))
        if parts and parts[0] == "apis" and len(parts) == 3:
            doc = discovery.resource_list(parts[1], parts[2])
            if doc is None:
                raise errors.NotFoundPath()
            return _done(self._json(doc))
        return None

    def _paths(self) -> list[str]:
        out = [
            "/api",
            "/api/v1",
            "/apis",
            "/healthz",
            "/livez",
            "/readyz",
            "/version",
            "/openapi/v2",
            "/openapi/v3",
        ]
        for g, v in res.group_versions():
            if g:
                out += [f"/apis/{g}", f"/apis/{g}/{v}"]
        return out

    def _api_root(self, request: web.Request, *, core: bool) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        if (
            "g=apidiscovery.k8s.io" in accept
            and "as=APIGroupDiscoveryList" in accept
            and "v=v2" in accept
        ):
            doc = discovery.aggregated_core() if core else discovery.aggregated_groups()
            return self._json(doc, content_type=discovery.AGGREGATED_CONTENT_TYPE)
        if core:
            return self._json(discovery.legacy_versions(f"{request.host}"))
        return self._json(discovery.legacy_groups())

    def _openapi(self, request: web.Request, gv_path: str) -> web.StreamResponse:
        found = openapi.document_bytes(gv_path)
        if found is None:
            raise errors.NotFoundPath()
        body, etag = found
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        resp = web.Response(body=body, content_type="application/json")
        resp.headers["ETag"] = etag
        if gv_path:
            resp.headers["Cache-Control"] = "public, immutable"
        else:
            resp.headers["Cache-Control"] = "no-cache, private"
        return resp

    @staticmethod
    def _openapi_v2(request: web.Request) -> web.StreamResponse:
        protobuf = openapi_v2.wants_protobuf(request.headers.get("Accept", ""))
        body = openapi_v2.document_bytes(discovery.KUBERNETES_VERSION, protobuf)
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = (
            openapi_v2.PROTOBUF_CONTENT_TYPE if protobuf else "application/json"
        )
        return resp


async def _done(resp: web.StreamResponse) -> web.StreamResponse:
    return resp


def _warning_header(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
