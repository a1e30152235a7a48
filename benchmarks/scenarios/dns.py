"""DNS anchors: dnsmasq and Unbound answering the same 100 cluster names, measured by dnsperf.

``svc-N.default.svc.cluster.local`` A records, served by each server single-threaded; dnsperf
with 10 clients. dnsperf 2.x prints only average latency and its standard deviation, so it runs
with ``-v`` (one line per answer, written to a file) and p50/p99 are computed from those lines;
that costs the load generator a few percent of its rate, equally for every DNS row. When the
servers are faster than dnsperf's core, the rows are lower bounds.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks import configs, loadgen, servers
from benchmarks.env import Env
from benchmarks.registry import LoadProbe, Probe, Scenario, register

GROUP = "dns"
REQUIRES = ("dnsperf", "taskset")


@dataclass(frozen=True)
class Names:
    """The records every DNS server answers, and dnsperf's query file for them."""

    records: list[configs.Record]
    queries: Path


def names(env: Env) -> Names:
    """The group's shared names (also for kubesvc's DNS scenarios)."""

    def make(env: Env, stack: ExitStack) -> Names:
        records = configs.cluster_records(100)
        work = env.workdir("dns-names")
        queries = env.write(work, "queries.txt", configs.dnsperf_queries(records))
        return Names(records=records, queries=queries)

    return env.fixture("dns-names", make)


def dnsperf_probe(env: Env, server: servers.Server, queries: Path) -> LoadProbe:
    """dnsperf against ``server``; warm-up without per-query lines."""
    return LoadProbe(
        load=lambda s: loadgen.dnsperf(env, server.host, server.port, queries, s),
        warm_load=lambda s: loadgen.dnsperf(
            env, server.host, server.port, queries, s, latencies=False
        ),
    )


def _dnsmasq(env: Env, stack: ExitStack) -> Probe:
    shared = names(env)
    return dnsperf_probe(env, servers.dnsmasq(env, stack, shared.records), shared.queries)


def _unbound(env: Env, stack: ExitStack) -> Probe:
    shared = names(env)
    return dnsperf_probe(env, servers.unbound(env, stack, shared.records), shared.queries)


register(
    Scenario(
        name="dns-dnsmasq",
        family="dns",
        what="dnsmasq, --addn-hosts (100 names), cache-size 1000",
        unit="qps",
        group=GROUP,
        setup=_dnsmasq,
        requires=(*REQUIRES, "dnsmasq"),
    ),
    Scenario(
        name="dns-unbound",
        family="dns",
        what="Unbound, 100 local-data records, 1 thread",
        unit="qps",
        group=GROUP,
        setup=_unbound,
        anchor="dns-dnsmasq",
        requires=(*REQUIRES, "unbound"),
    ),
    Scenario(
        name="dns-kubesvc",
        family="dns",
        what="kubesvc DNS, cluster names (90% hits, 10% NXDOMAIN) vs dnsmasq on the same names",
        unit="qps",
        group=GROUP,
        anchor="dns-dnsmasq",
        issue=8,
    ),
    Scenario(
        name="dns-kubesvc-computed",
        family="dns",
        what="kubesvc DNS with every answer computed (no answer cache); CoreDNS: 17-25k qps/core",
        unit="qps",
        group=GROUP,
        anchor="dns-dnsmasq",
        issue=8,
    ),
)
