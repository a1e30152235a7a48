"""Starting the anchors: nginx, HAProxy, dnsmasq, Unbound, iperf3 servers.

Each function writes its configuration into a fresh work directory, starts the server pinned
to the server core in its own process group (optionally inside a network namespace), waits
until it listens, and registers its end on the given ExitStack.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from benchmarks import configs
from benchmarks.env import Env, free_port
from benchmarks.procs import Started
from benchmarks.readiness import wait_listening


@dataclass(frozen=True)
class Server:
    """A running server and the address clients use."""

    started: Started
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _launch(
    env: Env,
    stack: ExitStack,
    name: str,
    argv: list[str],
    ports: list[int],
    *,
    proto: str = "tcp",
    netns: str | None = None,
) -> Started:
    started = env.procs.start(name, argv, cpu=env.settings.server_cpu, netns=netns)
    stack.callback(env.procs.stop, started)
    wait_listening(env.procs, started, ports, proto=proto, timeout=env.settings.ready_timeout_s)
    return started


def nginx_backend(
    env: Env,
    stack: ExitStack,
    *,
    hosts: tuple[str, ...] = ("127.0.0.1",),
    port: int | None = None,
    netns: str | None = None,
) -> Server:
    """nginx answering ``200 ok`` with one worker on every one of ``hosts``."""
    port = port if port is not None else free_port()
    work = env.workdir("nginx-backend")
    conf = configs.nginx_backend_conf(
        [f"{h}:{port}" for h in hosts], str(work), as_root=env.as_root
    )
    path = env.write(work, "nginx.conf", conf)
    argv = ["nginx", "-p", str(work), "-e", str(work / "nginx-error.log"), "-c", str(path)]
    started = _launch(env, stack, "nginx-backend", argv, [port], netns=netns)
    return Server(started=started, host=hosts[0], port=port)


def nginx_proxy(env: Env, stack: ExitStack, upstream: Server) -> Server:
    """nginx as a reverse proxy with an upstream keep-alive pool of 64."""
    port = free_port()
    work = env.workdir("nginx-proxy")
    conf = configs.nginx_proxy_conf(
        f"127.0.0.1:{port}", upstream.address, str(work), as_root=env.as_root
    )
    path = env.write(work, "nginx.conf", conf)
    argv = ["nginx", "-p", str(work), "-e", str(work / "nginx-error.log"), "-c", str(path)]
    started = _launch(env, stack, "nginx-proxy", argv, [port])
    return Server(started=started, host="127.0.0.1", port=port)


def haproxy(env: Env, stack: ExitStack, mode: str, upstream: Server) -> Server:
    """HAProxy, one thread, in ``mode`` "http" or "tcp", in front of ``upstream``."""
    port = free_port()
    work = env.workdir(f"haproxy-{mode}")
    conf = configs.haproxy_conf(mode, f"127.0.0.1:{port}", upstream.address)
    path = env.write(work, "haproxy.cfg", conf)
    started = _launch(env, stack, f"haproxy-{mode}", ["haproxy", "-db", "-f", str(path)], [port])
    return Server(started=started, host="127.0.0.1", port=port)


def dnsmasq(env: Env, stack: ExitStack, records: list[configs.Record]) -> Server:
    """dnsmasq answering ``records`` from an additional hosts file."""
    port = free_port()
    work = env.workdir("dnsmasq")
    hosts = env.write(work, "hosts", configs.hosts_file(records))
    argv = configs.dnsmasq_args(port, str(hosts), str(work / "dnsmasq.log"), as_root=env.as_root)
    started = _launch(env, stack, "dnsmasq", argv, [port], proto="udp")
    return Server(started=started, host="127.0.0.1", port=port)


def unbound(env: Env, stack: ExitStack, records: list[configs.Record]) -> Server:
    """Unbound answering ``records`` as local data, one thread."""
    port = free_port()
    work = env.workdir("unbound")
    path = env.write(work, "unbound.conf", configs.unbound_conf(port, records, str(work)))
    started = _launch(
        env, stack, "unbound", ["unbound", "-d", "-c", str(path)], [port], proto="udp"
    )
    return Server(started=started, host="127.0.0.1", port=port)


def iperf3_server(env: Env, stack: ExitStack) -> Server:
    """An iperf3 server on loopback."""
    port = free_port()
    argv = ["iperf3", "--server", "--bind", "127.0.0.1", "--port", str(port)]
    started = _launch(env, stack, "iperf3-server", argv, [port])
    return Server(started=started, host="127.0.0.1", port=port)
