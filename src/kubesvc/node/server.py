"""The agent's own HTTP endpoint (kubelet's port 10250): container logs for the API server.

Routes:

* ``GET /healthz``: ``ok``.
* ``GET /containerLogs/{namespace}/{pod}/{container}``: the log, as ``text/plain``
  in chunks (streamed for ``follow``). Query parameters are kubelet's:
  ``follow``, ``previous``, ``timestamps``, ``tailLines`` (or the old ``tail``,
  where ``all`` means everything), ``sinceSeconds``, ``sinceTime`` (RFC 3339),
  ``limitBytes``. A query that does not decode is a 400 and one that breaks
  PodLogOptions' rules a 422, with kubelet's bodies.

Which file answers is the agent's business: it implements ``LogSource``, whose
``locate`` returns a ``LogLocation`` (the log, its index, and whether that
container still runs) or a ``LogError`` (status and kubelet's message; the
helpers below build the usual ones). The server only reads files.

The endpoint is plain HTTP without authentication, so it listens on loopback
by default (``NodeSettings.kubelet_address``); the API server refuses to proxy
to any address that is not this machine's (``apiserver.podlogs``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aiohttp import web

from kubesvc.node.logs.read import LogOptions, follow
from kubesvc.util.clock import Clock, RealClock

logger = logging.getLogger(__name__)

UNDECODABLE = '{"message": "Unable to decode query."}'
INVALID = '{"message": "Invalid request."}'


@dataclass(frozen=True)
class LogLocation:
    log_path: Path
    index_path: Path
    running: Callable[[], bool]
    """Whether the process writing ``log_path`` still runs (False for a previous attempt)."""


@dataclass(frozen=True)
class LogError:
    status: int
    message: str


class LogSource(Protocol):
    def locate(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> LogLocation | LogError: ...


# kubelet's answers, for LogSource implementations --------------------------------------
def pod_not_found(pod: str) -> LogError:
    return LogError(404, f'pod "{pod}" does not exist')


def container_not_found(container: str, pod: str) -> LogError:
    return LogError(404, f'container "{container}" not found in pod "{pod}"')


def waiting_to_start(container: str, pod: str, reason: str) -> LogError:
    """The container has not run yet (``reason``: ContainerCreating, PodInitializing...)."""
    return LogError(400, f'container "{container}" in pod "{pod}" is waiting to start: {reason}')


def previous_not_found(container: str, pod: str) -> LogError:
    return LogError(400, f'previous terminated container "{container}" in pod "{pod}" not found')


def terminated(container: str, pod: str) -> LogError:
    """The container ended and its log is gone."""
    return LogError(400, f'container "{container}" in pod "{pod}" is terminated')


# the query -------------------------------------------------------------------------------
def _flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as Kubernetes decodes it: absent, "0" or "false" is False."""
    if name not in query:
        return False
    return query[name] != "0" and query[name].lower() != "false"


def _int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    return None if value is None else int(value)


def parse_query(query: Mapping[str, str]) -> tuple[LogOptions, bool] | LogError:
    """(options, previous) from kubelet's query parameters, or kubelet's 400/422."""
    try:
        tail = query.get("tail")
        tail_lines = _int(query, "tailLines")
        if tail is not None:
            tail_lines = None if tail == "all" else int(tail)
        since_time = None
        if query.get("sinceTime"):
            since_time = datetime.fromisoformat(query["sinceTime"])
            if since_time.tzinfo is None:
                raise ValueError("sinceTime without a zone")
        opts = LogOptions(
            follow=_flag(query, "follow"),
            tail_lines=tail_lines,
            since_seconds=_int(query, "sinceSeconds"),
            since_time=since_time,
            timestamps=_flag(query, "timestamps"),
            limit_bytes=_int(query, "limitBytes"),
        )
    except ValueError:
        return LogError(400, UNDECODABLE)
    if (
        (opts.tail_lines is not None and opts.tail_lines < 0)
        or (opts.limit_bytes is not None and opts.limit_bytes < 1)
        or (opts.since_seconds is not None and opts.since_seconds < 1)
        or (opts.since_seconds is not None and opts.since_time is not None)
    ):
        return LogError(422, INVALID)
    return opts, _flag(query, "previous")


# the app ---------------------------------------------------------------------------------
class _Logs:
    def __init__(self, source: LogSource, clock: Clock, poll: float) -> None:
        self.source = source
        self.clock = clock
        self.poll = poll
        self.streams: set[asyncio.Task[object]] = set()

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", content_type="text/plain")

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        parsed = parse_query(request.query)
        if isinstance(parsed, LogError):
            return _error(parsed)
        opts, previous = parsed
        found = self.source.locate(m["namespace"], m["pod"], m["container"], previous)
        if isinstance(found, LogError):
            return _error(found)
        task = asyncio.current_task()
        if task is not None:
            self.streams.add(task)
        try:
            return await self._stream(request, found, opts)
        finally:
            if task is not None:
                self.streams.discard(task)

    async def _stream(
        self, request: web.Request, found: LogLocation, opts: LogOptions
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)

        def wanted() -> bool:
            transport = request.transport
            return found.running() and transport is not None and not transport.is_closing()

        chunks = follow(found.log_path, found.index_path, opts, wanted, self.poll, clock=self.clock)
        try:
            async for chunk in chunks:
                await resp.write(chunk)
            await resp.write_eof()
        except ConnectionResetError:
            logger.debug("log reader went away path=%s", found.log_path)
        finally:
            await chunks.aclose()
        return resp


def _error(err: LogError) -> web.Response:
    return web.Response(status=err.status, text=err.message, content_type="text/plain")


_LOGS = web.AppKey("logs", _Logs)


def make_app(
    source: LogSource, *, clock: Clock | None = None, poll: float = 0.1
) -> web.Application:
    logs = _Logs(source, clock or RealClock(), poll)
    app = web.Application()
    app[_LOGS] = logs
    app.router.add_get("/healthz", logs.healthz)
    app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", logs.container_logs)
    return app


class KubeletServer:
    """``make_app`` served on ``host:port`` (0: a free port, read ``port`` after ``start``)."""

    def __init__(
        self,
        source: LogSource,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        poll: float = 0.1,
    ) -> None:
        self.host = host
        self.port = port
        self._app = make_app(source, clock=clock, poll=poll)
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        """``host:port``, as the Node's kubelet-endpoint annotation wants it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening; open log streams end at once."""
        streams = list(self._app[_LOGS].streams)
        for task in streams:
            task.cancel()
        if streams:
            await asyncio.wait(streams, timeout=5)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
