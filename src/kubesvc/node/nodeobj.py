"""The Node and Lease a node agent posts (pure): what kubelet registers and renews.

``node_status`` is the whole ``status`` (conditions with kubelet's reasons and
messages, addresses, capacity, nodeInfo, daemonEndpoints); ``merge_conditions``
keeps ``lastTransitionTime`` of conditions whose status did not change, as
kubelet does, and moves ``lastHeartbeatTime`` on every post. ``lease`` is the
``kube-node-lease`` Lease that says the node is alive between status posts.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import kubesvc

Obj = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
KUBELET_ENDPOINT_ANNOTATION = "node.kubesvc.io/kubelet-endpoint"
"""``host:port`` of the agent's log endpoint, which the API server proxies ``pods/log`` to."""
NETWORK_MODE_ANNOTATION = "node.kubesvc.io/network-mode"
KUBELET_VERSION = "v1.32.0-kubesvc." + kubesvc.__version__

# (type, status, reason, message) of a healthy node, as kubelet reports them
HEALTHY_CONDITIONS = (
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


@dataclass(frozen=True)
class NodeFacts:
    """What the agent knows of its machine (gathered once at start by ``gather_facts``)."""

    name: str
    internal_ip: str
    hostname: str
    pod_cidr: str
    cpu: int
    memory_bytes: int
    max_pods: int
    kernel: str
    os_image: str
    architecture: str
    machine_id: str
    boot_id: str
    runtime_version: str
    kubelet_endpoint: str
    """``host:port``."""
    network_mode: str


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: datetime) -> str:
    """metav1.MicroTime: exactly six fractional digits."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kubelet_port(facts: NodeFacts) -> int:
    return int(facts.kubelet_endpoint.rsplit(":", 1)[1])


def node_object(facts: NodeFacts, now: datetime) -> Obj:
    """The Node to create on first registration (labels as kubelet sets them)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": facts.name,
            "labels": {
                "kubernetes.io/hostname": facts.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": facts.architecture,
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": facts.architecture,
            },
            "annotations": node_annotations(facts),
        },
        "spec": {"podCIDR": facts.pod_cidr, "podCIDRs": [facts.pod_cidr]},
        "status": node_status(facts, {}, now),
    }


def node_annotations(facts: NodeFacts) -> dict[str, str]:
    return {
        KUBELET_ENDPOINT_ANNOTATION: facts.kubelet_endpoint,
        NETWORK_MODE_ANNOTATION: facts.network_mode,
        "node.alpha.kubernetes.io/ttl": "0",
    }


def capacity(facts: NodeFacts) -> dict[str, str]:
    """Capacity, also allocatable (kubesvc reserves nothing for the system)."""
    return {
        "cpu": str(facts.cpu),
        "memory": f"{facts.memory_bytes // 1024}Ki",
        "pods": str(facts.max_pods),
        "ephemeral-storage": "0",
    }


def node_status(facts: NodeFacts, old_status: Mapping[str, Any], now: datetime) -> Obj:
    return {
        "conditions": merge_conditions(old_status.get("conditions") or [], now),
        "addresses": [
            {"type": "InternalIP", "address": facts.internal_ip},
            {"type": "Hostname", "address": facts.hostname},
        ],
        "capacity": capacity(facts),
        "allocatable": capacity(facts),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port(facts)}},
        "nodeInfo": {
            "machineID": facts.machine_id,
            "systemUUID": facts.machine_id,
            "bootID": facts.boot_id,
            "kernelVersion": facts.kernel,
            "osImage": facts.os_image,
            "containerRuntimeVersion": facts.runtime_version,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": facts.architecture,
        },
    }


def merge_conditions(old: list[Any], now: datetime) -> list[Obj]:
    previous = {c.get("type"): c for c in old if isinstance(c, dict)}
    out: list[Obj] = []
    stamp = rfc3339(now)
    for ctype, status, reason, message in HEALTHY_CONDITIONS:
        before = previous.get(ctype) or {}
        changed = before.get("status") != status
        out.append(
            {
                "type": ctype,
                "status": status,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp if changed else before.get("lastTransitionTime", stamp),
                "reason": reason,
                "message": message,
            }
        )
    return out


def lease(facts: NodeFacts, node_uid: str, duration: int, now: datetime) -> Obj:
    meta: Obj = {"name": facts.name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": facts.name, "uid": node_uid}
        ]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta,
        "spec": {
            "holderIdentity": facts.name,
            "leaseDurationSeconds": duration,
            "renewTime": micro_time(now),
        },
    }


def gather_facts(
    name: str, internal_ip: str, pod_cidr: str, runtime_version: str, endpoint: str, mode: str
) -> NodeFacts:
    """Read the machine (I/O at the edge: /proc, /etc)."""
    return NodeFacts(
        name=name,
        internal_ip=internal_ip,
        hostname=name,
        pod_cidr=pod_cidr,
        cpu=os.cpu_count() or 1,
        memory_bytes=_mem_total(),
        max_pods=110,
        kernel=platform.release(),
        os_image=_os_image(),
        architecture=_arch(),
        machine_id=_read_first("/etc/machine-id", "/var/lib/dbus/machine-id"),
        boot_id=_read_first("/proc/sys/kernel/random/boot_id"),
        runtime_version=runtime_version,
        kubelet_endpoint=endpoint,
        network_mode=mode,
    )


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _os_image() -> str:
    try:
        info = platform.freedesktop_os_release()
    except OSError:
        return platform.system()
    return info.get("PRETTY_NAME") or info.get("NAME") or platform.system()


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _read_first(*paths: str) -> str:
    for path in paths:
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            continue
    return ""
