"""Service validation: every rule of ValidateService(Update) with its exact path and message.

Each case starts from a valid, defaulted Service that has been through allocation
(ClusterIP, families), changes something, and lists the rendered errors
(``field.Error.Error()``) Kubernetes 1.32 answers with, in its order.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kubesvc.api import defaults
from kubesvc.api.validation.service import (
    validate_service,
    validate_service_status_update,
    validate_service_update,
)

Obj = dict[str, Any]

DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
QNAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
BAD_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
BAD_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
PORT_RANGE = "must be between 1 and 65535, inclusive"
DUP_PORT_80 = (
    'core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, '
    'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
)


def service(spec: Obj | None = None, *, name: str = "web", **meta: Any) -> Obj:
    """A defaulted Service as it reaches validation (allocated fields filled in)."""
    body: Obj = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    body.update(spec or {})
    obj: Obj = {"metadata": {"name": name, "namespace": "default", **meta}, "spec": body}
    defaults.service(obj)
    s = obj["spec"]
    if s["type"] != "ExternalName":
        if "clusterIP" not in s:
            s["clusterIP"] = "10.96.100.1"
        s.setdefault("clusterIPs", [s["clusterIP"]])
        s.setdefault("ipFamilies", ["IPv4"])
        s.setdefault("ipFamilyPolicy", "SingleStack")
    if s["type"] in ("NodePort", "LoadBalancer"):
        for i, p in enumerate(s["ports"]):
            p.setdefault("nodePort", 30100 + i)
    if s["type"] == "LoadBalancer" and s.get("externalTrafficPolicy") == "Local":
        s.setdefault("healthCheckNodePort", 30200)
    return obj


def rendered(errs: list[Any]) -> list[str]:
    return [e.error() for e in errs]


def unset(*path: str) -> Callable[[Obj], None]:
    def run(obj: Obj) -> None:
        cur = obj
        for p in path[:-1]:
            cur = cur[p]
        cur.pop(path[-1], None)

    return run


def put(value: Any, *path: str | int) -> Callable[[Obj], None]:
    def run(obj: Obj) -> None:
        cur: Any = obj
        for p in path[:-1]:
            cur = cur[p]
        cur[path[-1]] = value

    return run


CREATE_CASES = [
    pytest.param(service(), None, [], id="valid-clusterip"),
    pytest.param(
        service({"clusterIP": "None", "ports": []}), None, [], id="valid-headless-without-ports"
    ),
    pytest.param(
        service({"type": "ExternalName", "externalName": "db.example.com", "ports": []}),
        None,
        [],
        id="valid-externalname",
    ),
    pytest.param(
        service({"type": "ExternalName", "externalName": "db.example.com."}),
        None,
        [],
        id="valid-externalname-trailing-dot",
    ),
    pytest.param(service({"type": "NodePort"}), None, [], id="valid-nodeport"),
    pytest.param(service({"type": "LoadBalancer"}), None, [], id="valid-loadbalancer"),
    pytest.param(
        service({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
        None,
        [],
        id="valid-loadbalancer-local",
    ),
    pytest.param(
        service({"sessionAffinity": "ClientIP"}), None, [], id="valid-clientip-default-timeout"
    ),
    pytest.param(
        service(
            {"ports": [{"port": 53, "name": "a"}, {"port": 53, "name": "b", "protocol": "UDP"}]}
        ),
        None,
        [],
        id="valid-same-port-two-protocols",
    ),
    pytest.param(
        service(
            {
                "type": "NodePort",
                "ports": [
                    {"port": 53, "name": "a", "nodePort": 30053},
                    {"port": 53, "name": "b", "protocol": "UDP", "nodePort": 30053},
                ],
            }
        ),
        None,
        [],
        id="valid-same-nodeport-two-protocols",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "http-alt"}]}),
        None,
        [],
        id="valid-named-target-port",
    ),
    pytest.param(
        service(name="1web"),
        None,
        [f'metadata.name: Invalid value: "1web": {DNS1035}'],
        id="name-starts-with-digit",
    ),
    pytest.param(
        service(name="web_1"),
        None,
        [f'metadata.name: Invalid value: "web_1": {DNS1035}'],
        id="name-underscore",
    ),
    pytest.param(
        service(name="a" * 64),
        None,
        [f'metadata.name: Invalid value: "{"a" * 64}": must be no more than 63 characters'],
        id="name-too-long",
    ),
    pytest.param(service({"ports": []}), None, ["spec.ports: Required value"], id="ports-required"),
    pytest.param(
        service({"ports": [{"port": 80}, {"port": 81, "name": "b"}]}),
        None,
        ["spec.ports[0].name: Required value"],
        id="port-name-required-when-several",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "name": "Web_1"}]}),
        None,
        [f'spec.ports[0].name: Invalid value: "Web_1": {LABEL}'],
        id="port-name-not-dns-label",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "name": "a.b"}]}),
        None,
        ['spec.ports[0].name: Invalid value: "a.b": must not contain dots'],
        id="port-name-with-dots",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "name": "web"}, {"port": 81, "name": "web"}]}),
        None,
        ['spec.ports[1].name: Duplicate value: "web"'],
        id="port-name-duplicate",
    ),
    pytest.param(
        service({"ports": [{"port": 70000}]}),
        None,
        [
            f"spec.ports[0].port: Invalid value: 70000: {PORT_RANGE}",
            f"spec.ports[0].targetPort: Invalid value: 70000: {PORT_RANGE}",
        ],
        id="port-out-of-range",
    ),
    pytest.param(
        service(),
        put(0, "spec", "ports", 0, "port"),
        [f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}"],
        id="port-zero",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "protocol": "HTTP"}]}),
        None,
        [
            'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", '
            '"UDP"'
        ],
        id="protocol-unsupported",
    ),
    pytest.param(
        service(),
        put("", "spec", "ports", 0, "protocol"),
        ["spec.ports[0].protocol: Required value"],
        id="protocol-required",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": 65536}]}),
        None,
        [f"spec.ports[0].targetPort: Invalid value: 65536: {PORT_RANGE}"],
        id="target-port-number-out-of-range",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "abcdefghijklmnop"}]}),
        None,
        [
            'spec.ports[0].targetPort: Invalid value: "abcdefghijklmnop": must be no more than 15 '
            "characters"
        ],
        id="target-port-name-too-long",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "web_http"}]}),
        None,
        [
            'spec.ports[0].targetPort: Invalid value: "web_http": must contain only alpha-numeric '
            "characters (a-z, 0-9), and hyphens (-)"
        ],
        id="target-port-name-bad-character",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "8080"}]}),
        None,
        ['spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)'],
        id="target-port-name-digits-only",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "we--b"}]}),
        None,
        ['spec.ports[0].targetPort: Invalid value: "we--b": must not contain consecutive hyphens'],
        id="target-port-name-double-hyphen",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "-web"}]}),
        None,
        ['spec.ports[0].targetPort: Invalid value: "-web": must not begin or end with a hyphen'],
        id="target-port-name-leading-hyphen",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "targetPort": "-"}]}),
        None,
        [
            'spec.ports[0].targetPort: Invalid value: "-": must contain at least one letter (a-z)',
            'spec.ports[0].targetPort: Invalid value: "-": must not begin or end with a hyphen',
        ],
        id="target-port-name-every-rule-reported",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "appProtocol": "bad proto"}]}),
        None,
        [f'spec.ports[0].appProtocol: Invalid value: "bad proto": {QNAME}'],
        id="app-protocol-not-qualified-name",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]}),
        None,
        [f"spec.ports[1]: Duplicate value: {DUP_PORT_80}"],
        id="duplicate-port-and-protocol",
    ),
    pytest.param(
        service(
            {
                "type": "NodePort",
                "ports": [
                    {"port": 80, "name": "a", "nodePort": 30080},
                    {"port": 81, "name": "b", "nodePort": 30080},
                ],
            }
        ),
        None,
        ["spec.ports[1].nodePort: Duplicate value: 30080"],
        id="duplicate-node-port",
    ),
    pytest.param(
        service({"ports": [{"port": 80, "nodePort": 30080}]}),
        None,
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
        id="node-port-on-clusterip",
    ),
    pytest.param(
        service({"type": "Foo"}),
        None,
        [
            'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", '
            '"LoadBalancer", "NodePort"'
        ],
        id="type-unsupported",
    ),
    pytest.param(
        service(), put("", "spec", "type"), ["spec.type: Required value"], id="type-required"
    ),
    pytest.param(
        service({"selector": {"app": "bad value"}}),
        None,
        [f'spec.selector: Invalid value: "bad value": {LABEL_VALUE}'],
        id="selector-bad-label-value",
    ),
    pytest.param(
        service({"sessionAffinity": "Sticky"}),
        None,
        ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
        id="session-affinity-unsupported",
    ),
    pytest.param(
        service(),
        put("", "spec", "sessionAffinity"),
        ["spec.sessionAffinity: Required value"],
        id="session-affinity-required",
    ),
    pytest.param(
        service(
            {
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
            }
        ),
        None,
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater "
            "than 0 and less than 86400"
        ],
        id="affinity-timeout-zero",
    ),
    pytest.param(
        service(
            {
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}},
            }
        ),
        None,
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be "
            "greater than 0 and less than 86400"
        ],
        id="affinity-timeout-above-a-day",
    ),
    pytest.param(
        service(
            {
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86400}},
            }
        ),
        None,
        [],
        id="affinity-timeout-one-day-is-fine",
    ),
    pytest.param(
        service({"sessionAffinity": "ClientIP"}),
        unset("spec", "sessionAffinityConfig"),
        ["spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP"],
        id="affinity-config-required",
    ),
    pytest.param(
        service({"sessionAffinity": "ClientIP"}),
        put({}, "spec", "sessionAffinityConfig"),
        [
            "spec.sessionAffinityConfig.clientIP: Required value: when session affinity type is "
            "ClientIP"
        ],
        id="affinity-client-ip-required",
    ),
    pytest.param(
        service({"sessionAffinity": "ClientIP"}),
        put({"clientIP": {}}, "spec", "sessionAffinityConfig"),
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Required value: when session "
            "affinity type is ClientIP"
        ],
        id="affinity-timeout-required",
    ),
    pytest.param(
        service(),
        put({"clientIP": {"timeoutSeconds": 5}}, "spec", "sessionAffinityConfig"),
        ["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"],
        id="affinity-config-with-none",
    ),
    pytest.param(
        service({"clusterIP": "10.0.0.300"}),
        None,
        [f'spec.clusterIPs[0]: Invalid value: "10.0.0.300": {BAD_IP}'],
        id="cluster-ip-not-an-ip",
    ),
    pytest.param(
        service({"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.6"]}),
        None,
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.6"}: first value must match '
            "`clusterIP`"
        ],
        id="cluster-ips-first-must-match",
    ),
    pytest.param(
        service({"clusterIP": "10.96.0.5", "clusterIPs": []}),
        None,
        ["spec.clusterIPs: Required value"],
        id="cluster-ips-required-with-cluster-ip",
    ),
    pytest.param(
        service({"clusterIP": "", "clusterIPs": ["10.96.0.6"]}),
        None,
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.6"}: must be empty when '
            "`clusterIP` is not specified"
        ],
        id="cluster-ips-without-cluster-ip",
    ),
    pytest.param(
        service({"clusterIP": "None", "clusterIPs": ["None", "10.96.0.6"]}),
        None,
        [
            'spec.clusterIPs: Invalid value: []string{"None", "10.96.0.6"}: \'None\' must be the '
            "first and only value"
        ],
        id="none-must-be-alone",
    ),
    pytest.param(
        service(
            {
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5", "fd00::5", "10.96.0.6"],
                "ipFamilies": ["IPv4", "IPv6"],
                "ipFamilyPolicy": "RequireDualStack",
            }
        ),
        None,
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.5", "fd00::5", "10.96.0.6"}: may '
            "only hold up to 2 values"
        ],
        id="at-most-two-cluster-ips",
    ),
    pytest.param(
        service(
            {
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5", "10.96.0.6"],
                "ipFamilyPolicy": "RequireDualStack",
            }
        ),
        None,
        [
            'spec.clusterIPs: Invalid value: []string{"10.96.0.5", "10.96.0.6"}: may specify no '
            "more than one IP for each IP family"
        ],
        id="one-ip-per-family",
    ),
    pytest.param(
        service({"ipFamilies": ["IPv6"]}),
        None,
        [
            'spec.clusterIPs[0]: Invalid value: "10.96.100.1": expected an IPv6 value as indicated '
            "by `ipFamilies[0]`"
        ],
        id="cluster-ip-family-mismatch",
    ),
    pytest.param(
        service({"ipFamilies": ["IPv5"]}),
        None,
        ['spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'],
        id="ip-family-unsupported",
    ),
    pytest.param(
        service({"ipFamilies": ["IPv4", "IPv4"]}),
        None,
        ['spec.ipFamilies[1]: Duplicate value: "IPv4"'],
        id="ip-family-duplicate",
    ),
    pytest.param(
        service({"ipFamilyPolicy": "DualStackPlease"}),
        None,
        [
            'spec.ipFamilyPolicy: Unsupported value: "DualStackPlease": supported values: '
            '"PreferDualStack", "RequireDualStack", "SingleStack"'
        ],
        id="ip-family-policy-unsupported",
    ),
    pytest.param(
        service({"type": "NodePort", "clusterIP": "None"}),
        None,
        [
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
            "services"
        ],
        id="headless-nodeport",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "clusterIP": "None"}),
        None,
        [
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for "
            "LoadBalancer services"
        ],
        id="headless-loadbalancer",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "ports": [{"port": 10250}]}),
        None,
        [
            "spec.ports[0]: Invalid value: 10250: may not expose port 10250 externally since it "
            "is used by kubelet"
        ],
        id="loadbalancer-kubelet-port",
    ),
    pytest.param(
        service(
            {
                "type": "ExternalName",
                "externalName": "db.example.com",
                "clusterIP": "10.96.0.5",
                "clusterIPs": ["10.96.0.5"],
            }
        ),
        None,
        ["spec.clusterIPs: Forbidden: may not be set for ExternalName services"],
        id="externalname-cluster-ip",
    ),
    pytest.param(
        service(
            {
                "type": "ExternalName",
                "externalName": "db.example.com",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
            }
        ),
        None,
        [
            "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services",
        ],
        id="externalname-families",
    ),
    pytest.param(
        service({"type": "ExternalName"}),
        None,
        ["spec.externalName: Required value"],
        id="externalname-required",
    ),
    pytest.param(
        service({"type": "ExternalName", "externalName": "."}),
        None,
        ["spec.externalName: Required value"],
        id="externalname-only-a-dot",
    ),
    pytest.param(
        service({"type": "ExternalName", "externalName": "Db_Host"}),
        None,
        [f'spec.externalName: Invalid value: "Db_Host": {SUBDOMAIN}'],
        id="externalname-not-dns",
    ),
    pytest.param(
        service({"externalIPs": ["1.2.3"]}),
        None,
        [f'spec.externalIPs[0]: Invalid value: "1.2.3": {BAD_IP}'],
        id="external-ip-invalid",
    ),
    pytest.param(
        service({"externalIPs": ["127.0.0.2"]}),
        None,
        [
            'spec.externalIPs[0]: Invalid value: "127.0.0.2": may not be in the loopback range '
            "(127.0.0.0/8, ::1/128)"
        ],
        id="external-ip-loopback",
    ),
    pytest.param(
        service({"externalIPs": ["0.0.0.0"]}),
        None,
        ['spec.externalIPs[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)'],
        id="external-ip-unspecified",
    ),
    pytest.param(
        service({"externalIPs": ["169.254.169.254"]}),
        None,
        [
            'spec.externalIPs[0]: Invalid value: "169.254.169.254": may not be in the link-local '
            "range (169.254.0.0/16, fe80::/10)"
        ],
        id="external-ip-link-local",
    ),
    pytest.param(
        service({"externalIPs": ["224.0.0.5"]}),
        None,
        [
            'spec.externalIPs[0]: Invalid value: "224.0.0.5": may not be in the link-local '
            "multicast range (224.0.0.0/24, ff02::/10)"
        ],
        id="external-ip-link-local-multicast",
    ),
    pytest.param(
        service({"externalIPs": ["192.0.2.10"]}),
        None,
        [],
        id="external-ip-makes-clusterip-externally-accessible",
    ),
    pytest.param(
        service({"externalTrafficPolicy": "Local"}),
        None,
        [
            'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
            "externally-accessible services"
        ],
        id="etp-on-internal-service",
    ),
    pytest.param(
        service({"type": "NodePort", "externalTrafficPolicy": "Global"}),
        None,
        [
            'spec.externalTrafficPolicy: Unsupported value: "Global": supported values: '
            '"Cluster", "Local"'
        ],
        id="etp-unsupported",
    ),
    pytest.param(
        service({"type": "NodePort"}),
        unset("spec", "externalTrafficPolicy"),
        ["spec.externalTrafficPolicy: Required value"],
        id="etp-required",
    ),
    pytest.param(
        service({"type": "NodePort", "healthCheckNodePort": 30300}),
        None,
        [
            "spec.healthCheckNodePort: Invalid value: 30300: may only be set when `type` is "
            "'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
        ],
        id="health-check-port-not-needed",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
        unset("spec", "healthCheckNodePort"),
        ["spec.healthCheckNodePort: Required value"],
        id="health-check-port-required",
    ),
    pytest.param(
        service(
            {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "healthCheckNodePort": 70000}
        ),
        None,
        [f"spec.healthCheckNodePort: Invalid value: 70000: {PORT_RANGE}"],
        id="health-check-port-out-of-range",
    ),
    pytest.param(
        service({"internalTrafficPolicy": "Nearby"}),
        None,
        [
            'spec.internalTrafficPolicy: Unsupported value: "Nearby": supported values: '
            '"Cluster", "Local"'
        ],
        id="itp-unsupported",
    ),
    pytest.param(
        service(),
        unset("spec", "internalTrafficPolicy"),
        ["spec.internalTrafficPolicy: Required value"],
        id="itp-required",
    ),
    pytest.param(
        service({"loadBalancerSourceRanges": ["10.0.0.0/8"]}),
        None,
        [
            "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is "
            "'LoadBalancer'"
        ],
        id="source-ranges-not-loadbalancer",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "loadBalancerSourceRanges": [" 10.0.0.0/8 ", "10.1.0.0"]}),
        None,
        [f'spec.LoadBalancerSourceRanges[1]: Invalid value: "10.1.0.0": {BAD_CIDR}'],
        id="source-ranges-cidr",
    ),
    pytest.param(
        service(
            {"type": "LoadBalancer"},
            annotations={"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, x"},
        ),
        None,
        [
            "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: "
            f'Invalid value: "x": {BAD_CIDR}'
        ],
        id="source-ranges-annotation",
    ),
    pytest.param(
        service({"type": "NodePort", "allocateLoadBalancerNodePorts": False}),
        None,
        [
            "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is "
            "'LoadBalancer'"
        ],
        id="allocate-node-ports-not-loadbalancer",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        unset("spec", "allocateLoadBalancerNodePorts"),
        ["allocateLoadBalancerNodePorts: Required value"],
        id="allocate-node-ports-required",
    ),
    pytest.param(
        service({"loadBalancerClass": "example.com/lb"}),
        None,
        ["spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"],
        id="lb-class-not-loadbalancer",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "loadBalancerClass": "example.com/my lb"}),
        None,
        [f'spec.loadBalancerClass: Invalid value: "example.com/my lb": {QNAME}'],
        id="lb-class-not-qualified-name",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "loadBalancerClass": "example.com/lb"}),
        None,
        [],
        id="lb-class-valid",
    ),
    pytest.param(
        service({"publishNotReadyAddresses": True}), None, [], id="publish-not-ready-addresses"
    ),
    pytest.param(
        service({"trafficDistribution": "PreferSameZone"}),
        None,
        [
            'spec.trafficDistribution: Unsupported value: "PreferSameZone": supported values: '
            '"PreferClose"'
        ],
        id="traffic-distribution-unsupported",
    ),
    pytest.param(
        service(
            annotations={
                "service.kubernetes.io/topology-mode": "Auto",
                "service.kubernetes.io/topology-aware-hints": "Disabled",
            }
        ),
        None,
        [
            'metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "Auto": '
            "must match annotations[service.kubernetes.io/topology-aware-hints] when both are "
            "specified"
        ],
        id="topology-annotations-disagree",
    ),
]


@pytest.mark.parametrize(("svc", "change", "expected"), CREATE_CASES)
def test_validate_service(
    svc: Obj, change: Callable[[Obj], None] | None, expected: list[str]
) -> None:
    obj = copy.deepcopy(svc)
    if change is not None:
        change(obj)
    assert rendered(validate_service(obj)) == expected


def test_several_errors_come_in_upstream_order() -> None:
    obj = service(
        {
            "type": "NodePort",
            "ports": [{"port": 0, "protocol": "HTTP"}],
            "sessionAffinity": "Sticky",
            "externalIPs": ["127.0.0.1"],
        },
        name="Web",
    )
    assert rendered(validate_service(obj)) == [
        f'metadata.name: Invalid value: "Web": {DNS1035}',
        f"spec.ports[0].port: Invalid value: 0: {PORT_RANGE}",
        'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        f"spec.ports[0].targetPort: Invalid value: 0: {PORT_RANGE}",
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
        'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range '
        "(127.0.0.0/8, ::1/128)",
    ]


UPDATE_CASES = [
    pytest.param(
        service(), lambda o: o["spec"].update(selector={"app": "v2"}), [], id="selector-change"
    ),
    pytest.param(
        service(),
        lambda o: o["spec"].update(clusterIP="10.96.100.2", clusterIPs=["10.96.100.2"]),
        ['spec.clusterIPs[0]: Invalid value: []string{"10.96.100.2"}: may not change once set'],
        id="cluster-ip-immutable",
    ),
    pytest.param(
        service(),
        lambda o: o["spec"].update(clusterIP="None", clusterIPs=["None"]),
        ['spec.clusterIPs[0]: Invalid value: []string{"None"}: may not change once set'],
        id="cluster-ip-to-headless",
    ),
    pytest.param(
        service(),
        lambda o: o["spec"].update(clusterIP="", clusterIPs=[]),
        ["spec.clusterIPs[0]: Invalid value: []string{}: primary clusterIP can not be unset"],
        id="cluster-ip-unset",
    ),
    pytest.param(
        service({"clusterIP": "None"}),
        lambda o: o["spec"].update(selector={"app": "v2"}),
        [],
        id="headless-stays-headless",
    ),
    pytest.param(
        service(),
        lambda o: o["spec"].update(ipFamilies=["IPv6"]),
        [
            'spec.ipFamilies[0]: Invalid value: []core.IPFamily{"IPv6"}: may not change once set',
            'spec.clusterIPs[0]: Invalid value: "10.96.100.1": expected an IPv6 value as '
            "indicated by `ipFamilies[0]`",
        ],
        id="ip-family-immutable",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}),
        lambda o: o["spec"].update(healthCheckNodePort=30201),
        ["spec.healthCheckNodePort: Forbidden: field is immutable"],
        id="health-check-port-immutable",
    ),
    pytest.param(
        service({"type": "LoadBalancer", "loadBalancerClass": "example.com/a"}),
        lambda o: o["spec"].update(loadBalancerClass="example.com/b"),
        ['spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set'],
        id="lb-class-immutable",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        lambda o: o["spec"].update(loadBalancerClass="example.com/b"),
        ['spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set'],
        id="lb-class-cannot-be-added",
    ),
    pytest.param(
        service(),
        lambda o: o["metadata"].update(name="other"),
        ['metadata.name: Invalid value: "other": field is immutable'],
        id="name-immutable",
    ),
]


@pytest.mark.parametrize(("old", "change", "expected"), UPDATE_CASES)
def test_validate_service_update(
    old: Obj, change: Callable[[Obj], None], expected: list[str]
) -> None:
    old = copy.deepcopy(old)
    old["metadata"].update({"uid": "u1", "creationTimestamp": "2025-01-01T00:00:00Z"})
    new = copy.deepcopy(old)
    change(new)
    assert rendered(validate_service_update(new, old)) == expected


STATUS_CASES = [
    pytest.param(
        service({"type": "LoadBalancer"}),
        {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]},
        [],
        id="loadbalancer-ingress",
    ),
    pytest.param(
        service(),
        {"ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]},
        [
            "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is "
            "'LoadBalancer'"
        ],
        id="ingress-on-clusterip",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        {"ingress": [{"ip": "192.0.2", "ipMode": "VIP"}]},
        [f'status.loadBalancer.ingress[0].ip: Invalid value: "192.0.2": {BAD_IP}'],
        id="ingress-bad-ip",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        {"ingress": [{"ip": "192.0.2.1"}]},
        [
            "status.loadBalancer.ingress[0].ipMode: Required value: must be specified when `ip` "
            "is set"
        ],
        id="ingress-ip-mode-required",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        {"ingress": [{"hostname": "lb.example.com", "ipMode": "VIP"}]},
        [
            "status.loadBalancer.ingress[0].ipMode: Forbidden: may not be specified when `ip` is "
            "not set"
        ],
        id="ingress-ip-mode-without-ip",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        {"ingress": [{"ip": "192.0.2.1", "ipMode": "Direct"}]},
        [
            'status.loadBalancer.ingress[0].ipMode: Unsupported value: "Direct": supported values: '
            '"Proxy", "VIP"'
        ],
        id="ingress-ip-mode-unsupported",
    ),
    pytest.param(
        service({"type": "LoadBalancer"}),
        {"ingress": [{"hostname": "192.0.2.1"}]},
        [
            'status.loadBalancer.ingress[0].hostname: Invalid value: "192.0.2.1": must be a DNS '
            "name, not an IP address"
        ],
        id="ingress-hostname-is-an-ip",
    ),
]


@pytest.mark.parametrize(("svc", "lb_status", "expected"), STATUS_CASES)
def test_validate_service_status_update(svc: Obj, lb_status: Obj, expected: list[str]) -> None:
    old = copy.deepcopy(svc)
    new = copy.deepcopy(svc)
    new["status"] = {"loadBalancer": lb_status}
    assert rendered(validate_service_status_update(new, old)) == expected
