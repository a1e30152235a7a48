"""What a scenario gets to work with: a private temp directory, the process manager, the
settings, and fixtures shared by the scenarios of one group (e.g. one nginx backend)."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from benchmarks.procs import Processes
from benchmarks.settings import RunSettings

T = TypeVar("T")


@dataclass
class Env:
    """The run's resources, handed to every scenario's ``prepare``."""

    tmp: Path
    procs: Processes
    settings: RunSettings
    as_root: bool = field(default_factory=lambda: os.geteuid() == 0)
    _fixtures: dict[str, Any] = field(default_factory=dict)
    _group_stack: ExitStack | None = None

    def workdir(self, name: str) -> Path:
        """A fresh directory for one server's files."""
        base = self.tmp / name
        path = base
        counter = 1
        while path.exists():
            counter += 1
            path = self.tmp / f"{name}-{counter}"
        path.mkdir(parents=True)
        return path

    def write(self, directory: Path, name: str, text: str) -> Path:
        path = directory / name
        path.write_text(text)
        return path

    def fixture(self, key: str, factory: Callable[[Env, ExitStack], T]) -> T:
        """The group's shared fixture ``key``, created on first use and torn down with the group.

        ``factory`` registers its own clean-up on the stack it is given.
        """
        if key not in self._fixtures:
            if self._group_stack is None:
                raise RuntimeError("fixtures exist only while a group runs")
            self._fixtures[key] = factory(self, self._group_stack)
        return cast(T, self._fixtures[key])

    def begin_group(self, stack: ExitStack) -> None:
        self._fixtures = {}
        self._group_stack = stack

    def end_group(self) -> None:
        self._fixtures = {}
        self._group_stack = None


PORTS = range(20000, 32768)
"""Where servers listen: below Linux's default ephemeral range (32768-60999), so that no
client connection of a load generator (nor one in TIME_WAIT) holds the port already."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP right now (DNS servers bind both), for a server to
    bind next."""
    for _ in range(200):
        port = random.choice(PORTS)
        if all(_bindable(host, port, kind) for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM)):
            return port
    raise RuntimeError("no free port found for a server")


def _bindable(host: str, port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
