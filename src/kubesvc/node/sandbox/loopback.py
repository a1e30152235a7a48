"""Loopback mode: a pod is a group of processes on the host with its own 127.x address.

No privileges needed. Each pod gets an address from ``settings.loopback_cidr``
(127.1.0.0/16 by default; all of 127.0.0.0/8 reaches ``lo`` on Linux) through the
same IPAM as netns mode; the agent passes it as ``POD_IP`` (and ``HOST``). The node's
address is 127.0.0.1.

What differs from netns mode:

* Pods share the host's network namespace and ports: two pods binding
  ``0.0.0.0:8080`` collide. Pods should bind ``$POD_IP`` instead, then each has its
  own 8080.
* No hostname isolation: ``hostname`` in a pod is the machine's; only the
  ``HOSTNAME`` variable carries the pod's.
* resolv.conf and hosts are still generated under the pod directory, but not
  mounted over /etc (that needs a mount namespace, hence root): pods use the host's.
* hostPort is not mapped (``hostport.hostport_unsupported_reason``).

This module also owns the on-disk sandbox record (``sandbox.json``) and the /etc
file writing that both modes share.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kubesvc.node.layout import PodDir, StateDir
from kubesvc.node.sandbox import etcfiles
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.node.sandbox.hostport import HostPortMapping
from kubesvc.node.sandbox.ipam import Ipam
from kubesvc.node.settings import LOOPBACK, NodeSettings

log = logging.getLogger(__name__)

LOOPBACK_NODE_IP = "127.0.0.1"


@dataclass(frozen=True)
class SandboxRecord:
    """``sandbox.json``: what a sandbox is made of, written before any of it is made."""

    uid: str
    namespace: str
    name: str
    mode: str
    ip: str = ""
    netns: str = ""
    host_veth: str = ""
    hostname: str = ""
    host_network: bool = False
    hostports: tuple[HostPortMapping, ...] = ()
    ready: bool = False
    """Everything recorded exists (False: a crash may have left part of it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "namespace": self.namespace,
            "name": self.name,
            "mode": self.mode,
            "ip": self.ip,
            "netns": self.netns,
            "hostVeth": self.host_veth,
            "hostname": self.hostname,
            "hostNetwork": self.host_network,
            "hostPorts": [m.to_json() for m in self.hostports],
            "ready": self.ready,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SandboxRecord:
        return cls(
            uid=str(data["uid"]),
            namespace=str(data.get("namespace", "")),
            name=str(data.get("name", "")),
            mode=str(data.get("mode", "")),
            ip=str(data.get("ip", "")),
            netns=str(data.get("netns", "")),
            host_veth=str(data.get("hostVeth", "")),
            hostname=str(data.get("hostname", "")),
            host_network=bool(data.get("hostNetwork", False)),
            hostports=tuple(HostPortMapping.from_json(m) for m in data.get("hostPorts") or []),
            ready=bool(data.get("ready", False)),
        )


def write_record(pod_dir: PodDir, record: SandboxRecord) -> None:
    """Replace ``sandbox.json`` atomically (a crash leaves the old or the new one)."""
    pod_dir.root.mkdir(parents=True, exist_ok=True)
    tmp = pod_dir.root / f".sandbox-{secrets.token_hex(6)}.tmp"
    # no fsync: what the record describes (namespaces, veths) does not survive a power loss
    # either, and a killed agent leaves the page cache intact
    tmp.write_text(json.dumps(record.to_json()))
    os.replace(tmp, pod_dir.sandbox_record)


def read_record(pod_dir: PodDir) -> SandboxRecord | None:
    try:
        data = json.loads(pod_dir.sandbox_record.read_text())
        return SandboxRecord.from_json(data)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as err:
        log.warning("unreadable sandbox record path=%s error=%s", pod_dir.sandbox_record, err)
        return None


def read_records(state: StateDir) -> dict[str, SandboxRecord]:
    """Every sandbox recorded under the state directory, by pod UID."""
    result: dict[str, SandboxRecord] = {}
    try:
        uids = sorted(os.listdir(state.pods))
    except FileNotFoundError:
        return result
    for uid in uids:
        record = read_record(state.pod(uid))
        if record is not None:
            result[record.uid] = record
    return result


def remove_record(pod_dir: PodDir) -> None:
    try:
        os.unlink(pod_dir.sandbox_record)
    except FileNotFoundError:
        pass


def info_of(record: SandboxRecord, pod_dir: PodDir) -> SandboxInfo:
    return SandboxInfo(
        pod_uid=record.uid,
        ip=record.ip,
        netns=record.netns,
        hostname=record.hostname,
        resolv_conf=pod_dir.etc / "resolv.conf",
        hosts=pod_dir.etc / "hosts",
        host_network=record.host_network,
        pod_dir=pod_dir.root,
    )


@dataclass(frozen=True)
class HostFiles:
    """Where the host's resolver and hosts files are (tests point these elsewhere)."""

    resolv_conf: Path = Path("/etc/resolv.conf")
    upstream_resolv_conf: Path = Path("/run/systemd/resolve/resolv.conf")
    """systemd-resolved's list of the real upstream servers, used when /etc/resolv.conf only
    names its loopback stub and the pod has a network of its own."""
    hosts: Path = Path("/etc/hosts")
    hostname: str = field(default_factory=socket.gethostname)

    def resolver(self, own_network: bool) -> etcfiles.ResolvConf:
        etc = etcfiles.parse_resolv_conf(_read_text(self.resolv_conf))
        upstream_text = _read_text(self.upstream_resolv_conf)
        upstream = etcfiles.parse_resolv_conf(upstream_text) if upstream_text else None
        return etcfiles.host_resolv_for_pods(etc, upstream, own_network)


def pod_identity(pod: Mapping[str, Any]) -> tuple[str, str, str]:
    """(uid, namespace, name) of a pod; the UID is required."""
    metadata: Mapping[str, Any] = pod.get("metadata") or {}
    uid = metadata.get("uid") or ""
    if not uid:
        raise ValueError("pod has no metadata.uid")
    return str(uid), str(metadata.get("namespace") or "default"), str(metadata.get("name") or "")


def pod_hostname(
    pod: Mapping[str, Any], settings: NodeSettings, host: HostFiles
) -> tuple[str, str]:
    """(hostname, domain) of a pod; hostNetwork pods have the node's hostname."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        return host.hostname, ""
    return etcfiles.pod_hostname(pod, settings.cluster_domain)


def write_etc_files(
    pod_dir: PodDir,
    pod: Mapping[str, Any],
    *,
    ip: str,
    settings: NodeSettings,
    host: HostFiles,
    own_network: bool,
) -> tuple[etcfiles.DnsWarning, ...]:
    """Write the pod's resolv.conf and hosts under ``pod_dir.etc``; returns the DNS warnings
    (also logged) for the agent to report."""
    spec: Mapping[str, Any] = pod.get("spec") or {}
    dns = etcfiles.pod_dns(
        pod,
        cluster_dns=settings.cluster_dns,
        cluster_domain=settings.cluster_domain,
        host=host.resolver(own_network),
    )
    aliases = spec.get("hostAliases") or []
    if spec.get("hostNetwork"):
        hosts = etcfiles.render_host_network_hosts(_read_text(host.hosts), aliases)
    else:
        hostname, domain = pod_hostname(pod, settings, host)
        hosts = etcfiles.render_hosts([ip] if ip else [], hostname, domain, aliases)
    pod_dir.etc.mkdir(parents=True, exist_ok=True)
    _write_file(pod_dir.etc / "resolv.conf", etcfiles.render_resolv_conf(dns.config))
    _write_file(pod_dir.etc / "hosts", hosts)
    for warning in dns.warnings:
        log.info("pod dns warning reason=%s message=%s", warning.reason, warning.message)
    return dns.warnings


def remove_etc_files(pod_dir: PodDir) -> None:
    for name in ("resolv.conf", "hosts"):
        try:
            os.unlink(pod_dir.etc / name)
        except FileNotFoundError:
            pass
    try:
        os.rmdir(pod_dir.etc)
    except OSError:
        pass  # missing, or holds something else


class UidLocks:
    """One asyncio lock per pod UID: setup and teardown of one pod never interleave."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, uid: str) -> asyncio.Lock:
        lock = self._locks.get(uid)
        if lock is None:
            lock = self._locks[uid] = asyncio.Lock()
        return lock

    def forget(self, uid: str) -> None:
        lock = self._locks.get(uid)
        if lock is not None and not lock.locked():
            del self._locks[uid]


class LoopbackSandbox:
    """The ``Sandbox`` of loopback mode (see the module docstring)."""

    mode = LOOPBACK

    def __init__(
        self, settings: NodeSettings, state: StateDir, *, host: HostFiles | None = None
    ) -> None:
        self.settings = settings
        self.state = state
        self.host = host or HostFiles()
        self.node_ip = LOOPBACK_NODE_IP
        self.ipam = Ipam(state.ipam, settings.loopback_cidr)
        self._locks = UidLocks()

    async def setup(self, pod: dict[str, Any]) -> SandboxInfo:
        uid, _, _ = pod_identity(pod)
        async with self._locks(uid):
            return await asyncio.to_thread(self._setup, pod)

    def _setup(self, pod: dict[str, Any]) -> SandboxInfo:
        uid, namespace, name = pod_identity(pod)
        pod_dir = self.state.pod(uid)
        record = read_record(pod_dir)
        if record is not None and record.ready:
            return info_of(record, pod_dir)
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        if host_network:
            ip = self.node_ip
        elif record is not None:
            ip = self.ipam.reuse(uid, record.ip)
        else:
            ip = self.ipam.claim(uid)
        hostname, _ = pod_hostname(pod, self.settings, self.host)
        record = SandboxRecord(
            uid=uid,
            namespace=namespace,
            name=name,
            mode=self.mode,
            ip=ip,
            hostname=hostname,
            host_network=host_network,
        )
        # nothing outside the pod directory is made here except the address, which the IPAM
        # file records: one write of the record, once it is true, is enough
        write_etc_files(
            pod_dir, pod, ip=ip, settings=self.settings, host=self.host, own_network=False
        )
        record = replace(record, ready=True)
        write_record(pod_dir, record)
        log.info("sandbox ready mode=loopback uid=%s ip=%s", uid, ip)
        return info_of(record, pod_dir)

    async def teardown(self, pod_uid: str) -> None:
        async with self._locks(pod_uid):
            await asyncio.to_thread(self._teardown, pod_uid)
        self._locks.forget(pod_uid)

    def _teardown(self, uid: str) -> None:
        pod_dir = self.state.pod(uid)
        self.ipam.release(uid)
        remove_etc_files(pod_dir)
        remove_record(pod_dir)

    def existing(self) -> dict[str, SandboxInfo]:
        return {
            uid: info_of(record, self.state.pod(uid))
            for uid, record in read_records(self.state).items()
        }

    async def cleanup(self) -> None:
        for uid in read_records(self.state):
            await self.teardown(uid)
        await asyncio.to_thread(self.ipam.release_all)


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return ""


def _write_file(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
