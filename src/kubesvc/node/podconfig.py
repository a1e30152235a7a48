"""From a pod and the cluster's objects to what the runtime runs: environments, argv, volumes.

The pure pieces live in ``envvars``, ``volumes.plan`` and ``resources``; this
module gathers their inputs from the agent's caches (``Sources``) and turns
their answers into a ``ContainerSpec``, files on disk, or the waiting reason
and Event a user sees when something is missing:

* a container without ``command``: ``NoCommand`` (kubesvc runs commands, not images);
* a missing ConfigMap/Secret/key: ``CreateContainerConfigError`` with kubelet's message;
* a volume that cannot be made yet: ``FailedMount`` and the pod waits;
* a volume kind kubesvc does not provide (persistentVolumeClaim, ...): an Event,
  and an empty directory in its place.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from kubesvc.client.informer import Informer
from kubesvc.node import envvars, resources
from kubesvc.node import podstate as S
from kubesvc.node.layout import PodDir, StateDir
from kubesvc.node.runtime.base import ContainerSpec, Mount
from kubesvc.node.sandbox import hostport
from kubesvc.node.sandbox.base import SandboxInfo
from kubesvc.node.settings import LOOPBACK, NodeSettings
from kubesvc.node.volumes import plan as volume_plan
from kubesvc.node.volumes import write as volume_write

Obj = dict[str, Any]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ConfigError(Exception):
    """The container cannot start until something changes; ``reason`` is its waiting reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Sources:
    """The agent's caches of the objects pods refer to."""

    services: Informer
    config_maps: Informer
    secrets: Informer
    allocatable: dict[str, str] = field(default_factory=dict)
    """The node's allocatable resources: what unset limits read as (resourceFieldRef)."""

    def fetch(self, pod: Obj) -> tuple[dict[str, Obj | None], dict[str, Obj | None]]:
        ns = str(pod["metadata"].get("namespace") or "")
        refs = envvars.referenced_objects(pod)
        return (
            {name: self.config_maps.get(ns, name) for name in refs.config_maps},
            {name: self.secrets.get(ns, name) for name in refs.secrets},
        )


@dataclass
class VolumeOutcome:
    events: list[tuple[str, str, bool]] = field(default_factory=list)
    """(reason, message, warning) to record once each."""
    blocking: bool = False
    """Some volume could not be made: containers must wait."""


def pod_dir(settings: NodeSettings, uid: str) -> PodDir:
    return StateDir(settings.state_dir).pod(uid)


def base_env(sandbox: SandboxInfo, settings: NodeSettings) -> dict[str, str]:
    """What every container process starts with, before the pod's own variables."""
    env = {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOSTNAME": sandbox.hostname,
        "HOME": "/root" if os.geteuid() == 0 else os.environ.get("HOME", "/"),
    }
    for key in ("LANG", "LC_ALL", "TZ"):
        if key in os.environ:
            env[key] = os.environ[key]
    if settings.network_mode == LOOPBACK and not sandbox.host_network:
        # processes share the host's ports: they must bind their own address
        env["POD_IP"] = sandbox.ip
        env["HOST"] = sandbox.ip
    return env


def container_spec(
    pod: Obj,
    c: Obj,
    rec: S.ContainerRecord,
    sandbox: SandboxInfo,
    sources: Sources,
    settings: NodeSettings,
    *,
    init: bool,
) -> ContainerSpec:
    meta = pod["metadata"]
    name = str(c["name"])
    command = [str(x) for x in c.get("command") or []]
    if not command:
        raise ConfigError(
            S.NO_COMMAND,
            f"kubesvc runs commands, not images: container {name!r} names image "
            f"{c.get('image')!r} but no command; give it a command (and args) to run",
        )
    spec = pod.get("spec") or {}
    namespace = str(meta.get("namespace") or "")
    config_maps, secrets = sources.fetch(pod)
    service_vars = envvars.service_env(
        sources.services.list(), namespace, spec.get("enableServiceLinks") is not False
    )
    result = envvars.container_env(
        pod,
        c,
        service_vars=service_vars,
        config_maps=config_maps,
        secrets=secrets,
        node_name=settings.node_name,
        pod_ip=sandbox.ip,
        host_ip=_host_ip(sandbox, settings),
        pod_ips=[sandbox.ip] if sandbox.ip else [],
        allocatable=sources.allocatable,
    )
    if result.error is not None:
        raise ConfigError(*result.error)
    env = base_env(sandbox, settings)
    env.update(result.env)
    argv = envvars.expand_command(command + [str(a) for a in c.get("args") or []], env)
    pd = pod_dir(settings, str(meta["uid"]))
    return ContainerSpec(
        pod_uid=str(meta["uid"]),
        pod_namespace=namespace,
        pod_name=str(meta["name"]),
        name=name,
        attempt=rec.restart_count,
        argv=tuple(argv),
        env=env,
        working_dir=str(c.get("workingDir") or ""),
        mounts=tuple(container_mounts(pod, c, pd, settings, env)),
        sandbox=sandbox,
        limits=resources.container_limits(c),
        log_path=pd.log(name, rec.restart_count),
        init=init,
    )


def _host_ip(sandbox: SandboxInfo, settings: NodeSettings) -> str:
    return "127.0.0.1" if settings.network_mode == LOOPBACK else sandbox.ip


def container_mounts(
    pod: Obj, c: Obj, pd: PodDir, settings: NodeSettings, env: dict[str, str]
) -> list[Mount]:
    if settings.network_mode == LOOPBACK:
        return []
    result = volume_plan.container_mounts(pod, c, pd, env)
    if result.error:
        raise ConfigError(S.CREATE_CONFIG_ERROR, result.error)
    try:
        volume_write.prepare_sub_paths(result.sub_paths)
    except OSError as exc:
        raise ConfigError(S.CREATE_CONFIG_ERROR, str(exc)) from exc
    return list(result.mounts)


def write_volumes(
    pod: Obj, sandbox: SandboxInfo, sources: Sources, settings: NodeSettings
) -> VolumeOutcome:
    """Make every volume of the pod on disk (idempotent; called again after a failure)."""
    outcome = VolumeOutcome()
    config_maps, secrets = sources.fetch(pod)
    pd = pod_dir(settings, str(pod["metadata"]["uid"]))
    for planned in volume_plan.plan_volumes(
        pod, config_maps=config_maps, secrets=secrets, allocatable=sources.allocatable
    ):
        target = pd.volume(planned.name)
        if planned.unsupported:
            outcome.events.append((volume_plan.VOLUME_NOT_SUPPORTED, planned.unsupported, True))
        if not planned.error:
            try:
                volume_write.materialise(planned, target)
            except OSError as exc:
                planned = dataclasses.replace(planned, error=str(exc))
        if planned.error:
            outcome.blocking = True
            outcome.events.append((volume_plan.FAILED_MOUNT, planned.event_message, True))
    return outcome


def pod_warnings(
    pod: Obj, settings: NodeSettings, cgroup_reason: str | None
) -> list[tuple[str, str]]:
    """Warning Events for what this node cannot do for the pod (once per pod);
    ``cgroup_reason`` is the runtime's reason that limits are not enforced, if any."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
    out: list[tuple[str, str]] = []
    limited = [c["name"] for c in containers if resources.container_limits(c) != _NO_LIMITS]
    reason = cgroup_reason if limited else None
    if reason:
        out.append(
            (
                "ResourceLimitsNotEnforced",
                f"memory and CPU limits of {', '.join(limited)} are not enforced: {reason}",
            )
        )
    ports = [
        p
        for c in containers
        for p in c.get("ports") or []
        if isinstance(p, dict) and p.get("hostPort")
    ]
    why = hostport.hostport_unsupported_reason(settings.network_mode) if ports else None
    if why:
        out.append(("HostPortNotSupported", why))
    mounted = any(c.get("volumeMounts") for c in containers)
    if mounted and settings.network_mode == LOOPBACK:
        out.append(
            (
                "VolumesNotMounted",
                "loopback mode has no mount namespaces: volumes are not mounted at their "
                "mountPath; their files are in the pod's directory on the node "
                f"({pod_dir(settings, str(pod['metadata']['uid'])).root / 'volumes'})",
            )
        )
    return out


_NO_LIMITS = resources.container_limits({})


def remove_pod_files(settings: NodeSettings, uid: str) -> None:
    shutil.rmtree(pod_dir(settings, uid).root, ignore_errors=True)
