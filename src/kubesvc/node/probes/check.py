"""Running one probe: httpGet, tcpSocket and exec, with kubelet's verdicts and messages.

* httpGet: ``GET scheme://(host or pod IP):port/path`` on a fresh connection,
  ``User-Agent: kube-probe/1.32`` and ``Accept: */*`` unless the probe's
  ``httpHeaders`` set them (a ``Host`` header becomes the request's host).
  200-299 succeeds; 300-399 succeeds with a warning, because redirects are not
  followed (kubelet follows only redirects to the same host and warns about the
  others; following none keeps the probe from ever leaving the pod); anything
  else fails with ``HTTP probe failed with statuscode: N``. At most 10 KiB of
  the body is read. Errors read as Go's client reports them
  (``Get "url": dial tcp host:port: connect: connection refused``,
  ``... context deadline exceeded (Client.Timeout exceeded while awaiting headers)``).
* tcpSocket: a connection opened within the timeout succeeds and is closed.
* exec: through the runtime's exec (``ExecFn``); exit 0 succeeds, any other code
  fails with the command's output, a timeout fails.
* grpc: not supported by kubesvc; the outcome is ``Unknown`` with an error, so
  the state machine leaves the container as it was and an event says why.

``Outcome.error`` marks a probe that could not run at all (kubelet's "probe
errored"); it counts as a failure unless its result is ``Unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from kubesvc.node.probes.spec import EXEC, GRPC, HTTP_GET, TCP_SOCKET, ProbeSpec
from kubesvc.node.probes.state import Result
from kubesvc.node.runtime.base import ExecResult

PROBE_USER_AGENT = "kube-probe/1.32"
LIFECYCLE_USER_AGENT = "kube-lifecycle/1.32"
MAX_BODY = 10 * 1024
"""kubelet reads at most this much of a probe's response body."""

ExecFn = Callable[[tuple[str, ...], float], Awaitable[ExecResult]]
"""Run ``argv`` in the container, killed after ``timeout`` seconds."""

UNHEALTHY = "Unhealthy"
PROBE_WARNING = "ProbeWarning"


@dataclass(frozen=True)
class Outcome:
    result: Result
    output: str = ""
    """The probe's output: the failure message, or the body / command output."""
    warning: bool = False
    """Succeeded with something to report (a redirect that was not followed)."""
    error: str = ""
    """The probe could not run (kubelet's "probe errored")."""


def event_for(probe_type: str, outcome: Outcome) -> tuple[str, str] | None:
    """(reason, message) of the Warning event kubelet records for this outcome, if any."""
    if outcome.error:
        return (
            UNHEALTHY,
            f"{probe_type} probe errored and resulted in unknown state: {outcome.error}",
        )
    if outcome.result is Result.FAILURE:
        return UNHEALTHY, f"{probe_type} probe failed: {outcome.output}"
    if outcome.warning:
        return PROBE_WARNING, f"{probe_type} probe warning: {outcome.output}"
    return None


async def run(
    spec: ProbeSpec,
    *,
    pod_ip: str,
    exec_fn: ExecFn | None,
    user_agent: str = PROBE_USER_AGENT,
) -> Outcome:
    """Run ``spec`` once (never raises for a failing target)."""
    if spec.kind == EXEC:
        if exec_fn is None:
            return Outcome(Result.FAILURE, error="exec is not available for this container")
        return await exec_command(spec.command, spec.timeout, exec_fn)
    if spec.port_error:
        return Outcome(Result.FAILURE, error=spec.port_error)
    if spec.kind == HTTP_GET:
        return await http_get(spec, pod_ip, user_agent=user_agent)
    if spec.kind == TCP_SOCKET:
        return await tcp_socket(spec.host or pod_ip, spec.port, spec.timeout)
    if spec.kind == GRPC:
        return Outcome(Result.UNKNOWN, error="gRPC probes are not supported by kubesvc")
    return Outcome(Result.FAILURE, error="missing probe handler")


def host_port(host: str, port: int) -> str:
    """``host:port`` with IPv6 literals in brackets (Go's net.JoinHostPort)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def probe_url(spec: ProbeSpec, pod_ip: str) -> str:
    scheme = "https" if spec.scheme == "HTTPS" else "http"
    return f"{scheme}://{host_port(spec.host or pod_ip, spec.port)}{spec.path}"


def _dial_error(address: str, exc: OSError) -> str:
    """Go's ``dial tcp`` error text for a failed connect."""
    text = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
    return f"dial tcp {address}: connect: {text[:1].lower()}{text[1:]}"


def _request_headers(spec: ProbeSpec, user_agent: str) -> list[tuple[str, str]]:
    headers = list(spec.headers)
    names = {name.lower() for name, _ in headers}
    if "user-agent" not in names:
        headers.append(("User-Agent", user_agent))
    if "accept" not in names:
        headers.append(("Accept", "*/*"))
    return headers


async def http_request(
    spec: ProbeSpec, pod_ip: str, *, user_agent: str = PROBE_USER_AGENT
) -> tuple[int, bytes] | str:
    """GET the probe's URL: (status, start of the body), or Go's error text."""
    url = probe_url(spec, pod_ip)
    address = host_port(spec.host or pod_ip, spec.port)
    try:
        return await _get(url, _request_headers(spec, user_agent), spec.timeout)
    except TimeoutError:
        return (
            f'Get "{url}": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)"
        )
    except aiohttp.ClientConnectorError as exc:
        return f'Get "{url}": {_dial_error(address, exc.os_error)}'
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return f'Get "{url}": {str(exc) or type(exc).__name__}'


async def http_get(spec: ProbeSpec, pod_ip: str, *, user_agent: str = PROBE_USER_AGENT) -> Outcome:
    answer = await http_request(spec, pod_ip, user_agent=user_agent)
    if isinstance(answer, str):
        return Outcome(Result.FAILURE, answer)
    status, body = answer
    text = body.decode("utf-8", "replace")
    if 200 <= status < 300:
        return Outcome(Result.SUCCESS, text)
    if 300 <= status < 400:
        return Outcome(
            Result.SUCCESS, f"Probe terminated redirects, Response body: {text}", warning=True
        )
    return Outcome(Result.FAILURE, f"HTTP probe failed with statuscode: {status}")


async def _get(url: str, headers: list[tuple[str, str]], limit: float) -> tuple[int, bytes]:
    """One GET on a connection of its own; (status, at most ``MAX_BODY`` of the body)."""
    connector = aiohttp.TCPConnector(force_close=True, ssl=False)
    async with (
        aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=limit),
            skip_auto_headers=("User-Agent",),
        ) as session,
        session.get(url, headers=headers, allow_redirects=False) as resp,
    ):
        body = await resp.content.read(MAX_BODY)
        return resp.status, body


async def tcp_socket(host: str, port: int, within: float) -> Outcome:
    address = host_port(host, port)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except TimeoutError:
        return Outcome(Result.FAILURE, f"dial tcp {address}: i/o timeout")
    except OSError as exc:
        return Outcome(Result.FAILURE, _dial_error(address, exc))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Outcome(Result.SUCCESS)


def _duration(seconds: float) -> str:
    """Go's time.Duration text for whole seconds or milliseconds."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


async def exec_command(command: tuple[str, ...], within: float, exec_fn: ExecFn) -> Outcome:
    if not command:
        return Outcome(Result.FAILURE, error="exec probe has no command")
    try:
        res = await exec_fn(command, within)
    except Exception as exc:
        return Outcome(Result.FAILURE, error=str(exc) or type(exc).__name__)
    output = res.output[:MAX_BODY].decode("utf-8", "replace")
    if res.timed_out:
        joined = " ".join(command)
        return Outcome(
            Result.FAILURE, f'command timed out: "{joined}" timed out after {_duration(within)}'
        )
    if res.exit_code == 0:
        return Outcome(Result.SUCCESS, output)
    return Outcome(Result.FAILURE, output)
