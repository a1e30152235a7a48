"""The kernel data path: wrk through a node namespace, directly and via a DNAT-ed VIP.

See benchmarks/namespaces.py for the topology (client, node and backend namespaces with no
link to the machine's own). The backend is nginx with one worker listening on both backend
addresses. ``netns-direct`` goes to a backend address through the node (conntrack is on there,
because the Service table has a nat hook); ``netns-vip-dnat`` goes to the VIP, which the node's
kube-proxy-shaped table DNATs to one of the two backends with ``numgen random mod 2``.

Every measurement (warm-up and run) gets freshly created namespaces: the ``-close`` rows open
tens of thousands of connections per second, and each leaves a conntrack entry in TIME_WAIT
for two minutes; a fresh node namespace starts with an empty table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field

from benchmarks import loadgen, namespaces, servers
from benchmarks.env import Env
from benchmarks.model import Sample
from benchmarks.registry import Probe, Scenario, register

GROUP = "netns"
REQUIRES = ("ip", "nft", "nginx", "wrk", "taskset")


@dataclass
class NetnsProbe:
    """wrk from the client namespace to the backend or the VIP, in namespaces created afresh
    for every measurement."""

    env: Env
    via_vip: bool
    close: bool
    _topology: namespaces.Topology | None = field(default=None, init=False)

    def fresh(self) -> AbstractContextManager[object]:
        return self._fresh()

    @contextmanager
    def _fresh(self) -> Iterator[namespaces.Topology]:
        with ExitStack() as stack:
            topology = namespaces.create(self.env, stack)
            servers.nginx_backend(
                self.env,
                stack,
                hosts=namespaces.BACKEND_IPS,
                port=namespaces.BACKEND_PORT,
                netns=topology.backend,
            )
            self._topology = topology
            try:
                yield topology
            finally:
                self._topology = None

    def _url(self) -> str:
        if self.via_vip:
            return f"http://{namespaces.VIP}:{namespaces.VIP_PORT}/"
        return f"http://{namespaces.BACKEND_IPS[0]}:{namespaces.BACKEND_PORT}/"

    def _load(self, seconds: int) -> Sample:
        if self._topology is None:
            raise RuntimeError("NetnsProbe used outside fresh()")
        return loadgen.wrk(
            self.env, self._url(), seconds, close=self.close, netns=self._topology.client
        )

    def warm(self, seconds: int) -> None:
        self._load(seconds)

    def measure(self, seconds: int) -> Sample:
        return self._load(seconds)


def _setup(via_vip: bool, close: bool) -> Callable[[Env, ExitStack], Probe]:
    return lambda env, stack: NetnsProbe(env, via_vip=via_vip, close=close)


PATH = "client ns -> node ns (nft Service table loaded, conntrack on) -> "
CLOSE = "; new connection per request [Connection: close]"

register(
    Scenario(
        name="netns-direct",
        family="netns",
        what=PATH + "backend 10.200.0.66:8080 (no DNAT)",
        unit="rps",
        group=GROUP,
        setup=_setup(via_vip=False, close=False),
        requires=REQUIRES,
        needs_root=True,
    ),
    Scenario(
        name="netns-vip-dnat",
        family="netns",
        what=PATH + "VIP 10.200.0.200:80, DNAT (service-ips vmap, numgen random mod 2)",
        unit="rps",
        group=GROUP,
        setup=_setup(via_vip=True, close=False),
        anchor="netns-direct",
        requires=REQUIRES,
        needs_root=True,
    ),
    Scenario(
        name="netns-direct-close",
        family="netns",
        what=PATH + "backend (no DNAT)" + CLOSE,
        unit="rps",
        group=GROUP,
        setup=_setup(via_vip=False, close=True),
        requires=REQUIRES,
        needs_root=True,
    ),
    Scenario(
        name="netns-vip-dnat-close",
        family="netns",
        what=PATH + "VIP, DNAT" + CLOSE,
        unit="rps",
        group=GROUP,
        setup=_setup(via_vip=True, close=True),
        anchor="netns-direct-close",
        requires=REQUIRES,
        needs_root=True,
    ),
)
