"""The service proxy (issue #7), beside the anchors of its data planes.

The userspace proxy runs in the ``http`` and ``iperf`` groups in front of the same backends as
HAProxy in TCP mode (its anchor); the nftables data plane runs in the ``netns`` group, its
anchor being the same namespaces without DNAT. Targets: at least 0.9x HAProxy TCP on keep-alive
requests, 1.0x on bulk throughput, 0.97x direct for nftables.
"""

from __future__ import annotations

from benchmarks.registry import Scenario, register

register(
    Scenario(
        name="proxy-userspace",
        family="proxy",
        what="kubesvc userspace proxy, ClusterIP listener to the nginx backend",
        unit="rps",
        group="http",
        anchor="http-haproxy-tcp",
        issue=7,
    ),
    Scenario(
        name="proxy-userspace-close",
        family="proxy",
        what="kubesvc userspace proxy [Connection: close]",
        unit="rps",
        group="http",
        anchor="http-haproxy-tcp-close",
        issue=7,
    ),
    Scenario(
        name="iperf-proxy-userspace",
        family="proxy",
        what="iperf3, one stream, through the kubesvc userspace proxy",
        unit="Gbit/s",
        group="iperf",
        anchor="iperf-haproxy-tcp",
        issue=7,
    ),
    Scenario(
        name="proxy-nftables",
        family="proxy",
        what="kubesvc nftables data plane in the node namespace, client to ClusterIP",
        unit="rps",
        group="netns",
        anchor="netns-direct",
        issue=7,
    ),
    Scenario(
        name="proxy-nftables-close",
        family="proxy",
        what="kubesvc nftables data plane [Connection: close]",
        unit="rps",
        group="netns",
        anchor="netns-direct-close",
        issue=7,
    ),
    Scenario(
        name="proxy-sync",
        family="proxy",
        what="proxy sync, 10,000 Services / 100,000 endpoints: full sync; one change p50/p99",
        unit="s",
        group="proxy-sync",
        issue=7,
    ),
)
