"""Configuration files for the anchors, rendered from plain values. Pure functions.

Every file is written into the run's temporary directory; nothing here touches the machine's
own configuration (nginx, dnsmasq and Unbound are always pointed at our file explicitly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Record:
    """One cluster name and its A record."""

    name: str
    address: str


def cluster_records(count: int = 100, *, first: int = 10) -> list[Record]:
    """``svc-N.default.svc.cluster.local`` A records with addresses from 10.96.0.0/12."""
    records = []
    for index in range(count):
        host = first + index
        records.append(
            Record(
                name=f"svc-{index}.default.svc.{CLUSTER_DOMAIN}",
                address=f"10.96.{host // 256}.{host % 256}",
            )
        )
    return records


def hosts_file(records: Sequence[Record]) -> str:
    """An /etc/hosts-style file (dnsmasq's ``--addn-hosts``)."""
    return "".join(f"{r.address} {r.name}\n" for r in records)


def dnsperf_queries(records: Sequence[Record]) -> str:
    """A dnsperf data file: one ``name type`` per line."""
    return "".join(f"{r.name} A\n" for r in records)


def dnsmasq_args(port: int, hosts_path: str, log_path: str, *, as_root: bool) -> list[str]:
    """dnsmasq answering only from our hosts file, single process, in the foreground."""
    args = [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=",  # read no configuration file at all
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        f"--addn-hosts={hosts_path}",
        "--cache-size=1000",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--pid-file=",
        f"--log-facility={log_path}",
    ]
    if as_root:
        args.append("--user=root")  # keep access to our private temp directory
    return args


def unbound_conf(port: int, records: Sequence[Record], workdir: str) -> str:
    """Unbound serving ``records`` as local data from one thread, nothing recursive."""
    lines = [
        "server:",
        "  interface: 127.0.0.1",
        f"  port: {port}",
        "  num-threads: 1",
        "  do-daemonize: no",
        '  chroot: ""',
        '  username: ""',
        f'  directory: "{workdir}"',
        f'  pidfile: "{workdir}/unbound.pid"',
        "  use-syslog: no",
        '  logfile: ""',
        "  verbosity: 0",
        '  module-config: "iterator"',
        "  access-control: 127.0.0.0/8 allow",
        "  do-ip6: no",
        f'  local-zone: "{CLUSTER_DOMAIN}." static',
    ]
    lines += [f'  local-data: "{r.name}. 30 IN A {r.address}"' for r in records]
    lines += ["remote-control:", "  control-enable: no", ""]
    return "\n".join(lines)


def _nginx_head(workdir: str, *, as_root: bool) -> list[str]:
    head = [
        "worker_processes 1;",
        "daemon off;",
        f"pid {workdir}/nginx.pid;",
        f"error_log {workdir}/nginx-error.log warn;",
        "events { worker_connections 8192; }",
    ]
    if as_root:
        head.insert(0, "user root;")  # workers keep access to our private temp directory
    return head


def _nginx_http_common(workdir: str) -> list[str]:
    return [
        "  access_log off;",
        f"  client_body_temp_path {workdir}/client_body;",
        f"  proxy_temp_path {workdir}/proxy;",
        f"  fastcgi_temp_path {workdir}/fastcgi;",
        f"  uwsgi_temp_path {workdir}/uwsgi;",
        f"  scgi_temp_path {workdir}/scgi;",
    ]


def nginx_backend_conf(listen: Sequence[str], workdir: str, *, as_root: bool) -> str:
    """The backend of every HTTP scenario: one worker answering ``200 ok`` on each address."""
    lines = _nginx_head(workdir, as_root=as_root)
    lines += ["http {", *_nginx_http_common(workdir), "  server {"]
    lines += [f"    listen {address} backlog=4096;" for address in listen]
    lines += ['    location / { return 200 "ok"; }', "  }", "}", ""]
    return "\n".join(lines)


def nginx_proxy_conf(
    listen: str, upstream: str, workdir: str, *, keepalive: int = 64, as_root: bool
) -> str:
    """nginx as a reverse proxy to ``upstream`` with a keep-alive upstream pool."""
    lines = _nginx_head(workdir, as_root=as_root)
    lines += [
        "http {",
        *_nginx_http_common(workdir),
        f"  upstream backend {{ server {upstream}; keepalive {keepalive}; }}",
        "  server {",
        f"    listen {listen} backlog=4096;",
        "    location / {",
        "      proxy_pass http://backend;",
        "      proxy_http_version 1.1;",
        '      proxy_set_header Connection "";',
        "    }",
        "  }",
        "}",
        "",
    ]
    return "\n".join(lines)


def haproxy_conf(mode: str, listen: str, server: str) -> str:
    """HAProxy with one thread in ``mode`` "http" (connection reuse always) or "tcp" (L4)."""
    if mode not in ("http", "tcp"):
        raise ValueError(f"unknown HAProxy mode {mode!r}")
    lines = [
        "global",
        "  nbthread 1",
        "  maxconn 4096",
        "defaults",
        f"  mode {mode}",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
    ]
    if mode == "http":
        lines += ["  option http-keep-alive", "  http-reuse always"]
    lines += [
        "frontend fe",
        f"  bind {listen}",
        "  default_backend be",
        "backend be",
        f"  server s1 {server}",
        "",
    ]
    return "\n".join(lines)


def nft_service_table(
    vip: str, port: int, backends: Sequence[tuple[str, int]], *, name: str = "bench/web"
) -> str:
    """A table in the shape kube-proxy's nftables mode gives one ClusterIP Service.

    ``service-ips`` maps (address, protocol, port) to the Service's chain, which picks an
    endpoint chain with ``numgen random mod N``; each endpoint chain DNATs to its backend.
    Chains are declared before the map and rules that refer to them.
    """
    slug = name.replace("/", "-")
    service_chain = f"service-{slug}-tcp-{port}"
    endpoint_chains = [f"endpoint-{slug}-{i}" for i in range(len(backends))]
    lines = ["table ip kube-proxy {"]
    for chain, (address, backend_port) in zip(endpoint_chains, backends, strict=True):
        lines += [
            f"  chain {chain} {{",
            f"    meta l4proto tcp dnat to {address}:{backend_port}",
            "  }",
        ]
    choices = ", ".join(f"{i} : goto {chain}" for i, chain in enumerate(endpoint_chains))
    lines += [
        f"  chain {service_chain} {{",
        f"    numgen random mod {len(backends)} vmap {{ {choices} }}",
        "  }",
        "  map service-ips {",
        "    type ipv4_addr . inet_proto . inet_service : verdict",
        f"    elements = {{ {vip} . tcp . {port} : goto {service_chain} }}",
        "  }",
        "  chain services {",
        "    ip daddr . meta l4proto . th dport vmap @service-ips",
        "  }",
        "  chain nat-prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        "    jump services",
        "  }",
        "}",
        "",
    ]
    return "\n".join(lines)
