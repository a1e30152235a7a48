"""What a Service create/update/delete takes from the allocators, and the errors it gets."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from kubesvc.api import defaults, errors
from kubesvc.apiserver.allocators import ServiceAllocators
from kubesvc.apiserver.services import drop_type_dependent_fields, normalize_cluster_ips

Obj = dict[str, Any]


def allocators(cidr: str = "10.96.0.0/12", ports: str = "30000-32767") -> ServiceAllocators:
    return ServiceAllocators.from_settings(cidr, ports, rng=random.Random(11))


def svc(name: str = "web", **spec: Any) -> Obj:
    obj: Obj = {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec},
    }
    defaults.service(obj)
    normalize_cluster_ips(obj, None)
    return obj


def created(a: ServiceAllocators, obj: Obj) -> Obj:
    a.allocate_create(obj).finish(True)
    return obj


def updated(a: ServiceAllocators, old: Obj, **spec: Any) -> tuple[Obj, Any]:
    new = copy.deepcopy(old)
    new["spec"].update(spec)
    defaults.service(new)
    drop_type_dependent_fields(new, old)
    return new, a.allocate_update(new, old)


def message(exc: pytest.ExceptionInfo[errors.StatusError]) -> str:
    return exc.value.message


# -- ClusterIPs ----------------------------------------------------------------------------


def test_cluster_ip_from_the_dynamic_band_with_family_fields() -> None:
    a = allocators()
    s = created(a, svc())["spec"]
    assert s["ipFamilies"] == ["IPv4"] and s["ipFamilyPolicy"] == "SingleStack"
    assert s["clusterIPs"] == [s["clusterIP"]]
    assert a.ips.has(s["clusterIP"])
    assert not s["clusterIP"].startswith("10.96.0.")  # the static band is 10.96.0.1-10.96.1.0


def test_requested_cluster_ip_is_kept_as_written() -> None:
    a = allocators()
    s = created(a, svc(clusterIP="10.96.0.50"))["spec"]
    assert s["clusterIP"] == "10.96.0.50" and s["clusterIPs"] == ["10.96.0.50"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"clusterIP": "10.96.0.50"},
            'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.50"}: '
            "failed to allocate IP 10.96.0.50: provided IP is already allocated",
            id="taken",
        ),
        pytest.param(
            {"clusterIP": "192.168.0.10"},
            'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"192.168.0.10"}: '
            "failed to allocate IP 192.168.0.10: the provided IP (192.168.0.10) is not in the "
            "valid range. The range of valid IPs is 10.96.0.0/12",
            id="out-of-range",
        ),
        pytest.param(
            {"clusterIP": "10.96.0.300"},
            'Service "b" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a '
            "valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            id="not-an-ip",
        ),
        pytest.param(
            {"clusterIP": "fd00::10"},
            'Service "b" is invalid: spec.clusterIPs[0]: Invalid value: []string{"fd00::10"}: '
            "IPv6 is not configured on this cluster",
            id="ipv6-address",
        ),
        pytest.param(
            {"ipFamilies": ["IPv6"]},
            'Service "b" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured '
            "on this cluster",
            id="ipv6-family",
        ),
        pytest.param(
            {"ipFamilyPolicy": "RequireDualStack"},
            'Service "b" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this '
            "cluster is not configured for dual-stack services",
            id="require-dual-stack",
        ),
        pytest.param(
            {"ipFamilies": ["IPv4", "IPv6"]},
            'Service "b" is invalid: spec.ipFamilyPolicy: Invalid value: "SingleStack": must be '
            "'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
            id="single-stack-two-families",
        ),
    ],
)
def test_cluster_ip_errors(spec: Obj, expected: str) -> None:
    a = allocators()
    created(a, svc(clusterIP="10.96.0.50"))
    with pytest.raises(errors.Invalid) as info:
        a.allocate_create(svc("b", **spec))
    assert info.value.code == 422
    assert message(info) == expected
    assert a.ips.used == 1  # nothing kept from the failed attempt


def test_prefer_dual_stack_gets_the_one_family() -> None:
    s = created(allocators(), svc(ipFamilyPolicy="PreferDualStack"))["spec"]
    assert s["ipFamilies"] == ["IPv4"] and s["ipFamilyPolicy"] == "PreferDualStack"


def test_headless_services() -> None:
    a = allocators()
    with_selector = created(a, svc(clusterIP="None"))["spec"]
    assert with_selector["clusterIPs"] == ["None"]
    assert with_selector["ipFamilies"] == ["IPv4"]
    assert with_selector["ipFamilyPolicy"] == "SingleStack"
    bare = svc("bare", clusterIP="None")
    del bare["spec"]["selector"]
    s = created(a, bare)["spec"]
    assert s["ipFamilyPolicy"] == "RequireDualStack" and s["ipFamilies"] == ["IPv4", "IPv6"]
    assert a.ips.used == 0


def test_external_name_gets_nothing() -> None:
    a = allocators()
    s = created(a, svc(type="ExternalName", externalName="db.example.com"))["spec"]
    assert "clusterIP" not in s and "ipFamilies" not in s and "ipFamilyPolicy" not in s
    assert a.ips.used == 0


def test_range_full_is_an_internal_error() -> None:
    a = allocators("10.0.0.0/29")
    for i in range(6):
        created(a, svc(f"s{i}"))
    with pytest.raises(errors.StatusError) as info:
        a.allocate_create(svc("late"))
    assert info.value.code == 500
    assert message(info) == "Internal error occurred: failed to allocate a serviceIP: range is full"


# -- node ports ------------------------------------------------------------------------------


def test_tcp_and_udp_on_one_port_share_a_node_port() -> None:
    a = allocators()
    ports = [{"port": 53, "name": "dns"}, {"port": 53, "name": "dns-udp", "protocol": "UDP"}]
    s = created(a, svc(type="NodePort", ports=ports))["spec"]
    assert s["ports"][0]["nodePort"] == s["ports"][1]["nodePort"]
    assert a.ports.used == 1


def test_a_requested_node_port_is_shared_by_the_same_port() -> None:
    a = allocators()
    ports = [
        {"port": 53, "name": "dns"},
        {"port": 53, "name": "dns-udp", "protocol": "UDP", "nodePort": 30053},
    ]
    s = created(a, svc(type="NodePort", ports=ports))["spec"]
    assert [p["nodePort"] for p in s["ports"]] == [30053, 30053]


def test_one_node_port_for_two_ports_is_refused() -> None:
    a = allocators()
    ports = [
        {"port": 80, "name": "a", "nodePort": 30080},
        {"port": 81, "name": "b", "nodePort": 30080},
    ]
    with pytest.raises(errors.Invalid) as info:
        a.allocate_create(svc(type="NodePort", ports=ports))
    assert message(info) == (
        'Service "web" is invalid: spec.ports[1].nodePort: Invalid value: 30080: provided port '
        "is already allocated"
    )
    assert a.ports.used == 0 and a.ips.used == 0


def test_node_port_taken_by_another_service() -> None:
    a = allocators()
    created(a, svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    with pytest.raises(errors.Invalid) as info:
        a.allocate_create(svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert message(info) == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is '
        "already allocated"
    )


def test_load_balancer_without_node_ports_honours_requests() -> None:
    a = allocators()
    ports = [{"port": 80, "name": "a"}, {"port": 81, "name": "b", "nodePort": 30081}]
    s = created(a, svc(type="LoadBalancer", allocateLoadBalancerNodePorts=False, ports=ports))
    assert [p.get("nodePort") for p in s["spec"]["ports"]] == [None, 30081]


def test_health_check_node_port_for_local_load_balancers() -> None:
    a = allocators()
    s = created(a, svc(type="LoadBalancer", externalTrafficPolicy="Local"))["spec"]
    assert 30000 <= s["healthCheckNodePort"] <= 32767
    assert a.ports.has(s["healthCheckNodePort"]) and a.ports.used == 2
    with pytest.raises(errors.StatusError) as info:
        a.allocate_create(
            svc(
                "b",
                type="LoadBalancer",
                externalTrafficPolicy="Local",
                healthCheckNodePort=s["healthCheckNodePort"],
            )
        )
    assert info.value.code == 500
    assert message(info) == (
        "Internal error occurred: failed to allocate requested HealthCheck NodePort "
        f"{s['healthCheckNodePort']}: provided port is already allocated"
    )


def test_node_port_range_full() -> None:
    a = allocators(ports="30000-30000")
    created(a, svc("a", type="NodePort"))
    with pytest.raises(errors.StatusError) as info:
        a.allocate_create(svc("b", type="NodePort"))
    assert message(info) == "Internal error occurred: failed to allocate a nodePort: range is full"


# -- updates ----------------------------------------------------------------------------------


def test_node_port_to_cluster_ip_releases_on_commit_only() -> None:
    a = allocators()
    old = created(a, svc(type="NodePort"))
    port = old["spec"]["ports"][0]["nodePort"]
    new, txn = updated(a, old, type="ClusterIP")
    assert "nodePort" not in new["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in new["spec"]
    assert new["spec"]["clusterIP"] == old["spec"]["clusterIP"]
    assert a.ports.has(port)
    txn.finish(False)
    assert a.ports.has(port)
    _, txn = updated(a, old, type="ClusterIP")
    txn.finish(True)
    assert not a.ports.has(port)


def test_cluster_ip_to_node_port_allocates() -> None:
    a = allocators()
    old = created(a, svc())
    new, txn = updated(a, old, type="NodePort")
    port = new["spec"]["ports"][0]["nodePort"]
    assert a.ports.has(port)
    txn.finish(False)
    assert not a.ports.has(port)


def test_to_external_name_and_back() -> None:
    a = allocators()
    old = created(a, svc())
    ip = old["spec"]["clusterIP"]
    new, txn = updated(a, old, type="ExternalName", externalName="db.example.com")
    assert "clusterIP" not in new["spec"] and "ipFamilies" not in new["spec"]
    txn.finish(True)
    assert not a.ips.has(ip)
    back, txn = updated(a, new, type="ClusterIP")
    txn.finish(True)
    assert a.ips.has(back["spec"]["clusterIP"])
    assert back["spec"]["ipFamilies"] == ["IPv4"]


def test_changed_node_ports() -> None:
    a = allocators()
    old = created(a, svc(type="NodePort", ports=[{"port": 80, "name": "a", "nodePort": 30080}]))
    new, txn = updated(a, old, ports=[{"port": 81, "name": "b", "nodePort": 30081}])
    assert a.ports.has(30080) and a.ports.has(30081)
    txn.finish(True)
    assert not a.ports.has(30080) and a.ports.has(30081)
    assert new["spec"]["ports"][0]["nodePort"] == 30081


def test_duplicate_node_port_in_an_update() -> None:
    a = allocators()
    old = created(a, svc(type="NodePort"))
    ports = [
        {"port": 80, "name": "a", "nodePort": 30080},
        {"port": 81, "name": "b", "nodePort": 30080},
    ]
    with pytest.raises(errors.StatusError) as info:
        updated(a, old, ports=ports)
    assert info.value.code == 500
    assert info.value.to_status()["message"] == "duplicate nodePort: {TCP 30080}"
    assert "reason" not in info.value.to_status()
    assert not a.ports.has(30080)


def test_health_check_port_follows_the_traffic_policy() -> None:
    a = allocators()
    old = created(a, svc(type="LoadBalancer"))
    local, txn = updated(a, old, externalTrafficPolicy="Local")
    txn.finish(True)
    hc = local["spec"]["healthCheckNodePort"]
    assert a.ports.has(hc)
    back, txn = updated(a, local, externalTrafficPolicy="Cluster")
    assert "healthCheckNodePort" not in back["spec"]
    txn.finish(True)
    assert not a.ports.has(hc)


def test_release_all() -> None:
    a = allocators()
    obj = created(a, svc(type="LoadBalancer", externalTrafficPolicy="Local"))
    assert a.ips.used == 1 and a.ports.used == 2
    a.release_all(obj)
    assert a.ips.used == 0 and a.ports.used == 0
