"""Putting planned volumes on disk: the atomic writer, emptyDir, hostPath checks, subPaths.

``write_volume`` projects a set of files into a directory the way kubelet's
AtomicWriter does, so that a ConfigMap update is seen all at once::

    <dir>/..2026_01_02_03_04_05.abc123/    the files, with their modes
    <dir>/..data -> ..2026_01_02_03_04_05.abc123
    <dir>/<name> -> ..data/<name>          one link per top-level name

A write makes a new timestamped directory, points ``..data_tmp`` at it and
renames that over ``..data`` (one atomic step), then drops links to names that
are gone and the old directory. When nothing changed (same paths, bytes and
modes) nothing is rewritten. Names starting with ``..`` are reserved.

Invariant: only paths inside the volume directory are ever removed, and of
those only the writer's own (``..``-prefixed entries and links it made).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from kubesvc.node.volumes.plan import (
    HOST_PATH,
    VolumeFile,
    VolumePlan,
    payload_path_error,
)

log = logging.getLogger(__name__)

DATA_DIR = "..data"
_NEW_DATA_DIR = "..data_tmp"
_DIR_MODE = 0o755
EMPTY_DIR_MODE = 0o777
"""kubelet makes emptyDir volumes world-writable: containers may run as any user."""


class VolumeSetupError(OSError):
    """A volume could not be set up; ``str()`` is kubelet's message for the FailedMount Event.

    An ``OSError`` so that callers handle it with the file system's own failures."""


def _go_errno(err: OSError) -> str:
    # Go's syscall errors read "no such file or directory", lower case
    return os.strerror(err.errno).lower() if err.errno else str(err)


# --------------------------------------------------------------------------------------------
# The atomic writer


def _old_files(ts_dir: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root, dirs, files in os.walk(ts_dir):
        for name in dirs + files:
            full = Path(root) / name
            found[full.relative_to(ts_dir).as_posix()] = full
    return found


def _all_prefixes(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        parts = path.split("/")
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def _same_file(path: Path, wanted: VolumeFile) -> bool:
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != wanted.mode:
            return False
        return path.read_bytes() == wanted.data
    except OSError:
        return False


def _current_ts_dir(target: Path) -> Path | None:
    try:
        name = os.readlink(target / DATA_DIR)
    except OSError:
        return None
    # only a sibling directory the writer made can be the data directory
    if "/" in name or not name.startswith("..") or name in ("..", DATA_DIR):
        return None
    return target / name


def _link_top_level(target: Path, paths: Iterable[str]) -> None:
    for top in sorted({path.split("/")[0] for path in paths}):
        link = target / top
        if link.is_symlink():
            continue
        if link.exists():
            raise VolumeSetupError(f"cannot create link {top}: a file is in the way")
        os.symlink(f"{DATA_DIR}/{top}", link)


def write_volume(
    target: Path,
    files: Mapping[str, VolumeFile],
    *,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Project ``files`` (relative path -> content, mode) into ``target``; True if anything
    changed on disk. ``clock`` names the timestamped directory."""
    payload = {os.path.normpath(path): content for path, content in files.items()}
    for path in payload:
        if error := payload_path_error(path):
            raise VolumeSetupError(error)
    target.mkdir(parents=True, exist_ok=True)
    old_dir = _current_ts_dir(target)
    to_remove: set[str] = set()
    if old_dir is not None and old_dir.is_dir():
        old = _old_files(old_dir)
        to_remove = set(old) - _all_prefixes(payload)
        unchanged = all(_same_file(old_dir / path, wanted) for path, wanted in payload.items())
        if unchanged and not to_remove:
            _link_top_level(target, payload)
            return False

    prefix = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime(clock()))
    ts_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=target))
    try:
        os.chmod(ts_dir, _DIR_MODE)
        for path, content in payload.items():
            full = ts_dir / path
            full.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            full.write_bytes(content.data)
            os.chmod(full, content.mode)
        _link_top_level(target, payload)
        new_link = target / _NEW_DATA_DIR
        if new_link.is_symlink():
            new_link.unlink()
        os.symlink(ts_dir.name, new_link)
        os.replace(new_link, target / DATA_DIR)
    except BaseException:
        shutil.rmtree(ts_dir, ignore_errors=True)
        raise

    for path in to_remove:
        if "/" in path:
            continue  # only the top-level links live outside the data directory
        link = target / path
        if link.is_symlink():
            link.unlink()
    if old_dir is not None and old_dir != ts_dir and old_dir.is_dir():
        shutil.rmtree(old_dir, ignore_errors=True)
    log.debug("volume written target=%s files=%d", target, len(payload))
    return True


# --------------------------------------------------------------------------------------------
# hostPath and emptyDir


def check_host_path(path: str, path_type: str) -> None:
    """kubelet's hostPath ``type`` check, creating what the ``*OrCreate`` types ask for."""
    if not path_type:
        return
    exists = os.path.exists(path)
    if path_type == "DirectoryOrCreate" and not exists:
        try:
            os.makedirs(path, mode=_DIR_MODE, exist_ok=True)
        except OSError as err:
            raise VolumeSetupError(f"mkdir {path}: {_go_errno(err)}") from err
        return
    if path_type == "FileOrCreate" and not exists:
        try:
            os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o644))
        except OSError as err:
            raise VolumeSetupError(f"open {path}: {_go_errno(err)}") from err
        return
    mode = os.stat(path).st_mode if exists else 0
    checks: dict[str, tuple[bool, str]] = {
        "DirectoryOrCreate": (stat.S_ISDIR(mode), "directory"),
        "Directory": (exists and stat.S_ISDIR(mode), "directory"),
        "FileOrCreate": (exists and not stat.S_ISDIR(mode), "file"),
        "File": (exists and not stat.S_ISDIR(mode), "file"),
        "Socket": (stat.S_ISSOCK(mode), "socket file"),
        "CharDevice": (stat.S_ISCHR(mode), "character device"),
        "BlockDevice": (stat.S_ISBLK(mode), "block device"),
    }
    if path_type not in checks:
        raise VolumeSetupError(f"{path_type} is an invalid volume type")
    ok, what = checks[path_type]
    if not ok:
        raise VolumeSetupError(f"hostPath type check failed: {path} is not a {what}")


def materialise(plan: VolumePlan, target: Path, *, clock: Callable[[], float] = time.time) -> bool:
    """Make ``plan`` real; ``target`` is its directory under the pod (``PodDir.volume(name)``,
    unused for hostPath). True if something changed on disk.

    Raises ``VolumeSetupError`` (kubelet's message) for a plan with an error or a
    failed hostPath check: the pod waits and gets a ``FailedMount`` Event. An
    unsupported volume becomes an empty directory, like emptyDir.
    """
    if plan.error:
        raise VolumeSetupError(plan.error)
    if plan.file_backed:
        return write_volume(target, plan.files, clock=clock)
    if plan.kind == HOST_PATH:
        check_host_path(plan.host_path, plan.host_path_type)
        return False
    if target.is_dir():
        return False
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, EMPTY_DIR_MODE)
    return True


# --------------------------------------------------------------------------------------------
# subPath


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def prepare_sub_paths(sub_paths: Iterable[tuple[Path, Path]]) -> None:
    """Create missing subPath sources as directories (with their volume's mode) and refuse
    any that resolves outside its volume (a symlink planted by a container)."""
    for root, source in sub_paths:
        real_root = root.resolve()
        if not os.path.lexists(source):
            try:
                mode = stat.S_IMODE(root.stat().st_mode)
                source.mkdir(parents=True, exist_ok=True)
                os.chmod(source, mode)
            except OSError as err:
                if err.errno != errno.EEXIST:
                    raise VolumeSetupError(
                        f"failed to create subPath directory {source.name}"
                    ) from err
        if not _within(source.resolve(), real_root):
            raise VolumeSetupError(f'subpath "{source}" not within volume path "{root}"')
