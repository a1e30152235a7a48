"""Fixtures shared by every test layer.

* ``api_process``: a real ``kubesvc server`` subprocess on a free loopback port with
  the in-memory store, shared by a test session (the e2e tests drive kubectl and
  the official Python client against it; each test works in its own namespace).
* ``kubeconfig``: the kubeconfig file of that server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``privileged`` (network namespaces, nftables, cgroups) skip without root."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces, nftables, cgroups)")
    for item in items:
        if item.get_closest_marker("privileged") is not None:
            item.add_marker(skip)


READY = re.compile(r"ready: API server at (\S+); use it with: export KUBECONFIG=(\S+)")


@dataclass(frozen=True)
class ApiProcess:
    url: str
    kubeconfig: Path
    data_dir: Path
    proc: subprocess.Popen[str]


def start_server(
    data_dir: Path, *extra: str, storage: str = "memory://", command: str = "server"
) -> ApiProcess:
    """Start ``kubesvc server`` (or ``command``: ``up`` runs the controllers too) and wait for
    its ready line (at most 30 s)."""
    args = [sys.executable, "-m", "kubesvc", command, "--port", "0", "--data-dir", str(data_dir)]
    if command == "up" and not {"--network-mode", "--disable-agent"} & set(extra):
        # the node agent on the machine itself: loopback mode, never a bridge on the host
        args += ["--network-mode", "loopback"]
    if storage:
        args += ["--storage", storage]
    proc = subprocess.Popen(
        [*args, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = READY.search(line)
        if m:
            # Keep reading the server's output so a chatty server never blocks on a full pipe.
            threading.Thread(target=_drain, args=(proc,), daemon=True).start()
            return ApiProcess(m.group(1), Path(m.group(2)), data_dir, proc)
    stop_server(proc)
    proc.stdout.close()
    raise RuntimeError("kubesvc server did not become ready:\n" + "".join(lines))


def _drain(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    try:
        for _ in proc.stdout:
            pass
    except (OSError, ValueError):
        pass
    finally:
        proc.stdout.close()


def stop_server(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def api_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    data_dir = tmp_path_factory.mktemp("kubesvc-data")
    server = start_server(data_dir)
    yield server
    stop_server(server.proc)


@pytest.fixture(scope="session")
def kubeconfig(api_process: ApiProcess) -> Path:
    return api_process.kubeconfig
