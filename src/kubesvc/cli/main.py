"""The ``kubesvc`` command: ``up``, ``server``, ``controllers``, ``node`` and ``kubeconfig``.

Flags are declared here and nowhere else; each subcommand turns them into a
settings dataclass and hands it to ``kubesvc.runtime``. Errors a user can fix
(port in use, bad manifest, unknown storage URL) print one line and exit 1;
they never print a trace.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from kubesvc import __version__
from kubesvc.apiserver.allocators.ipalloc import DEFAULT_SERVICE_CIDR, parse_service_cidr
from kubesvc.apiserver.allocators.portalloc import DEFAULT_NODE_PORT_RANGE, parse_port_range
from kubesvc.apiserver.app import ApiServerSettings
from kubesvc.client.errors import ConfigError
from kubesvc.client.kubeconfig import load_config
from kubesvc.controllers import registry as controller_registry
from kubesvc.controllers.context import ControllerSettings
from kubesvc.controllers.loadbalancer_pool import Pool
from kubesvc.node.settings import LOOPBACK, NETNS, NodeSettings
from kubesvc.runtime import kubeconfig, manifests, paths
from kubesvc.runtime.node import (
    cleanup_node,
    default_network_mode,
    default_node_name,
    node_state_dir,
    run_node,
)
from kubesvc.runtime.up import ApplyError, ServeSettings, run_controllers, serve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubesvc", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"kubesvc {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="cluster state directory (default: per-user data directory)",
        )
        sp.add_argument("--bind-address", default="127.0.0.1", help="API listen address")
        sp.add_argument("--port", type=int, default=6443, help="API port (0: pick a free one)")
        sp.add_argument(
            "--service-cluster-ip-range",
            type=_checked(parse_service_cidr),
            default=DEFAULT_SERVICE_CIDR,
            metavar="CIDR",
            help=f"IPv4 range of ClusterIPs (default {DEFAULT_SERVICE_CIDR})",
        )
        sp.add_argument(
            "--service-node-port-range",
            type=_checked(parse_port_range),
            default=DEFAULT_NODE_PORT_RANGE,
            metavar="MIN-MAX",
            help=f"range of NodePorts (default {DEFAULT_NODE_PORT_RANGE})",
        )

    up = sub.add_parser(
        "up", help="start everything kubesvc has, apply manifests, run until Ctrl-C"
    )
    common(up)
    up.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help="manifest file or directory to apply once ready (repeatable)",
    )
    up.add_argument("--storage", default="", help="storage URL (default: sqlite in --data-dir)")
    _lb_pool_flag(up)
    up.add_argument(
        "--disable-agent",
        action="store_true",
        help="run no node agent: pods are scheduled nowhere and never run (as k3s's flag)",
    )
    _node_flags(up)

    node = sub.add_parser("node", help="run a node agent alone, against any API server")
    node.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="kubeconfig of the API server (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
    )
    node.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the agent keeps pods' files (default: per-user data directory)",
    )
    node.add_argument(
        "--cleanup",
        action="store_true",
        help="stop every pod process and remove namespaces, veths, the bridge, rules and "
        "cgroups this node made, then exit",
    )
    _node_flags(node)

    server = sub.add_parser("server", help="run the API server alone")
    common(server)
    server.add_argument(
        "--storage",
        default="",
        help="storage URL: sqlite:///PATH or memory:// (default: sqlite in --data-dir)",
    )
    server.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="FILE_OR_DIR",
        help=argparse.SUPPRESS,
    )

    ctl = sub.add_parser("controllers", help="run the controllers alone, against any API server")
    ctl.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="kubeconfig of the API server (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
    )
    ctl.add_argument(
        "--controllers",
        default="",
        metavar="NAME,...",
        help="controllers to run, comma-separated (default: all)",
    )
    _lb_pool_flag(ctl)

    kc = sub.add_parser("kubeconfig", help="print a kubeconfig for the cluster of a data directory")
    kc.add_argument("--data-dir", type=Path, default=None)
    return p


def _checked(parse: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse ``type`` that validates a flag value and keeps its text."""

    def check(text: str) -> str:
        try:
            parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text.strip()

    return check


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _lb_pool_flag(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--node-monitor-grace-period",
        type=_positive_seconds,
        default=50.0,
        metavar="SECONDS",
        help="a node whose agent has not renewed its lease for this long becomes NotReady "
        "and its pods' endpoints not ready (default 50, as Kubernetes 1.32)",
    )
    sp.add_argument(
        "--lb-ip-pool",
        type=_checked(lambda text: Pool.parse([text])),
        action="append",
        default=[],
        metavar="CIDR,...",
        help="addresses for LoadBalancer Services: CIDRs, FIRST-LAST ranges or IPs "
        "(repeatable; default: none, LoadBalancer Services stay pending)",
    )


def _node_flags(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--node-name", default="", help="name of this node (default: the host name)")
    sp.add_argument(
        "--network-mode",
        choices=[NETNS, LOOPBACK],
        default="",
        help="pods in network namespaces on a bridge (netns: root on Linux) or on loopback "
        "addresses (loopback: any user); default: netns when root, else loopback",
    )
    sp.add_argument(
        "--pod-cidr",
        default="10.244.0.0/24",
        metavar="CIDR",
        help="this node's pod addresses in netns mode (default 10.244.0.0/24)",
    )
    sp.add_argument(
        "--cluster-dns",
        action="append",
        default=[],
        metavar="IP",
        help="nameserver written into pods' resolv.conf (repeatable; default: none, pods "
        "use the host's resolvers until kubesvc's DNS server runs)",
    )
    sp.add_argument(
        "--cluster-domain",
        default="cluster.local",
        help="the cluster's DNS domain, for pods' search path (default cluster.local)",
    )
    sp.add_argument(
        "--node-lease-duration",
        type=_positive_seconds,
        default=40.0,
        metavar="SECONDS",
        help="the node's Lease duration; the agent renews it every quarter (default 40)",
    )
    sp.add_argument(
        "--crashloop-backoff",
        default="10,300",
        metavar="BASE,CAP",
        help="CrashLoopBackOff first delay and cap in seconds (default 10,300 as kubelet)",
    )


def _node_settings(args: argparse.Namespace, data_dir: Path) -> NodeSettings:
    name = args.node_name or default_node_name()
    if args.network_mode == NETNS and os.geteuid() != 0:
        raise ValueError(
            "--network-mode netns needs root (network namespaces, veths, a bridge); "
            "run as root or use --network-mode loopback"
        )
    try:
        base, cap = (float(x) for x in args.crashloop_backoff.split(","))
    except ValueError:
        raise ValueError(
            f"--crashloop-backoff wants BASE,CAP in seconds, not {args.crashloop_backoff!r}"
        ) from None
    return NodeSettings(
        node_name=name,
        state_dir=node_state_dir(data_dir, name),
        network_mode=args.network_mode or default_network_mode(),
        pod_cidr=args.pod_cidr,
        crashloop_backoff_base=base,
        crashloop_backoff_cap=cap,
        lease_duration_seconds=max(1, round(args.node_lease_duration)),
        cluster_dns=tuple(_checked_ip(ip) for ip in args.cluster_dns),
        cluster_domain=args.cluster_domain.strip(".") or "cluster.local",
    )


def _checked_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"--cluster-dns wants an IP address, not {text!r}") from None


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _event_loop_policy() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _run_serve(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or paths.default_data_dir()
    try:
        settings = _serve_settings(args, data_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def on_ready(url: str, kc: Path) -> None:
        print(
            f"kubesvc {__version__} ready: API server at {url}; "
            f"use it with: export KUBECONFIG={kc}",
            flush=True,
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop, on_ready)

    _event_loop_policy()
    try:
        asyncio.run(main())
    except manifests.ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ApplyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"error: {args.bind_address}:{args.port} is already in use; stop what listens "
                "there or pick another --port",
                file=sys.stderr,
            )
            return 1
        if exc.errno in (errno.EACCES, errno.EPERM):
            print(f"error: {exc.strerror}: {exc.filename or args.bind_address}", file=sys.stderr)
            return 1
        raise
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve_settings(args: argparse.Namespace, data_dir: Path) -> ServeSettings:
    return ServeSettings(
        data_dir=data_dir,
        storage=args.storage,
        api=ApiServerSettings(
            bind_address=args.bind_address,
            port=args.port,
            service_cluster_ip_range=args.service_cluster_ip_range,
            service_node_port_range=args.service_node_port_range,
        ),
        manifests=list(args.filename),
        controllers=_controller_settings(args) if args.command == "up" else None,
        node=(
            _node_settings(args, data_dir)
            if args.command == "up" and not args.disable_agent
            else None
        ),
    )


def _controller_settings(args: argparse.Namespace) -> ControllerSettings:
    grace = args.node_monitor_grace_period
    return ControllerSettings(
        lb_ip_pool=tuple(args.lb_ip_pool),
        node_monitor_grace_period=grace,
        node_monitor_period=min(5.0, grace / 5),
    )


def _run_controllers(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.controllers.split(",") if n.strip()] or None
    known = controller_registry.names()
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        print(
            f"error: unknown controller {unknown[0]!r}; known: {', '.join(known)}",
            file=sys.stderr,
        )
        return 1
    try:
        config = load_config(args.kubeconfig)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    running = ", ".join(names or known)
    settings = _controller_settings(args)
    _run_component(
        f"kubesvc {__version__} controllers ready: {running}; API server at {config.server}",
        lambda stop, ready: run_controllers(config, settings, stop, names=names, ready=ready),
    )
    return 0


def _run_node(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or paths.default_data_dir()
    try:
        settings = _node_settings(args, data_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _event_loop_policy()
    if args.cleanup:
        asyncio.run(cleanup_node(settings))
        print(f"kubesvc node {settings.node_name}: cleaned up", flush=True)
        return 0
    try:
        config = load_config(args.kubeconfig)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    _run_component(
        f"kubesvc {__version__} node {settings.node_name} ready ({settings.network_mode} mode); "
        f"API server at {config.server}",
        lambda stop, ready: run_node(config, settings, stop, ready=ready),
    )
    return 0


def _run_component(
    ready_line: str, run: Callable[[asyncio.Event, asyncio.Event], Awaitable[None]]
) -> None:
    """Run one component until SIGINT/SIGTERM, printing ``ready_line`` once it is ready."""

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def announce() -> None:
            await ready.wait()
            print(ready_line, flush=True)

        async with asyncio.TaskGroup() as tg:
            announcer = tg.create_task(announce())
            await run(stop, ready)
            announcer.cancel()

    _event_loop_policy()
    asyncio.run(main())


def _run_kubeconfig(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or paths.default_data_dir()
    info = paths.read_server_info(data_dir)
    if info is None:
        print(
            f"error: no cluster has run in {data_dir} yet; start one with "
            f"`kubesvc up --data-dir {data_dir}`",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(kubeconfig.render(str(info["server"])))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    if args.command in ("up", "server"):
        return _run_serve(args)
    if args.command == "controllers":
        return _run_controllers(args)
    if args.command == "kubeconfig":
        return _run_kubeconfig(args)
    if args.command == "node":
        return _run_node(args)
    _parser().print_help()
    return 2
