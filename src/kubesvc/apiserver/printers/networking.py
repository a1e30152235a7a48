"""Printers of networking.k8s.io: Ingress and IngressClass.

Ingress HOSTS lists up to three rule hosts (``*`` when no rule names one) then
``+ N more...`` counted in rules; ADDRESS is the load balancer's IPs or
hostnames; PORTS is ``80``, or ``80, 443`` when TLS is configured.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesvc.apiserver.printers.service import load_balancer_ingress
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
    text,
)
from kubesvc.apiserver.printers.timefmt import since


def ingress_hosts(rules: list[Any], max_shown: int = 3) -> str:
    """``formatHosts``, including its way of counting the rest in rules, not hosts."""
    shown: list[str] = []
    more = False
    for rule in rules:
        if len(shown) == max_shown:
            more = True
        host = text(as_map(rule).get("host"))
        if not more and host:
            shown.append(host)
    if not shown:
        return "*"
    joined = ",".join(shown)
    if more:
        return f"{joined} + {len(rules) - max_shown} more..."
    return joined


def _ingress_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec = as_map(obj.get("spec"))
    class_name = spec.get("ingressClassName")
    return [
        name_of(obj),
        class_name if isinstance(class_name, str) else "<none>",
        ingress_hosts(as_list(spec.get("rules"))),
        load_balancer_ingress(as_map(dig(obj, "status", "loadBalancer"))),
        "80, 443" if as_list(spec.get("tls")) else "80",
        since(dig(obj, "metadata", "creationTimestamp"), now),
    ]


INGRESS = Printer(
    columns=(
        NAME_COLUMN,
        Column("Class", description="IngressClass that serves this ingress."),
        Column("Hosts", description="Host names the rules match."),
        Column("Address", description="Addresses of the load balancer serving the ingress."),
        Column("Ports", description="Ports the ingress listens on (443 with TLS)."),
        AGE_COLUMN,
    ),
    cells=_ingress_cells,
)


def _parameters(ref: Any) -> str:
    if not isinstance(ref, dict):
        return "<none>"
    out = text(ref.get("kind"))
    if isinstance(ref.get("apiGroup"), str):
        out += "." + ref["apiGroup"]
    return out + "/" + text(ref.get("name"))


def _ingressclass_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec = as_map(obj.get("spec"))
    return [
        name_of(obj),
        text(spec.get("controller")),
        _parameters(spec.get("parameters")),
        since(dig(obj, "metadata", "creationTimestamp"), now),
    ]


INGRESSCLASS = Printer(
    columns=(
        NAME_COLUMN,
        Column("Controller", description="Controller that implements the class."),
        Column("Parameters", description="Resource holding the class's extra settings."),
        AGE_COLUMN,
    ),
    cells=_ingressclass_cells,
)
