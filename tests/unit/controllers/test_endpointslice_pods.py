"""Which pods count as endpoints, their ports, and which Services a pod change concerns."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.controllers.svcobjects import pod, service

from kubesvc.controllers.endpointslice.pods import (
    find_port,
    pod_ips,
    service_selector,
    services_to_update_on_pod_change,
    should_pod_be_in_endpoints,
)

Obj = dict[str, Any]


@pytest.mark.parametrize(
    ("p", "include_terminating", "expected"),
    [
        pytest.param(pod("a", "10.0.0.1"), False, True, id="running with IP"),
        pytest.param(pod("a", None), False, False, id="no IP"),
        pytest.param(pod("a", "10.0.0.1", ready=False), False, True, id="not ready still counts"),
        pytest.param(pod("a", "10.0.0.1", phase="Succeeded"), True, False, id="succeeded"),
        pytest.param(pod("a", "10.0.0.1", phase="Failed"), True, False, id="failed"),
        pytest.param(pod("a", "10.0.0.1", deleting=True), False, False, id="terminating"),
        pytest.param(pod("a", "10.0.0.1", deleting=True), True, True, id="terminating included"),
    ],
)
def test_should_pod_be_in_endpoints(p: Obj, include_terminating: bool, expected: bool) -> None:
    assert should_pod_be_in_endpoints(p, include_terminating) is expected


def test_pod_ips_fall_back_to_pod_ip() -> None:
    p = pod("a", "10.0.0.1")
    del p["status"]["podIPs"]
    assert pod_ips(p) == ["10.0.0.1"]
    assert pod_ips(pod("a", ips=["10.0.0.1", "fd00::1"])) == ["10.0.0.1", "fd00::1"]


SIDECAR: Obj = {
    "name": "side",
    "restartPolicy": "Always",
    "ports": [{"name": "metrics", "containerPort": 9100}],
}
INIT: Obj = {"name": "init", "ports": [{"name": "setup", "containerPort": 7000}]}


@pytest.mark.parametrize(
    ("target", "protocol", "expected"),
    [
        pytest.param(8080, "TCP", 8080, id="number used as is, declared or not"),
        pytest.param("http", "TCP", 80, id="name found in a container"),
        pytest.param("http", "UDP", None, id="name found, protocol differs"),
        pytest.param("dns", "UDP", 53, id="UDP name"),
        pytest.param("metrics", "TCP", 9100, id="name in a restartable init container"),
        pytest.param("setup", "TCP", None, id="name in a plain init container does not count"),
        pytest.param("missing", "TCP", None, id="name nowhere"),
        pytest.param(None, "TCP", 443, id="no targetPort: the port itself"),
    ],
)
def test_find_port(target: Any, protocol: str, expected: int | None) -> None:
    p = pod("a", ports=[{"name": "http", "containerPort": 80}])
    p["spec"]["containers"].append(
        {"name": "dns", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}
    )
    p["spec"]["initContainers"] = [SIDECAR, INIT]
    sp: Obj = {"port": 443, "protocol": protocol}
    if target is not None:
        sp["targetPort"] = target
    assert find_port(p, sp) == expected


def test_an_empty_selector_selects_nothing() -> None:
    assert service_selector(service(selector={})) is None
    assert service_selector(service(selector=None)) is None
    assert service_selector(service(selector={"a": "b"})) == {"a": "b"}


WEB = service("web", selector={"app": "web"})
API = service("api", selector={"app": "api"})
TIER = service("tier", selector={"tier": "front"})
SERVICES = [WEB, API, TIER]


def changed(**kw: Any) -> Obj:
    base: dict[str, Any] = {"rv": "2"}
    base.update(kw)
    return pod("p", **base)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(pod("p"), pod("p"), set(), id="same resourceVersion: nothing"),
        pytest.param(pod("p"), changed(), set(), id="nothing relevant changed"),
        pytest.param(pod("p"), changed(ready=False), {"default/web"}, id="readiness flip"),
        pytest.param(pod("p"), changed(ip="10.0.0.9"), {"default/web"}, id="IP changed"),
        pytest.param(pod("p"), changed(deleting=True), {"default/web"}, id="being deleted"),
        pytest.param(pod("p"), changed(phase="Failed"), {"default/web"}, id="turned terminal"),
        pytest.param(
            pod("p"),
            changed(labels={"app": "api"}),
            {"default/web", "default/api"},
            id="moved between Services: both",
        ),
        pytest.param(
            pod("p"),
            changed(labels={"app": "web", "tier": "front"}),
            {"default/tier"},
            id="joined one more Service: only that one",
        ),
        pytest.param(
            pod("p"),
            changed(labels={"app": "web", "tier": "front"}, ready=False),
            {"default/web", "default/tier"},
            id="joined one and changed: all of them",
        ),
    ],
)
def test_services_to_update_on_pod_change(old: Obj, new: Obj, expected: set[str]) -> None:
    assert services_to_update_on_pod_change(SERVICES, old, new) == expected
