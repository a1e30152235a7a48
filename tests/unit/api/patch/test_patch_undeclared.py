"""Server-side apply of a configuration naming fields the schema lacks: upstream's 500."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.api.patch import PatchError, apply_config

SERVICE = "io.k8s.api.core.v1.Service"
NOW = "2026-01-01T00:00:00Z"


def _svc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"ports": [{"port": 80}], **spec},
    }


WHERE = "failed to create typed patch object (ns/web; /v1, Kind=Service): "

CASES = [
    pytest.param(_svc(foo="bar"), WHERE + ".spec.foo: field not declared in schema", id="field"),
    pytest.param(
        _svc(ports=[{"port": 80, "nodeport": 1}]),
        WHERE + '.spec.ports[port=80,protocol="TCP"].nodeport: field not declared in schema',
        id="in-keyed-list-item",
    ),
    pytest.param(
        {**_svc(), "metadata": {"name": "web", "namespace": "ns", "labelz": {"a": "b"}}},
        WHERE + ".metadata.labelz: field not declared in schema",
        id="in-metadata",
    ),
    pytest.param(
        _svc(foo={"deeper": 1}, bar=1),
        WHERE
        + "errors:\n  .spec.foo: field not declared in schema\n"
        + "  .spec.bar: field not declared in schema",
        id="several",
    ),
]


@pytest.mark.parametrize(("applied", "message"), CASES)
def test_undeclared_fields_fail_the_apply(applied: dict[str, Any], message: str) -> None:
    for live in (None, _svc()):
        with pytest.raises(PatchError) as info:
            apply_config(live, applied, SERVICE, "kubectl", force=False, now=NOW)
        err = info.value
        assert (err.code, err.reason, err.status_message) == (500, "", message)


def test_map_entries_and_declared_fields_are_fine() -> None:
    applied = _svc(selector={"any-key": "x"}, type="ClusterIP")
    applied["metadata"]["labels"] = {"whatever": "y"}
    result = apply_config(None, applied, SERVICE, "kubectl", force=False, now=NOW)
    assert result.obj is not None
    assert result.obj["spec"]["selector"] == {"any-key": "x"}
