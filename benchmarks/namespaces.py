"""Throwaway network namespaces for the kernel data-plane scenarios.

Three namespaces joined by veth pairs, none of which has a link to the machine's own namespace,
so no packet can leave the machine::

    client (10.200.0.2) --veth-- node (10.200.0.1 | 10.200.0.65) --veth-- backend (.66, .67)
                                 ip_forward=1, nftables table
                                 VIP 10.200.0.200:80 -> .66:8080 / .67:8080

The node namespace routes between the two links and holds a table in kube-proxy's nftables
shape that DNATs the VIP to the two backend addresses; the VIP is on no interface, exactly as a
ClusterIP. Names are unique per run (``kbench-<runner pid>-<random>-<role>``), and everything
is deleted on exit, also on failure; ``leftovers`` finds those of runs that crashed.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass

from benchmarks import configs
from benchmarks.env import Env
from benchmarks.procs import signals_deferred

logger = logging.getLogger(__name__)

PREFIX = "kbench-"
CLIENT_IP = "10.200.0.2"
NODE_CLIENT_SIDE = "10.200.0.1"
NODE_BACKEND_SIDE = "10.200.0.65"
BACKEND_IPS = ("10.200.0.66", "10.200.0.67")
PREFIX_LEN = 26
VIP = "10.200.0.200"
VIP_PORT = 80
BACKEND_PORT = 8080

_FORWARD = "open('/proc/sys/net/ipv4/ip_forward', 'w').write('1')"


@dataclass(frozen=True)
class Topology:
    """The names of one set of namespaces."""

    client: str
    node: str
    backend: str

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.client, self.node, self.backend)


def new_names(pid: int, token: str) -> Topology:
    base = f"{PREFIX}{pid}-{token}"
    return Topology(client=f"{base}-cli", node=f"{base}-node", backend=f"{base}-be")


def build_commands(topo: Topology) -> list[list[str]]:
    """The ``ip`` commands that create and wire the namespaces (pure)."""
    cli, node, be = topo.names
    commands = [["ip", "netns", "add", name] for name in topo.names]
    commands += [
        [
            "ip",
            "-n",
            node,
            "link",
            "add",
            "c0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            cli,
        ],
        [
            "ip",
            "-n",
            node,
            "link",
            "add",
            "b0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            be,
        ],
        ["ip", "-n", cli, "addr", "add", f"{CLIENT_IP}/{PREFIX_LEN}", "dev", "eth0"],
        ["ip", "-n", node, "addr", "add", f"{NODE_CLIENT_SIDE}/{PREFIX_LEN}", "dev", "c0"],
        ["ip", "-n", node, "addr", "add", f"{NODE_BACKEND_SIDE}/{PREFIX_LEN}", "dev", "b0"],
    ]
    commands += [
        ["ip", "-n", be, "addr", "add", f"{address}/{PREFIX_LEN}", "dev", "eth0"]
        for address in BACKEND_IPS
    ]
    for name, links in ((cli, ("lo", "eth0")), (node, ("lo", "c0", "b0")), (be, ("lo", "eth0"))):
        commands += [["ip", "-n", name, "link", "set", link, "up"] for link in links]
    commands += [
        ["ip", "-n", cli, "route", "add", "default", "via", NODE_CLIENT_SIDE],
        ["ip", "-n", be, "route", "add", "default", "via", NODE_BACKEND_SIDE],
        ["ip", "netns", "exec", node, sys.executable, "-c", _FORWARD],
    ]
    return commands


def create(env: Env, stack: ExitStack) -> Topology:
    """Create and wire a fresh set of namespaces with the Service table loaded in the node.

    Their removal is registered on ``stack`` before the first one exists.
    """
    topo = new_names(os.getpid(), secrets.token_hex(3))
    stack.callback(destroy, topo)
    for argv in build_commands(topo):
        env.procs.run("netns-setup", argv, timeout=10)
    table = configs.nft_service_table(VIP, VIP_PORT, [(ip, BACKEND_PORT) for ip in BACKEND_IPS])
    path = env.write(env.tmp, f"{topo.node}.nft", table)
    env.procs.run("nft", ["nft", "-f", str(path)], netns=topo.node, timeout=10)
    return topo


def _netns_pids(name: str) -> list[int]:
    done = subprocess.run(
        ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10, check=False
    )
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def destroy(topo: Topology) -> None:
    """Delete our namespaces (and whatever still runs in them); the veths go with them."""
    for name in topo.names:
        remove(name)


_OURS = re.compile(rf"^{re.escape(PREFIX)}(\d+)-([0-9a-f]+)-(cli|node|be)$")


def stale(names: list[str], alive: set[int]) -> list[str]:
    """Our namespaces among ``names`` whose runner (the pid in the name) no longer runs."""
    found = []
    for name in names:
        match = _OURS.match(name)
        if match and int(match.group(1)) not in alive:
            found.append(name)
    return found


def leftovers() -> list[str]:
    """Namespaces left by runs that crashed before they could delete them."""
    done = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False
    )
    names = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    alive = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    return stale(names, alive)


def remove(name: str) -> None:
    """Kill what still runs inside one of our namespaces (only we start processes there; the
    runner normally ends them first) and delete it; Ctrl-C waits until it is gone."""
    with signals_deferred():
        for pid in _netns_pids(name):
            logger.warning("killing leftover process in namespace netns=%s pid=%d", name, pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)
