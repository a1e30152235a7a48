"""hostPort: which mappings a pod has, and where the rendered table sends a packet."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kubesvc.node.sandbox.hostport import (
    TABLE,
    HostPortMapping,
    hostport_unsupported_reason,
    mappings_for,
    render,
    render_delete,
)

NODE_ADDRESSES = {"10.244.0.1", "127.0.0.1", "192.0.2.7"}
RULE = re.compile(
    r"^(?:ip daddr (?P<daddr>\S+) )?(?P<proto>tcp|udp|sctp) dport (?P<port>\d+) "
    r"dnat to (?P<to>\S+)$"
)


def trace(script: str, daddr: str, proto: str, dport: int) -> str | None:
    """Where a packet to ``daddr:dport`` goes after the hostports chain (None: untouched).
    Models the jump condition (``fib daddr type local``) and the rules in order."""
    chain = _chain(script, "hostports")
    if daddr not in NODE_ADDRESSES:
        return None
    for line in chain:
        m = RULE.match(line)
        assert m, f"unexpected rule {line!r}"
        if m["daddr"] and m["daddr"] != daddr:
            continue
        if m["proto"] == proto and int(m["port"]) == dport:
            return m["to"]
    return None


def _chain(script: str, name: str) -> list[str]:
    lines = [line.strip() for line in script.splitlines()]
    if f"chain {name} {{" not in lines:
        return []
    start = lines.index(f"chain {name} {{") + 1
    end = lines.index("}", start)
    return [line for line in lines[start:end] if line and not line.startswith("type ")]


def m(host_port: int, pod_ip: str, port: int, proto: str = "TCP", host_ip: str = "") -> Any:
    return HostPortMapping(host_port, proto, pod_ip, port, host_ip)


@pytest.mark.parametrize(
    ("mappings", "packet", "expected"),
    [
        pytest.param(
            [m(8081, "10.244.0.5", 80)],
            ("10.244.0.1", "tcp", 8081),
            "10.244.0.5:80",
            id="seed-hostport-via-node-address",
        ),
        pytest.param(
            [m(8081, "10.244.0.5", 80)],
            ("127.0.0.1", "tcp", 8081),
            "10.244.0.5:80",
            id="localhost-too",
        ),
        pytest.param(
            [m(8081, "10.244.0.5", 80)], ("10.244.0.1", "udp", 8081), None, id="other-protocol"
        ),
        pytest.param(
            [m(8081, "10.244.0.5", 80)], ("10.244.0.1", "tcp", 8082), None, id="other-port"
        ),
        pytest.param(
            [m(8081, "10.244.0.5", 80)],
            ("10.244.0.9", "tcp", 8081),
            None,
            id="not-a-node-address",
        ),
        pytest.param(
            [m(53, "10.244.0.6", 5353, "UDP")],
            ("10.244.0.1", "udp", 53),
            "10.244.0.6:5353",
            id="udp",
        ),
        pytest.param(
            [m(9000, "10.244.0.6", 9000, host_ip="192.0.2.7")],
            ("10.244.0.1", "tcp", 9000),
            None,
            id="host-ip-restricts-address",
        ),
        pytest.param(
            [m(9000, "10.244.0.6", 9000, host_ip="192.0.2.7")],
            ("192.0.2.7", "tcp", 9000),
            "10.244.0.6:9000",
            id="host-ip-matches",
        ),
        pytest.param(
            [m(8081, "10.244.0.5", 80), m(8082, "10.244.0.6", 80)],
            ("10.244.0.1", "tcp", 8082),
            "10.244.0.6:80",
            id="second-pod",
        ),
        pytest.param(
            [m(8081, "fd00::5", 80)], ("10.244.0.1", "tcp", 8081), None, id="ipv6-pod-left-out"
        ),
    ],
)
def test_render_routes_packets(
    mappings: list[HostPortMapping], packet: tuple[str, str, int], expected: str | None
) -> None:
    script = render(mappings, bridge="kubesvc0", pod_cidr="10.244.0.0/24")
    assert trace(script, *packet) == expected


def test_render_replaces_whole_table_in_one_transaction() -> None:
    script = render([m(8081, "10.244.0.5", 80)], bridge="kubesvc0", pod_cidr="10.244.0.0/24")
    lines = script.splitlines()
    # add (so that delete cannot fail), delete, then the full definition
    assert lines[0] == f"add table ip {TABLE}"
    assert lines[1] == f"delete table ip {TABLE}"
    assert lines[2] == f"table ip {TABLE} {{"
    guard = _chain(script, "input-guard")
    assert guard == ['iifname "kubesvc0" ip daddr 127.0.0.0/8 ct state new drop']
    masq = _chain(script, "postrouting")
    assert any("10.244.0.5" in rule and rule.endswith("masquerade") for rule in masq)


def test_render_is_order_independent() -> None:
    a, b = m(8081, "10.244.0.5", 80), m(8082, "10.244.0.6", 80)
    kw: Any = {"bridge": "kubesvc0", "pod_cidr": "10.244.0.0/24"}
    assert render([a, b], **kw) == render([b, a], **kw)


def test_no_mappings_only_removes_the_table() -> None:
    script = render([], bridge="kubesvc0", pod_cidr="10.244.0.0/24")
    assert script == render_delete()
    assert script.splitlines() == [f"add table ip {TABLE}", f"delete table ip {TABLE}"]


def pod(containers: list[dict[str, Any]], host_network: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"uid": "u"},
        "spec": {"containers": containers, "hostNetwork": host_network},
    }


@pytest.mark.parametrize(
    ("spec_pod", "expected"),
    [
        pytest.param(
            pod([{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8081}]}]),
            [m(8081, "10.244.0.5", 80)],
            id="seed",
        ),
        pytest.param(pod([{"name": "c", "ports": [{"containerPort": 80}]}]), [], id="no-host-port"),
        pytest.param(
            pod(
                [
                    {
                        "name": "c",
                        "ports": [
                            {"containerPort": 53, "hostPort": 53, "protocol": "UDP"},
                            {"containerPort": 53, "hostPort": 53, "protocol": "TCP"},
                        ],
                    }
                ]
            ),
            [m(53, "10.244.0.5", 53, "UDP"), m(53, "10.244.0.5", 53, "TCP")],
            id="both-protocols",
        ),
        pytest.param(
            pod(
                [
                    {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8081}]},
                    {"name": "b", "ports": [{"containerPort": 81, "hostPort": 8081}]},
                ]
            ),
            [m(8081, "10.244.0.5", 80)],
            id="duplicate-host-port-first-wins",
        ),
        pytest.param(
            pod(
                [
                    {
                        "name": "c",
                        "ports": [{"containerPort": 80, "hostPort": 80, "hostIP": "0.0.0.0"}],
                    }
                ]
            ),
            [m(80, "10.244.0.5", 80)],
            id="host-ip-any-is-no-restriction",
        ),
        pytest.param(
            pod(
                [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}], host_network=True
            ),
            [],
            id="host-network-needs-no-mapping",
        ),
    ],
)
def test_mappings_for(spec_pod: dict[str, Any], expected: list[HostPortMapping]) -> None:
    assert mappings_for(spec_pod, "10.244.0.5") == expected


def test_mapping_json_round_trip() -> None:
    mapping = m(9000, "10.244.0.6", 9001, "UDP", "192.0.2.7")
    assert HostPortMapping.from_json(mapping.to_json()) == mapping


@pytest.mark.parametrize(
    ("mode", "supported"),
    [
        pytest.param("netns", True, id="netns"),
        pytest.param("loopback", False, id="loopback"),
        pytest.param("other", False, id="unknown"),
    ],
)
def test_unsupported_reason(mode: str, supported: bool) -> None:
    reason = hostport_unsupported_reason(mode)
    assert (reason is None) == supported
    if reason is not None:
        assert "hostPort" in reason
