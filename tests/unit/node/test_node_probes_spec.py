"""Reading probe dicts into ProbeSpec: handlers, ports (by number or name), defaults."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.node.probes.spec import ProbeSpec

CONTAINER: dict[str, Any] = {
    "name": "app",
    "ports": [{"name": "http", "containerPort": 8080}, {"name": "admin", "containerPort": 9090}],
}


@pytest.mark.parametrize(
    ("probe", "want"),
    [
        pytest.param(
            {"httpGet": {"path": "/healthz", "port": 8080}},
            ProbeSpec("httpGet", port=8080, path="/healthz"),
            id="http-defaults",
        ),
        pytest.param(
            {
                "httpGet": {
                    "path": "/ready",
                    "port": "http",
                    "host": "127.0.0.9",
                    "scheme": "HTTPS",
                    "httpHeaders": [
                        {"name": "X-Custom", "value": "yes"},
                        {"name": "Host", "value": "a"},
                    ],
                },
                "initialDelaySeconds": 5,
                "periodSeconds": 2,
                "timeoutSeconds": 3,
                "successThreshold": 2,
                "failureThreshold": 4,
            },
            ProbeSpec(
                "httpGet",
                port=8080,
                host="127.0.0.9",
                path="/ready",
                scheme="HTTPS",
                headers=(("X-Custom", "yes"), ("Host", "a")),
                initial_delay=5,
                period=2,
                timeout=3,
                success_threshold=2,
                failure_threshold=4,
            ),
            id="http-everything-named-port",
        ),
        pytest.param(
            {"httpGet": {"port": "9090"}},
            ProbeSpec("httpGet", port=9090, path="/"),
            id="number-as-string",
        ),
        pytest.param(
            {"httpGet": {"path": "healthz", "port": 80}},
            ProbeSpec("httpGet", port=80, path="/healthz"),
            id="path-gets-a-slash",
        ),
        pytest.param(
            {"httpGet": {"port": "metrics"}},
            ProbeSpec("httpGet", port_error='strconv.Atoi: parsing "metrics": invalid syntax'),
            id="unknown-port-name",
        ),
        pytest.param(
            {"tcpSocket": {"port": 0}},
            ProbeSpec("tcpSocket", port_error="invalid port number: 0"),
            id="port-out-of-range",
        ),
        pytest.param(
            {"tcpSocket": {"port": "admin"}, "periodSeconds": 0},
            ProbeSpec("tcpSocket", port=9090),
            id="tcp-named-zero-period-defaults",
        ),
        pytest.param(
            {"exec": {"command": ["cat", "/tmp/healthy"]}, "timeoutSeconds": 5},
            ProbeSpec("exec", command=("cat", "/tmp/healthy"), timeout=5),
            id="exec",
        ),
        pytest.param(
            {"grpc": {"port": 9090}},
            ProbeSpec("grpc", port=9090),
            id="grpc",
        ),
        pytest.param({}, ProbeSpec(""), id="no-handler"),
    ],
)
def test_parse(probe: dict[str, Any], want: ProbeSpec) -> None:
    assert ProbeSpec.parse(probe, CONTAINER) == want
