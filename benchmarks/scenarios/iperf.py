"""Bulk throughput anchors: one iperf3 stream over loopback, directly and through HAProxy TCP."""

from __future__ import annotations

from contextlib import ExitStack

from benchmarks import loadgen, servers
from benchmarks.env import Env
from benchmarks.registry import LoadProbe, Probe, Scenario, register

GROUP = "iperf"
REQUIRES = ("iperf3", "taskset")


def iperf_server(env: Env) -> servers.Server:
    """The group's shared iperf3 server (also for kubesvc's proxy scenarios)."""
    return env.fixture("iperf3-server", lambda e, s: servers.iperf3_server(e, s))


def iperf_probe(env: Env, server: servers.Server) -> LoadProbe:
    return LoadProbe(lambda seconds: loadgen.iperf3(env, server.host, server.port, seconds))


def _direct(env: Env, stack: ExitStack) -> Probe:
    return iperf_probe(env, iperf_server(env))


def _haproxy_tcp(env: Env, stack: ExitStack) -> Probe:
    return iperf_probe(env, servers.haproxy(env, stack, "tcp", iperf_server(env)))


register(
    Scenario(
        name="iperf-direct",
        family="iperf",
        what="iperf3, one stream, direct over loopback",
        unit="Gbit/s",
        group=GROUP,
        setup=_direct,
        requires=REQUIRES,
    ),
    Scenario(
        name="iperf-haproxy-tcp",
        family="iperf",
        what="iperf3, one stream, through HAProxy mode tcp",
        unit="Gbit/s",
        group=GROUP,
        setup=_haproxy_tcp,
        anchor="iperf-direct",
        requires=(*REQUIRES, "haproxy"),
    ),
)
