"""A container's environment: service links, envFrom, env with $(VAR) and valueFrom."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubesvc.node import envvars
from kubesvc.node.podstate import CREATE_CONFIG_ERROR


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --------------------------------------------------------------------------------------------
# $(VAR) expansion

_VARS = {"A": "alpha", "B": "beta", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("$(A)", "alpha", id="reference"),
        pytest.param("x-$(A)-$(B)-y", "x-alpha-beta-y", id="several"),
        pytest.param("$(UNKNOWN)", "$(UNKNOWN)", id="unknown-kept"),
        pytest.param("$$(A)", "$(A)", id="escaped"),
        pytest.param("$$$(A)", "$alpha", id="escaped-dollar-then-reference"),
        pytest.param("$$", "$", id="double-dollar"),
        pytest.param("a$", "a$", id="trailing-dollar"),
        pytest.param("$A", "$A", id="no-parenthesis"),
        pytest.param("$(A", "$(A", id="unclosed"),
        pytest.param("$(EMPTY)x", "x", id="empty-value"),
        pytest.param("$()", "$()", id="empty-name-unknown"),
        pytest.param("100%", "100%", id="nothing-to-do"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert envvars.expand(text, _VARS.get) == expected


def test_expand_command() -> None:
    argv = ["sh", "-c", "echo $(A) $$(B) $(C)"]
    assert envvars.expand_command(argv, {"A": "1", "B": "2"}) == ["sh", "-c", "echo 1 $(B) $(C)"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param("logs/$(POD)", ("logs/web-1", None), id="expanded"),
        pytest.param("$(NOPE)/$(EMPTY)", ("", "missing value for EMPTY, NOPE"), id="missing"),
    ],
)
def test_expand_sub_path(expr: str, expected: tuple[str, str | None]) -> None:
    assert envvars.expand_sub_path(expr, {"POD": "web-1", "EMPTY": ""}) == expected


# --------------------------------------------------------------------------------------------
# Service links


def _svc(
    name: str,
    namespace: str = "default",
    ip: str | None = "10.96.0.10",
    ports: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": ports or [{"port": 80, "protocol": "TCP"}]}
    if ip is not None:
        spec["clusterIP"] = ip
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


_KUBERNETES = _svc("kubernetes", ip="10.96.0.1", ports=[{"name": "https", "port": 443}])
_KUBERNETES_VARS = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443",
    "KUBERNETES_PORT": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
    "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_PORT_443_TCP_PORT": "443",
    "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
}


@pytest.mark.parametrize(
    ("services", "namespace", "links", "expected"),
    [
        pytest.param([_KUBERNETES], "default", True, _KUBERNETES_VARS, id="master-service"),
        pytest.param(
            [_KUBERNETES], "other", False, _KUBERNETES_VARS, id="master-even-without-links"
        ),
        pytest.param(
            [_svc("redis-master", "shop", ip="10.96.5.5", ports=[{"port": 6379}])],
            "shop",
            True,
            {
                "REDIS_MASTER_SERVICE_HOST": "10.96.5.5",
                "REDIS_MASTER_SERVICE_PORT": "6379",
                "REDIS_MASTER_PORT": "tcp://10.96.5.5:6379",
                "REDIS_MASTER_PORT_6379_TCP": "tcp://10.96.5.5:6379",
                "REDIS_MASTER_PORT_6379_TCP_PROTO": "tcp",
                "REDIS_MASTER_PORT_6379_TCP_PORT": "6379",
                "REDIS_MASTER_PORT_6379_TCP_ADDR": "10.96.5.5",
            },
            id="same-namespace-dashes-upper-cased",
        ),
        pytest.param([_svc("web", "shop")], "shop", False, {}, id="links-disabled"),
        pytest.param([_svc("web", "other")], "shop", True, {}, id="other-namespace"),
        pytest.param([_svc("web", "shop", ip="None")], "shop", True, {}, id="headless"),
        pytest.param([_svc("web", "shop", ip=None)], "shop", True, {}, id="no-cluster-ip"),
        pytest.param(
            [_KUBERNETES, _svc("kubernetes", "shop", ip="10.96.9.9")],
            "shop",
            True,
            {
                "KUBERNETES_SERVICE_HOST": "10.96.9.9",
                "KUBERNETES_SERVICE_PORT": "80",
                "KUBERNETES_PORT": "tcp://10.96.9.9:80",
                "KUBERNETES_PORT_80_TCP": "tcp://10.96.9.9:80",
                "KUBERNETES_PORT_80_TCP_PROTO": "tcp",
                "KUBERNETES_PORT_80_TCP_PORT": "80",
                "KUBERNETES_PORT_80_TCP_ADDR": "10.96.9.9",
            },
            id="namespace-service-overrides-master",
        ),
        pytest.param(
            [
                _svc(
                    "dns",
                    "shop",
                    ip="fd00::a",
                    ports=[
                        {"name": "dns", "port": 53, "protocol": "UDP"},
                        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                    ],
                )
            ],
            "shop",
            True,
            {
                "DNS_SERVICE_HOST": "fd00::a",
                "DNS_SERVICE_PORT": "53",
                "DNS_SERVICE_PORT_DNS": "53",
                "DNS_SERVICE_PORT_DNS_TCP": "53",
                "DNS_PORT": "udp://[fd00::a]:53",
                "DNS_PORT_53_UDP": "udp://[fd00::a]:53",
                "DNS_PORT_53_UDP_PROTO": "udp",
                "DNS_PORT_53_UDP_PORT": "53",
                "DNS_PORT_53_UDP_ADDR": "fd00::a",
                "DNS_PORT_53_TCP": "tcp://[fd00::a]:53",
                "DNS_PORT_53_TCP_PROTO": "tcp",
                "DNS_PORT_53_TCP_PORT": "53",
                "DNS_PORT_53_TCP_ADDR": "fd00::a",
            },
            id="ipv6-several-ports-first-is-docker-port",
        ),
    ],
)
def test_service_env(
    services: list[dict[str, Any]], namespace: str, links: bool, expected: dict[str, str]
) -> None:
    assert envvars.service_env(services, namespace, links) == expected


# --------------------------------------------------------------------------------------------
# Container env

_POD: dict[str, Any] = {
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"note": 'say "hi"'},
    },
    "spec": {
        "nodeName": "node-a",
        "serviceAccountName": "builder",
        "containers": [
            {"name": "app", "resources": {"limits": {"memory": "64Mi"}}},
            {"name": "side", "resources": {"limits": {"cpu": "250m"}}},
        ],
    },
}
_CONFIG_MAPS: dict[str, dict[str, Any] | None] = {
    "settings": {"data": {"MODE": "prod", "LEVEL": "3", "1bad": "x"}},
    "other": {"data": {"MODE": "dev"}},
}
_SECRETS: dict[str, dict[str, Any] | None] = {
    "creds": {"data": {"PASSWORD": _b64("s3cret"), "USER": _b64("admin")}},
}


def _env(*entries: dict[str, Any], env_from: list[dict[str, Any]] | None = None) -> Any:
    container: dict[str, Any] = {**_POD["spec"]["containers"][0], "env": list(entries)}
    if env_from is not None:
        container["envFrom"] = env_from
    return envvars.container_env(
        _POD,
        container,
        service_vars={"WEB_SERVICE_HOST": "10.96.0.7", "MODE": "from-service"},
        config_maps=_CONFIG_MAPS,
        secrets=_SECRETS,
        node_name="node-a",
        pod_ip="10.244.0.5",
        host_ip="192.168.1.2",
        pod_ips=["10.244.0.5", "fd00::5"],
        allocatable={"cpu": "4", "memory": "8Gi"},
    )


def _field(path: str) -> dict[str, Any]:
    return {"valueFrom": {"fieldRef": {"fieldPath": path}}}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param({"value": "plain"}, "plain", id="value"),
        pytest.param({"value": ""}, "", id="empty-value"),
        pytest.param({}, "", id="no-value"),
        pytest.param({"value": "$(WEB_SERVICE_HOST):80"}, "10.96.0.7:80", id="service-var"),
        pytest.param(_field("metadata.name"), "web-1", id="name"),
        pytest.param(_field("metadata.namespace"), "shop", id="namespace"),
        pytest.param(_field("metadata.uid"), "u-1", id="uid"),
        pytest.param(_field("metadata.labels['tier']"), "front", id="label"),
        pytest.param(_field("metadata.labels['missing']"), "", id="missing-label"),
        pytest.param(_field("metadata.annotations['note']"), 'say "hi"', id="annotation"),
        pytest.param(_field("spec.nodeName"), "node-a", id="node-name"),
        pytest.param(_field("spec.serviceAccountName"), "builder", id="service-account"),
        pytest.param(_field("status.podIP"), "10.244.0.5", id="pod-ip"),
        pytest.param(_field("status.podIPs"), "10.244.0.5,fd00::5", id="pod-ips"),
        pytest.param(_field("status.hostIP"), "192.168.1.2", id="host-ip"),
        pytest.param(_field("status.hostIPs"), "192.168.1.2", id="host-ips"),
        pytest.param(
            {"valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            "64",
            id="own-memory-limit",
        ),
        pytest.param(
            {"valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            "4",
            id="unset-cpu-limit-is-allocatable",
        ),
        pytest.param(
            {
                "valueFrom": {
                    "resourceFieldRef": {
                        "containerName": "side",
                        "resource": "limits.cpu",
                        "divisor": "1m",
                    }
                }
            },
            "250",
            id="other-container",
        ),
        pytest.param(
            {"valueFrom": {"configMapKeyRef": {"name": "settings", "key": "LEVEL"}}},
            "3",
            id="configmap-key",
        ),
        pytest.param(
            {"valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}},
            "s3cret",
            id="secret-key-decoded",
        ),
    ],
)
def test_container_env_single(entry: dict[str, Any], expected: str) -> None:
    result = _env({"name": "X", **entry})
    assert result.error is None
    assert result.env["X"] == expected


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(
            {"configMapKeyRef": {"name": "absent", "key": "K", "optional": True}},
            id="optional-configmap",
        ),
        pytest.param(
            {"configMapKeyRef": {"name": "settings", "key": "NOPE", "optional": True}},
            id="optional-configmap-key",
        ),
        pytest.param(
            {"secretKeyRef": {"name": "absent", "key": "K", "optional": True}},
            id="optional-secret",
        ),
        pytest.param(
            {"secretKeyRef": {"name": "creds", "key": "NOPE", "optional": True}},
            id="optional-secret-key",
        ),
    ],
)
def test_optional_missing_leaves_variable_out(entry: dict[str, Any]) -> None:
    result = _env({"name": "X", "valueFrom": entry})
    assert result.error is None
    assert "X" not in result.env


@pytest.mark.parametrize(
    ("entry", "env_from", "message"),
    [
        pytest.param(
            {"valueFrom": {"configMapKeyRef": {"name": "absent", "key": "K"}}},
            None,
            'configmap "absent" not found',
            id="configmap-missing",
        ),
        pytest.param(
            {"valueFrom": {"configMapKeyRef": {"name": "settings", "key": "K"}}},
            None,
            "couldn't find key K in ConfigMap shop/settings",
            id="configmap-key-missing",
        ),
        pytest.param(
            {"valueFrom": {"secretKeyRef": {"name": "absent", "key": "K"}}},
            None,
            'secret "absent" not found',
            id="secret-missing",
        ),
        pytest.param(
            {"valueFrom": {"secretKeyRef": {"name": "creds", "key": "K"}}},
            None,
            "couldn't find key K in Secret shop/creds",
            id="secret-key-missing",
        ),
        pytest.param(
            {"value": "x"},
            [{"configMapRef": {"name": "absent"}}],
            'configmap "absent" not found',
            id="envfrom-configmap-missing",
        ),
        pytest.param(
            {"value": "x"},
            [{"secretRef": {"name": "absent"}}],
            'secret "absent" not found',
            id="envfrom-secret-missing",
        ),
        pytest.param(
            _field("spec.restartPolicy"),
            None,
            "unsupported fieldPath: spec.restartPolicy",
            id="unsupported-field",
        ),
        pytest.param(
            {"valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}},
            None,
            "unsupported container resource : limits.gpu",
            id="unsupported-resource",
        ),
    ],
)
def test_container_env_config_errors(
    entry: dict[str, Any], env_from: list[dict[str, Any]] | None, message: str
) -> None:
    result = _env({"name": "X", **entry}, env_from=env_from)
    assert result.error == (CREATE_CONFIG_ERROR, message)


def test_layers_later_wins_and_order() -> None:
    result = _env(
        {"name": "MODE", "value": "env-$(MODE)"},
        {"name": "FIRST", "value": "1"},
        {"name": "SECOND", "value": "$(FIRST)-2-$(LATER)"},
        {"name": "LATER", "value": "3"},
        {"name": "USER_NAME", "value": "$(p_USER)"},
        env_from=[
            {"configMapRef": {"name": "settings"}},
            {"configMapRef": {"name": "other"}},
            {"secretRef": {"name": "creds"}, "prefix": "p_"},
            {"configMapRef": {"name": "absent", "optional": True}},
        ],
    )
    assert result.error is None
    env = result.env
    # envFrom "other" replaced the service var and "settings"; env replaced it again,
    # expanding against what came before
    assert env["MODE"] == "env-dev"
    assert env["LEVEL"] == "3"
    assert env["SECOND"] == "1-2-$(LATER)"  # only variables defined so far expand
    assert env["p_PASSWORD"] == "s3cret"
    assert env["USER_NAME"] == "admin"
    keys = list(env)
    assert keys.index("WEB_SERVICE_HOST") < keys.index("LEVEL") < keys.index("FIRST")


@pytest.mark.parametrize(
    ("strict", "prefix", "skipped"),
    [
        pytest.param(False, "", (), id="relaxed-keeps-digit-first"),
        pytest.param(True, "", ("1bad",), id="strict-skips-digit-first"),
        pytest.param(True, "p_", (), id="strict-prefix-makes-valid"),
        pytest.param(False, "a=", ("a=1bad", "a=LEVEL", "a=MODE"), id="relaxed-skips-equals"),
    ],
)
def test_env_from_invalid_names(strict: bool, prefix: str, skipped: tuple[str, ...]) -> None:
    result = envvars.container_env(
        _POD,
        {"name": "app", "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": prefix}]},
        service_vars={},
        config_maps=_CONFIG_MAPS,
        secrets={},
        strict_names=strict,
    )
    assert result.error is None
    assert all(key not in result.env for key in skipped)
    if not skipped:
        assert result.skipped == ()
        assert f"{prefix}1bad" in result.env
        return
    (entry,) = result.skipped
    assert entry.keys == skipped
    assert entry.message == (
        f"Keys [{', '.join(skipped)}] from the EnvFrom configMap shop/settings were skipped "
        "since they are considered invalid environment variable names."
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({}, "", id="empty"),
        pytest.param({"b": "2", "a": "1"}, 'a="1"\nb="2"', id="sorted"),
        pytest.param({"k": 'q"\\\n\t'}, 'k="q\\"\\\\\\n\\t"', id="escapes"),
        pytest.param({"k": "\x01é"}, 'k="\\x01é"', id="control-and-unicode"),
    ],
)
def test_format_map(values: dict[str, str], expected: str) -> None:
    assert envvars.format_map(values) == expected


def test_referenced_objects() -> None:
    pod = {
        "spec": {
            "initContainers": [{"envFrom": [{"secretRef": {"name": "s1"}}]}],
            "containers": [
                {
                    "envFrom": [{"configMapRef": {"name": "c1"}}],
                    "env": [
                        {"valueFrom": {"configMapKeyRef": {"name": "c2", "key": "k"}}},
                        {"valueFrom": {"secretKeyRef": {"name": "s2", "key": "k"}}},
                        {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    ],
                }
            ],
            "volumes": [
                {"name": "a", "configMap": {"name": "c3"}},
                {"name": "b", "secret": {"secretName": "s3"}},
                {
                    "name": "c",
                    "projected": {
                        "sources": [{"configMap": {"name": "c4"}}, {"secret": {"name": "s4"}}]
                    },
                },
                {"name": "d", "emptyDir": {}},
            ],
        }
    }
    found = envvars.referenced_objects(pod)
    assert found.config_maps == {"c1", "c2", "c3", "c4"}
    assert found.secrets == {"s1", "s2", "s3", "s4"}
