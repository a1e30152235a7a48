"""What each of a pod's volumes holds and where containers see it (pure).

``plan_volumes`` gives one ``VolumePlan`` per ``spec.volumes`` entry:

* configMap / secret: one file per key of ``data`` (and a ConfigMap's
  ``binaryData``), or per ``items`` entry (key -> path, with its own mode);
  ``defaultMode`` otherwise (0644). A missing object or item key is an error
  unless ``optional``: then the volume is simply emptier;
* downwardAPI: ``items`` of ``fieldRef`` (metadata.name, namespace, uid,
  labels and annotations as sorted ``key="value"`` lines, or one of them by
  subscript) and ``resourceFieldRef``;
* projected: the files of its configMap, secret and downwardAPI sources merged
  in order (``serviceAccountToken`` and other sources are left out, with a note);
* emptyDir: a directory under the pod (``medium: Memory`` is not a tmpfs here);
* hostPath: the host's path, with the ``type`` check ``write`` performs;
* anything else (persistentVolumeClaim, ...): ``unsupported``: an empty
  directory takes its place.

A plan's ``error`` is kubelet's text and blocks the pod's containers;
``event_message`` is the ``FailedMount`` Event (``MountVolume.SetUp failed for
volume "v" : configmap "x" not found``). ``unsupported`` is a note for a
Warning Event (reason ``VolumeNotSupported``) that does not block.

``container_mounts`` maps a container's ``volumeMounts`` to runtime ``Mount``
objects: source = the volume (or ``<volume>/<subPath>``), target = mountPath.
API data volumes (configMap, secret, downwardAPI, projected) are always
read-only, as in kubelet.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kubesvc.api.errors import go_quote
from kubesvc.node import envvars
from kubesvc.node.layout import PodDir
from kubesvc.node.runtime.base import Mount

CONFIG_MAP = "configMap"
SECRET = "secret"
EMPTY_DIR = "emptyDir"
HOST_PATH = "hostPath"
DOWNWARD_API = "downwardAPI"
PROJECTED = "projected"
UNSUPPORTED = "unsupported"
FILE_BACKED = frozenset({CONFIG_MAP, SECRET, DOWNWARD_API, PROJECTED})

FAILED_MOUNT = "FailedMount"
"""Event reason of a volume that could not be set up."""
VOLUME_NOT_SUPPORTED = "VolumeNotSupported"
"""Event reason (kubesvc's own) of a volume, or part of one, that kubesvc does not provide."""

DEFAULT_MODE = 0o644
"""``defaultMode`` of configMap, secret, downwardAPI and projected volumes (the API's 420)."""

_MAX_PATH = 4096
_MAX_NAME = 255

_KNOWN_SOURCES = (CONFIG_MAP, SECRET, EMPTY_DIR, HOST_PATH, DOWNWARD_API, PROJECTED)


@dataclass(frozen=True)
class VolumeFile:
    data: bytes
    mode: int = DEFAULT_MODE


@dataclass(frozen=True)
class VolumePlan:
    name: str
    kind: str
    files: Mapping[str, VolumeFile] = field(default_factory=dict)
    """File-backed kinds: relative path -> content and mode."""
    host_path: str = ""
    host_path_type: str = ""
    """hostPath ``type``: "" (no check), DirectoryOrCreate, Directory, FileOrCreate, File,
    Socket, CharDevice, BlockDevice."""
    medium: str = ""
    """emptyDir ``medium`` (``Memory`` is recorded, not mounted as tmpfs)."""
    error: str = ""
    """Why the volume cannot be set up; the pod's containers must not start."""
    unsupported: str = ""
    """What of the volume kubesvc does not provide (a Warning Event); does not block."""

    @property
    def file_backed(self) -> bool:
        return self.kind in FILE_BACKED

    @property
    def event_message(self) -> str:
        return f'MountVolume.SetUp failed for volume "{self.name}" : {self.error}'

    def source(self, pod_dir: PodDir) -> Path:
        """Where the volume is on the host."""
        if self.kind == HOST_PATH:
            return Path(self.host_path)
        return pod_dir.volume(self.name)


# --------------------------------------------------------------------------------------------
# Payloads


def payload_path_error(path: str) -> str:
    """Why the atomic writer refuses a file path, or "" (``validatePath``)."""
    if not path:
        return f"invalid path: must not be empty: {go_quote(path)}"
    if path.startswith("/"):
        return f"invalid path: must be relative path: {path}"
    if len(path) > _MAX_PATH:
        return f"invalid path: must be less than or equal to {_MAX_PATH} characters"
    items = path.split("/")
    for item in items:
        if item == "..":
            return f"invalid path: must not contain '..': {path}"
        if len(item) > _MAX_NAME:
            return f"invalid path: filenames must be less than or equal to {_MAX_NAME} characters"
    if items[0].startswith("..") and len(items[0]) > 2:
        return f"invalid path: must not start with '..': {path}"
    return ""


def _mode(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _config_map_payload(
    source: Mapping[str, Any], obj: Mapping[str, Any], default_mode: int, optional: bool
) -> dict[str, VolumeFile]:
    data = {str(k): str(v).encode() for k, v in (obj.get("data") or {}).items()}
    binary: dict[str, bytes] = {}
    for key in obj.get("binaryData") or {}:
        raw = envvars.secret_bytes({"data": obj["binaryData"]}, key)
        if raw is not None:
            binary[str(key)] = raw
    items = source.get("items") or []
    if not items:
        files = {k: VolumeFile(v, default_mode) for k, v in data.items()}
        files.update({k: VolumeFile(v, default_mode) for k, v in binary.items()})
        return files
    files = {}
    for item in items:
        key = str(item.get("key", ""))
        if key in data:
            content = data[key]
        elif key in binary:
            content = binary[key]
        elif optional:
            continue
        else:
            raise _SetUpError(f"configmap references non-existent config key: {key}")
        files[str(item.get("path", ""))] = VolumeFile(
            content, _mode(item.get("mode"), default_mode)
        )
    return files


def _secret_payload(
    source: Mapping[str, Any], obj: Mapping[str, Any], default_mode: int, optional: bool
) -> dict[str, VolumeFile]:
    data: dict[str, bytes] = {}
    for key in obj.get("data") or {}:
        raw = envvars.secret_bytes(obj, key)
        if raw is not None:
            data[str(key)] = raw
    items = source.get("items") or []
    if not items:
        return {k: VolumeFile(v, default_mode) for k, v in data.items()}
    files = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if optional:
                continue
            raise _SetUpError(f"references non-existent secret key: {key}")
        files[str(item.get("path", ""))] = VolumeFile(
            data[key], _mode(item.get("mode"), default_mode)
        )
    return files


def _downward_payload(
    pod: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]],
    default_mode: int,
    allocatable: Mapping[str, Any],
) -> dict[str, VolumeFile]:
    files: dict[str, VolumeFile] = {}
    errors: list[str] = []
    for item in items:
        path = posixpath.normpath(str(item.get("path", "")))
        mode = _mode(item.get("mode"), default_mode)
        content = b""
        try:
            if isinstance(item.get("fieldRef"), dict):
                field_path = str(item["fieldRef"].get("fieldPath", ""))
                content = envvars.metadata_field_value(pod, field_path).encode()
            elif isinstance(item.get("resourceFieldRef"), dict):
                selector = item["resourceFieldRef"]
                value = envvars.resource_field_value(pod, None, selector, allocatable)
                content = value.encode()
        except ValueError as err:
            errors.append(str(err))
        files[path] = VolumeFile(content, mode)
    if errors:
        raise _SetUpError(_aggregate(errors))
    return files


def _aggregate(errors: list[str]) -> str:
    """Go's ``utilerrors.NewAggregate(...).Error()``."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


class _SetUpError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Volumes


def _source_kind(volume: Mapping[str, Any]) -> tuple[str, Any]:
    for key in _KNOWN_SOURCES:
        if isinstance(volume.get(key), dict):
            return key, volume[key]
    others = [k for k in volume if k != "name" and volume[k] is not None]
    if others:
        return UNSUPPORTED, others[0]
    return EMPTY_DIR, {}  # the API defaults a volume without a source to emptyDir


def _lookup(
    objects: Mapping[str, Mapping[str, Any] | None], name: str, what: str, optional: bool
) -> Mapping[str, Any]:
    found = objects.get(name)
    if found is None:
        if optional:
            return {}
        raise _SetUpError(f"{what} {go_quote(name)} not found")
    return found


_PROJECTIONS = (CONFIG_MAP, SECRET, DOWNWARD_API)


def _unsupported_projection(projection: Mapping[str, Any]) -> str:
    """The kind of a projected source kubesvc cannot provide (serviceAccountToken, ...), or ""."""
    if any(isinstance(projection.get(k), dict) for k in _PROJECTIONS):
        return ""
    return next((str(k) for k in projection if projection[k] is not None), "unknown")


def _projected_payload(
    pod: Mapping[str, Any],
    source: Mapping[str, Any],
    config_maps: Mapping[str, Mapping[str, Any] | None],
    secrets: Mapping[str, Mapping[str, Any] | None],
    allocatable: Mapping[str, Any],
) -> dict[str, VolumeFile]:
    default_mode = _mode(source.get("defaultMode"), DEFAULT_MODE)
    files: dict[str, VolumeFile] = {}
    errors: list[str] = []
    for projection in source.get("sources") or []:
        try:
            if isinstance(projection.get("configMap"), dict):
                ref = projection["configMap"]
                optional = ref.get("optional") is True
                obj = _lookup(config_maps, str(ref.get("name", "")), "configmap", optional)
                files.update(_config_map_payload(ref, obj, default_mode, optional))
            elif isinstance(projection.get("secret"), dict):
                ref = projection["secret"]
                optional = ref.get("optional") is True
                obj = _lookup(secrets, str(ref.get("name", "")), "secret", optional)
                files.update(_secret_payload(ref, obj, default_mode, optional))
            elif isinstance(projection.get("downwardAPI"), dict):
                items = projection["downwardAPI"].get("items") or []
                files.update(_downward_payload(pod, items, default_mode, allocatable))
        except _SetUpError as err:
            errors.append(str(err))
    if errors:
        raise _SetUpError(_aggregate(errors))
    return files


def _projected_note(source: Mapping[str, Any]) -> str:
    kinds = {_unsupported_projection(p) for p in source.get("sources") or []} - {""}
    if not kinds:
        return ""
    names = ", ".join(sorted(kinds))
    return f"projected {names} sources are not supported by kubesvc and are left out"


def plan_volume(
    pod: Mapping[str, Any],
    volume: Mapping[str, Any],
    *,
    config_maps: Mapping[str, Mapping[str, Any] | None],
    secrets: Mapping[str, Mapping[str, Any] | None],
    allocatable: Mapping[str, Any] | None = None,
) -> VolumePlan:
    """The plan of one ``spec.volumes`` entry."""
    name = str(volume.get("name", ""))
    kind, source = _source_kind(volume)
    if kind == UNSUPPORTED:
        note = (
            f'{source} volumes are not supported by kubesvc: volume "{name}" is an empty '
            "directory instead"
        )
        return VolumePlan(name, UNSUPPORTED, unsupported=note)
    if kind == EMPTY_DIR:
        return VolumePlan(name, EMPTY_DIR, medium=str(source.get("medium") or ""))
    if kind == HOST_PATH:
        path = str(source.get("path", ""))
        plan = VolumePlan(
            name, HOST_PATH, host_path=path, host_path_type=str(source.get("type") or "")
        )
        if ".." in path.split("/"):
            return replace(plan, error=f"invalid HostPath `{path}`: must not contain '..'")
        return plan
    try:
        if kind == CONFIG_MAP:
            optional = source.get("optional") is True
            default_mode = _mode(source.get("defaultMode"), DEFAULT_MODE)
            obj = _lookup(config_maps, str(source.get("name", "")), "configmap", optional)
            files = _config_map_payload(source, obj, default_mode, optional)
        elif kind == SECRET:
            optional = source.get("optional") is True
            default_mode = _mode(source.get("defaultMode"), DEFAULT_MODE)
            obj = _lookup(secrets, str(source.get("secretName", "")), "secret", optional)
            files = _secret_payload(source, obj, default_mode, optional)
        elif kind == DOWNWARD_API:
            default_mode = _mode(source.get("defaultMode"), DEFAULT_MODE)
            items = source.get("items") or []
            files = _downward_payload(pod, items, default_mode, allocatable or {})
        else:
            files = _projected_payload(pod, source, config_maps, secrets, allocatable or {})
        for path in files:
            if error := payload_path_error(path):
                raise _SetUpError(error)
    except _SetUpError as err:
        return VolumePlan(name, kind, error=str(err))
    note = _projected_note(source) if kind == PROJECTED else ""
    return VolumePlan(name, kind, files=files, unsupported=note)


def plan_volumes(
    pod: Mapping[str, Any],
    *,
    config_maps: Mapping[str, Mapping[str, Any] | None],
    secrets: Mapping[str, Mapping[str, Any] | None],
    allocatable: Mapping[str, Any] | None = None,
) -> list[VolumePlan]:
    """One plan per ``spec.volumes`` entry, in spec order.

    ``config_maps`` / ``secrets`` map names to the fetched objects (None or
    absent: not found); ``allocatable`` is the node's, for resourceFieldRef.
    """
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return [
        plan_volume(pod, volume, config_maps=config_maps, secrets=secrets, allocatable=allocatable)
        for volume in volumes
        if isinstance(volume, dict)
    ]


# --------------------------------------------------------------------------------------------
# Mounts


@dataclass(frozen=True)
class MountResult:
    mounts: tuple[Mount, ...] = ()
    sub_paths: tuple[tuple[Path, Path], ...] = ()
    """(volume root, source) of each subPath mount: ``write.prepare_sub_paths`` creates a
    missing source as a directory and refuses one that resolves outside its volume."""
    error: str | None = None
    """Why the container cannot start (CreateContainerConfigError)."""


def sub_path_error(sub_path: str) -> str:
    """kubelet's refusal of a subPath, or "" (absolute, or containing ``..``)."""
    if sub_path.startswith("/"):
        return f"error SubPath `{sub_path}` must not be an absolute path"
    if ".." in sub_path.split("/"):
        return f"unable to provision SubPath `{sub_path}`: must not contain '..'"
    return ""


def _volume_sources(pod: Mapping[str, Any], pod_dir: PodDir) -> dict[str, tuple[Path, bool]]:
    """Each volume's place on the host, and whether it is API data (always read-only)."""
    out: dict[str, tuple[Path, bool]] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        name = str(volume.get("name", ""))
        kind, source = _source_kind(volume)
        if kind == HOST_PATH:
            out[name] = (Path(str(source.get("path", ""))), False)
        else:
            out[name] = (pod_dir.volume(name), kind in FILE_BACKED)
    return out


def container_mounts(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    pod_dir: PodDir,
    env: Mapping[str, str],
) -> MountResult:
    """The runtime mounts of ``container`` (``makeMounts``).

    ``env`` is the container's environment (``subPathExpr`` expands against it).
    A mount of a volume the pod does not declare is an error; volumes that failed
    to set up are for the caller to wait for before any container starts
    (``VolumePlan.error``).
    """
    volumes = _volume_sources(pod, pod_dir)
    container_name = str(container.get("name", ""))
    mounts: list[Mount] = []
    sub_paths: list[tuple[Path, Path]] = []
    for volume_mount in container.get("volumeMounts") or []:
        name = str(volume_mount.get("name", ""))
        if name not in volumes:
            error = f'cannot find volume "{name}" to mount into container "{container_name}"'
            return MountResult(error=error)
        source, api_data = volumes[name]
        sub_path = str(volume_mount.get("subPath") or "")
        if volume_mount.get("subPathExpr"):
            sub_path, expand_error = envvars.expand_sub_path(str(volume_mount["subPathExpr"]), env)
            if expand_error:
                return MountResult(error=expand_error)
        if sub_path:
            if error := sub_path_error(sub_path):
                return MountResult(error=error)
            sub_paths.append((source, source / sub_path))
            source = source / sub_path
        read_only = volume_mount.get("readOnly") is True or api_data
        target = str(volume_mount.get("mountPath", ""))
        mounts.append(Mount(source=source, target=target, read_only=read_only))
    return MountResult(mounts=tuple(mounts), sub_paths=tuple(sub_paths))
