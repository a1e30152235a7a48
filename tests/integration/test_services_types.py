"""Services over real HTTP: each type, allocation, release, and upstream's exact errors."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import yaml

SVC = "/api/v1/namespaces/default/services"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
SEED = Path(__file__).parents[1] / "unit" / "api" / "validation" / "seed"
Obj = dict[str, Any]


def svc(name: str, **spec: Any) -> Obj:
    body: Obj = {"selector": {"app": name}, "ports": [{"port": 80}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": body}


def in_dynamic_band(ip: str) -> bool:
    return ipaddress.IPv4Address(ip) > ipaddress.IPv4Address("10.96.1.0")


async def test_kubernetes_service_is_bootstrapped(api: Any) -> None:
    status, kube, _ = await api.call("GET", f"{SVC}/kubernetes")
    assert status == 200
    assert kube["spec"]["clusterIP"] == "10.96.0.1"
    assert kube["spec"]["ports"] == [
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": api.server.port}
    ]
    assert kube["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    _, ep, _ = await api.call("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    assert ep["subsets"] == [
        {
            "addresses": [{"ip": "127.0.0.1"}],
            "ports": [{"name": "https", "port": api.server.port, "protocol": "TCP"}],
        }
    ]
    _, eps, _ = await api.call(
        "GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"
    )
    assert eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert eps["endpoints"] == [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]


async def test_cluster_ip_service_defaults_and_allocation(api: Any) -> None:
    status, body, _ = await api.call("POST", SVC, svc("web"))
    assert status == 201
    spec = body["spec"]
    assert in_dynamic_band(spec["clusterIP"]) and spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["type"] == "ClusterIP"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["sessionAffinity"] == "None"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert body["status"] == {"loadBalancer": {}}


async def test_every_type(api: Any) -> None:
    _, node_port, _ = await api.call("POST", SVC, svc("np", type="NodePort"))
    assert 30086 <= node_port["spec"]["ports"][0]["nodePort"] <= 32767
    assert node_port["spec"]["externalTrafficPolicy"] == "Cluster"
    _, lb, _ = await api.call(
        "POST", SVC, svc("lb", type="LoadBalancer", externalTrafficPolicy="Local")
    )
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb["spec"]["healthCheckNodePort"] != lb["spec"]["ports"][0]["nodePort"]
    _, headless, _ = await api.call("POST", SVC, svc("hl", clusterIP="None"))
    assert headless["spec"]["clusterIPs"] == ["None"]
    _, ext, _ = await api.call(
        "POST",
        SVC,
        {
            "metadata": {"name": "db"},
            "spec": {"type": "ExternalName", "externalName": "db.example.com"},
        },
    )
    assert "clusterIP" not in ext["spec"] and "ipFamilies" not in ext["spec"]
    status, table, _ = await api.call("GET", SVC, accept=TABLE)
    assert status == 200
    rows = {r["cells"][0]: r["cells"][1:5] for r in table["rows"]}
    assert rows["kubernetes"] == ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    assert rows["np"][:2] == ["NodePort", node_port["spec"]["clusterIP"]]
    assert rows["hl"][:2] == ["ClusterIP", "None"]
    assert rows["db"] == ["ExternalName", "<none>", "db.example.com", "<none>"]
    assert rows["lb"][2] == "<pending>"


async def test_taken_cluster_ip_gives_upstreams_body(api: Any) -> None:
    async with api.session.post(api.base + SVC, json=svc("a", clusterIP="10.96.0.1")) as resp:
        assert resp.status == 422
        raw = await resp.read()
    assert raw == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
        b'"Service \\"a\\" is invalid: spec.clusterIPs: Invalid value: []string{\\"10.96.0.1\\"}: '
        b'failed to allocate IP 10.96.0.1: provided IP is already allocated","reason":"Invalid",'
        b'"details":{"name":"a","kind":"Service","causes":[{"reason":"FieldValueInvalid",'
        b'"message":"Invalid value: []string{\\"10.96.0.1\\"}: failed to allocate IP 10.96.0.1: '
        b'provided IP is already allocated","field":"spec.clusterIPs"}]},"code":422}\n'
    )


async def test_out_of_range_cluster_ip(api: Any) -> None:
    status, body, _ = await api.call("POST", SVC, svc("a", clusterIP="192.168.1.1"))
    assert status == 422
    assert body["message"] == (
        'Service "a" is invalid: spec.clusterIPs: Invalid value: []string{"192.168.1.1"}: failed '
        "to allocate IP 192.168.1.1: the provided IP (192.168.1.1) is not in the valid range. The "
        "range of valid IPs is 10.96.0.0/12"
    )


async def test_node_port_errors(api: Any) -> None:
    await api.call("POST", SVC, svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    status, taken, _ = await api.call(
        "POST", SVC, svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    )
    assert status == 422
    assert taken["message"] == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is '
        "already allocated"
    )
    assert taken["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 30080: provided port is already allocated",
            "field": "spec.ports[0].nodePort",
        }
    ]
    seed = yaml.safe_load((SEED / "webapp-nodeport.yaml").read_text(encoding="utf-8"))
    status, body, _ = await api.call("POST", SVC, seed)
    assert status == 422
    assert body["message"] == (
        'Service "webapp" is invalid: spec.ports[0].nodePort: Invalid value: 80801: provided port '
        "is not in the valid range. The range of valid ports is 30000-32767"
    )


async def test_seed_loadbalancer_with_containers_is_refused(api: Any) -> None:
    seed = yaml.safe_load((SEED / "my-service-loadbalancer.yaml").read_text(encoding="utf-8"))
    status, body, _ = await api.call("POST", SVC, seed, params={"fieldValidation": "Strict"})
    assert status == 400
    assert body["message"] == (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.containers", unknown field "spec.status"'
    )
    status, body, _ = await api.call("POST", SVC, seed, params={"fieldValidation": "Ignore"})
    assert status == 422
    assert body["message"] == 'Service "my-service" is invalid: spec.ports: Required value'


async def test_cluster_ip_is_stable_across_updates(api: Any) -> None:
    _, created, _ = await api.call("POST", SVC, svc("web"))
    ip = created["spec"]["clusterIP"]
    again = svc("web", selector={"app": "v2"})  # the original YAML, changed: no clusterIP
    status, updated, _ = await api.call("PUT", f"{SVC}/web", again)
    assert status == 200
    assert updated["spec"]["clusterIP"] == ip and updated["spec"]["clusterIPs"] == [ip]
    status, patched, _ = await api.call(
        "PATCH",
        f"{SVC}/web",
        {"spec": {"type": "NodePort"}},
        content_type="application/merge-patch+json",
    )
    assert status == 200 and patched["spec"]["clusterIP"] == ip
    bad = copy.deepcopy(patched)
    bad["spec"]["clusterIP"] = "10.96.0.99"
    bad["spec"]["clusterIPs"] = ["10.96.0.99"]
    status, body, _ = await api.call("PUT", f"{SVC}/web", bad)
    assert status == 422
    assert body["message"] == (
        'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.99"}: '
        "may not change once set"
    )


async def test_type_change_and_delete_release_node_ports(api: Any) -> None:
    _, created, _ = await api.call(
        "POST", SVC, svc("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    )
    created["spec"]["type"] = "ClusterIP"
    status, updated, _ = await api.call("PUT", f"{SVC}/a", created)
    assert status == 200
    assert "nodePort" not in updated["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in updated["spec"]
    status, _, _ = await api.call(
        "POST", SVC, svc("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    )
    assert status == 201
    status, deleted, _ = await api.call("DELETE", f"{SVC}/b")
    assert status == 200 and deleted["kind"] == "Service"
    status, _, _ = await api.call(
        "POST", SVC, svc("c", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    )
    assert status == 201


async def test_delete_releases_the_cluster_ip(api: Any) -> None:
    await api.call("POST", SVC, svc("a", clusterIP="10.96.0.50"))
    await api.call("DELETE", f"{SVC}/a")
    status, body, _ = await api.call("POST", SVC, svc("b", clusterIP="10.96.0.50"))
    assert status == 201 and body["spec"]["clusterIP"] == "10.96.0.50"


async def test_failed_and_dry_run_creates_hold_nothing(api: Any) -> None:
    status, _, _ = await api.call("POST", SVC, svc("Bad_Name", clusterIP="10.96.0.60"))
    assert status == 422
    status, dry, _ = await api.call(
        "POST", SVC, svc("dry", clusterIP="10.96.0.60"), params={"dryRun": "All"}
    )
    assert status == 201 and dry["spec"]["clusterIP"] == "10.96.0.60"
    await api.call(
        "POST", SVC, svc("first", type="NodePort", ports=[{"port": 1, "nodePort": 31000}])
    )
    status, _, _ = await api.call(
        "POST", SVC, svc("first", clusterIP="10.96.0.60")
    )  # already exists: the IP is given back
    assert status == 409
    status, body, _ = await api.call("POST", SVC, svc("real", clusterIP="10.96.0.60"))
    assert status == 201, body
    assert api.server.service_allocators.ips.has("10.96.0.60")


async def test_external_name_round_trip_gives_back_and_takes_an_ip(api: Any) -> None:
    _, created, _ = await api.call("POST", SVC, svc("a", clusterIP="10.96.0.70"))
    created["spec"].update(type="ExternalName", externalName="db.example.com")
    status, ext, _ = await api.call("PUT", f"{SVC}/a", created)
    assert status == 200 and "clusterIP" not in ext["spec"]
    assert not api.server.service_allocators.ips.has("10.96.0.70")
    ext["spec"]["type"] = "ClusterIP"
    status, back, _ = await api.call("PUT", f"{SVC}/a", ext)
    assert status == 200 and in_dynamic_band(back["spec"]["clusterIP"])


async def test_put_creates_a_missing_service(api: Any) -> None:
    status, body, _ = await api.call("PUT", f"{SVC}/fresh", svc("fresh"))
    assert status == 201 and body["spec"]["clusterIP"]


async def test_load_balancer_status_gets_ip_mode(api: Any) -> None:
    _, lb, _ = await api.call("POST", SVC, svc("lb", type="LoadBalancer"))
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.240"}]}}
    status, body, _ = await api.call("PUT", f"{SVC}/lb/status", lb)
    assert status == 200
    assert body["status"]["loadBalancer"]["ingress"] == [{"ip": "127.0.0.240", "ipMode": "VIP"}]
    _, web, _ = await api.call("POST", SVC, svc("web"))
    web["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.241"}]}}
    status, body, _ = await api.call("PUT", f"{SVC}/web/status", web)
    assert status == 422
    assert body["message"] == (
        'Service "web" is invalid: status.loadBalancer.ingress: Forbidden: may only be used when '
        "`spec.type` is 'LoadBalancer'"
    )
