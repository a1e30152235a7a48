"""An in-process API server on the memory store, one per test, reached over real HTTP."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import pytest

from kubesvc.apiserver.app import ApiServer, ApiServerSettings
from kubesvc.storage.registry import open_backend


class Api:
    """A tiny JSON client for tests: every call returns (status, body, headers)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, server: ApiServer) -> None:
        self.session = session
        self.base = base
        self.server = server

    async def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        content_type: str = "application/json",
        raw: bytes | None = None,
        accept: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> tuple[int, object, aiohttp.typedefs.LooseHeaders]:
        import json

        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        payload = io.BytesIO(data) if data is not None else None
        async with self.session.request(
            method, self.base + path, data=payload, headers=headers, params=params
        ) as resp:
            text = await resp.read()
            try:
                parsed: object = json.loads(text) if text else None
            except ValueError:
                parsed = text.decode()
            return resp.status, parsed, resp.headers


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    backend = open_backend("memory://")
    await backend.start()
    server = ApiServer(backend, ApiServerSettings(port=0))
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield Api(session, server.url, server)
    await server.stop()
    await backend.close()
