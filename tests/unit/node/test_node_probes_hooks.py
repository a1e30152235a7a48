"""Lifecycle hooks (postStart/preStop): exec, httpGet, sleep, with kubelet's failure messages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from kubesvc.node.hooks import run_handler
from kubesvc.node.runtime.base import ExecResult
from kubesvc.util.clock import FakeClock

LOCAL = "127.0.0.1"
POD = {"metadata": {"name": "web", "namespace": "shop", "uid": "u-1"}}
CONTAINER: dict[str, Any] = {"name": "app", "ports": [{"name": "http", "containerPort": 1}]}
WHERE = 'for Container "app" in Pod "web_shop(u-1)"'


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append({"path": request.path, **dict(request.headers)})
        return web.Response(status=500 if request.path == "/fail" else 200)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, LOCAL, 0).start()
    yield runner.addresses[0][1], seen
    await runner.cleanup()


def exec_answer(answer: ExecResult | Exception) -> Any:
    async def fn(argv: tuple[str, ...], seconds: float) -> ExecResult:
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fn


async def run(handler: dict[str, Any], answer: Any = None, **kw: Any) -> tuple[bool, str]:
    return await run_handler(
        handler,
        pod_ip=LOCAL,
        container=CONTAINER,
        exec_fn=exec_answer(answer) if answer is not None else None,
        timeout=kw.pop("timeout", 5.0),
        pod=POD,
        **kw,
    )


@pytest.mark.parametrize(
    ("answer", "want"),
    [
        pytest.param(ExecResult(0, b"done"), (True, ""), id="ok"),
        pytest.param(
            ExecResult(2, b"nope\n"),
            (
                False,
                f"Exec lifecycle hook ([sh -c exit 2]) {WHERE} failed - error: "
                "command 'sh -c exit 2' exited with 2: , message: \"nope\\n\"",
            ),
            id="exit-2",
        ),
        pytest.param(
            RuntimeError("no such container"),
            (
                False,
                f"Exec lifecycle hook ([sh -c exit 2]) {WHERE} failed - error: "
                'no such container, message: ""',
            ),
            id="exec-error",
        ),
    ],
)
async def test_exec(answer: ExecResult | Exception, want: tuple[bool, str]) -> None:
    assert await run({"exec": {"command": ["sh", "-c", "exit 2"]}}, answer) == want


async def test_http_status_does_not_matter(server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = server
    assert await run({"httpGet": {"path": "/fail", "port": port}}) == (True, "")
    assert seen[0]["User-Agent"] == "kube-lifecycle/1.32"


async def test_http_unreachable() -> None:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        port = s.getsockname()[1]
    ok, message = await run({"httpGet": {"path": "/shutdown", "port": port}})
    assert not ok
    assert message == (
        f'HTTP lifecycle hook (/shutdown) {WHERE} failed - error: Get "http://{LOCAL}:{port}'
        f'/shutdown": dial tcp {LOCAL}:{port}: connect: connection refused'
    )


@pytest.mark.parametrize(
    ("seconds", "budget", "want"),
    [
        pytest.param(5, 10.0, (True, ""), id="fits"),
        pytest.param(
            30,
            10.0,
            (
                False,
                f"Sleep lifecycle hook (30) {WHERE} failed - error: "
                "container terminated before sleep hook finished",
            ),
            id="cut-short",
        ),
    ],
)
async def test_sleep(seconds: int, budget: float, want: tuple[bool, str]) -> None:
    clock = FakeClock()
    task = asyncio.ensure_future(run({"sleep": {"seconds": seconds}}, timeout=budget, clock=clock))
    await clock.wait_for_timers()
    clock.advance(min(seconds, budget) - 0.5)
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(0.5)
    assert await task == want


async def test_tcp_socket_cannot_run() -> None:
    ok, message = await run({"tcpSocket": {"port": 80}})
    assert not ok
    assert message.startswith("Cannot run handler: invalid handler: ")
