"""A pod's resolv.conf and /etc/hosts, as kubelet would make them."""

from __future__ import annotations

from typing import Any

import pytest

from kubesvc.node.sandbox import etcfiles
from kubesvc.node.sandbox.etcfiles import ResolvConf

HOST = ResolvConf(
    nameservers=("192.0.2.53", "192.0.2.54"),
    searches=("corp.example", "example"),
    options=("timeout:2", "edns0"),
)
CLUSTER_SEARCH = ("team.svc.cluster.local", "svc.cluster.local", "cluster.local")


def pod(spec: dict[str, Any] | None = None, name: str = "web-0", ns: str = "team") -> Any:
    return {"metadata": {"name": name, "namespace": ns, "uid": "u1"}, "spec": spec or {}}


@pytest.mark.parametrize(
    ("spec", "cluster_dns", "expected", "warnings"),
    [
        pytest.param(
            {},
            ("10.96.0.10",),
            ResolvConf(("10.96.0.10",), (*CLUSTER_SEARCH, *HOST.searches), ("ndots:5",)),
            [],
            id="cluster-first-default",
        ),
        pytest.param(
            {"dnsPolicy": "ClusterFirst"},
            (),
            HOST,
            ["MissingClusterDNS"],
            id="cluster-first-without-cluster-dns-falls-back-to-host",
        ),
        pytest.param(
            {"dnsPolicy": "ClusterFirst", "hostNetwork": True},
            ("10.96.0.10",),
            HOST,
            [],
            id="cluster-first-on-host-network-is-default",
        ),
        pytest.param(
            {"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True},
            ("10.96.0.10",),
            ResolvConf(("10.96.0.10",), (*CLUSTER_SEARCH, *HOST.searches), ("ndots:5",)),
            [],
            id="cluster-first-with-host-net",
        ),
        pytest.param({"dnsPolicy": "Default"}, ("10.96.0.10",), HOST, [], id="default-is-the-host"),
        pytest.param(
            {
                "dnsPolicy": "None",
                "dnsConfig": {
                    "nameservers": ["1.2.3.4"],
                    "searches": ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
                },
            },
            ("10.96.0.10",),
            ResolvConf(
                ("1.2.3.4",),
                ("ns1.svc.cluster-domain.example", "my.dns.search.suffix"),
                ("ndots:2", "edns0"),
            ),
            [],
            id="none-is-dns-config-alone",
        ),
        pytest.param(
            {
                "dnsConfig": {
                    "nameservers": ["10.96.0.10", "1.2.3.4"],
                    "searches": ["svc.cluster.local", "extra.example"],
                    "options": [{"name": "ndots", "value": "1"}, {"name": "single-request"}],
                }
            },
            ("10.96.0.10",),
            ResolvConf(
                ("10.96.0.10", "1.2.3.4"),
                (*CLUSTER_SEARCH, *HOST.searches, "extra.example"),
                ("ndots:1", "single-request"),
            ),
            [],
            id="dns-config-merged-without-duplicates-options-override",
        ),
        pytest.param(
            {
                "dnsPolicy": "None",
                "dnsConfig": {"nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]},
            },
            (),
            ResolvConf(("1.1.1.1", "2.2.2.2", "3.3.3.3")),
            ["DNSConfigForming"],
            id="at-most-three-nameservers",
        ),
        pytest.param(
            {"dnsPolicy": "None", "dnsConfig": {"searches": [f"d{i}.example" for i in range(40)]}},
            (),
            ResolvConf((), tuple(f"d{i}.example" for i in range(32))),
            ["DNSConfigForming"],
            id="at-most-32-search-domains",
        ),
        pytest.param(
            {"dnsPolicy": "None", "dnsConfig": {"searches": ["a" * 254, "ok.example"]}},
            (),
            ResolvConf((), ("ok.example",)),
            ["DNSConfigForming"],
            id="overlong-search-domain-dropped",
        ),
    ],
)
def test_pod_dns(
    spec: dict[str, Any],
    cluster_dns: tuple[str, ...],
    expected: ResolvConf,
    warnings: list[str],
) -> None:
    got = etcfiles.pod_dns(
        pod(spec), cluster_dns=cluster_dns, cluster_domain="cluster.local", host=HOST
    )
    assert got.config == expected
    assert [w.reason for w in got.warnings] == warnings


def test_search_line_length_limit() -> None:
    searches = [("x" * 60) + f".d{i}" for i in range(32)]  # 32 * ~64 chars > 2048
    got = etcfiles.pod_dns(
        pod({"dnsPolicy": "None", "dnsConfig": {"searches": searches}}),
        cluster_dns=(),
        cluster_domain="cluster.local",
        host=HOST,
    )
    assert len(" ".join(got.config.searches)) <= 2048
    assert got.config.searches == tuple(searches[: len(got.config.searches)])
    assert [w.reason for w in got.warnings] == ["DNSConfigForming"]


def test_empty_cluster_domain_keeps_host_search() -> None:
    got = etcfiles.pod_dns(pod(), cluster_dns=("10.96.0.10",), cluster_domain="", host=HOST)
    assert got.config.searches == HOST.searches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "# comment\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch a.example. b.example\n"
            "options ndots:2\n",
            ResolvConf(("10.0.0.1", "10.0.0.2"), ("a.example", "b.example"), ("ndots:2",)),
            id="typical",
        ),
        pytest.param(
            "search first.example\nsearch second.example\noptions a\noptions b c\n",
            ResolvConf((), ("second.example",), ("b", "c")),
            id="last-search-and-options-win",
        ),
        pytest.param(
            "; semicolon comment\ndomain x.example\nnameserver\n\n",
            ResolvConf(),
            id="comments-domain-and-empty-nameserver-ignored",
        ),
    ],
)
def test_parse_resolv_conf(text: str, expected: ResolvConf) -> None:
    assert etcfiles.parse_resolv_conf(text) == expected


@pytest.mark.parametrize(
    ("etc", "upstream", "own_network", "expected"),
    [
        pytest.param(
            ResolvConf(("127.0.0.53",), ("lan",)),
            ResolvConf(("192.0.2.1",), ("lan",)),
            True,
            ResolvConf(("192.0.2.1",), ("lan",)),
            id="systemd-stub-replaced-for-own-network",
        ),
        pytest.param(
            ResolvConf(("127.0.0.53",)),
            ResolvConf(("192.0.2.1",)),
            False,
            ResolvConf(("127.0.0.53",)),
            id="stub-kept-on-host-network",
        ),
        pytest.param(
            ResolvConf(("192.0.2.9",)),
            ResolvConf(("192.0.2.1",)),
            True,
            ResolvConf(("192.0.2.9",)),
            id="real-server-kept",
        ),
        pytest.param(
            ResolvConf(("127.0.0.53",)), None, True, ResolvConf(("127.0.0.53",)), id="no-upstream"
        ),
    ],
)
def test_host_resolv_for_pods(
    etc: ResolvConf, upstream: ResolvConf | None, own_network: bool, expected: ResolvConf
) -> None:
    assert etcfiles.host_resolv_for_pods(etc, upstream, own_network) == expected


def test_render_resolv_conf() -> None:
    text = etcfiles.render_resolv_conf(
        ResolvConf(("10.96.0.10",), ("team.svc.cluster.local", "svc.cluster.local"), ("ndots:5",))
    )
    assert text == (
        "search team.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
    )
    assert etcfiles.parse_resolv_conf(text).nameservers == ("10.96.0.10",)
    assert etcfiles.render_resolv_conf(ResolvConf()) == ""


@pytest.mark.parametrize(
    ("spec", "name", "expected"),
    [
        pytest.param({}, "web-0", ("web-0", ""), id="pod-name"),
        pytest.param({"hostname": "db"}, "web-0", ("db", ""), id="spec-hostname"),
        pytest.param(
            {"hostname": "db", "subdomain": "backends"},
            "web-0",
            ("db", "backends.team.svc.cluster.local"),
            id="subdomain-makes-fqdn",
        ),
        pytest.param({}, "a" * 70, ("a" * 63, ""), id="truncated-to-63"),
        pytest.param({}, "a" * 62 + "-bc", ("a" * 62, ""), id="truncation-drops-trailing-dash"),
    ],
)
def test_pod_hostname(spec: dict[str, Any], name: str, expected: tuple[str, str]) -> None:
    assert etcfiles.pod_hostname(pod(spec, name=name), "cluster.local") == expected


def hosts_entries(text: str) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            ip, *names = line.split()
            entries.setdefault(ip, []).extend(names)
    return entries


@pytest.mark.parametrize(
    ("hostname", "domain", "aliases", "expected_pod_names", "alias_entries"),
    [
        pytest.param("web-0", "", [], ["web-0"], {}, id="hostname-only"),
        pytest.param(
            "db",
            "backends.team.svc.cluster.local",
            [],
            ["db.backends.team.svc.cluster.local", "db"],
            {},
            id="fqdn-first-then-hostname",
        ),
        pytest.param(
            "web-0",
            "",
            [
                {"ip": "127.0.0.1", "hostnames": ["foo.local", "bar.local"]},
                {"ip": "10.1.2.3", "hostnames": ["foo.remote"]},
            ],
            ["web-0"],
            {"10.1.2.3": ["foo.remote"]},
            id="host-aliases",
        ),
    ],
)
def test_render_hosts(
    hostname: str,
    domain: str,
    aliases: list[dict[str, Any]],
    expected_pod_names: list[str],
    alias_entries: dict[str, list[str]],
) -> None:
    text = etcfiles.render_hosts(["10.244.0.5"], hostname, domain, aliases)
    assert text.startswith("# Kubernetes-managed hosts file.\n")
    entries = hosts_entries(text)
    assert entries["10.244.0.5"] == expected_pod_names
    assert entries["127.0.0.1"][0] == "localhost"
    assert entries["::1"] == ["localhost", "ip6-localhost", "ip6-loopback"]
    for ip, names in alias_entries.items():
        assert entries[ip] == names
    if aliases:
        assert "\n# Entries added by HostAliases.\n" in text
        assert entries["127.0.0.1"] == ["localhost", "foo.local", "bar.local"]
    else:
        assert "HostAliases" not in text


def test_render_host_network_hosts() -> None:
    node = "127.0.0.1 localhost\n192.0.2.7 node-1\n"
    text = etcfiles.render_host_network_hosts(node, [{"ip": "10.1.2.3", "hostnames": ["x"]}])
    assert text.startswith("# Kubernetes-managed hosts file (host network).\n")
    entries = hosts_entries(text)
    assert entries["192.0.2.7"] == ["node-1"]
    assert entries["10.1.2.3"] == ["x"]
