"""A container's environment, as kubelet builds it (pure, over plain dicts).

Three layers, later ones winning on the same name:

1. the service variables (``service_env``): Docker-links style variables for
   Services with a ClusterIP: the ``kubernetes`` Service of ``default`` always,
   the pod's own namespace only with ``enableServiceLinks`` (a Service of the
   pod's namespace named ``kubernetes`` takes the master's place);
2. ``envFrom``: every key of a ConfigMap's ``data`` or a Secret's ``data``
   (base64-decoded), with the entry's ``prefix``;
3. ``env`` in order: ``value`` with ``$(VAR)`` expanded against everything
   defined so far, or ``valueFrom`` (fieldRef, resourceFieldRef,
   configMapKeyRef, secretKeyRef).

A missing ConfigMap, Secret or key that is not ``optional`` makes the container
fail with ``CreateContainerConfigError`` and kubelet's message (``configmap "x"
not found``, ``couldn't find key k in ConfigMap ns/x``); an optional one leaves
the variable out. The same ``$(VAR)`` syntax expands ``command`` and ``args``
(``expand_command``): ``$$`` is a literal ``$`` and unknown references stay as
written.

Kubernetes 1.30 relaxed environment variable names (any printable ASCII but
``=``) and kubelet stopped dropping envFrom keys; ``strict_names=True`` restores
the older filter. Dropped keys come back in ``EnvResult.skipped`` for the
``InvalidEnvironmentVariableNames`` Event.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubesvc.api.errors import go_quote
from kubesvc.node import resources
from kubesvc.node.podstate import CREATE_CONFIG_ERROR

INVALID_ENV_NAMES = "InvalidEnvironmentVariableNames"
"""Event reason for envFrom keys skipped because they are not variable names."""

_MASTER_SERVICES = frozenset({"kubernetes"})
_DEFAULT_NAMESPACE = "default"
_STRICT_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


# --------------------------------------------------------------------------------------------
# $(VAR) expansion


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Expand ``$(NAME)`` references in ``text``; ``lookup`` returns None for unknown names.

    ``$$`` is an escaped ``$``; an unknown or unclosed reference, and a ``$``
    before anything else, is kept as written.
    """
    out: list[str] = []
    i, end = 0, len(text)
    while i < end:
        ch = text[i]
        if ch != "$" or i + 1 == end:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2 : close]
            found = lookup(name)
            out.append(f"$({name})" if found is None else found)
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def expand_command(argv: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """``command`` / ``args`` with ``$(VAR)`` expanded against the container's final env."""
    return [expand(arg, env.get) for arg in argv]


def expand_sub_path(expr: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """A ``subPathExpr`` expanded: (path, error); a reference to an unset or empty variable
    is an error (``missing value for A, B``)."""
    missing: set[str] = set()

    def lookup(name: str) -> str:
        found = env.get(name, "")
        if not found:
            missing.add(name)
        return found

    expanded = expand(expr, lookup)
    if missing:
        return "", "missing value for " + ", ".join(sorted(missing))
    return expanded, None


# --------------------------------------------------------------------------------------------
# Service links


def _env_name(name: str) -> str:
    return name.replace("-", "_").upper()


def _cluster_ip(service: Mapping[str, Any]) -> str:
    spec = service.get("spec")
    ip = spec.get("clusterIP") if isinstance(spec, dict) else None
    return ip if isinstance(ip, str) and ip not in ("", "None") else ""


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _service_vars(service: Mapping[str, Any], out: dict[str, str]) -> None:
    ip = _cluster_ip(service)
    ports = [p for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p, dict)]
    if not ip or not ports:
        return
    prefix = _env_name(str((service.get("metadata") or {}).get("name", "")))
    out[f"{prefix}_SERVICE_HOST"] = ip
    out[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port", 0))
    for port in ports:
        if port.get("name"):
            out[f"{prefix}_SERVICE_PORT_{_env_name(str(port['name']))}"] = str(port.get("port"))
    for i, port in enumerate(ports):
        number = int(port.get("port", 0))
        proto = str(port.get("protocol") or "TCP")
        url = f"{proto.lower()}://{_host_port(ip, number)}"
        if i == 0:
            out[f"{prefix}_PORT"] = url
        port_prefix = f"{prefix}_PORT_{number}_{proto.upper()}"
        out[port_prefix] = url
        out[f"{port_prefix}_PROTO"] = proto.lower()
        out[f"{port_prefix}_PORT"] = str(number)
        out[f"{port_prefix}_ADDR"] = ip


def service_env(
    services: Iterable[Mapping[str, Any]], namespace: str, enable_service_links: bool
) -> dict[str, str]:
    """The service variables a pod in ``namespace`` sees (``services``: all namespaces).

    Services without a ClusterIP (headless, ExternalName) give none.
    """
    chosen: dict[str, Mapping[str, Any]] = {}
    for service in services:
        if not _cluster_ip(service):
            continue
        meta = service.get("metadata") or {}
        name = str(meta.get("name", ""))
        svc_namespace = meta.get("namespace")
        if svc_namespace == _DEFAULT_NAMESPACE and name in _MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif svc_namespace == namespace and enable_service_links:
            chosen[name] = service
    out: dict[str, str] = {}
    for name in sorted(chosen):
        _service_vars(chosen[name], out)
    return out


# --------------------------------------------------------------------------------------------
# Downward API fields


def format_map(values: Mapping[str, str]) -> str:
    """Labels or annotations as the downward API writes them: ``key="value"`` lines, sorted."""
    return "\n".join(f"{key}={go_quote(str(values[key]))}" for key in sorted(values))


def _split_subscript(path: str) -> tuple[str, str] | None:
    if not path.endswith("']"):
        return None
    start = path.find("['")
    if start < 0:
        return None
    return path[:start], path[start + 2 : -2]


def metadata_field_value(pod: Mapping[str, Any], path: str) -> str:
    """``metadata.*`` of a pod as text (``ExtractFieldPathAsString``); ValueError otherwise."""
    meta = pod.get("metadata") or {}
    subscripted = _split_subscript(path)
    if subscripted is not None:
        base, key = subscripted
        if base in ("metadata.labels", "metadata.annotations"):
            values = meta.get(base.removeprefix("metadata.")) or {}
            return str(values.get(key, ""))
        raise ValueError(f"fieldPath {go_quote(base)} does not support subscript")
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(path.removeprefix("metadata.")) or {})
    if path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(path.removeprefix("metadata."), ""))
    raise ValueError(f"unsupported fieldPath: {path}")


@dataclass(frozen=True)
class PodAddresses:
    """What ``status.*`` field references read: the agent knows them before the API does."""

    node_name: str = ""
    pod_ip: str = ""
    pod_ips: tuple[str, ...] = ()
    host_ip: str = ""
    host_ips: tuple[str, ...] = ()


def pod_field_value(pod: Mapping[str, Any], path: str, addresses: PodAddresses) -> str:
    """An env var's ``fieldRef`` (``podFieldSelectorRuntimeValue``); ValueError if unsupported."""
    spec = pod.get("spec") or {}
    pod_ips = list(addresses.pod_ips) or ([addresses.pod_ip] if addresses.pod_ip else [])
    host_ips = list(addresses.host_ips) or ([addresses.host_ip] if addresses.host_ip else [])
    if path == "spec.nodeName":
        return str(spec.get("nodeName") or addresses.node_name)
    if path == "spec.serviceAccountName":
        return str(spec.get("serviceAccountName") or "")
    if path == "status.hostIP":
        return host_ips[0] if host_ips else ""
    if path == "status.hostIPs":
        return ",".join(host_ips)
    if path == "status.podIP":
        return pod_ips[0] if pod_ips else ""
    if path == "status.podIPs":
        return ",".join(pod_ips)
    return metadata_field_value(pod, path)


def find_container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict) and container.get("name") == name:
                return container
    return None


def resource_field_value(
    pod: Mapping[str, Any],
    container: Mapping[str, Any] | None,
    selector: Mapping[str, Any],
    allocatable: Mapping[str, Any],
) -> str:
    """A ``resourceFieldRef``: of ``selector.containerName`` if set, else of ``container``."""
    name = selector.get("containerName")
    target = find_container(pod, str(name)) if name else container
    if target is None:
        raise ValueError(f"container {name} not found")
    return resources.resource_field_value(selector, target, allocatable)


# --------------------------------------------------------------------------------------------
# ConfigMaps and Secrets


def secret_bytes(secret: Mapping[str, Any], key: str) -> bytes | None:
    """A Secret's value for ``key`` decoded from base64; None when the key is absent."""
    data = secret.get("data") or {}
    if key not in data:
        return None
    raw = data[key]
    try:
        return base64.b64decode(str(raw or ""), validate=True)
    except (binascii.Error, ValueError):
        return str(raw).encode()


def _text(raw: bytes) -> str:
    # surrogateescape: bytes that are not UTF-8 reach the process environment unchanged
    return raw.decode("utf-8", "surrogateescape")


def _secret_items(secret: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in secret.get("data") or {}:
        raw = secret_bytes(secret, key)
        if raw is not None:
            out[str(key)] = _text(raw)
    return out


def valid_env_name(name: str, *, strict: bool) -> bool:
    """``IsRelaxedEnvVarName`` (printable ASCII but ``=``), or ``IsEnvVarName`` when strict."""
    if strict:
        if not _STRICT_NAME.fullmatch(name):
            return False
        return name not in (".", "..") and not name.startswith("..")
    return bool(name) and all(" " <= ch <= "~" and ch != "=" for ch in name)


@dataclass(frozen=True)
class SkippedKeys:
    """envFrom keys left out because they are not valid variable names."""

    kind: str
    """``configMap`` or ``secret``."""
    namespace: str
    name: str
    keys: tuple[str, ...]

    @property
    def message(self) -> str:
        return (
            f"Keys [{', '.join(self.keys)}] from the EnvFrom {self.kind} "
            f"{self.namespace}/{self.name} were skipped since they are considered invalid "
            "environment variable names."
        )


@dataclass(frozen=True)
class EnvResult:
    env: dict[str, str] = field(default_factory=dict)
    """Service variables first, then envFrom, then env (a later value replaces an earlier one)."""
    error: tuple[str, str] | None = None
    """(waiting reason, message) when the container cannot start: CreateContainerConfigError."""
    skipped: tuple[SkippedKeys, ...] = ()


class _ConfigError(Exception):
    pass


def _optional(ref: Mapping[str, Any]) -> bool:
    return ref.get("optional") is True


def container_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    *,
    service_vars: Mapping[str, str],
    config_maps: Mapping[str, Mapping[str, Any] | None],
    secrets: Mapping[str, Mapping[str, Any] | None],
    node_name: str = "",
    pod_ip: str = "",
    host_ip: str = "",
    pod_ips: Iterable[str] = (),
    host_ips: Iterable[str] = (),
    allocatable: Mapping[str, Any] | None = None,
    strict_names: bool = False,
) -> EnvResult:
    """The environment of ``container`` (``makeEnvironmentVariables``).

    ``config_maps`` / ``secrets`` map the names the pod refers to (see
    ``referenced_objects``) to the objects, None (or absent) when not found.
    ``allocatable`` is the node's ``status.allocatable``: what unset limits
    read as through ``resourceFieldRef``.
    """
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    addresses = PodAddresses(
        node_name=node_name,
        pod_ip=pod_ip,
        pod_ips=tuple(pod_ips),
        host_ip=host_ip,
        host_ips=tuple(host_ips),
    )
    env: dict[str, str] = dict(service_vars)
    skipped: list[SkippedKeys] = []

    def config_map(name: str, optional: bool) -> Mapping[str, Any] | None:
        found = config_maps.get(name)
        if found is None and not optional:
            raise _ConfigError(f"configmap {go_quote(name)} not found")
        return found

    def secret(name: str, optional: bool) -> Mapping[str, Any] | None:
        found = secrets.get(name)
        if found is None and not optional:
            raise _ConfigError(f"secret {go_quote(name)} not found")
        return found

    try:
        for source in container.get("envFrom") or []:
            prefix = str(source.get("prefix") or "")
            if isinstance(source.get("configMapRef"), dict):
                ref, kind = source["configMapRef"], "configMap"
                obj = config_map(str(ref.get("name", "")), _optional(ref))
                items = {str(k): str(v) for k, v in ((obj or {}).get("data") or {}).items()}
            elif isinstance(source.get("secretRef"), dict):
                ref, kind = source["secretRef"], "secret"
                obj = secret(str(ref.get("name", "")), _optional(ref))
                items = _secret_items(obj or {})
            else:
                continue
            bad: list[str] = []
            for key, val in items.items():
                if valid_env_name(prefix + key, strict=strict_names):
                    env[prefix + key] = val
                else:
                    bad.append(prefix + key)
            if bad:
                skipped.append(
                    SkippedKeys(kind, namespace, str(ref.get("name", "")), tuple(sorted(bad)))
                )

        for var in container.get("env") or []:
            name = str(var.get("name", ""))
            val = var.get("value")
            value_from = var.get("valueFrom")
            if val:
                env[name] = expand(str(val), env.get)
            elif isinstance(value_from, dict):
                resolved = _value_from(
                    pod,
                    container,
                    value_from,
                    namespace,
                    addresses,
                    allocatable or {},
                    config_map,
                    secret,
                )
                if resolved is not None:
                    env[name] = resolved
            else:
                env[name] = ""
    except _ConfigError as err:
        return EnvResult(env={}, error=(CREATE_CONFIG_ERROR, str(err)), skipped=tuple(skipped))
    return EnvResult(env=env, skipped=tuple(skipped))


def _value_from(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    value_from: Mapping[str, Any],
    namespace: str,
    addresses: PodAddresses,
    allocatable: Mapping[str, Any],
    config_map: Callable[[str, bool], Mapping[str, Any] | None],
    secret: Callable[[str, bool], Mapping[str, Any] | None],
) -> str | None:
    """One ``valueFrom``; None leaves the variable out (an optional source that is missing)."""
    try:
        if isinstance(value_from.get("fieldRef"), dict):
            path = str(value_from["fieldRef"].get("fieldPath", ""))
            return pod_field_value(pod, path, addresses)
        if isinstance(value_from.get("resourceFieldRef"), dict):
            return resource_field_value(pod, container, value_from["resourceFieldRef"], allocatable)
    except ValueError as err:
        raise _ConfigError(str(err)) from err
    if isinstance(value_from.get("configMapKeyRef"), dict):
        ref = value_from["configMapKeyRef"]
        name, key, optional = str(ref.get("name", "")), str(ref.get("key", "")), _optional(ref)
        obj = config_map(name, optional)
        if obj is None:
            return None
        data = obj.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise _ConfigError(f"couldn't find key {key} in ConfigMap {namespace}/{name}")
        return str(data[key])
    if isinstance(value_from.get("secretKeyRef"), dict):
        ref = value_from["secretKeyRef"]
        name, key, optional = str(ref.get("name", "")), str(ref.get("key", "")), _optional(ref)
        obj = secret(name, optional)
        if obj is None:
            return None
        raw = secret_bytes(obj, key)
        if raw is None:
            if optional:
                return None
            raise _ConfigError(f"couldn't find key {key} in Secret {namespace}/{name}")
        return _text(raw)
    return ""


# --------------------------------------------------------------------------------------------
# What to fetch


@dataclass(frozen=True)
class Referenced:
    config_maps: frozenset[str]
    secrets: frozenset[str]


def referenced_objects(pod: Mapping[str, Any]) -> Referenced:
    """The ConfigMaps and Secrets a pod's env, envFrom and volumes name: what the pod worker
    fetches before calling ``container_env`` and ``volumes.plan.plan_volumes``."""
    config_maps: set[str] = set()
    secrets: set[str] = set()
    spec = pod.get("spec") or {}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            for source in container.get("envFrom") or []:
                if isinstance(source.get("configMapRef"), dict):
                    config_maps.add(str(source["configMapRef"].get("name", "")))
                if isinstance(source.get("secretRef"), dict):
                    secrets.add(str(source["secretRef"].get("name", "")))
            for var in container.get("env") or []:
                value_from = var.get("valueFrom") or {}
                if isinstance(value_from.get("configMapKeyRef"), dict):
                    config_maps.add(str(value_from["configMapKeyRef"].get("name", "")))
                if isinstance(value_from.get("secretKeyRef"), dict):
                    secrets.add(str(value_from["secretKeyRef"].get("name", "")))
    for volume in spec.get("volumes") or []:
        if isinstance(volume.get("configMap"), dict):
            config_maps.add(str(volume["configMap"].get("name", "")))
        if isinstance(volume.get("secret"), dict):
            secrets.add(str(volume["secret"].get("secretName", "")))
        projected = volume.get("projected")
        for source in (projected.get("sources") or []) if isinstance(projected, dict) else []:
            if isinstance(source.get("configMap"), dict):
                config_maps.add(str(source["configMap"].get("name", "")))
            if isinstance(source.get("secret"), dict):
                secrets.add(str(source["secret"].get("name", "")))
    config_maps.discard("")
    secrets.discard("")
    return Referenced(frozenset(config_maps), frozenset(secrets))
