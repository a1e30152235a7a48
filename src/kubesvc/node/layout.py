"""Where a node agent keeps things: one directory per pod under the state directory.

::

    <state>/pods/<uid>/pod.json                  namespace, name, uid (for cleanup and adoption)
    <state>/pods/<uid>/sandbox.json              what the sandbox made (address, netns, ...)
    <state>/pods/<uid>/etc/resolv.conf, hosts    generated for netns mode
    <state>/pods/<uid>/volumes/<volume>/         materialised volumes
    <state>/pods/<uid>/containers/<name>/<attempt>.log    stdout+stderr as written
    <state>/pods/<uid>/containers/<name>/<attempt>.idx    log timestamp index
    <state>/pods/<uid>/containers/<name>/<attempt>.json   the ContainerHandle record
    <state>/pods/<uid>/containers/<name>/<attempt>.exit   exit status written by the wrapper
    <state>/ipam/                                address allocations (one file per address)
    <state>/netns/                               pods' network namespace files (netns mode)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PodDir:
    root: Path

    @property
    def record(self) -> Path:
        return self.root / "pod.json"

    @property
    def sandbox_record(self) -> Path:
        return self.root / "sandbox.json"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    def volume(self, name: str) -> Path:
        return self.root / "volumes" / name

    def container_dir(self, name: str) -> Path:
        return self.root / "containers" / name

    def log(self, name: str, attempt: int) -> Path:
        return self.container_dir(name) / f"{attempt}.log"

    def log_index(self, name: str, attempt: int) -> Path:
        return self.container_dir(name) / f"{attempt}.idx"

    def container_record(self, name: str, attempt: int) -> Path:
        return self.container_dir(name) / f"{attempt}.json"

    def exit_file(self, name: str, attempt: int) -> Path:
        return self.container_dir(name) / f"{attempt}.exit"


@dataclass(frozen=True)
class StateDir:
    root: Path

    @property
    def pods(self) -> Path:
        return self.root / "pods"

    def pod(self, uid: str) -> PodDir:
        return PodDir(self.pods / uid)

    @property
    def ipam(self) -> Path:
        return self.root / "ipam"

    @property
    def netns(self) -> Path:
        return self.root / "netns"
