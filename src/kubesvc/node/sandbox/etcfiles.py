"""A pod's generated ``/etc/resolv.conf`` and ``/etc/hosts``, as kubelet makes them (pure).

resolv.conf follows the pod's ``dnsPolicy``:

* ``ClusterFirst`` (the default): the cluster DNS servers only, search path
  ``<ns>.svc.<domain> svc.<domain> <domain>`` then the host's search domains,
  ``options ndots:5``. A hostNetwork pod with ClusterFirst is treated as ``Default``.
* ``ClusterFirstWithHostNet``: as ClusterFirst, also for hostNetwork pods.
* ``Default``: the host's resolv.conf (its nameservers, last search line, last options line).
* ``None``: empty, then ``dnsConfig`` alone.

With no cluster DNS configured, the cluster policies fall back to ``Default`` and
kubelet warns (``MissingClusterDNS``). ``dnsConfig`` is then merged in: nameservers
and searches appended without duplicates, options overriding by name. Finally the
limits: at most 3 nameservers, 32 search domains of at most 253 characters, 2048
characters on the search line; trimming warns (``DNSConfigForming``). Warnings are
returned, not logged, so that the agent can turn them into Events.

/etc/hosts: a ``# Kubernetes-managed hosts file.`` header, the localhost lines for
IPv4 and IPv6, the pod IP with its hostname (and FQDN when ``subdomain`` is set), and
a hostAliases section. hostNetwork pods get the node's hosts file under a different
header, plus their hostAliases.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CLUSTER_FIRST = "ClusterFirst"
CLUSTER_FIRST_WITH_HOST_NET = "ClusterFirstWithHostNet"
DEFAULT = "Default"
NONE = "None"

MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_LINE_CHARS = 2048
MAX_SEARCH_DOMAIN_CHARS = 253
HOSTNAME_MAX = 63

DEFAULT_OPTIONS = ("ndots:5",)

MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
HOST_NETWORK_HEADER = "# Kubernetes-managed hosts file (host network).\n"
LOCALHOST_LINES = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class DnsWarning:
    """What kubelet reports as a Warning Event on the pod."""

    reason: str
    message: str


@dataclass(frozen=True)
class PodDns:
    config: ResolvConf
    warnings: tuple[DnsWarning, ...] = field(default=())


def parse_resolv_conf(text: str) -> ResolvConf:
    """nameserver lines accumulate; the last search and the last options line win; comments
    (``#`` or ``;``) and other keywords are ignored; search domains lose a trailing dot."""
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        keyword, rest = fields[0], fields[1:]
        if keyword == "nameserver" and rest:
            nameservers.append(rest[0])
        elif keyword == "search":
            searches = [s.removesuffix(".") for s in rest]
        elif keyword == "options":
            options = list(rest)
    return ResolvConf(tuple(nameservers), tuple(searches), tuple(options))


def host_resolv_for_pods(
    etc_resolv: ResolvConf, upstream: ResolvConf | None, own_network: bool
) -> ResolvConf:
    """The host configuration pods build on. A pod with its own network namespace cannot
    reach a nameserver on the host's loopback (systemd-resolved's 127.0.0.53): when every
    nameserver of /etc/resolv.conf is a loopback address and ``upstream`` (the file
    systemd-resolved keeps with the real servers) has some, use that one instead."""
    if not own_network or upstream is None or not upstream.nameservers:
        return etc_resolv
    if etc_resolv.nameservers and all(_is_loopback(ns) for ns in etc_resolv.nameservers):
        return upstream
    return etc_resolv


def pod_dns(
    pod: Mapping[str, Any],
    *,
    cluster_dns: Sequence[str],
    cluster_domain: str,
    host: ResolvConf,
) -> PodDns:
    """The resolver configuration of ``pod`` (see the module docstring for the rules)."""
    spec: Mapping[str, Any] = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or CLUSTER_FIRST
    host_network = bool(spec.get("hostNetwork"))
    warnings: list[DnsWarning] = []

    cluster = policy == CLUSTER_FIRST_WITH_HOST_NET or (
        policy not in (DEFAULT, NONE) and not host_network
    )
    servers: list[str]
    searches: list[str]
    options: list[str]
    if policy == NONE:
        servers, searches, options = [], [], []
    elif cluster and cluster_dns:
        servers = list(cluster_dns)
        searches = _cluster_searches(namespace, cluster_domain, host.searches)
        options = list(DEFAULT_OPTIONS)
    else:
        if cluster:
            warnings.append(
                DnsWarning(
                    "MissingClusterDNS",
                    "kubelet does not have ClusterDNS IP configured and cannot create Pod "
                    f'using "{CLUSTER_FIRST}" policy. Falling back to "{DEFAULT}" policy.',
                )
            )
        servers, searches, options = (
            list(host.nameservers),
            list(host.searches),
            list(host.options),
        )

    dns_config: Mapping[str, Any] | None = spec.get("dnsConfig")
    if dns_config:
        servers = _unique([*servers, *(dns_config.get("nameservers") or [])])
        searches = _unique([*searches, *(dns_config.get("searches") or [])])
        options = _merge_options(options, dns_config.get("options") or [])

    if len(servers) > MAX_NAMESERVERS:
        servers = servers[:MAX_NAMESERVERS]
        warnings.append(
            DnsWarning(
                "DNSConfigForming",
                "Nameserver limits were exceeded, some nameservers have been omitted, "
                f"the applied nameserver line is: {' '.join(servers)}",
            )
        )
    searches, trimmed = _fit_searches(searches)
    if trimmed:
        warnings.append(
            DnsWarning(
                "DNSConfigForming",
                "Search Line limits were exceeded, some search paths have been omitted, "
                f"the applied search line is: {' '.join(searches)}",
            )
        )
    return PodDns(ResolvConf(tuple(servers), tuple(searches), tuple(options)), tuple(warnings))


def render_resolv_conf(conf: ResolvConf) -> str:
    """The file as container runtimes write it: search, nameservers, options."""
    lines = []
    if conf.searches:
        lines.append("search " + " ".join(conf.searches))
    lines.extend(f"nameserver {ns}" for ns in conf.nameservers)
    if conf.options:
        lines.append("options " + " ".join(conf.options))
    return "".join(line + "\n" for line in lines)


def pod_hostname(pod: Mapping[str, Any], cluster_domain: str) -> tuple[str, str]:
    """(hostname, domain): ``spec.hostname`` or the pod name, cut to 63 characters without
    a trailing ``-`` or ``.``; the domain is ``<subdomain>.<ns>.svc.<cluster domain>`` when
    ``spec.subdomain`` is set, else empty."""
    metadata: Mapping[str, Any] = pod.get("metadata") or {}
    spec: Mapping[str, Any] = pod.get("spec") or {}
    hostname = spec.get("hostname") or metadata.get("name") or ""
    if len(hostname) > HOSTNAME_MAX:
        hostname = hostname[:HOSTNAME_MAX].rstrip("-.")
    subdomain = spec.get("subdomain") or ""
    namespace = metadata.get("namespace") or "default"
    domain = f"{subdomain}.{namespace}.svc.{cluster_domain}" if subdomain else ""
    return hostname, domain


def render_hosts(
    pod_ips: Sequence[str],
    hostname: str,
    domain: str,
    host_aliases: Iterable[Mapping[str, Any]] = (),
) -> str:
    """The managed /etc/hosts of a pod on the pod network."""
    parts = [MANAGED_HEADER, LOCALHOST_LINES]
    for ip in pod_ips:
        if domain:
            parts.append(f"{ip}\t{hostname}.{domain}\t{hostname}\n")
        else:
            parts.append(f"{ip}\t{hostname}\n")
    parts.append(_alias_lines(host_aliases))
    return "".join(parts)


def render_host_network_hosts(
    node_hosts: str, host_aliases: Iterable[Mapping[str, Any]] = ()
) -> str:
    """/etc/hosts of a hostNetwork pod: the node's file, then the pod's hostAliases."""
    return HOST_NETWORK_HEADER + node_hosts + _alias_lines(host_aliases)


def _alias_lines(host_aliases: Iterable[Mapping[str, Any]]) -> str:
    aliases = list(host_aliases)
    if not aliases:
        return ""
    lines = ["\n# Entries added by HostAliases.\n"]
    for alias in aliases:
        names = "\t".join(alias.get("hostnames") or [])
        lines.append(f"{alias.get('ip', '')}\t{names}\n")
    return "".join(lines)


def _cluster_searches(namespace: str, domain: str, host_searches: Iterable[str]) -> list[str]:
    if not domain:
        return list(host_searches)
    return _unique([f"{namespace}.svc.{domain}", f"svc.{domain}", domain, *host_searches])


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(existing: Iterable[str], pod_options: Iterable[Mapping[str, Any]]) -> list[str]:
    merged: dict[str, str] = {}
    for option in existing:
        name, _, value = option.partition(":")
        merged[name] = value
    for pod_option in pod_options:
        name = str(pod_option.get("name") or "")
        if name:
            merged[name] = str(pod_option.get("value") or "")
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _fit_searches(searches: list[str]) -> tuple[list[str], bool]:
    trimmed = False
    if len(searches) > MAX_SEARCH_PATHS:
        searches = searches[:MAX_SEARCH_PATHS]
        trimmed = True
    kept = [s for s in searches if len(s) <= MAX_SEARCH_DOMAIN_CHARS]
    trimmed = trimmed or len(kept) != len(searches)
    while kept and len(" ".join(kept)) > MAX_SEARCH_LINE_CHARS:
        kept.pop()
        trimmed = True
    return kept, trimmed


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
