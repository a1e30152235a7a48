"""The seed article's Service manifests give what Kubernetes 1.32 gives.

Each manifest (files in ``seed/``) goes through what the API server does with a
created object: strict field decoding (kubectl sends ``fieldValidation=Strict``),
defaults, allocation and validation, via the real Service strategy. The valid
ones come out with upstream's defaults; the broken ones with upstream's error.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesvc.api import errors, fields, schema
from kubesvc.api import resources as res
from kubesvc.apiserver.allocators import ServiceAllocators
from kubesvc.apiserver.services import ServiceStrategy

SEED = Path(__file__).parent / "seed"
SERVICES = res.for_kind("v1", "Service")
Obj = dict[str, Any]


def load(name: str) -> Obj:
    doc = yaml.safe_load((SEED / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def strict_error(doc: Obj) -> str:
    """The 400 message for unknown fields, as under fieldValidation=Strict ("" if none)."""
    definition = schema.for_kind("", "v1", doc["kind"])
    assert definition is not None
    return fields.check_fields(doc, definition.name).strict_message(doc["kind"], "v1")


def create(doc: Obj, node_ports: str = "30000-32767") -> Obj:
    """Admit a Service as the API server does after decoding; raises the StatusError."""
    assert SERVICES is not None
    allocators = ServiceAllocators.from_settings("10.96.0.0/12", node_ports, rng=random.Random(7))
    strategy = ServiceStrategy(SERVICES, allocators)
    definition = schema.for_kind("", "v1", "Service")
    assert definition is not None
    obj: Obj = fields.prune_unknown_fields(copy.deepcopy(doc), definition.name)
    obj["metadata"].setdefault("namespace", "default")
    strategy.prepare_for_create(obj)
    finish = strategy.begin_create(obj)
    errs = strategy.validate(obj)
    finish(not errs)
    if errs:
        raise errors.Invalid("Service", obj["metadata"]["name"], errs)
    return obj


@pytest.mark.parametrize(
    "name",
    [
        "tomcate-service.yaml",
        "isc-bap-service.yaml",
        "emqx-service.yaml",
        "my-service-external.yaml",
        "nginx-headless.yaml",
        "webapp-nodeport.yaml",
    ],
)
def test_well_formed_manifests_decode_strictly(name: str) -> None:
    assert strict_error(load(name)) == ""


def test_tomcate_service_gets_upstream_defaults() -> None:
    svc = create(load("tomcate-service.yaml"))
    ip = svc["spec"]["clusterIP"]
    assert svc["spec"] == {
        "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}],
        "selector": {"tier": "frountend"},
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
        "clusterIP": ip,
        "clusterIPs": [ip],
    }
    assert svc["status"] == {"loadBalancer": {}}


def test_selectorless_service_is_valid() -> None:
    svc = create(load("my-service-external.yaml"))
    assert "selector" not in svc["spec"]
    assert svc["spec"]["ipFamilyPolicy"] == "SingleStack"
    assert svc["spec"]["clusterIP"].startswith("10.")


def test_headless_service_gets_no_cluster_ip() -> None:
    svc = create(load("nginx-headless.yaml"))
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["clusterIPs"] == ["None"]
    assert svc["spec"]["ipFamilies"] == ["IPv4"]
    assert svc["spec"]["ipFamilyPolicy"] == "SingleStack"


@pytest.mark.parametrize(
    ("name", "node_ports", "message"),
    [
        pytest.param(
            "isc-bap-service.yaml",
            "30000-32767",
            'Service "isc-bap-service" is invalid: spec.ports[0].nodePort: Invalid value: 36300: '
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
            id="isc-bap-default-range",
        ),
        pytest.param(
            "emqx-service.yaml",
            "30000-32767",
            'Service "emqx-service" is invalid: spec.ports[0].nodePort: Invalid value: 21883: '
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
            id="emqx-default-range",
        ),
        pytest.param(
            "webapp-nodeport.yaml",
            "30000-32767",
            'Service "webapp" is invalid: spec.ports[0].nodePort: Invalid value: 80801: provided '
            "port is not in the valid range. The range of valid ports is 30000-32767",
            id="webapp-80801",
        ),
        pytest.param(
            "webapp-nodeport.yaml",
            "1-65535",
            'Service "webapp" is invalid: spec.ports[0].nodePort: Invalid value: 80801: provided '
            "port is not in the valid range. The range of valid ports is 1-65535",
            id="webapp-80801-any-range",
        ),
    ],
)
def test_node_ports_outside_the_range_are_refused(name: str, node_ports: str, message: str) -> None:
    with pytest.raises(errors.Invalid) as info:
        create(load(name), node_ports)
    assert info.value.code == 422
    assert info.value.message == message


def test_seed_node_ports_work_with_the_seed_cluster_range() -> None:
    svc = create(load("emqx-service.yaml"), "10000-40000")
    assert [p["nodePort"] for p in svc["spec"]["ports"]] == [21883, 18083, 28083, 11883, 28883]
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"
    bap = create(load("isc-bap-service.yaml"), "10000-40000")
    assert bap["spec"]["ports"][0]["nodePort"] == 36300


def test_loadbalancer_with_containers_under_spec() -> None:
    doc = load("my-service-loadbalancer.yaml")
    assert strict_error(doc) == (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.containers", unknown field "spec.status"'
    )
    with pytest.raises(errors.Invalid) as info:
        create(doc)  # fieldValidation=Ignore drops the unknown fields
    assert info.value.message == 'Service "my-service" is invalid: spec.ports: Required value'


def test_endpoints_written_with_address_and_ip() -> None:
    assert strict_error(load("my-service-endpoints.yaml")) == (
        'Endpoints in version "v1" cannot be handled as a Endpoints: strict decoding error: '
        'unknown field "subsets[0].address"'
    )
