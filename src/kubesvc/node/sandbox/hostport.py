"""hostPort: a node port forwarded to a pod's container port, as nftables DNAT rules.

One table holds every mapping of the node and is replaced as a whole whenever the set
of mappings changes (``render`` is pure; ``apply`` calls it and feeds ``nft -f -``). The script
adds the table, deletes it and adds it again with its full content, all in one nft
transaction: there is never a moment with half the rules, and a missing table is fine.

::

    table ip kubesvc-hostports
      prerouting  (nat, dstnat)   fib daddr type local -> hostports    from pods / other hosts
      output      (nat, -100)     fib daddr type local -> hostports    from the node itself
      hostports                   [ip daddr H] <proto> dport P -> dnat to <pod ip>:<port>
      postrouting (nat, srcnat)   DNATed from 127.0.0.0/8 or the pod CIDR -> masquerade
      input-guard (filter, input) new connections from the bridge to 127.0.0.0/8 -> drop

Masquerade makes two cases work: ``localhost:<hostPort>`` on the node (the kernel only
routes a 127.0.0.1 source out of the bridge with ``route_localnet`` set on it, and the
pod could not answer 127.0.0.1) and hairpin (a pod reaching its own or a neighbour's
hostPort through the node address; forwarding on the bridge is needed for that one).
``route_localnet`` also lets packets *to* 127.0.0.0/8 in from the bridge, so the guard
chain drops new connections of that kind (as kube-proxy does since CVE-2020-8558); the
sysctl is set only while this table exists.

In loopback mode there is nothing to map (pods bind host ports directly, no root):
``hostport_unsupported_reason`` says so for an Event.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubesvc.node.settings import LOOPBACK, NETNS

log = logging.getLogger(__name__)

TABLE = "kubesvc-hostports"
DEFAULT_BRIDGE = "kubesvc0"
FAMILY = "ip"
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}


@dataclass(frozen=True, order=True)
class HostPortMapping:
    host_port: int
    protocol: str
    """``TCP``, ``UDP`` or ``SCTP``, as in the pod spec."""
    pod_ip: str
    container_port: int
    host_ip: str = ""
    """Only traffic to this node address is forwarded; empty: every local address."""

    def to_json(self) -> dict[str, Any]:
        return {
            "hostPort": self.host_port,
            "protocol": self.protocol,
            "podIP": self.pod_ip,
            "containerPort": self.container_port,
            "hostIP": self.host_ip,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HostPortMapping:
        return cls(
            host_port=int(data["hostPort"]),
            protocol=str(data.get("protocol") or "TCP"),
            pod_ip=str(data["podIP"]),
            container_port=int(data["containerPort"]),
            host_ip=str(data.get("hostIP") or ""),
        )


def hostport_unsupported_reason(mode: str) -> str | None:
    """Why hostPort cannot work in ``mode`` (text for a Warning Event), None if it can."""
    if mode == NETNS:
        return None
    if mode == LOOPBACK:
        return (
            "hostPort is not supported in loopback network mode: pods share the node's "
            "network, so a container reaches the node's ports by binding them itself; "
            "forwarding a host port needs root (netns mode)"
        )
    return f"hostPort is not supported in network mode {mode!r}"


def mappings_for(pod: Mapping[str, Any], pod_ip: str) -> list[HostPortMapping]:
    """The hostPort mappings of ``pod`` (its containers' ports with a hostPort), deduplicated
    by (hostIP, hostPort, protocol). hostNetwork pods have none: their ports are the node's."""
    spec: Mapping[str, Any] = pod.get("spec") or {}
    if spec.get("hostNetwork") or not pod_ip:
        return []
    seen: set[tuple[str, int, str]] = set()
    result = []
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            host_port = int(port.get("hostPort") or 0)
            if host_port <= 0:
                continue
            protocol = str(port.get("protocol") or "TCP").upper()
            host_ip = str(port.get("hostIP") or "")
            if host_ip == "0.0.0.0":
                host_ip = ""
            key = (host_ip, host_port, protocol)
            if key in seen:
                continue
            seen.add(key)
            result.append(
                HostPortMapping(
                    host_port=host_port,
                    protocol=protocol,
                    pod_ip=pod_ip,
                    container_port=int(port.get("containerPort") or host_port),
                    host_ip=host_ip,
                )
            )
    return result


def usable(mappings: Iterable[HostPortMapping]) -> list[HostPortMapping]:
    """The mappings an ``ip`` table can express (IPv4, a known protocol), sorted, unique."""
    return sorted(
        {
            m
            for m in mappings
            if m.protocol in PROTOCOLS and ":" not in m.pod_ip and ":" not in m.host_ip
        }
    )


def render(mappings: Iterable[HostPortMapping], *, bridge: str, pod_cidr: str = "") -> str:
    """An ``nft -f`` script that replaces the table with one holding ``mappings``
    (or only removes it when there are none). Mappings that cannot be expressed
    (an IPv6 host IP or address, an unknown protocol) are left out. ``pod_cidr``
    adds hairpin masquerade for pods reaching a hostPort through the node."""
    chosen = usable(mappings)
    sources = "127.0.0.0/8" + (f", {pod_cidr}" if pod_cidr else "")
    lines = [f"add table {FAMILY} {TABLE}", f"delete table {FAMILY} {TABLE}"]
    if not chosen:
        return "\n".join(lines) + "\n"
    dnat = []
    masquerade = []
    for m in chosen:
        proto = PROTOCOLS[m.protocol]
        daddr = f"ip daddr {m.host_ip} " if m.host_ip else ""
        dnat.append(f"\t\t{daddr}{proto} dport {m.host_port} dnat to {m.pod_ip}:{m.container_port}")
        masquerade.append(
            f"\t\tct status dnat ip saddr {{ {sources} }} "
            f"ip daddr {m.pod_ip} {proto} dport {m.container_port} masquerade"
        )
    lines += [
        f"table {FAMILY} {TABLE} {{",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        "\t\tfib daddr type local jump hostports",
        "\t}",
        "\tchain output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        "\t\tfib daddr type local jump hostports",
        "\t}",
        "\tchain hostports {",
        *dnat,
        "\t}",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        *masquerade,
        "\t}",
        "\tchain input-guard {",
        "\t\ttype filter hook input priority filter; policy accept;",
        f'\t\tiifname "{bridge}" ip daddr 127.0.0.0/8 ct state new drop',
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def render_delete() -> str:
    """A script that removes the table, whether it exists or not."""
    return render((), bridge="")


class HostPortError(Exception):
    """``nft`` refused the rules or is missing."""


async def apply(
    mappings: Iterable[HostPortMapping], *, bridge: str = DEFAULT_BRIDGE, pod_cidr: str = ""
) -> None:
    """Make the node's hostPort rules exactly ``mappings`` (all pods' together), in the
    calling process's network namespace. Raises ``HostPortError``."""
    chosen = usable(mappings)
    script = render(chosen, bridge=bridge, pod_cidr=pod_cidr)
    await run_nft(script, bridge=bridge, localnet=bool(chosen))


async def remove(*, bridge: str = DEFAULT_BRIDGE) -> None:
    """Remove the table (and ``route_localnet`` from the bridge). Without nft there is no
    table to remove."""
    if shutil.which("nft") is None:
        _set_route_localnet(bridge, False)
        return
    await run_nft(render_delete(), bridge=bridge, localnet=False)


async def run_nft(script: str, *, bridge: str, localnet: bool) -> None:
    """Load ``script`` with ``nft -f -``, and set ``route_localnet`` on ``bridge`` to
    ``localnet`` (after adding the guard, before removing it)."""
    nft = shutil.which("nft")
    if nft is None:
        raise HostPortError("nft (nftables) is not installed: hostPort cannot be mapped")
    if not localnet:
        _set_route_localnet(bridge, False)
    proc = await asyncio.create_subprocess_exec(
        nft,
        "-f",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise HostPortError(f"nft failed ({proc.returncode}): {output.decode(errors='replace')}")
    if localnet:
        _set_route_localnet(bridge, True)


def _set_route_localnet(bridge: str, on: bool) -> None:
    if not bridge:
        return
    path = Path("/proc/sys/net/ipv4/conf") / bridge / "route_localnet"
    try:
        path.write_text("1" if on else "0")
    except FileNotFoundError:
        pass  # no bridge (yet, or any more): nothing to route
    except OSError as err:
        log.warning("route_localnet not set bridge=%s error=%s", bridge, err)
