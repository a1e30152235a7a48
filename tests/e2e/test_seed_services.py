"""The seed article's Service flow with the real kubectl against ``kubesvc up`` (controllers on).

``kubectl create -f`` the webapp ReplicationController (2 replicas), mark its pods
Running and Ready through the status subresource (as a node agent would),
``kubectl expose rc webapp-test``, then ``get svc``, ``get endpoints`` (both pod
IPs), ``get svc -o yaml`` and ``describe svc`` (its Endpoints line comes from
EndpointSlices). Also the seed's "external service" (a selector-less Service
plus hand-written Endpoints, mirrored into a slice) and a readiness flip.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import pytest
import yaml
from tests.e2e.kubectl_helpers import (
    Kubectl,
    requires_kubectl,
    squeeze,
    wait_for,
)

pytestmark = [pytest.mark.e2e, requires_kubectl]

T = TypeVar("T")
DEADLINE = 20.0
UP_ARGS = ("--disable-agent",)
"""``kubesvc up`` without a node agent: the tests mark pods ready themselves."""

WEBAPP_RC = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: webapp-test
spec:
  replicas: 2
  template:
    metadata:
      name: webapp-test
      labels:
        app: webapp-test
    spec:
      containers:
      - name: webapp
        image: tomcat
        ports:
        - containerPort: 8080
"""

EXTERNAL = """\
apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  ports:
  - protocol: TCP
    port: 80
    targetPort: 9376
---
apiVersion: v1
kind: Endpoints
metadata:
  name: my-service
subsets:
- addresses:
  - ip: 192.0.2.42
  ports:
  - port: 9376
"""


def until(check: Callable[[], T | None], what: str) -> T:
    """Poll ``check`` (kubectl calls) until it returns something truthy, within ``DEADLINE``."""
    result: T = wait_for(what, check, timeout=DEADLINE)
    return result


def mark_ready(k: Kubectl, pod: str, ip: str, ready: bool = True) -> None:
    status = {
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        }
    }
    k.ok("patch", "pod", pod, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def endpoints_column(k: Kubectl, name: str) -> str:
    lines = k.ok("get", "endpoints", name).splitlines()
    return squeeze(lines[1]).split(" ")[1]


def describe_endpoints(k: Kubectl, name: str) -> str:
    for line in k.ok("describe", "svc", name).splitlines():
        if line.startswith("Endpoints:"):
            return line.split(":", 1)[1].strip()
    return ""


def test_the_seed_flow(k: Kubectl) -> None:
    k.write("webapp-rc.yaml", WEBAPP_RC)
    assert k.ok("create", "-f", "webapp-rc.yaml").strip() == (
        "replicationcontroller/webapp-test created"
    )

    def two_pods() -> list[str] | None:
        names = k.names("pods", "-l", "app=webapp-test")
        return names if len(names) == 2 else None

    pods = until(two_pods, "two pods from the ReplicationController")
    ips = ["10.244.0.61", "10.244.0.62"]
    for pod, ip in zip(sorted(pods), ips, strict=True):
        mark_ready(k, pod.removeprefix("pod/"), ip)

    assert k.ok("expose", "rc", "webapp-test").strip() == "service/webapp-test exposed"

    header, row = k.ok("get", "svc").splitlines()
    assert squeeze(header) == "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE"
    name, svc_type, cluster_ip, external, ports, _age = squeeze(row).split(" ")
    assert (name, svc_type, external, ports) == ("webapp-test", "ClusterIP", "<none>", "8080/TCP")

    both = "10.244.0.61:8080,10.244.0.62:8080"
    until(lambda: endpoints_column(k, "webapp-test") == both, "both pod IPs in endpoints")

    svc = yaml.safe_load(k.ok("get", "svc", "webapp-test", "-o", "yaml"))
    assert svc["spec"]["selector"] == {"app": "webapp-test"}
    assert svc["spec"]["clusterIP"] == cluster_ip
    assert svc["spec"]["ports"] == [{"port": 8080, "protocol": "TCP", "targetPort": 8080}]

    assert until(lambda: describe_endpoints(k, "webapp-test") == both, "describe") is True
    slices = k.obj("endpointslices", "-l", "kubernetes.io/service-name=webapp-test")["items"]
    assert sorted(a for s in slices for e in s["endpoints"] for a in e["addresses"]) == ips

    # One pod stops being ready: it leaves the Endpoints line (kept as not ready).
    mark_ready(k, sorted(pods)[0].removeprefix("pod/"), ips[0], ready=False)
    until(lambda: endpoints_column(k, "webapp-test") == "10.244.0.62:8080", "readiness flip")
    until(lambda: describe_endpoints(k, "webapp-test") == "10.244.0.62:8080", "describe flip")


def test_the_external_service_pattern(k: Kubectl) -> None:
    k.write("external.yaml", EXTERNAL)
    out = k.ok("create", "-f", "external.yaml")
    assert out.split() == ["service/my-service", "created", "endpoints/my-service", "created"]
    assert endpoints_column(k, "my-service") == "192.0.2.42:9376"
    # Mirrored into an EndpointSlice, so describe (which reads slices) shows it too.
    until(lambda: describe_endpoints(k, "my-service") == "192.0.2.42:9376", "mirrored slice")
    (s,) = k.obj("endpointslices", "-l", "kubernetes.io/service-name=my-service")["items"]
    assert s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslicemirroring-controller.k8s.io"
    )
