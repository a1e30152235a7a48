"""Probe runners against real listeners on 127.0.0.1: verdicts and kubelet's messages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from kubesvc.node.probes import check
from kubesvc.node.probes.check import Outcome
from kubesvc.node.probes.spec import ProbeSpec
from kubesvc.node.probes.state import Result
from kubesvc.node.runtime.base import ExecResult

LOCAL = "127.0.0.1"


@dataclass
class Target:
    port: int
    seen: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """An HTTP server with one route per behaviour; records each request's headers."""
    t = Target(0)

    async def handle(request: web.Request) -> web.StreamResponse:
        t.seen.append({"path": request.path_qs, **dict(request.headers)})
        name = request.match_info["name"]
        if name == "slow":
            await t.release.wait()
        if name == "error":
            return web.Response(status=500, text="boom")
        if name == "moved":
            raise web.HTTPFound("http://elsewhere.invalid/")
        return web.Response(text="fine")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, LOCAL, 0)
    await site.start()
    t.port = runner.addresses[0][1]
    yield t
    t.release.set()
    await runner.cleanup()


def free_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return int(s.getsockname()[1])


def http(port: int, path: str, **kw: object) -> ProbeSpec:
    return ProbeSpec("httpGet", port=port, path=path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "result", "output", "warning"),
    [
        pytest.param("/ok", Result.SUCCESS, "fine", False, id="200"),
        pytest.param(
            "/error", Result.FAILURE, "HTTP probe failed with statuscode: 500", False, id="500"
        ),
        pytest.param(
            "/moved",
            Result.SUCCESS,
            "Probe terminated redirects, Response body: 302: Found",
            True,
            id="redirect-not-followed",
        ),
    ],
)
async def test_http_status(
    target: Target, path: str, result: Result, output: str, warning: bool
) -> None:
    got = await check.run(http(target.port, path), pod_ip=LOCAL, exec_fn=None)
    assert got == Outcome(result, output, warning=warning)
    assert [s["path"] for s in target.seen] == [path]


async def test_http_headers(target: Target) -> None:
    spec = http(target.port, "/ok?x=1", headers=(("X-Custom", "yes"), ("Host", "example.test")))
    assert (await check.run(spec, pod_ip=LOCAL, exec_fn=None)).result is Result.SUCCESS
    (seen,) = target.seen
    assert seen["path"] == "/ok?x=1"
    assert seen["User-Agent"] == "kube-probe/1.32"
    assert seen["Accept"] == "*/*"
    assert seen["X-Custom"] == "yes"
    assert seen["Host"] == "example.test"


async def test_http_user_agent_from_probe(target: Target) -> None:
    spec = http(target.port, "/ok", headers=(("User-Agent", "mine"),))
    await check.run(spec, pod_ip=LOCAL, exec_fn=None)
    assert target.seen[0]["User-Agent"] == "mine"


async def test_http_host_field_overrides_pod_ip(target: Target) -> None:
    spec = http(target.port, "/ok", host=LOCAL)
    got = await check.run(spec, pod_ip="192.0.2.1", exec_fn=None)
    assert got.result is Result.SUCCESS


async def test_http_timeout(target: Target) -> None:
    got = await check.run(http(target.port, "/slow", timeout=0.05), pod_ip=LOCAL, exec_fn=None)
    assert got == Outcome(
        Result.FAILURE,
        f'Get "http://{LOCAL}:{target.port}/slow": context deadline exceeded '
        "(Client.Timeout exceeded while awaiting headers)",
    )


async def test_http_refused() -> None:
    port = free_port()
    got = await check.run(http(port, "/healthz"), pod_ip=LOCAL, exec_fn=None)
    assert got == Outcome(
        Result.FAILURE,
        f'Get "http://{LOCAL}:{port}/healthz": dial tcp {LOCAL}:{port}: connect: '
        "connection refused",
    )


async def test_tcp_open_and_refused() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), LOCAL, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        spec = ProbeSpec("tcpSocket", port=port)
        assert await check.run(spec, pod_ip=LOCAL, exec_fn=None) == Outcome(Result.SUCCESS)
    finally:
        server.close()
        await server.wait_closed()
    closed = free_port()
    got = await check.run(ProbeSpec("tcpSocket", port=closed), pod_ip=LOCAL, exec_fn=None)
    assert got == Outcome(Result.FAILURE, f"dial tcp {LOCAL}:{closed}: connect: connection refused")


class FakeExec:
    def __init__(self, answer: ExecResult | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[tuple[str, ...], float]] = []

    async def __call__(self, argv: tuple[str, ...], seconds: float) -> ExecResult:
        self.calls.append((argv, seconds))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "want"),
    [
        pytest.param(ExecResult(0, b"ok\n"), Outcome(Result.SUCCESS, "ok\n"), id="exit-0"),
        pytest.param(
            ExecResult(1, b"cat: /tmp/healthy: No such file or directory\n"),
            Outcome(Result.FAILURE, "cat: /tmp/healthy: No such file or directory\n"),
            id="exit-1",
        ),
        pytest.param(
            ExecResult(137, b"", timed_out=True),
            Outcome(Result.FAILURE, 'command timed out: "cat /tmp/healthy" timed out after 2s'),
            id="timeout",
        ),
        pytest.param(
            RuntimeError("container not running"),
            Outcome(Result.FAILURE, error="container not running"),
            id="exec-error",
        ),
    ],
)
async def test_exec(answer: ExecResult | Exception, want: Outcome) -> None:
    fake = FakeExec(answer)
    spec = ProbeSpec("exec", command=("cat", "/tmp/healthy"), timeout=2)
    assert await check.run(spec, pod_ip=LOCAL, exec_fn=fake) == want
    assert fake.calls == [(("cat", "/tmp/healthy"), 2)]


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        pytest.param(
            ProbeSpec("grpc", port=9000),
            Outcome(Result.UNKNOWN, error="gRPC probes are not supported by kubesvc"),
            id="grpc",
        ),
        pytest.param(
            ProbeSpec("httpGet", port_error='strconv.Atoi: parsing "web": invalid syntax'),
            Outcome(Result.FAILURE, error='strconv.Atoi: parsing "web": invalid syntax'),
            id="unresolved-port",
        ),
    ],
)
async def test_cannot_run(spec: ProbeSpec, want: Outcome) -> None:
    assert await check.run(spec, pod_ip=LOCAL, exec_fn=None) == want


@pytest.mark.parametrize(
    ("outcome", "event"),
    [
        pytest.param(Outcome(Result.SUCCESS, "fine"), None, id="success"),
        pytest.param(
            Outcome(Result.FAILURE, "HTTP probe failed with statuscode: 500"),
            ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500"),
            id="failure",
        ),
        pytest.param(
            Outcome(Result.SUCCESS, "Probe terminated redirects, Response body: x", warning=True),
            (
                "ProbeWarning",
                "Liveness probe warning: Probe terminated redirects, Response body: x",
            ),
            id="warning",
        ),
        pytest.param(
            Outcome(Result.UNKNOWN, error="gRPC probes are not supported by kubesvc"),
            (
                "Unhealthy",
                "Liveness probe errored and resulted in unknown state: "
                "gRPC probes are not supported by kubesvc",
            ),
            id="errored",
        ),
    ],
)
def test_event_for(outcome: Outcome, event: tuple[str, str] | None) -> None:
    assert check.event_for("Liveness", outcome) == event
