"""Volume plans, container mounts, and the atomic writer on a real directory."""

from __future__ import annotations

import base64
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from kubesvc.node.layout import PodDir
from kubesvc.node.runtime.base import Mount
from kubesvc.node.volumes import plan as vp
from kubesvc.node.volumes.plan import VolumeFile, VolumePlan
from kubesvc.node.volumes.write import (
    DATA_DIR,
    VolumeSetupError,
    check_host_path,
    materialise,
    prepare_sub_paths,
    write_volume,
)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


_POD: dict[str, Any] = {
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"tier": "front", "app": "web"},
        "annotations": {"build": "42"},
    },
    "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}]},
}
_CONFIG_MAPS: dict[str, dict[str, Any] | None] = {
    "conf": {
        "data": {"app.yaml": "port: 80\n", "level": "3"},
        "binaryData": {"logo.bin": _b64(b"\x00\x01")},
    },
}
_SECRETS: dict[str, dict[str, Any] | None] = {
    "creds": {"data": {"password": _b64(b"s3cret"), "user": _b64(b"admin")}},
}


def _plan(volume: dict[str, Any]) -> VolumePlan:
    return vp.plan_volume(
        _POD,
        {"name": "v", **volume},
        config_maps=_CONFIG_MAPS,
        secrets=_SECRETS,
        allocatable={"memory": "8Gi", "cpu": "4"},
    )


_F = VolumeFile


@pytest.mark.parametrize(
    ("volume", "kind", "files"),
    [
        pytest.param(
            {"configMap": {"name": "conf"}},
            vp.CONFIG_MAP,
            {
                "app.yaml": _F(b"port: 80\n"),
                "level": _F(b"3"),
                "logo.bin": _F(b"\x00\x01"),
            },
            id="configmap-all-keys-and-binary",
        ),
        pytest.param(
            {
                "configMap": {
                    "name": "conf",
                    "defaultMode": 0o600,
                    "items": [
                        {"key": "app.yaml", "path": "etc/app.yaml"},
                        {"key": "level", "path": "level.txt", "mode": 0o400},
                    ],
                }
            },
            vp.CONFIG_MAP,
            {"etc/app.yaml": _F(b"port: 80\n", 0o600), "level.txt": _F(b"3", 0o400)},
            id="configmap-items-modes",
        ),
        pytest.param(
            {"configMap": {"name": "absent", "optional": True}},
            vp.CONFIG_MAP,
            {},
            id="configmap-optional-missing",
        ),
        pytest.param(
            {
                "configMap": {
                    "name": "conf",
                    "optional": True,
                    "items": [{"key": "nope", "path": "x"}, {"key": "level", "path": "l"}],
                }
            },
            vp.CONFIG_MAP,
            {"l": _F(b"3")},
            id="configmap-optional-missing-key",
        ),
        pytest.param(
            {"secret": {"secretName": "creds"}},
            vp.SECRET,
            {"password": _F(b"s3cret"), "user": _F(b"admin")},
            id="secret-decoded",
        ),
        pytest.param(
            {"secret": {"secretName": "creds", "items": [{"key": "user", "path": "u"}]}},
            vp.SECRET,
            {"u": _F(b"admin")},
            id="secret-items",
        ),
        pytest.param(
            {
                "downwardAPI": {
                    "items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                        {
                            "path": "./ann/build",
                            "fieldRef": {"fieldPath": "metadata.annotations['build']"},
                            "mode": 0o444,
                        },
                        {
                            "path": "mem",
                            "resourceFieldRef": {
                                "containerName": "app",
                                "resource": "limits.memory",
                                "divisor": "1Mi",
                            },
                        },
                    ]
                }
            },
            vp.DOWNWARD_API,
            {
                "labels": _F(b'app="web"\ntier="front"'),
                "name": _F(b"web-1"),
                "ann/build": _F(b"42", 0o444),
                "mem": _F(b"64"),
            },
            id="downward-api",
        ),
        pytest.param(
            {
                "projected": {
                    "defaultMode": 0o640,
                    "sources": [
                        {"configMap": {"name": "conf", "items": [{"key": "level", "path": "x"}]}},
                        {"secret": {"name": "creds", "items": [{"key": "user", "path": "x"}]}},
                        {
                            "downwardAPI": {
                                "items": [
                                    {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}
                                ]
                            }
                        },
                    ],
                }
            },
            vp.PROJECTED,
            {"x": _F(b"admin", 0o640), "ns": _F(b"shop", 0o640)},
            id="projected-later-source-wins",
        ),
        pytest.param({"emptyDir": {}}, vp.EMPTY_DIR, {}, id="empty-dir"),
        pytest.param({}, vp.EMPTY_DIR, {}, id="no-source-is-empty-dir"),
    ],
)
def test_plan_files(volume: dict[str, Any], kind: str, files: dict[str, VolumeFile]) -> None:
    plan = _plan(volume)
    assert plan.error == ""
    assert plan.kind == kind
    assert dict(plan.files) == files


@pytest.mark.parametrize(
    ("volume", "kind", "error"),
    [
        pytest.param(
            {"configMap": {"name": "absent"}},
            vp.CONFIG_MAP,
            'configmap "absent" not found',
            id="configmap-missing",
        ),
        pytest.param(
            {"configMap": {"name": "conf", "items": [{"key": "nope", "path": "x"}]}},
            vp.CONFIG_MAP,
            "configmap references non-existent config key: nope",
            id="configmap-key-missing",
        ),
        pytest.param(
            {"secret": {"secretName": "absent"}},
            vp.SECRET,
            'secret "absent" not found',
            id="secret-missing",
        ),
        pytest.param(
            {"secret": {"secretName": "creds", "items": [{"key": "nope", "path": "x"}]}},
            vp.SECRET,
            "references non-existent secret key: nope",
            id="secret-key-missing",
        ),
        pytest.param(
            {
                "projected": {
                    "sources": [
                        {"configMap": {"name": "a1"}},
                        {"secret": {"name": "a2"}},
                    ]
                }
            },
            vp.PROJECTED,
            '[configmap "a1" not found, secret "a2" not found]',
            id="projected-errors-aggregated",
        ),
        pytest.param(
            {"downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}}]}},
            vp.DOWNWARD_API,
            "unsupported fieldPath: spec.nodeName",
            id="downward-unsupported-field",
        ),
        pytest.param(
            {"configMap": {"name": "conf", "items": [{"key": "level", "path": "../x"}]}},
            vp.CONFIG_MAP,
            "invalid path: must not contain '..': ../x",
            id="escaping-item-path",
        ),
        pytest.param(
            {"hostPath": {"path": "/srv/../etc"}},
            vp.HOST_PATH,
            "invalid HostPath `/srv/../etc`: must not contain '..'",
            id="host-path-backsteps",
        ),
    ],
)
def test_plan_errors(volume: dict[str, Any], kind: str, error: str) -> None:
    plan = _plan(volume)
    assert plan.kind == kind
    assert plan.error == error
    assert plan.event_message == f'MountVolume.SetUp failed for volume "v" : {error}'


@pytest.mark.parametrize(
    ("volume", "kind", "files", "note"),
    [
        pytest.param(
            {"persistentVolumeClaim": {"claimName": "data"}},
            vp.UNSUPPORTED,
            {},
            'persistentVolumeClaim volumes are not supported by kubesvc: volume "v" is an '
            "empty directory instead",
            id="pvc",
        ),
        pytest.param(
            {"nfs": {"server": "x", "path": "/"}},
            vp.UNSUPPORTED,
            {},
            'nfs volumes are not supported by kubesvc: volume "v" is an empty directory instead',
            id="other-kind",
        ),
        pytest.param(
            {
                "projected": {
                    "sources": [
                        {"serviceAccountToken": {"path": "token"}},
                        {"configMap": {"name": "conf", "items": [{"key": "level", "path": "l"}]}},
                    ]
                }
            },
            vp.PROJECTED,
            {"l": _F(b"3")},
            "projected serviceAccountToken sources are not supported by kubesvc and are left out",
            id="projected-token-left-out",
        ),
    ],
)
def test_plan_unsupported_does_not_block(
    volume: dict[str, Any], kind: str, files: dict[str, VolumeFile], note: str
) -> None:
    plan = _plan(volume)
    assert (plan.kind, plan.error, plan.unsupported) == (kind, "", note)
    assert dict(plan.files) == files


def test_plan_volumes_in_spec_order() -> None:
    pod = {
        **_POD,
        "spec": {
            "volumes": [
                {"name": "b", "hostPath": {"path": "/srv", "type": "Directory"}},
                {"name": "a", "emptyDir": {"medium": "Memory"}},
            ]
        },
    }
    plans = vp.plan_volumes(pod, config_maps={}, secrets={})
    assert [(p.name, p.kind) for p in plans] == [("b", vp.HOST_PATH), ("a", vp.EMPTY_DIR)]
    assert (plans[0].host_path, plans[0].host_path_type) == ("/srv", "Directory")
    assert plans[1].medium == "Memory"


# --------------------------------------------------------------------------------------------
# Container mounts

_PODDIR = PodDir(Path("state/pods/u-1"))
_MOUNT_POD: dict[str, Any] = {
    "spec": {
        "volumes": [
            {"name": "conf", "configMap": {"name": "conf"}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "host", "hostPath": {"path": "/srv/data"}},
            {"name": "claim", "persistentVolumeClaim": {"claimName": "c"}},
        ]
    }
}
_VOLS = _PODDIR.root / "volumes"


@pytest.mark.parametrize(
    ("mounts", "expected"),
    [
        pytest.param(
            [{"name": "scratch", "mountPath": "/tmp/s"}],
            vp.MountResult(mounts=(Mount(_VOLS / "scratch", "/tmp/s"),)),
            id="empty-dir",
        ),
        pytest.param(
            [{"name": "conf", "mountPath": "/etc/app"}],
            vp.MountResult(mounts=(Mount(_VOLS / "conf", "/etc/app", read_only=True),)),
            id="api-data-always-read-only",
        ),
        pytest.param(
            [{"name": "host", "mountPath": "/data", "readOnly": True}],
            vp.MountResult(mounts=(Mount(Path("/srv/data"), "/data", read_only=True),)),
            id="host-path-read-only",
        ),
        pytest.param(
            [{"name": "conf", "mountPath": "/etc/app.yaml", "subPath": "app.yaml"}],
            vp.MountResult(
                mounts=(Mount(_VOLS / "conf/app.yaml", "/etc/app.yaml", read_only=True),),
                sub_paths=((_VOLS / "conf", _VOLS / "conf/app.yaml"),),
            ),
            id="sub-path",
        ),
        pytest.param(
            [{"name": "scratch", "mountPath": "/logs", "subPathExpr": "logs/$(POD_NAME)"}],
            vp.MountResult(
                mounts=(Mount(_VOLS / "scratch/logs/web-1", "/logs"),),
                sub_paths=((_VOLS / "scratch", _VOLS / "scratch/logs/web-1"),),
            ),
            id="sub-path-expr",
        ),
        pytest.param(
            [{"name": "scratch", "mountPath": "/x", "subPath": "/etc"}],
            vp.MountResult(error="error SubPath `/etc` must not be an absolute path"),
            id="absolute-sub-path",
        ),
        pytest.param(
            [{"name": "scratch", "mountPath": "/x", "subPath": "a/../../b"}],
            vp.MountResult(error="unable to provision SubPath `a/../../b`: must not contain '..'"),
            id="backstep-sub-path",
        ),
        pytest.param(
            [{"name": "scratch", "mountPath": "/x", "subPathExpr": "$(NOPE)"}],
            vp.MountResult(error="missing value for NOPE"),
            id="sub-path-expr-missing",
        ),
        pytest.param(
            [{"name": "ghost", "mountPath": "/x"}],
            vp.MountResult(error='cannot find volume "ghost" to mount into container "app"'),
            id="unknown-volume",
        ),
        pytest.param(
            [{"name": "claim", "mountPath": "/x"}],
            vp.MountResult(mounts=(Mount(_VOLS / "claim", "/x"),)),
            id="unsupported-is-a-directory",
        ),
    ],
)
def test_container_mounts(mounts: list[dict[str, Any]], expected: vp.MountResult) -> None:
    container = {"name": "app", "volumeMounts": mounts}
    env = {"POD_NAME": "web-1"}
    assert vp.container_mounts(_MOUNT_POD, container, _PODDIR, env) == expected


# --------------------------------------------------------------------------------------------
# The atomic writer (real files)


def _visible(target: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in target.iterdir() if not p.name.startswith("..")}


def _ts_dirs(target: Path) -> list[str]:
    return sorted(
        p.name
        for p in target.iterdir()
        if p.name.startswith("..") and p.is_dir() and not p.is_symlink()
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1_767_323_045.0  # 2026-01-02T03:04:05Z

    def __call__(self) -> float:
        return self.now


def test_atomic_writer_lifecycle(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    clock = _Clock()
    first = {"app.yaml": VolumeFile(b"port: 80\n"), "etc/level": VolumeFile(b"3", 0o600)}

    assert write_volume(target, first, clock=clock) is True
    data_link = os.readlink(target / DATA_DIR)
    assert data_link.startswith("..2026_01_02_03_04_05.")
    assert os.readlink(target / "app.yaml") == "..data/app.yaml"
    assert os.readlink(target / "etc") == "..data/etc"
    assert (target / "app.yaml").read_bytes() == b"port: 80\n"
    assert (target / "etc/level").read_bytes() == b"3"
    assert stat.S_IMODE((target / "etc/level").stat().st_mode) == 0o600
    assert stat.S_IMODE((target / "app.yaml").stat().st_mode) == 0o644

    # same content: nothing is rewritten
    assert write_volume(target, first, clock=clock) is False
    assert os.readlink(target / DATA_DIR) == data_link

    # an update swaps ..data to a new directory and drops names that are gone
    clock.now += 60
    second = {"app.yaml": VolumeFile(b"port: 81\n"), "new": VolumeFile(b"n")}
    assert write_volume(target, second, clock=clock) is True
    new_link = os.readlink(target / DATA_DIR)
    assert new_link != data_link and new_link.startswith("..2026_01_02_03_05_05.")
    assert _visible(target) == {"app.yaml": b"port: 81\n", "new": b"n"}
    assert not os.path.lexists(target / "etc")
    assert _ts_dirs(target) == [new_link]

    # a mode change alone is a change
    third = {**second, "new": VolumeFile(b"n", 0o400)}
    assert write_volume(target, third, clock=clock) is True
    assert stat.S_IMODE((target / "new").stat().st_mode) == 0o400

    # an empty payload leaves only the data link
    assert write_volume(target, {}, clock=clock) is True
    assert _visible(target) == {}
    assert len(_ts_dirs(target)) == 1


def test_atomic_writer_refuses_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(VolumeSetupError, match=r"must not start with '\.\.'"):
        write_volume(tmp_path / "v", {"..evil": VolumeFile(b"")})


def test_materialise(tmp_path: Path) -> None:
    pod_dir = PodDir(tmp_path / "pod")
    conf = VolumePlan("conf", vp.CONFIG_MAP, files={"k": VolumeFile(b"v")})
    assert materialise(conf, pod_dir.volume("conf")) is True
    assert (pod_dir.volume("conf") / "k").read_bytes() == b"v"
    assert materialise(conf, pod_dir.volume("conf")) is False

    for plan in (VolumePlan("scratch", vp.EMPTY_DIR), VolumePlan("pvc", vp.UNSUPPORTED)):
        target = pod_dir.volume(plan.name)
        assert materialise(plan, target) is True
        assert stat.S_IMODE(target.stat().st_mode) == 0o777
        assert materialise(plan, target) is False

    host = VolumePlan("h", vp.HOST_PATH, host_path=str(tmp_path / "h"), host_path_type="Directory")
    with pytest.raises(OSError, match="is not a directory"):
        materialise(host, pod_dir.volume("h"))
    assert not pod_dir.volume("h").exists()

    with pytest.raises(VolumeSetupError, match='configmap "x" not found'):
        broken = VolumePlan("b", vp.CONFIG_MAP, error='configmap "x" not found')
        materialise(broken, pod_dir.volume("b"))


@pytest.fixture
def host(tmp_path: Path) -> Path:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    sock.close()
    return tmp_path


@pytest.mark.parametrize(
    ("name", "path_type", "error"),
    [
        pytest.param("dir", "Directory", "", id="directory"),
        pytest.param("file", "Directory", "{p} is not a directory", id="file-not-directory"),
        pytest.param("missing", "Directory", "{p} is not a directory", id="missing-directory"),
        pytest.param("file", "File", "", id="file"),
        pytest.param("sock", "File", "", id="socket-counts-as-file"),
        pytest.param("dir", "File", "{p} is not a file", id="directory-not-file"),
        pytest.param("sock", "Socket", "", id="socket"),
        pytest.param("file", "Socket", "{p} is not a socket file", id="file-not-socket"),
        pytest.param("file", "CharDevice", "{p} is not a character device", id="not-char"),
        pytest.param("file", "BlockDevice", "{p} is not a block device", id="not-block"),
        pytest.param("file", "DirectoryOrCreate", "{p} is not a directory", id="or-create-exists"),
        pytest.param("missing", "", "", id="no-type-no-check"),
    ],
)
def test_check_host_path(host: Path, name: str, path_type: str, error: str) -> None:
    path = str(host / name)
    if not error:
        check_host_path(path, path_type)
        return
    expected = "hostPath type check failed: " + error.format(p=path)
    with pytest.raises(VolumeSetupError) as caught:
        check_host_path(path, path_type)
    assert str(caught.value) == expected


def test_check_host_path_creates(tmp_path: Path) -> None:
    check_host_path(str(tmp_path / "a/b"), "DirectoryOrCreate")
    assert (tmp_path / "a/b").is_dir()
    check_host_path(str(tmp_path / "f"), "FileOrCreate")
    assert (tmp_path / "f").is_file()
    with pytest.raises(VolumeSetupError, match="no such file or directory"):
        check_host_path(str(tmp_path / "no/f"), "FileOrCreate")
    with pytest.raises(VolumeSetupError, match="Weird is an invalid volume type"):
        check_host_path(str(tmp_path / "f"), "Weird")


def test_prepare_sub_paths(tmp_path: Path) -> None:
    root = tmp_path / "vol"
    root.mkdir()
    os.chmod(root, 0o777)
    prepare_sub_paths([(root, root / "logs/web-1")])
    assert (root / "logs/web-1").is_dir()
    assert stat.S_IMODE((root / "logs/web-1").stat().st_mode) == 0o777

    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(VolumeSetupError, match="not within volume path"):
        prepare_sub_paths([(root, root / "escape")])
