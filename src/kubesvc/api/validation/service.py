"""Service validation as Kubernetes 1.32 does it: field paths, messages, order (pure).

Ports ``ValidateService``, ``ValidateServiceUpdate`` and
``ValidateServiceStatusUpdate`` of ``pkg/apis/core/validation`` to plain dicts.
The object is expected to be defaulted already (``api.defaults.service``), as it
is by the time kube-apiserver validates it; that is why, for instance, a missing
``protocol`` never shows up as ``Required`` from the API.

What validation does *not* check, as upstream: whether a clusterIP lies in the
service CIDR and whether a nodePort lies in the node port range. Both are the
allocators' job (``kubesvc.apiserver.allocators``), and their errors read
``provided port is not in the valid range ...``.

A few upstream messages print Go values with ``%#v``; ``GoLiteral`` carries that
exact text (a duplicate port shows as ``core.ServicePort{...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubesvc.api.errors import (
    FieldError,
    duplicate,
    forbidden,
    go_quote,
    invalid,
    not_supported,
    required,
)
from kubesvc.api.validation import meta as vmeta
from kubesvc.api.validation.ip import (
    family_of,
    is_ipv6_string,
    is_valid_cidr,
    is_valid_ip,
    parse_ip_sloppy,
    validate_non_special_ip,
)
from kubesvc.api.validation.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
)

Obj = Mapping[str, Any]

CLUSTER_IP_NONE = "None"
KUBELET_PORT = 10250
MAX_CLIENT_IP_AFFINITY_SECONDS = 86400
DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
TRAFFIC_DISTRIBUTIONS = ("PreferClose",)
LB_IP_MODES = ("Proxy", "VIP")

ANNOTATION_LB_SOURCE_RANGES = "service.beta.kubernetes.io/load-balancer-source-ranges"
ANNOTATION_TOPOLOGY_MODE = "service.kubernetes.io/topology-mode"
ANNOTATION_TOPOLOGY_HINTS = "service.kubernetes.io/topology-aware-hints"


@dataclass(frozen=True, slots=True)
class GoLiteral:
    """A bad value that Go prints with ``%#v``; ``str()`` gives that text."""

    text: str

    def __str__(self) -> str:
        return self.text


def go_string_list(values: Any) -> Any:
    """A ``[]string`` field as a field error shows it (``[]string(nil)`` when unset)."""
    if values is None:
        return GoLiteral("[]string(nil)")
    return [str(v) for v in values]


def go_family_list(values: Any) -> GoLiteral:
    """A ``[]core.IPFamily`` field as ``%#v`` prints it."""
    if values is None:
        return GoLiteral("[]core.IPFamily(nil)")
    return GoLiteral("[]core.IPFamily{" + ", ".join(go_quote(str(v)) for v in values) + "}")


def _service_port_key(protocol: str, port: int) -> GoLiteral:
    return GoLiteral(
        f"core.ServicePort{{Name:{go_quote('')}, Protocol:{go_quote(protocol)}, "
        f"AppProtocol:(*string)(nil), Port:{port}, "
        'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
    )


# -- accessors ---------------------------------------------------------------------


def spec_of(svc: Obj) -> Obj:
    spec = svc.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> Obj:
    return value if isinstance(value, Mapping) else {}


def service_type(svc: Obj) -> str:
    return _str(spec_of(svc).get("type"))


def cluster_ips(svc: Obj) -> list[str]:
    return [_str(ip) for ip in _list(spec_of(svc).get("clusterIPs"))]


def ports_of(svc: Obj) -> list[Obj]:
    return [_map(p) for p in _list(spec_of(svc).get("ports"))]


def is_headless(svc: Obj) -> bool:
    """``isHeadlessService``: clusterIPs is exactly ``["None"]``."""
    ips = cluster_ips(svc)
    return len(ips) == 1 and ips[0] == CLUSTER_IP_NONE


def externally_accessible(svc: Obj) -> bool:
    """``service.ExternallyAccessible``: LoadBalancer, NodePort, or ClusterIP with externalIPs."""
    t = service_type(svc)
    return t in ("LoadBalancer", "NodePort") or (
        t == "ClusterIP" and len(_list(spec_of(svc).get("externalIPs"))) > 0
    )


def requests_only_local_traffic(svc: Obj) -> bool:
    if service_type(svc) not in ("LoadBalancer", "NodePort"):
        return False
    return spec_of(svc).get("externalTrafficPolicy") == "Local"


def needs_health_check(svc: Obj) -> bool:
    """``service.NeedsHealthCheck``: LoadBalancer with externalTrafficPolicy Local."""
    return service_type(svc) == "LoadBalancer" and requests_only_local_traffic(svc)


# -- small validators ----------------------------------------------------------------


def _dns1123_label(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, msg) for msg in is_dns1123_label(value)]


def _dns1123_subdomain(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, msg) for msg in is_dns1123_subdomain(value)]


def _qualified_name(value: str, path: str) -> list[FieldError]:
    return [invalid(path, value, msg) for msg in is_qualified_name(value)]


def is_valid_port_num(port: int) -> list[str]:
    """``validation.IsValidPortNum``."""
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(name: str) -> list[str]:
    """``validation.IsValidPortName`` (IANA_SVC_NAME): every rule that fails, in order."""
    errs: list[str] = []
    if len(name.encode()) > 15:
        errs.append("must be no more than 15 characters")
    if not name or any(c not in _PORT_NAME_CHARS for c in name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any("a" <= c <= "z" for c in name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


_PORT_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def validate_port_num_or_name(value: Any, path: str) -> list[FieldError]:
    """``ValidatePortNumOrName`` for an int-or-string (``targetPort``)."""
    if isinstance(value, str):
        return [invalid(path, value, msg) for msg in is_valid_port_name(value)]
    number = _int(value)
    return [invalid(path, number, msg) for msg in is_valid_port_num(number)]


# -- ValidateService -------------------------------------------------------------------


def validate_service(svc: Obj) -> list[FieldError]:
    """``ValidateService``: metadata and spec of a (defaulted) Service."""
    meta = _map(svc.get("metadata"))
    errs = vmeta.validate_object_meta(meta, namespaced=True, name_validator=is_dns1035_label)
    annotations = _map(meta.get("annotations"))
    if (
        ANNOTATION_TOPOLOGY_MODE in annotations
        and ANNOTATION_TOPOLOGY_HINTS in annotations
        and annotations[ANNOTATION_TOPOLOGY_MODE] != annotations[ANNOTATION_TOPOLOGY_HINTS]
    ):
        errs.append(
            invalid(
                f"metadata.annotations[{ANNOTATION_TOPOLOGY_MODE}]",
                _str(annotations[ANNOTATION_TOPOLOGY_MODE]),
                f"must match annotations[{ANNOTATION_TOPOLOGY_HINTS}] when both are specified",
            )
        )

    spec = spec_of(svc)
    stype = service_type(svc)
    ports = ports_of(svc)
    headless = is_headless(svc)
    if not ports and not headless and stype != "ExternalName":
        errs.append(required("spec.ports"))

    if stype == "LoadBalancer":
        for i, p in enumerate(ports):
            if _int(p.get("port")) == KUBELET_PORT:
                errs.append(
                    invalid(
                        f"spec.ports[{i}]",
                        KUBELET_PORT,
                        f"may not expose port {KUBELET_PORT} externally since it is used by "
                        "kubelet",
                    )
                )
        if headless:
            errs.append(
                invalid(
                    "spec.clusterIPs[0]",
                    CLUSTER_IP_NONE,
                    "may not be set to 'None' for LoadBalancer services",
                )
            )
    elif stype == "NodePort":
        if headless:
            errs.append(
                invalid(
                    "spec.clusterIPs[0]",
                    CLUSTER_IP_NONE,
                    "may not be set to 'None' for NodePort services",
                )
            )
    elif stype == "ExternalName":
        if cluster_ips(svc):
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if _list(spec.get("ipFamilies")):
            errs.append(forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            errs.append(
                forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
            )
        # A CNAME may end with a dot to mark it fully qualified.
        cname = _str(spec.get("externalName"))
        if cname.endswith("."):
            cname = cname[:-1]
        if cname:
            errs.extend(_dns1123_subdomain(cname, "spec.externalName"))
        else:
            errs.append(required("spec.externalName"))

    names: set[str] = set()
    for i, p in enumerate(ports):
        errs.extend(_validate_service_port(p, len(ports) > 1, names, f"spec.ports[{i}]"))

    if spec.get("selector") is not None:
        errs.extend(vmeta.validate_labels(_map(spec.get("selector")), "spec.selector"))

    affinity = _str(spec.get("sessionAffinity"))
    if not affinity:
        errs.append(required("spec.sessionAffinity"))
    elif affinity not in SESSION_AFFINITIES:
        errs.append(not_supported("spec.sessionAffinity", affinity, SESSION_AFFINITIES))
    if affinity == "ClientIP":
        errs.extend(_validate_client_ip_affinity(spec.get("sessionAffinityConfig")))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        errs.append(
            forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )

    errs.extend(validate_cluster_ips_related_fields(svc))

    for i, ip in enumerate(_list(spec.get("externalIPs"))):
        path = f"spec.externalIPs[{i}]"
        text = _str(ip)
        bad = is_valid_ip(path, text)
        errs.extend(bad if bad else validate_non_special_ip(text, path))

    if not stype:
        errs.append(required("spec.type"))
    elif stype not in SERVICE_TYPES:
        errs.append(not_supported("spec.type", stype, SERVICE_TYPES))

    if stype == "ClusterIP":
        for i, p in enumerate(ports):
            if _int(p.get("nodePort")) != 0:
                errs.append(
                    forbidden(
                        f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"
                    )
                )

    seen_node_ports: set[tuple[str, int]] = set()
    for i, p in enumerate(ports):
        node_port = _int(p.get("nodePort"))
        if node_port == 0:
            continue
        key = (_str(p.get("protocol")), node_port)
        if key in seen_node_ports:
            errs.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
        seen_node_ports.add(key)

    seen_ports: set[tuple[str, int]] = set()
    for i, p in enumerate(ports):
        key = (_str(p.get("protocol")), _int(p.get("port")))
        if key in seen_ports:
            errs.append(duplicate(f"spec.ports[{i}]", _service_port_key(*key)))
        seen_ports.add(key)

    errs.extend(_validate_source_ranges(svc))

    allocate_lb = spec.get("allocateLoadBalancerNodePorts")
    if allocate_lb is not None and stype != "LoadBalancer":
        errs.append(
            forbidden(
                "spec.allocateLoadBalancerNodePorts",
                "may only be used when `type` is 'LoadBalancer'",
            )
        )
    if stype == "LoadBalancer" and allocate_lb is None:
        # Upstream's path lacks the "spec." prefix here.
        errs.append(required("allocateLoadBalancerNodePorts"))

    errs.extend(validate_load_balancer_class(None, svc))
    errs.extend(_validate_external_traffic_policy(svc))
    errs.extend(_validate_internal_traffic_policy(svc))
    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution not in TRAFFIC_DISTRIBUTIONS:
        errs.append(
            not_supported("spec.trafficDistribution", _str(distribution), TRAFFIC_DISTRIBUTIONS)
        )
    return errs


def _validate_service_port(
    p: Obj, require_name: bool, names: set[str], path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    name = _str(p.get("name"))
    if require_name and not name:
        errs.append(required(f"{path}.name"))
    elif name:
        errs.extend(_dns1123_label(name, f"{path}.name"))
        if name in names:
            errs.append(duplicate(f"{path}.name", name))
        else:
            names.add(name)
    port = _int(p.get("port"))
    errs.extend(invalid(f"{path}.port", port, msg) for msg in is_valid_port_num(port))
    protocol = _str(p.get("protocol"))
    if not protocol:
        errs.append(required(f"{path}.protocol"))
    elif protocol not in PROTOCOLS:
        errs.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    errs.extend(validate_port_num_or_name(p.get("targetPort"), f"{path}.targetPort"))
    app_protocol = p.get("appProtocol")
    if app_protocol is not None:
        errs.extend(_qualified_name(_str(app_protocol), f"{path}.appProtocol"))
    return errs


def _validate_client_ip_affinity(config: Any) -> list[FieldError]:
    path = "spec.sessionAffinityConfig"
    detail = "when session affinity type is ClientIP"
    if config is None:
        return [required(path, detail)]
    client_ip = _map(config).get("clientIP")
    if client_ip is None:
        return [required(f"{path}.clientIP", detail)]
    timeout = _map(client_ip).get("timeoutSeconds")
    if timeout is None:
        return [required(f"{path}.clientIP.timeoutSeconds", detail)]
    seconds = _int(timeout)
    if seconds <= 0 or seconds > MAX_CLIENT_IP_AFFINITY_SECONDS:
        return [
            invalid(
                f"{path}.clientIP.timeoutSeconds",
                seconds,
                f"must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}",
            )
        ]
    return []


def _validate_source_ranges(svc: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    spec = spec_of(svc)
    ranges = _list(spec.get("loadBalancerSourceRanges"))
    annotations = _map(_map(svc.get("metadata")).get("annotations"))
    only_lb = "may only be used when `type` is 'LoadBalancer'"
    if ranges:
        # Upstream's path spells the field with a capital L (a historical accident).
        path = "spec.LoadBalancerSourceRanges"
        if service_type(svc) != "LoadBalancer":
            errs.append(forbidden(path, only_lb))
        for i, value in enumerate(ranges):
            errs.extend(is_valid_cidr(f"{path}[{i}]", _str(value).strip()))
    elif ANNOTATION_LB_SOURCE_RANGES in annotations:
        path = f"metadata.annotations[{ANNOTATION_LB_SOURCE_RANGES}]"
        if service_type(svc) != "LoadBalancer":
            errs.append(forbidden(path, only_lb))
        value = _str(annotations[ANNOTATION_LB_SOURCE_RANGES]).strip()
        if value:
            for cidr in value.split(","):
                errs.extend(is_valid_cidr(path, cidr.strip()))
    return errs


def validate_load_balancer_class(old: Obj | None, svc: Obj) -> list[FieldError]:
    """``validateLoadBalancerClassField``: LoadBalancer only, a qualified name, fixed once set."""
    errs: list[FieldError] = []
    lb_class = spec_of(svc).get("loadBalancerClass")
    path = "spec.loadBalancerClass"
    if (
        old is not None
        and service_type(old) == "LoadBalancer"
        and service_type(svc) == "LoadBalancer"
        and spec_of(old).get("loadBalancerClass") != lb_class
    ):
        errs.append(invalid(path, lb_class, "may not change once set"))
    if service_type(svc) == "LoadBalancer":
        if lb_class is not None:
            errs.extend(_qualified_name(_str(lb_class), path))
    elif lb_class is not None:
        errs.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
    return errs


def _validate_external_traffic_policy(svc: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    spec = spec_of(svc)
    policy = _str(spec.get("externalTrafficPolicy"))
    if not externally_accessible(svc):
        if policy:
            errs.append(
                invalid(
                    "spec.externalTrafficPolicy",
                    policy,
                    "may only be set for externally-accessible services",
                )
            )
    elif not policy:
        errs.append(required("spec.externalTrafficPolicy"))
    elif policy not in TRAFFIC_POLICIES:
        errs.append(not_supported("spec.externalTrafficPolicy", policy, TRAFFIC_POLICIES))
    hc_port = _int(spec.get("healthCheckNodePort"))
    if not needs_health_check(svc):
        if hc_port != 0:
            errs.append(
                invalid(
                    "spec.healthCheckNodePort",
                    hc_port,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                    "is 'Local'",
                )
            )
    elif hc_port == 0:
        errs.append(required("spec.healthCheckNodePort"))
    else:
        errs.extend(
            invalid("spec.healthCheckNodePort", hc_port, msg) for msg in is_valid_port_num(hc_port)
        )
    return errs


def _validate_internal_traffic_policy(svc: Obj) -> list[FieldError]:
    policy = spec_of(svc).get("internalTrafficPolicy")
    if policy is None:
        # Not forbidden on other types, for historical reasons (as upstream).
        if service_type(svc) in ("NodePort", "LoadBalancer", "ClusterIP"):
            return [required("spec.internalTrafficPolicy")]
        return []
    if policy not in TRAFFIC_POLICIES:
        return [not_supported("spec.internalTrafficPolicy", _str(policy), TRAFFIC_POLICIES)]
    return []


def validate_cluster_ips_related_fields(svc: Obj) -> list[FieldError]:
    """``ValidateServiceClusterIPsRelatedFields``: clusterIP(s), ipFamilies, ipFamilyPolicy.

    Also run by the allocator before it allocates anything (a bad IP is reported
    on its own, before other validation).
    """
    if service_type(svc) == "ExternalName":
        return []
    errs: list[FieldError] = []
    spec = spec_of(svc)
    cluster_ip = _str(spec.get("clusterIP"))
    raw_ips = spec.get("clusterIPs")
    ips = cluster_ips(svc)
    if cluster_ip:
        if not ips:
            errs.append(required("spec.clusterIPs"))
        elif ips[0] != cluster_ip:
            errs.append(
                invalid(
                    "spec.clusterIPs", go_string_list(raw_ips), "first value must match `clusterIP`"
                )
            )
    elif ips:
        errs.append(
            invalid(
                "spec.clusterIPs",
                go_string_list(raw_ips),
                "must be empty when `clusterIP` is not specified",
            )
        )

    families = [_str(f) for f in _list(spec.get("ipFamilies"))]
    seen: set[str] = set()
    for i, family in enumerate(families):
        if family not in IP_FAMILIES:
            errs.append(not_supported(f"spec.ipFamilies[{i}]", family, IP_FAMILIES))
        if family in seen:
            errs.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)

    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        errs.append(not_supported("spec.ipFamilyPolicy", _str(policy), IP_FAMILY_POLICIES))

    bad_ips = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == CLUSTER_IP_NONE:
            if len(ips) > 1:
                bad_ips = True
                errs.append(
                    invalid(
                        "spec.clusterIPs",
                        go_string_list(raw_ips),
                        "'None' must be the first and only value",
                    )
                )
            continue
        bad = is_valid_ip(f"spec.clusterIPs[{i}]", ip)
        bad_ips = bad_ips or bool(bad)
        errs.extend(bad)
    if len(ips) > 2:
        errs.append(
            invalid("spec.clusterIPs", go_string_list(raw_ips), "may only hold up to 2 values")
        )
    if bad_ips:
        return errs

    families_of_ips = {family_of(ip) for ip in ips}
    if len(ips) > 1 and not {"IPv4", "IPv6"} <= families_of_ips:
        errs.append(
            invalid(
                "spec.clusterIPs",
                go_string_list(raw_ips),
                "may specify no more than one IP for each IP family",
            )
        )

    if not is_headless(svc) and ips and families:
        for i, ip in enumerate(ips):
            if i >= len(families):
                break
            if families[i] == "IPv4" and is_ipv6_string(ip):
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if families[i] == "IPv6" and not is_ipv6_string(ip):
                errs.append(
                    invalid(
                        f"spec.clusterIPs[{i}]",
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


# -- ValidateServiceUpdate ------------------------------------------------------------------


def validate_service_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidateServiceUpdate``: what may not change, then the whole new Service."""
    errs = vmeta.validate_object_meta_update(_map(new.get("metadata")), _map(old.get("metadata")))
    errs.extend(_validate_upgrade_downgrade_cluster_ips(old, new))
    errs.extend(_validate_upgrade_downgrade_ip_families(old, new))
    errs.extend(validate_load_balancer_class(old, new))
    old_hc = _int(spec_of(old).get("healthCheckNodePort"))
    new_hc = _int(spec_of(new).get("healthCheckNodePort"))
    if needs_health_check(old) and needs_health_check(new) and new_hc != old_hc:
        errs.append(forbidden("spec.healthCheckNodePort", vmeta.FIELD_IMMUTABLE_ERROR_MSG))
    errs.extend(validate_service(new))
    return errs


def _validate_upgrade_downgrade_cluster_ips(old: Obj, new: Obj) -> list[FieldError]:
    if service_type(new) == "ExternalName" or service_type(old) == "ExternalName":
        return []
    if is_headless(old) and is_headless(new):
        return []
    errs: list[FieldError] = []
    old_ips, new_ips = cluster_ips(old), cluster_ips(new)
    shown = go_string_list(spec_of(new).get("clusterIPs"))
    if len(old_ips) == len(new_ips):
        for i, ip in enumerate(old_ips):
            if ip != new_ips[i]:
                errs.append(invalid(f"spec.clusterIPs[{i}]", shown, "may not change once set"))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid("spec.clusterIPs[0]", shown, "primary clusterIP can not be unset"))
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errs.append(invalid("spec.clusterIPs[0]", shown, "may not change once set"))
        if len(new_ips) == 1 and spec_of(new).get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    spec_of(new).get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid("spec.clusterIPs[0]", shown, "may not change once set"))
    return errs


def _validate_upgrade_downgrade_ip_families(old: Obj, new: Obj) -> list[FieldError]:
    if service_type(new) == "ExternalName" or service_type(old) == "ExternalName":
        return []
    if is_headless(old) or is_headless(new):
        # Changing to or from headless, or headless both times: families may change.
        return []
    errs: list[FieldError] = []
    old_families = [_str(f) for f in _list(spec_of(old).get("ipFamilies"))]
    new_families = [_str(f) for f in _list(spec_of(new).get("ipFamilies"))]
    shown_families = go_family_list(spec_of(new).get("ipFamilies"))
    shown_ips = go_string_list(spec_of(new).get("clusterIPs"))
    if len(old_families) == len(new_families):
        for i, family in enumerate(old_families):
            if family != new_families[i]:
                errs.append(
                    invalid("spec.ipFamilies[0]", shown_families, "may not change once set")
                )
    elif len(old_families) > len(new_families):
        if not cluster_ips(new):
            errs.append(
                invalid("spec.ipFamilies[0]", shown_families, "primary ipFamily can not be unset")
            )
        if new_families and new_families[0] != old_families[0]:
            errs.append(invalid("spec.ipFamilies[0]", shown_ips, "may not change once set"))
        if len(new_families) == 1 and spec_of(new).get("ipFamilyPolicy") != "SingleStack":
            errs.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    spec_of(new).get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_families and new_families and new_families[0] != old_families[0]:
        errs.append(invalid("spec.ipFamilies[0]", shown_ips, "may not change once set"))
    return errs


# -- ValidateServiceStatusUpdate ---------------------------------------------------------------


def validate_service_status_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidateServiceStatusUpdate``: metadata rules and the load-balancer status."""
    errs = vmeta.validate_object_meta_update(_map(new.get("metadata")), _map(old.get("metadata")))
    status = _map(_map(new.get("status")).get("loadBalancer"))
    errs.extend(validate_load_balancer_status(status, "status.loadBalancer", spec_of(new)))
    return errs


def validate_load_balancer_status(status: Obj, path: str, spec: Obj) -> list[FieldError]:
    """``ValidateLoadBalancerStatus`` (LoadBalancerIPMode on, as in 1.32)."""
    errs: list[FieldError] = []
    ingress = _list(status.get("ingress"))
    if ingress and _str(spec.get("type")) != "LoadBalancer":
        return [forbidden(f"{path}.ingress", "may only be used when `spec.type` is 'LoadBalancer'")]
    for i, raw in enumerate(ingress):
        ing = _map(raw)
        p = f"{path}.ingress[{i}]"
        ip = _str(ing.get("ip"))
        if ip:
            errs.extend(is_valid_ip(f"{p}.ip", ip))
        mode = ing.get("ipMode")
        if mode is None:
            if ip:
                errs.append(required(f"{p}.ipMode", "must be specified when `ip` is set"))
        elif not ip:
            errs.append(forbidden(f"{p}.ipMode", "may not be specified when `ip` is not set"))
        elif mode not in LB_IP_MODES:
            errs.append(not_supported(f"{p}.ipMode", _str(mode), LB_IP_MODES))
        hostname = _str(ing.get("hostname"))
        if hostname:
            errs.extend(_dns1123_subdomain(hostname, f"{p}.hostname"))
            if parse_ip_sloppy(hostname) is not None:
                errs.append(
                    invalid(f"{p}.hostname", hostname, "must be a DNS name, not an IP address")
                )
    return errs
