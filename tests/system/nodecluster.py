"""A whole cluster inside a throwaway "node" network namespace, for the system tests.

``node_cluster`` makes a uniquely named namespace with only ``lo`` up (no link
to the machine's own network, so nothing can leave), then runs inside it, with
``nsenter --net`` (same mount namespace as the test, so the agent's pod
namespaces land in /run/netns where the test can see them):

* ``kubesvc up --disable-agent`` (API server and controllers), and
* ``kubesvc node --network-mode netns`` (the agent), as its own process so a
  test can kill -9 it and start it again.

``kubectl`` runs inside the namespace too. Teardown stops both, runs
``kubesvc node --cleanup``, kills whatever still runs in the namespaces it
made (``ip netns pids``) and deletes them, also when the test failed.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.kubectl_helpers import Kubectl

READY_UP = re.compile(r"ready: API server at (\S+); use it with: export KUBECONFIG=(\S+)")
READY_NODE = re.compile(r"node \S+ ready")
POD_NETNS = re.compile(r"ksvc-[0-9a-f]{12}")
"""How the agent names pods' network namespaces (``ksvc-`` and the first 12 of the UID)."""
BACKOFF = "0.5,2"
"""CrashLoopBackOff base and cap for tests: fast, still visibly growing."""


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def netns_pids(name: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split() if p.isdigit()]


def _kill_netns(name: str) -> None:
    for pid in netns_pids(name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


@dataclass
class NodeCluster:
    netns: str
    data_dir: Path
    workdir: Path
    kubeconfig: Path = Path()
    up: subprocess.Popen[str] | None = None
    node: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def enter(self) -> tuple[str, ...]:
        return ("nsenter", f"--net=/run/netns/{self.netns}")

    @property
    def node_data(self) -> Path:
        return self.data_dir / "agent"

    def run(self, *argv: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """A command inside the node namespace."""
        return subprocess.run(
            [*self.enter, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )

    def kubectl(self, namespace: str = "default") -> Kubectl:
        return Kubectl(self.kubeconfig, self.workdir, namespace, prefix=self.enter)

    def _start(self, argv: list[str], ready: re.Pattern[str]) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [*self.enter, sys.executable, "-m", "kubesvc", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if ready.search(line):
                threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
                return proc, line
        raise RuntimeError("did not become ready:\n" + "".join(self.output[-50:]))

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                self.output.append(line)
        except (OSError, ValueError):
            pass

    def start_up(self) -> None:
        self.up, line = self._start(
            [
                "-v",
                "up",
                "--disable-agent",
                "--port",
                "0",
                "--data-dir",
                str(self.data_dir),
                "--node-monitor-grace-period",
                "4",
            ],
            READY_UP,
        )
        m = READY_UP.search(line)
        assert m is not None
        self.kubeconfig = Path(m.group(2))

    def start_node(self) -> None:
        self.node, _ = self._start(
            [
                "-v",
                "node",
                "--kubeconfig",
                str(self.kubeconfig),
                "--data-dir",
                str(self.node_data),
                "--node-name",
                "node-1",
                "--network-mode",
                "netns",
                "--crashloop-backoff",
                BACKOFF,
                "--node-lease-duration",
                "2",
                "--cluster-dns",
                "10.96.0.10",
            ],
            READY_NODE,
        )

    def kill_node(self, sig: int = signal.SIGKILL) -> None:
        if self.node is not None:
            if self.node.poll() is None:
                os.kill(self.node.pid, sig)
                self.node.wait(timeout=30)
            if self.node.stdout is not None:
                self.node.stdout.close()
        self.node = None

    def stop(self) -> None:
        for proc in (self.node, self.up):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            if proc is not None and proc.stdout is not None:
                proc.stdout.close()
        self.node = self.up = None

    def cleanup(self) -> None:
        subprocess.run(
            [
                *self.enter,
                sys.executable,
                "-m",
                "kubesvc",
                "node",
                "--cleanup",
                "--data-dir",
                str(self.node_data),
                "--node-name",
                "node-1",
                "--network-mode",
                "netns",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )

    def log_tail(self, lines: int = 60) -> str:
        return "".join(self.output[-lines:])


@contextmanager
def node_cluster(tmp_path: Path) -> Iterator[NodeCluster]:
    before = netns_names()
    name = f"ksvc-t-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    cluster = NodeCluster(name, tmp_path / "data", tmp_path / "work")
    cluster.workdir.mkdir(parents=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        cluster.start_up()
        cluster.start_node()
        yield cluster
    finally:
        cluster.stop()
        cluster.cleanup()
        for leftover in netns_names() - before:
            if POD_NETNS.fullmatch(leftover):
                _kill_netns(leftover)
        _kill_netns(name)
