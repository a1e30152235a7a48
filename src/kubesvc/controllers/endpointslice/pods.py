"""Pods as endpoints: which pods count, their addresses and ports, which Services select them.

The rules the Endpoints, EndpointSlice and (later) other controllers share, as
upstream keeps them in ``k8s.io/endpointslice/util`` and ``pkg/api/v1/pod``:

* ``should_pod_be_in_endpoints``: a pod counts when it has an IP, is not terminal
  (``Succeeded``/``Failed``) and, unless terminating pods are included, is not
  being deleted.
* ``find_port``: a numeric ``targetPort`` is used as is; a named one is looked up
  among the container ports (then restartable init containers) by name *and*
  protocol. ``None`` means the pod does not serve that Service port.
* ``should_set_hostname``: ``spec.hostname`` is published only when
  ``spec.subdomain`` names the Service (same namespace).
* ``service_selector``: a Service's selector, or ``None`` when it has none. An
  empty map counts as none: upstream stores objects as protobuf, where an empty
  map and a missing one are the same thing, so ``selector: {}`` selects nothing.
* ``pod_endpoints_changed`` / ``services_to_update_on_pod_change``: what a pod
  update means for the Services that select it (membership moved, or something
  an endpoint shows changed).

Everything here is pure: objects in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]

READY = "Ready"
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
CLUSTER_IP_NONE = "None"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(obj.get("metadata"))


def spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(obj.get("spec"))


def status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(obj.get("status"))


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _map(meta(obj).get("labels")).items()}


def key_of(obj: Mapping[str, Any]) -> str:
    m = meta(obj)
    return f"{m.get('namespace') or ''}/{m.get('name') or ''}"


# -- pods ---------------------------------------------------------------------------------
def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """The pod's ``Ready`` condition is ``True``."""
    for cond in _list(status(pod).get("conditions")):
        if isinstance(cond, Mapping) and cond.get("type") == READY:
            return cond.get("status") == "True"
    return False


def ready_transition_time(pod: Mapping[str, Any]) -> str:
    """``lastTransitionTime`` of the ``Ready`` condition ("" when absent)."""
    for cond in _list(status(pod).get("conditions")):
        if isinstance(cond, Mapping) and cond.get("type") == READY:
            return str(cond.get("lastTransitionTime") or "")
    return ""


def pod_ips(pod: Mapping[str, Any]) -> list[str]:
    """``status.podIPs`` (``status.podIP`` alone when the list is missing)."""
    st = status(pod)
    ips = [str(p.get("ip")) for p in _list(st.get("podIPs")) if isinstance(p, Mapping)]
    ips = [ip for ip in ips if ip]
    if not ips and st.get("podIP"):
        ips = [str(st["podIP"])]
    return ips


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    if status(pod).get("phase") in TERMINAL_PHASES:
        return False
    if not pod_ips(pod):
        return False
    return include_terminating or not is_terminating(pod)


def ip_family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def should_set_hostname(pod: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    ps = spec(pod)
    return (
        bool(ps.get("hostname"))
        and ps.get("subdomain") == meta(service).get("name")
        and meta(pod).get("namespace") == meta(service).get("namespace")
    )


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """The pod's port for ``service_port`` (see the module docstring)."""
    target = service_port.get("targetPort")
    protocol = service_port.get("protocol") or "TCP"
    if target is None or target == "" or target == 0:
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    name = str(target)
    ps = spec(pod)
    containers = [c for c in _list(ps.get("containers")) if isinstance(c, Mapping)]
    sidecars = [
        c
        for c in _list(ps.get("initContainers"))
        if isinstance(c, Mapping) and c.get("restartPolicy") == "Always"
    ]
    for container in (*containers, *sidecars):
        for port in _list(container.get("ports")):
            if not isinstance(port, Mapping):
                continue
            if port.get("name") == name and (port.get("protocol") or "TCP") == protocol:
                number = port.get("containerPort")
                return number if isinstance(number, int) else None
    return None


# -- services -----------------------------------------------------------------------------
def service_selector(service: Mapping[str, Any]) -> dict[str, str] | None:
    selector = _map(spec(service).get("selector"))
    if not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def is_external_name(service: Mapping[str, Any]) -> bool:
    return spec(service).get("type") == "ExternalName"


def is_service_ip_set(service: Mapping[str, Any]) -> bool:
    """The Service has a ClusterIP (it is neither headless nor without one)."""
    ip = spec(service).get("clusterIP")
    return bool(ip) and ip != CLUSTER_IP_NONE


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Equality-based match: every pair present with the same value."""
    return all(k in labels and labels[k] == v for k, v in selector.items())


def selects(service: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """The Service selects the pod (same namespace, non-empty selector that matches).

    Called for every candidate pod of every sync: it reads the objects in place.
    """
    selector = spec(service).get("selector")
    if not selector or not isinstance(selector, Mapping):
        return False
    pm = meta(pod)
    if meta(service).get("namespace") != pm.get("namespace"):
        return False
    labels = pm.get("labels")
    if not isinstance(labels, Mapping):
        return False
    return all(k in labels and labels[k] == v for k, v in selector.items())


def services_for_pod(services: Iterable[Mapping[str, Any]], pod: Mapping[str, Any]) -> set[str]:
    """Keys of the Services (among ``services``) that select ``pod``."""
    return {key_of(s) for s in services if selects(s, pod)}


def pod_endpoints_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[bool, bool]:
    """``(pod_changed, labels_changed)`` between two versions of a pod.

    ``labels_changed`` also covers hostname/subdomain (they decide membership of
    the published hostname). ``pod_changed`` covers what an endpoint shows: being
    deleted, readiness, IPs, and (beyond upstream, which gets it from readiness)
    the phase turning terminal.
    """
    labels_changed = labels_of(old) != labels_of(new) or (
        spec(old).get("hostname") != spec(new).get("hostname")
        or spec(old).get("subdomain") != spec(new).get("subdomain")
    )
    if meta(old).get("deletionTimestamp") != meta(new).get("deletionTimestamp"):
        return True, labels_changed
    if is_pod_ready(old) != is_pod_ready(new):
        return True, labels_changed
    if pod_ips(old) != pod_ips(new):
        return True, labels_changed
    if (status(old).get("phase") in TERMINAL_PHASES) != (
        status(new).get("phase") in TERMINAL_PHASES
    ):
        return True, labels_changed
    return False, labels_changed


def services_to_update_on_pod_change(
    services: Iterable[Mapping[str, Any]], old: Mapping[str, Any], new: Mapping[str, Any]
) -> set[str]:
    """Services to resync after a pod update (upstream's ``GetServicesToUpdateOnPodChange``).

    Nothing when the resourceVersion did not move or nothing relevant changed;
    when only the pod changed, the Services selecting it now; when its labels
    changed too, those it joined or left (plus, if the pod changed, those it
    stayed in).
    """
    rv_old = meta(old).get("resourceVersion")
    if rv_old and rv_old == meta(new).get("resourceVersion"):
        return set()
    pod_changed, labels_changed = pod_endpoints_changed(old, new)
    if not pod_changed and not labels_changed:
        return set()
    services = list(services)
    current = services_for_pod(services, new)
    if not labels_changed:
        return current
    before = services_for_pod(services, old)
    if pod_changed:
        return current | before
    return current ^ before
