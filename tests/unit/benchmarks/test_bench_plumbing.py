"""Pure helpers: cluster names, namespace wiring, tool versions, machine facts, cores."""

from __future__ import annotations

import socket

import pytest

from benchmarks import configs, machine, namespaces, tools
from benchmarks.env import PORTS, free_port
from benchmarks.settings import FULL, QUICK, pick_cpus


def test_cluster_records_are_distinct_cluster_names() -> None:
    records = configs.cluster_records(100)
    assert len({r.name for r in records}) == 100
    assert len({r.address for r in records}) == 100
    assert records[0].name == "svc-0.default.svc.cluster.local"
    assert all(r.address.startswith("10.96.") for r in records)
    assert configs.dnsperf_queries(records[:2]).splitlines() == [
        "svc-0.default.svc.cluster.local A",
        "svc-1.default.svc.cluster.local A",
    ]


def test_unbound_serves_every_record() -> None:
    records = configs.cluster_records(5)
    conf = configs.unbound_conf(5353, records, "work")
    assert conf.count("local-data:") == 5


def test_haproxy_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError):
        configs.haproxy_conf("udp", "127.0.0.1:1", "127.0.0.1:2")


def test_namespaces_have_no_link_to_the_machine() -> None:
    """Every link is created inside one of our namespaces, with its peer in another of ours:
    nothing is ever attached to the machine's own namespace."""
    topo = namespaces.new_names(123, "abc")
    ours = set(topo.names)
    commands = namespaces.build_commands(topo)
    for argv in commands:
        if argv[:2] == ["ip", "netns"]:
            assert argv[2] in ("add", "exec")
            assert argv[3] in ours
            continue
        assert argv[:2] == ["ip", "-n"] and argv[2] in ours, argv
        if "link" in argv and "add" in argv:
            assert argv[argv.index("netns") + 1] in ours
    assert sum("add" in a and "link" in a for a in commands) == 2


def test_stale_namespaces_are_ours_with_dead_runner() -> None:
    names = [
        "kbench-100-a1b2c3-cli",
        "kbench-100-a1b2c3-node",
        "kbench-200-a1b2c3-be",
        "someone-elses",
        "kbench-notours",
    ]
    assert namespaces.stale(names, alive={200}) == [
        "kbench-100-a1b2c3-cli",
        "kbench-100-a1b2c3-node",
    ]


@pytest.mark.parametrize(
    ("command", "output", "version"),
    [
        pytest.param("nginx", "nginx version: nginx/1.22.1\n", "1.22.1", id="nginx"),
        pytest.param(
            "haproxy",
            "HAProxy version 2.6.12-1+deb12u4 2026/10/17",
            "2.6.12-1+deb12u4",
            id="haproxy",
        ),
        pytest.param("dnsmasq", "Dnsmasq version 2.90  Copyright", "2.90", id="dnsmasq"),
        pytest.param("unbound", "Version 1.17.1\n\nConfigure line:", "1.17.1", id="unbound"),
        pytest.param(
            "wrk", "wrk debian/4.1.0-3+b2 [epoll] Copyright", "debian/4.1.0-3+b2", id="wrk"
        ),
        pytest.param(
            "dnsperf", "DNS Performance Testing Tool\nVersion 2.10.0\n", "2.10.0", id="dnsperf"
        ),
        pytest.param("iperf3", "iperf 3.12 (cJSON 1.7.15)", "3.12", id="iperf3"),
        pytest.param("nft", "nftables v1.0.6 (Lester Gooch #5)", "1.0.6", id="nft"),
        pytest.param("ip", "ip utility, iproute2-6.1.0, libbpf 1.1.2", "6.1.0", id="ip"),
        pytest.param("nginx", "something else", "unknown", id="unrecognised"),
    ],
)
def test_parse_version(command: str, output: str, version: str) -> None:
    assert tools.parse_version(tools.BY_COMMAND[command], output) == version


def test_apt_line_names_debian_packages_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    wanted = [tools.BY_COMMAND[c] for c in ("nginx", "dnsmasq", "nginx")]
    assert (
        tools.apt_line(wanted)
        == "apt-get install -y --no-install-recommends nginx-light dnsmasq-base"
    )


def test_machine_facts() -> None:
    assert machine.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC\n") == "AMD EPYC"
    assert machine.mem_total_bytes("MemTotal:       24684132 kB\n") == 24684132 * 1024


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        pytest.param({0, 1}, (0, 1), id="two-cores"),
        pytest.param({2, 3, 5}, (2, 3), id="lowest-two-allowed"),
        pytest.param({4}, (4, 4), id="one-core-shared"),
    ],
)
def test_pick_cpus(available: set[int], expected: tuple[int, int]) -> None:
    assert pick_cpus(available) == expected


def test_quick_mode_is_short() -> None:
    per_measurement = QUICK.duration_s + QUICK.warmup_s
    assert per_measurement * QUICK.repetitions <= 5
    assert FULL.duration_s == 10 and FULL.repetitions == 3 and FULL.warmup_s == 2


def test_free_port_skips_a_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        candidates = iter([taken, 31999])
        monkeypatch.setattr("random.choice", lambda seq: next(candidates))
        port = free_port()
    assert port == 31999
    assert port in PORTS
