"""netns mode: each pod has its own network namespace on the node bridge (root only).

::

    agent's network namespace (the host's, or a throwaway "node" namespace)
    +-------------------------------------------------------------------+
    |  kubesvc0 (bridge) 10.244.0.1/24 = gateway = node_ip              |
    |     +-- veth1a2b3c4d5e6 --+          +-- veth9f8e7d6c5b4 --+      |
    +-------------------------|------------------------------|----------+
        /run/netns/ksvc-<uid> |                              |
        +---------------------+-------+   +------------------+---------+
        | eth0 10.244.0.2/24, lo      |   | eth0 10.244.0.3/24, lo     |
        | default via 10.244.0.1      |   | default via 10.244.0.1     |
        +-----------------------------+   +----------------------------+

Per pod: an address from the pod CIDR (``ipam``), ``sandbox.json`` written *before*
anything is created (so a crash leaves a record to clean), a named namespace, a veth
pair (host end ``veth`` + 11 hex digits of a hash of the UID, on the bridge; pod end
``eth0`` with a MAC derived from the address), resolv.conf and hosts under the pod
directory for the runtime to bind-mount. hostNetwork pods get no namespace: their IP
is the node's and their resolv.conf follows ``ClusterFirstWithHostNet``.

The bridge is made on first use with the first address of the pod CIDR (the gateway,
which is also the node address pods see) and a fixed MAC. The bridge-netfilter
sysctls are switched off in the agent's namespace, so that bridged pod-to-pod
traffic does not pass through the host's iptables/nftables ``ip`` hooks (with a
firewall whose FORWARD policy is drop, it would be dropped). IP forwarding is not
touched: pods on one bridge reach each other at layer 2.

hostPort mappings are part of the record; the nftables table is rebuilt from all
records whenever a pod with hostPorts comes or goes (``hostport``).

``cleanup`` tears down every recorded sandbox, then sweeps what a crashed agent may
have left unrecorded and is clearly its own: ``ksvc-*`` namespaces known to this
network namespace (``netlink.has_netnsid``), interfaces on the bridge; then removes
the bridge and the hostPort table.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import ipaddress
import logging
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from kubesvc.node.layout import StateDir
from kubesvc.node.sandbox import hostport, netlink
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.node.sandbox.ipam import Ipam, gateway_of
from kubesvc.node.sandbox.loopback import (
    HostFiles,
    SandboxRecord,
    UidLocks,
    info_of,
    pod_hostname,
    pod_identity,
    read_record,
    read_records,
    remove_etc_files,
    remove_record,
    write_etc_files,
    write_record,
)
from kubesvc.node.settings import NETNS, NodeSettings

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
NETNS_PREFIX = "ksvc-"
BRIDGE_NF_SYSCTLS = (
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/bridge/bridge-nf-call-arptables",
)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def netns_name(uid: str) -> str:
    """``ksvc-`` + the first 12 hex digits of the UID (``ip netns`` shows which pod it is); a
    UID that is not a UUID is hashed instead, so that it cannot collide or escape the
    directory. Always ``ksvc-[0-9a-f]{12}``."""
    if _UUID.match(uid):
        return NETNS_PREFIX + uid.replace("-", "")[:12]
    return NETNS_PREFIX + hashlib.sha256(uid.encode()).hexdigest()[:12]


def host_veth_name(uid: str) -> str:
    """``veth`` + 11 hex digits: 15 characters, the longest interface name Linux allows."""
    return "veth" + hashlib.sha256(uid.encode()).hexdigest()[:11]


def mac_of(ip: str) -> str:
    """A locally administered unicast MAC that encodes the IPv4 address (0a:58:<ip>)."""
    octets = ipaddress.IPv4Address(ip).packed
    return "0a:58:" + ":".join(f"{b:02x}" for b in octets)


class NetnsSandbox:
    """The ``Sandbox`` of netns mode (see the module docstring)."""

    mode = NETNS

    def __init__(
        self,
        settings: NodeSettings,
        state: StateDir,
        *,
        netns_dir: Path = NETNS_DIR,
        host: HostFiles | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.netns_dir = netns_dir
        self.host = host or HostFiles()
        network = ipaddress.IPv4Network(settings.pod_cidr, strict=False)
        self.prefixlen = network.prefixlen
        self.gateway = str(gateway_of(settings.pod_cidr))
        self.node_ip = self.gateway
        self.ipam = Ipam(state.ipam, settings.pod_cidr)
        self._locks = UidLocks()
        self._bridge_lock = asyncio.Lock()
        self._bridge_index: int | None = None
        self._hostport_lock = asyncio.Lock()
        self._hostports_synced = False

    # -- the Sandbox protocol -------------------------------------------------

    async def setup(self, pod: dict[str, Any]) -> SandboxInfo:
        uid, _, _ = pod_identity(pod)
        async with self._locks(uid):
            bridge_index = await self._ensure_bridge()
            record = read_record(self.state.pod(uid))
            if (
                record is not None
                and record.ready
                and await asyncio.to_thread(self._intact, record)
            ):
                if record.hostports and not self._hostports_synced:
                    await self._sync_hostports()
                return info_of(record, self.state.pod(uid))
            started = time.perf_counter()
            record = await asyncio.to_thread(self._make, pod, bridge_index, record)
            if record.hostports:
                self._hostports_synced = False
                await self._sync_hostports()
            log.info(
                "sandbox ready mode=netns uid=%s ip=%s netns=%s ms=%.1f",
                uid,
                record.ip,
                record.netns,
                (time.perf_counter() - started) * 1000,
            )
            return info_of(record, self.state.pod(uid))

    async def teardown(self, pod_uid: str) -> None:
        async with self._locks(pod_uid):
            record = await asyncio.to_thread(self._unmake, pod_uid)
            if record is not None and record.hostports:
                self._hostports_synced = False
                await self._sync_hostports()
        self._locks.forget(pod_uid)

    def existing(self) -> dict[str, SandboxInfo]:
        return {
            uid: info_of(record, self.state.pod(uid))
            for uid, record in read_records(self.state).items()
        }

    async def cleanup(self) -> None:
        records = read_records(self.state)
        for uid in records:
            await self.teardown(uid)
        await asyncio.to_thread(self._sweep)
        self._bridge_index = None
        try:
            await hostport.remove(bridge=self.settings.bridge)
        except hostport.HostPortError as err:
            log.warning("hostport table not removed error=%s", err)
        await asyncio.to_thread(self.ipam.release_all)

    # -- node plumbing ---------------------------------------------------------

    async def _ensure_bridge(self) -> int:
        async with self._bridge_lock:
            if self._bridge_index is None:
                self._bridge_index = await asyncio.to_thread(self._make_bridge)
            return self._bridge_index

    def _make_bridge(self) -> int:
        with netlink.open_iproute() as ipr:
            index = netlink.ensure_bridge(
                ipr, self.settings.bridge, self.gateway, self.prefixlen, mac_of(self.gateway)
            )
        for name in BRIDGE_NF_SYSCTLS:
            try:
                netlink.write_sysctl(name, "0")
            except OSError as err:
                log.warning("bridge netfilter sysctl not set key=%s error=%s", name, err)
        log.info("bridge ready name=%s gateway=%s", self.settings.bridge, self.gateway)
        return index

    async def _sync_hostports(self) -> None:
        """Rebuild the hostPort table from every ready record."""
        async with self._hostport_lock:
            mappings = [
                m
                for record in read_records(self.state).values()
                if record.ready
                for m in record.hostports
            ]
            await hostport.apply(
                mappings, bridge=self.settings.bridge, pod_cidr=self.settings.pod_cidr
            )
            self._hostports_synced = True

    # -- per pod (blocking; run in a worker thread) ---------------------------

    def _intact(self, record: SandboxRecord) -> bool:
        return record.host_network or netlink.is_netns(Path(record.netns))

    def _make(
        self, pod: dict[str, Any], bridge_index: int, previous: SandboxRecord | None
    ) -> SandboxRecord:
        uid, namespace, name = pod_identity(pod)
        pod_dir = self.state.pod(uid)
        if previous is not None:
            # a crash (or a reboot) left part of this sandbox: remove it, keep the address
            self._remove_network(previous, keep_veth_name=True)
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        hostname, _ = pod_hostname(pod, self.settings, self.host)
        if host_network:
            record = SandboxRecord(
                uid=uid,
                namespace=namespace,
                name=name,
                mode=self.mode,
                ip=self.node_ip,
                hostname=hostname,
                host_network=True,
            )
            write_record(pod_dir, record)
            write_etc_files(
                pod_dir,
                pod,
                ip=self.node_ip,
                settings=self.settings,
                host=self.host,
                own_network=False,
            )
            record = replace(record, ready=True)
            write_record(pod_dir, record)
            return record

        ip = self.ipam.reuse(uid, previous.ip) if previous is not None else self.ipam.claim(uid)
        record = SandboxRecord(
            uid=uid,
            namespace=namespace,
            name=name,
            mode=self.mode,
            ip=ip,
            netns=str(self.netns_dir / netns_name(uid)),
            host_veth=host_veth_name(uid),
            hostname=hostname,
            hostports=tuple(hostport.mappings_for(pod, ip)),
        )
        write_record(pod_dir, record)
        write_etc_files(
            pod_dir, pod, ip=ip, settings=self.settings, host=self.host, own_network=True
        )
        try:
            self._plumb(record, bridge_index)
        except BaseException:
            try:
                self._remove_network(record, keep_veth_name=True)
            except Exception as err:
                log.warning("undo after failed setup failed uid=%s error=%s", uid, err)
            raise
        record = replace(record, ready=True)
        write_record(pod_dir, record)
        return record

    def _plumb(self, record: SandboxRecord, bridge_index: int) -> None:
        path = Path(record.netns)
        # the name is this pod's: whatever holds it is a leftover of this pod (e.g. from a
        # state directory that was wiped)
        netlink.remove_netns(path)
        node_fd = netlink.current_netns_fd()
        try:
            for attempt in (1, 2):
                try:
                    netlink.create_netns(
                        path,
                        lambda pod_ipr: netlink.configure_pod_side(
                            pod_ipr,
                            host_veth=record.host_veth,
                            node_ns_fd=node_fd,
                            address=record.ip,
                            prefixlen=self.prefixlen,
                            gateway=self.gateway,
                            mac=mac_of(record.ip),
                        ),
                    )
                    break
                except netlink.NetlinkError as err:
                    netlink.remove_netns(path)
                    if err.code != errno.EEXIST or attempt == 2:
                        raise
                    # a host end left by a pod whose namespace a process still holds
                    with netlink.open_iproute() as ipr:
                        netlink.delete_link(ipr, record.host_veth)
        finally:
            os.close(node_fd)
        with netlink.open_iproute() as ipr:
            netlink.attach_to_bridge(ipr, record.host_veth, bridge_index)

    def _remove_network(self, record: SandboxRecord, *, keep_veth_name: bool = False) -> None:
        """Remove the namespace and the veth. Removing the namespace file ends the namespace
        once no process is in it, and the kernel then deletes the veth pair itself, in a
        batch (deleting a veth here costs about 30 ms); the host end is deleted explicitly
        only while a process still holds the namespace, or when the name is needed again
        at once (``keep_veth_name``: a sandbox being remade)."""
        if record.host_network:
            return
        path = Path(record.netns) if record.netns else None
        inode = netlink.netns_inode(path) if path is not None else None
        if path is not None:
            netlink.remove_netns(path)
        held = inode is not None and netlink.netns_in_use(inode)
        if record.host_veth and (held or keep_veth_name or inode is None):
            with netlink.open_iproute() as ipr:
                netlink.delete_link(ipr, record.host_veth)

    def _unmake(self, uid: str) -> SandboxRecord | None:
        pod_dir = self.state.pod(uid)
        record = read_record(pod_dir)
        if record is not None:
            self._remove_network(record)
        self.ipam.release(uid)
        remove_etc_files(pod_dir)
        remove_record(pod_dir)
        if record is not None:
            log.info("sandbox removed mode=netns uid=%s ip=%s", uid, record.ip)
        return record

    def _sweep(self) -> None:
        """Remove leftovers no record names (see the module docstring)."""
        with netlink.open_iproute() as ipr:
            try:
                names = sorted(os.listdir(self.netns_dir))
            except FileNotFoundError:
                names = []
            for name in names:
                path = self.netns_dir / name
                if name.startswith(NETNS_PREFIX) and netlink.has_netnsid(ipr, path):
                    netlink.remove_netns(path)
                    log.info("swept netns name=%s", name)
            bridge = netlink.link_index(ipr, self.settings.bridge)
            if bridge is not None:
                for link in netlink.links_on_bridge(ipr, bridge):
                    netlink.delete_link(ipr, link)
                    log.info("swept link name=%s", link)
                netlink.delete_link(ipr, self.settings.bridge)
                log.info("bridge removed name=%s", self.settings.bridge)
