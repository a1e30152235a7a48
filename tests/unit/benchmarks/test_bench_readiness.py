from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from benchmarks.procs import Processes
from benchmarks.readiness import (
    TCP_LISTEN,
    UDP_UNCONNECTED,
    NotReady,
    bound_ports,
    is_listening,
    wait_listening,
)

TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F91 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1
"""
UDP_TABLE = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
11554: 0100007F:3BFA 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2
"""


@pytest.mark.parametrize(
    ("table", "state", "ports"),
    [
        pytest.param(TCP_TABLE, TCP_LISTEN, {8080}, id="tcp-listening-only"),
        pytest.param(UDP_TABLE, UDP_UNCONNECTED, {15354}, id="udp-bound"),
        pytest.param(UDP_TABLE, TCP_LISTEN, set(), id="wrong-state"),
    ],
)
def test_bound_ports(table: str, state: str, ports: set[int]) -> None:
    assert bound_ports(table, state) == ports


def test_is_listening_sees_our_own_socket() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert not is_listening(os.getpid(), port)
        sock.listen()
        assert is_listening(os.getpid(), port)


def test_wait_listening_reports_a_server_that_died(tmp_path: Path) -> None:
    with Processes(tmp_path) as procs:
        started = procs.start("dies", [sys.executable, "-c", "import sys; sys.exit('no config')"])
        with pytest.raises(NotReady, match="no config"):
            wait_listening(procs, started, [1], timeout=5.0)


def test_wait_listening_times_out(tmp_path: Path) -> None:
    with Processes(tmp_path) as procs:
        started = procs.start("idle", ["sleep", "60"])
        with pytest.raises(NotReady, match="did not listen"):
            wait_listening(procs, started, [1], timeout=0.1)
