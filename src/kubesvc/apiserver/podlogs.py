"""The ``pods/log`` subresource: a pod's container log, proxied from its node agent.

``GET /api/v1/namespaces/NS/pods/NAME/log`` with PodLogOptions as query
parameters (``container``, ``follow``, ``previous``, ``timestamps``,
``sinceSeconds``, ``sinceTime``, ``tailLines``, ``limitBytes``,
``insecureSkipTLSVerifyBackend``), answered as kube-apiserver answers it:

1. options that do not decode are a 400; options breaking PodLogOptions'
   rules a 422 Invalid ``PodLogOptions``;
2. the pod must exist (404 ``pods "p" not found``); without ``container`` a pod
   with one container means that one, more than one is a 400 ``a container
   name must be specified for pod p, choose one of: [a b] or one of the init
   containers: [i]``; a name the pod does not have is a 400 ``container c is
   not valid for pod p``;
3. a pod not bound to a node has no log yet: 204 with no body, as upstream
   (kubectl prints nothing);
4. the node's agent answers: ``node.kubesvc.io/kubelet-endpoint`` ("host:port")
   when the Node carries it, else its InternalIP (then ExternalIP) and
   ``status.daemonEndpoints.kubeletEndpoint.Port`` (10250 when unset);
5. the agent's answer streams through as ``text/plain`` (flushed per chunk);
   an agent error becomes a Status as upstream's response checker makes it (400:
   BadRequest with the agent's message; 404: NotFound; 500: InternalError);
   an unreachable agent is a 500 with Go's dial error.

Safety: a Node object is written by whoever may write Nodes, so it must not
steer the API server into connecting anywhere it likes. kubesvc only proxies
to an IP literal that is loopback or assigned to an interface of the network
namespace the API server runs in (checked by binding a socket to it; where the
kernel allows binding non-local addresses, only loopback), never to a name (no
DNS) or a remote address; anything else is a 500 saying so. Nodes on other
machines therefore cannot serve logs yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from kubesvc.api import errors
from kubesvc.apiserver.request_info import RequestInfo
from kubesvc.apiserver.store import ObjectStore

Obj = dict[str, Any]

KUBELET_ENDPOINT_ANNOTATION = "node.kubesvc.io/kubelet-endpoint"
DEFAULT_KUBELET_PORT = 10250
MAX_ERROR_BODY = 50_000
"""Upstream reads at most this much of an error answer from the kubelet."""
CONNECT_TIMEOUT = 10.0
_DISCONNECT_CHECK = 1.0
"""How often a quiet follow stream checks that its client is still there."""

_INT_PARAMS = ("sinceSeconds", "tailLines", "limitBytes")
_BOOL_PARAMS = ("follow", "previous", "timestamps")


def _flag(query: Mapping[str, str], name: str) -> bool:
    """Kubernetes' query boolean: absent, "0" or "false" (any case) is False."""
    if name not in query:
        return False
    value = query[name]
    return value != "0" and value.lower() != "false"


def kubelet_query(query: Mapping[str, str], name: str) -> dict[str, str]:
    """Decode and validate the PodLogOptions of ``query``; the kubelet's query parameters."""
    out: dict[str, str] = {}
    for key in _BOOL_PARAMS:
        if _flag(query, key):
            out[key] = "true"
    ints: dict[str, int] = {}
    for key in _INT_PARAMS:
        if key in query:
            try:
                ints[key] = int(query[key])
            except ValueError:
                raise errors.BadRequest(
                    f'strconv.ParseInt: parsing "{query[key]}": invalid syntax'
                ) from None
    since_time = query.get("sinceTime", "")
    if since_time:
        try:
            parsed = datetime.fromisoformat(since_time)
            if parsed.tzinfo is None:
                raise ValueError(since_time)
        except ValueError:
            raise errors.BadRequest(
                f'parsing time "{since_time}" as "2006-01-02T15:04:05Z07:00": cannot parse'
            ) from None
        out["sinceTime"] = since_time
    errs: list[errors.FieldError] = []
    if ints.get("tailLines", 0) < 0:
        errs.append(
            errors.invalid("tailLines", ints["tailLines"], "must be greater than or equal to 0")
        )
    if ints.get("limitBytes", 1) < 1:
        errs.append(errors.invalid("limitBytes", ints["limitBytes"], "must be greater than 0"))
    if "sinceSeconds" in ints and since_time:
        errs.append(
            errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified")
        )
    elif ints.get("sinceSeconds", 1) < 1:
        errs.append(errors.invalid("sinceSeconds", ints["sinceSeconds"], "must be greater than 0"))
    if errs:
        raise errors.Invalid("PodLogOptions", name, errs)
    out.update({k: str(v) for k, v in ints.items()})
    return out


def choose_container(pod: Obj, requested: str) -> str:
    """The container whose log is asked for, with upstream's 400s."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    containers = [str(c.get("name", "")) for c in spec.get("containers") or ()]
    inits = [str(c.get("name", "")) for c in spec.get("initContainers") or ()]
    ephemeral = [str(c.get("name", "")) for c in spec.get("ephemeralContainers") or ()]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise errors.BadRequest(f"a container name must be specified for pod {name}")
        message = (
            f"a container name must be specified for pod {name}, "
            f"choose one of: [{' '.join(containers)}]"
        )
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        if ephemeral:
            message += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
        raise errors.BadRequest(message)
    if requested not in (*containers, *inits, *ephemeral):
        raise errors.BadRequest(f"container {requested} is not valid for pod {name}")
    return requested


def _split_endpoint(value: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(value)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def kubelet_endpoint(node: Obj) -> tuple[str, int]:
    """Where a Node's agent listens (see the module docstring)."""
    name = node["metadata"]["name"]
    annotation = ((node["metadata"].get("annotations")) or {}).get(KUBELET_ENDPOINT_ANNOTATION)
    if annotation:
        try:
            return _split_endpoint(str(annotation))
        except ValueError:
            raise errors.InternalError(
                f'node "{name}": annotation {KUBELET_ENDPOINT_ANNOTATION} '
                f'must be "host:port", not "{annotation}"'
            ) from None
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    host = ""
    for kind in ("InternalIP", "ExternalIP"):
        host = next((a.get("address", "") for a in addresses if a.get("type") == kind), "")
        if host:
            break
    if not host:
        known = " ".join(f"{{{a.get('type', '')} {a.get('address', '')}}}" for a in addresses)
        raise errors.InternalError(f"no preferred addresses found; known addresses: [{known}]")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not isinstance(port, int) or isinstance(port, bool) or port <= 0:
        port = DEFAULT_KUBELET_PORT
    return str(host), port


def _nonlocal_bind(version: int) -> bool:
    """Whether the kernel lets sockets bind any address (then binding proves nothing)."""
    path = f"/proc/sys/net/ipv{version}/ip_nonlocal_bind"
    try:
        with open(path) as f:
            return f.read().strip() != "0"
    except OSError:
        return False


def is_local_address(host: str) -> bool:
    """True for an IP literal that is loopback or an address of this network namespace."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    if ip.is_unspecified or ip.is_multicast or _nonlocal_bind(ip.version):
        return False
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
    except OSError:
        return False
    return True


def kubelet_url(
    host: str, port: int, namespace: str, pod: str, container: str, query: dict[str, str]
) -> str:
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    qs = urlencode(query)
    return f"http://{hostport}/containerLogs/{namespace}/{pod}/{container}" + (
        f"?{qs}" if qs else ""
    )


def kubelet_error(code: int, body: str, name: str) -> errors.StatusError:
    """The Status for a kubelet's error answer, as upstream's response checker builds it."""
    if code == 400:
        return errors.BadRequest(body)
    if code == 500:
        return errors.InternalError(body)
    messages = {
        404: ("NotFound", "the server could not find the requested resource"),
        401: ("Unauthorized", "the server has asked for the client to provide credentials"),
        403: ("Forbidden", body),
        405: (
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ),
        422: ("Invalid", "the server rejected our request due to an error in our request"),
        429: (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        ),
        504: (
            "Timeout",
            "the server was unable to return a response in the time allotted, "
            "but may still be processing the request",
        ),
    }
    reason, message = messages.get(
        code,
        (
            "",
            f"the server responded with the status code {code} but did not return more information",
        ),
    )
    if code > 500 and code != 504:
        reason = "InternalError"
        quoted = errors.go_quote(body)
        message = f"an error on the server ({quoted}) has prevented the request from succeeding"
    return errors.StatusError(
        f"{message} ( pods/log {name})",
        code=code,
        reason=reason,
        details={"name": name, "kind": "pods/log"},
    )


async def serve(
    request: web.Request, info: RequestInfo, pods: ObjectStore, nodes: ObjectStore
) -> web.StreamResponse:
    query = kubelet_query(request.query, info.name)
    pod = await pods.get(info.namespace, info.name)
    container = choose_container(pod, request.query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName") or ""
    if not node_name:
        return web.Response(status=204)
    node = await nodes.get("", node_name)
    host, port = kubelet_endpoint(node)
    if not is_local_address(host):
        raise errors.InternalError(
            f'kubelet endpoint {host}:{port} of node "{node_name}" is not an address of this '
            "machine; kubesvc proxies pod logs only to loopback or local addresses"
        )
    url = kubelet_url(host, port, info.namespace, info.name, container, query)
    timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        try:
            upstream = await session.get(url, allow_redirects=False)
        except aiohttp.ClientConnectorError as exc:
            err = exc.os_error
            text = os.strerror(err.errno) if err.errno else str(err)
            raise errors.StatusError(
                f'Get "{url}": dial tcp {host}:{port}: connect: {text[:1].lower()}{text[1:]}',
                code=500,
                reason="",
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.StatusError(
                f'Get "{url}": {str(exc) or type(exc).__name__}', code=500, reason=""
            ) from None
        async with upstream:
            if not 200 <= upstream.status <= 206:
                body = await upstream.content.read(MAX_ERROR_BODY)
                raise kubelet_error(upstream.status, body.decode("utf-8", "replace"), info.name)
            return await _pipe(request, upstream)


async def _pipe(request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(upstream.content.readany(), _DISCONNECT_CHECK)
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return resp
                continue
            if not chunk:
                break
            await resp.write(chunk)
        await resp.write_eof()
    except (ConnectionResetError, aiohttp.ClientPayloadError):
        with contextlib.suppress(Exception):
            upstream.close()
    return resp
