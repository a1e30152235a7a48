"""A probe or lifecycle handler, read from its JSON dict into a frozen ``ProbeSpec`` (pure).

The API server has validated and defaulted the pod already; reading stays
lenient all the same (missing numbers take Kubernetes' defaults), because the
agent must never crash on a pod it was handed.

A named port is looked up in the container's ``ports`` the way kubelet does: by
name first, then as a number written as a string; a name that matches nothing
is not an error here but makes every run of the probe "error" with kubelet's
message (``port_error``), so the pod shows why it never becomes ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXEC = "exec"
HTTP_GET = "httpGet"
TCP_SOCKET = "tcpSocket"
GRPC = "grpc"
KINDS = (EXEC, HTTP_GET, TCP_SOCKET, GRPC)

# Kubernetes' defaults for a probe (pkg/apis/core/v1 defaults).
DEFAULT_PERIOD = 10.0
DEFAULT_TIMEOUT = 1.0
DEFAULT_SUCCESS_THRESHOLD = 1
DEFAULT_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class ProbeSpec:
    kind: str
    """``exec``, ``httpGet``, ``tcpSocket``, ``grpc``; empty when the dict names no handler."""
    port: int = 0
    host: str = ""
    """httpGet/tcpSocket ``host``; empty: the pod's IP."""
    path: str = "/"
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    port_error: str = ""
    """Why ``port`` could not be resolved (each run then errors with this message)."""
    initial_delay: float = 0.0
    period: float = DEFAULT_PERIOD
    timeout: float = DEFAULT_TIMEOUT
    success_threshold: int = DEFAULT_SUCCESS_THRESHOLD
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD

    @classmethod
    def parse(cls, probe: Mapping[str, Any], container: Mapping[str, Any]) -> ProbeSpec:
        """Read a probe (or a lifecycle handler: the same handler fields, no timings)."""
        kind = next((k for k in KINDS if isinstance(probe.get(k), Mapping)), "")
        action: Mapping[str, Any] = (probe.get(kind) or {}) if kind else {}
        port, port_error = 0, ""
        if kind in (HTTP_GET, TCP_SOCKET, GRPC):
            port, port_error = resolve_port(action.get("port"), container)
        path = str(action.get("path") or "/") if kind == HTTP_GET else "/"
        if not path.startswith("/"):
            path = "/" + path
        headers: tuple[tuple[str, str], ...] = ()
        if kind == HTTP_GET:
            headers = tuple(
                (str(h.get("name", "")), str(h.get("value", "")))
                for h in action.get("httpHeaders") or ()
                if isinstance(h, Mapping) and h.get("name")
            )
        command = tuple(str(a) for a in action.get("command") or ()) if kind == EXEC else ()
        return cls(
            kind=kind,
            port=port,
            host=str(action.get("host") or "") if kind in (HTTP_GET, TCP_SOCKET) else "",
            path=path,
            scheme=str(action.get("scheme") or "HTTP").upper() if kind == HTTP_GET else "HTTP",
            headers=headers,
            command=command,
            port_error=port_error,
            initial_delay=_number(probe.get("initialDelaySeconds"), 0.0, minimum=0.0),
            period=_number(probe.get("periodSeconds"), DEFAULT_PERIOD),
            timeout=_number(probe.get("timeoutSeconds"), DEFAULT_TIMEOUT),
            success_threshold=int(_number(probe.get("successThreshold"), 1)),
            failure_threshold=int(_number(probe.get("failureThreshold"), 3)),
        )


def resolve_port(value: Any, container: Mapping[str, Any]) -> tuple[int, str]:
    """(port, error) for an IntOrString port, as kubelet resolves probe ports."""
    port = -1
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        port = value
    elif isinstance(value, str):
        named = [
            p.get("containerPort")
            for p in container.get("ports") or ()
            if isinstance(p, Mapping) and p.get("name") == value
        ]
        if named and isinstance(named[0], int):
            port = named[0]
        else:
            try:
                port = int(value, 10)
            except ValueError:
                return 0, f'strconv.Atoi: parsing "{value}": invalid syntax'
    if 0 < port < 65536:
        return port, ""
    return 0, f"invalid port number: {port}"


def _number(value: Any, default: float, *, minimum: float = 1.0) -> float:
    """A probe's integer field; missing or below ``minimum`` takes the default."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    if value < minimum:
        return default
    return float(value)
