"""Watch streams: newline-delimited JSON events read from an open HTTP response.

The API server answers a watch with one JSON document per line,
``{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": {...}}``.
``decode_event`` (pure) turns one line into ``(type, object)`` and an ``ERROR``
event into the ``StatusError`` its Status names (``Expired`` for a compacted
revision), raised. ``WatchStream`` opens the request on first use, splits the
body into lines itself (an object may be larger than aiohttp's line limit),
and always releases the connection: at the end of the stream, on an error, on
``aclose()`` or when its ``async with`` block exits.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp

from kubesvc.client.errors import (
    ResponseError,
    map_transport_errors,
    status_error,
    status_error_from_status,
)

Obj = dict[str, Any]
Event = tuple[str, Obj]

EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})


def decode_event(line: bytes) -> Event:
    """One watch line as ``(type, object)``; raises for ``ERROR`` and malformed lines."""
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise ResponseError(f"watch event is not JSON: {line[:200]!r}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("object"), dict):
        raise ResponseError(f"watch event has no object: {line[:200]!r}")
    kind = doc.get("type")
    obj: Obj = doc["object"]
    if kind == "ERROR":
        raise status_error_from_status(obj)
    if kind not in EVENT_TYPES:
        raise ResponseError(f"unknown watch event type {kind!r}")
    return str(kind), obj


Opener = Callable[[], Awaitable[aiohttp.ClientResponse]]


class WatchStream:
    """An async iterator of ``(type, object)`` over one watch request."""

    def __init__(self, open_response: Opener, description: str) -> None:
        self._open = open_response
        self._description = description
        self._resp: aiohttp.ClientResponse | None = None
        self._buf = b""
        self._closed = False

    def __aiter__(self) -> WatchStream:
        return self

    async def __aenter__(self) -> WatchStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self._next()
        except BaseException:
            await self.aclose()
            raise

    async def _next(self) -> Event:
        resp = self._resp
        if resp is None:
            resp = self._resp = await self._connect()
        while True:
            line, sep, rest = self._buf.partition(b"\n")
            if sep:
                self._buf = rest
                if line.strip():
                    return decode_event(line)
                continue
            with map_transport_errors("GET", self._description):
                chunk = await resp.content.readany()
            if not chunk:
                tail, self._buf = self._buf, b""
                if tail.strip():
                    return decode_event(tail)
                await self.aclose()
                raise StopAsyncIteration
            self._buf += chunk

    async def _connect(self) -> aiohttp.ClientResponse:
        with map_transport_errors("GET", self._description):
            resp = await self._open()
            if resp.status >= 400:
                try:
                    body = await resp.read()
                finally:
                    resp.release()
                raise status_error(resp.status, body)
        return resp

    async def aclose(self) -> None:
        """Stop reading and give the connection back (it is not reused mid-stream)."""
        self._closed = True
        resp, self._resp = self._resp, None
        if resp is not None:
            resp.close()
