"""Printers of Services, Endpoints and EndpointSlices.

Service cells (``printService``): TYPE, CLUSTER-IP (first of ``clusterIPs``,
``<none>``), EXTERNAL-IP (external IPs; for LoadBalancer the ingress IPs or
hostnames too, ``<pending>`` while there are none; ExternalName shows the name),
PORT(S) (``80/TCP`` or ``80:30080/TCP`` with a node port), and the selector.

Endpoints show at most three ``ip:port`` pairs then ``+ N more...``;
EndpointSlices show at most three ports and three addresses, ``<unset>`` when
empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesvc.api.selectors import format_labels
from kubesvc.apiserver.printers.table import (
    AGE_COLUMN,
    NAME_COLUMN,
    Cell,
    Column,
    Obj,
    Printer,
    as_list,
    as_map,
    dig,
    name_of,
    number,
    text,
)
from kubesvc.apiserver.printers.timefmt import since


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def load_balancer_ingress(status: Obj) -> str:
    """Sorted, de-duplicated IPs (or hostnames) of a load balancer status, comma-joined."""
    found: set[str] = set()
    for ing in as_list(status.get("ingress")):
        ing = as_map(ing)
        if text(ing.get("ip")):
            found.add(text(ing.get("ip")))
        elif text(ing.get("hostname")):
            found.add(text(ing.get("hostname")))
    return ",".join(sorted(found))


def service_external_ip(svc: Obj) -> str:
    """``getServiceExternalIP`` for the server's wide output (nothing truncated)."""
    spec = as_map(svc.get("spec"))
    svc_type = text(spec.get("type")) or "ClusterIP"
    external = [text(ip) for ip in as_list(spec.get("externalIPs"))]
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        lb = load_balancer_ingress(as_map(dig(svc, "status", "loadBalancer")))
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return text(spec.get("externalName"))
    return "<unknown>"


def service_ports(ports: list[Any]) -> str:
    """``makePortString``: ``port/PROTO`` or ``port:nodePort/PROTO``, comma-joined."""
    pieces = []
    for port in ports:
        port = as_map(port)
        proto = text(port.get("protocol")) or "TCP"
        node_port = number(port.get("nodePort"))
        if node_port > 0:
            pieces.append(f"{number(port.get('port'))}:{node_port}/{proto}")
        else:
            pieces.append(f"{number(port.get('port'))}/{proto}")
    return ",".join(pieces)


def _service_cells(svc: Obj, now: datetime) -> list[Cell]:
    spec = as_map(svc.get("spec"))
    cluster_ips = as_list(spec.get("clusterIPs"))
    # clusterIPs is always set on stored Services; clusterIP is the fallback
    cluster_ip = text(cluster_ips[0]) if cluster_ips else text(spec.get("clusterIP"))
    selector = {str(k): str(v) for k, v in as_map(spec.get("selector")).items()}
    return [
        name_of(svc),
        text(spec.get("type")) or "ClusterIP",
        cluster_ip or "<none>",
        service_external_ip(svc),
        service_ports(as_list(spec.get("ports"))) or "<none>",
        _age(svc, now),
        format_labels(selector),
    ]


SERVICE = Printer(
    columns=(
        NAME_COLUMN,
        Column("Type", description="How the service is exposed (ClusterIP, NodePort, ...)."),
        Column("Cluster-IP", description="Virtual IP address of the service inside the cluster."),
        Column("External-IP", description="Addresses the service answers on from outside."),
        Column("Port(s)", description="Service ports, with node ports where allocated."),
        AGE_COLUMN,
        Column("Selector", priority=1, description="Labels of the pods behind the service."),
    ),
    cells=_service_cells,
)


# -- Endpoints ---------------------------------------------------------------


def join_host_port(host: str, port: int) -> str:
    """``net.JoinHostPort``: IPv6 addresses go in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(endpoints: Obj, max_shown: int = 3) -> str:
    """``formatEndpoints``: up to three ``ip:port`` (bare IPs if no ports), then ``+ N more...``."""
    subsets = as_list(endpoints.get("subsets"))
    if not subsets:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0
    for subset in subsets:
        subset = as_map(subset)
        addresses = [text(as_map(a).get("ip")) for a in as_list(subset.get("addresses"))]
        ports = as_list(subset.get("ports"))
        if not ports:
            count += len(addresses)
            for ip in addresses:
                if len(shown) == max_shown:
                    more = True
                    break
                shown.append(ip)
            continue
        for port in ports:
            count += len(addresses)
            for ip in addresses:
                if len(shown) == max_shown:
                    more = True
                    break
                shown.append(join_host_port(ip, number(as_map(port).get("port"))))
    text_out = ",".join(shown)
    if more:
        return f"{text_out} + {count - max_shown} more..."
    return text_out


def _endpoints_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [name_of(obj), format_endpoints(obj), _age(obj, now)]


ENDPOINTS = Printer(
    columns=(
        NAME_COLUMN,
        Column("Endpoints", description="Addresses and ports of the ready endpoints."),
        AGE_COLUMN,
    ),
    cells=_endpoints_cells,
)


# -- EndpointSlice -------------------------------------------------------------


def _list_with_more(shown: list[str], more: bool, count: int, max_shown: int) -> str:
    joined = ",".join(shown)
    if more:
        return f"{joined} + {count - max_shown} more..."
    return joined or "<unset>"


def _slice_ports(ports: list[Any], max_shown: int = 3) -> str:
    shown: list[str] = []
    more = False
    for port in ports:
        port = as_map(port)
        if len(shown) < max_shown:
            if isinstance(port.get("port"), int):
                shown.append(str(port["port"]))
            elif port.get("name") is not None:
                shown.append(text(port.get("name")))
            else:
                shown.append("*")
        elif len(shown) == max_shown:
            more = True
    return _list_with_more(shown, more, len(ports), max_shown)


def _slice_endpoints(endpoints: list[Any], max_shown: int = 3) -> str:
    shown: list[str] = []
    more = False
    count = 0
    for ep in endpoints:
        for address in as_list(as_map(ep).get("addresses")):
            if len(shown) < max_shown:
                shown.append(text(address))
            elif len(shown) == max_shown:
                more = True
            count += 1
    return _list_with_more(shown, more, count, max_shown)


def _endpointslice_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        name_of(obj),
        text(obj.get("addressType")),
        _slice_ports(as_list(obj.get("ports"))),
        _slice_endpoints(as_list(obj.get("endpoints"))),
        _age(obj, now),
    ]


ENDPOINTSLICE = Printer(
    columns=(
        NAME_COLUMN,
        Column("AddressType", description="Family of the addresses (IPv4, IPv6 or FQDN)."),
        Column("Ports", description="Port numbers (or names) of the slice."),
        Column("Endpoints", description="Addresses of the endpoints in the slice."),
        AGE_COLUMN,
    ),
    cells=_endpointslice_cells,
)
