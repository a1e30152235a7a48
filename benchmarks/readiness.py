"""Is a server ready? It is once a socket listens on its port in the server's own netns.

We read the socket tables through ``/proc/<pid>/net/`` of the server's PID, which shows the
network namespace that process lives in: the same check works on loopback and inside the
throwaway namespaces, and it never opens a connection (iperf3, for one, logs an error for
every connection that carries no test). Parsing is pure; ``wait_listening`` polls.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.procs import Processes, Started

PROC = Path("/proc")

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


class NotReady(RuntimeError):
    """A server exited or did not listen in time."""


def bound_ports(table: str, state: str) -> set[int]:
    """Local ports in a /proc/net/{tcp,tcp6,udp,udp6} table whose socket is in ``state``."""
    ports = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != state:
            continue
        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def is_listening(pid: int, port: int, proto: str = "tcp", proc: Path = PROC) -> bool:
    """Whether a ``proto`` ("tcp" or "udp") socket is bound to ``port`` in ``pid``'s netns."""
    state = TCP_LISTEN if proto == "tcp" else UDP_UNCONNECTED
    for table in (proto, proto + "6"):
        try:
            text = (proc / str(pid) / "net" / table).read_text()
        except OSError:
            continue
        if port in bound_ports(text, state):
            return True
    return False


def wait_listening(
    procs: Processes,
    started: Started,
    ports: list[int],
    *,
    proto: str = "tcp",
    timeout: float = 10.0,
) -> None:
    """Wait until ``started`` listens on every one of ``ports``; raise NotReady otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if not procs.alive(started):
            raise NotReady(f"{started.name} exited at start-up: {started.log_tail()}")
        if all(is_listening(started.pid, port, proto) for port in ports):
            return
        if time.monotonic() >= deadline:
            raise NotReady(
                f"{started.name} did not listen on {proto} {ports} within {timeout:.0f} s: "
                f"{started.log_tail()}"
            )
        time.sleep(0.02)
