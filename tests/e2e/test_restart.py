"""Restart durability of ``kubesvc server`` on its sqlite store (issue 2, "Restart").

A writer thread creates and updates ConfigMaps over plain HTTP and records every
write the server acknowledged (a 2xx answer) with its resourceVersion. The
server is killed with SIGKILL (its whole process group) in the middle of that
stream and restarted on the same data directory and port. Then:

* every acknowledged write is there, with at least the acknowledged content (a
  write the server committed but could not answer before dying may be newer);
* new writes get resourceVersions above every acknowledged one;
* a watch that was open during the kill resumes from the last resourceVersion
  it saw: no 410, and together its two streams hold every acknowledged write,
  once and in order, followed by the new writes; a watch from before the
  writes replays the same events from the log.

A clean SIGTERM stop and restart keeps everything as well.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.conftest import ApiProcess, start_server, stop_server

pytestmark = pytest.mark.e2e

NS = "default"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"
WRITE_SECONDS = 1.5
"""How long the writers run before the kill (bounded: a few seconds at most)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Http:
    """A minimal JSON client on one keep-alive connection (``http.client``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None

    def close(self) -> None:
        self.conn.close()


@dataclass
class Acked:
    """What the server acknowledged: per ConfigMap, its highest acknowledged
    sequence number and resourceVersion; and every acknowledged resourceVersion."""

    seq: dict[str, int] = field(default_factory=dict)
    rv: dict[str, int] = field(default_factory=dict)
    revisions: set[int] = field(default_factory=set)
    count: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, seq: int, rv: int) -> None:
        with self.lock:
            self.seq[name] = max(self.seq.get(name, -1), seq)
            self.rv[name] = max(self.rv.get(name, 0), rv)
            self.revisions.add(rv)
            self.count += 1

    @property
    def max_rv(self) -> int:
        return max(self.rv.values())


def writer(url: str, prefix: str, acked: Acked, stop: threading.Event) -> None:
    """Create ``prefix-<i>`` ConfigMaps, and update each a few times, until the
    server goes away or ``stop`` is set. Each object's ``data.seq`` only grows."""
    client = Http(url)
    seq = 0
    try:
        while not stop.is_set():
            name = f"{prefix}-{seq // 4}"
            body = {"metadata": {"name": name}, "data": {"seq": str(seq)}}
            if seq % 4 == 0:
                status, reply = client.call("POST", CM_PATH, body)
            else:
                status, reply = client.call("PUT", f"{CM_PATH}/{name}", body)
            if 200 <= status < 300:
                acked.record(name, seq, int(reply["metadata"]["resourceVersion"]))
            else:
                acked.errors.append(f"{status} {reply}")
                return
            seq += 1
    except (OSError, http.client.HTTPException):
        return  # the server died: this write was not acknowledged
    finally:
        client.close()


class Watcher(threading.Thread):
    """Watches ConfigMaps from ``after`` and records each event's resourceVersion
    until the stream breaks (the server died) or ends."""

    def __init__(self, url: str, after: int) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.conn.request("GET", f"{CM_PATH}?watch=1&resourceVersion={after}")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        self.revisions: list[int] = []
        self.errors: list[Any] = []

    def run(self) -> None:
        try:
            while line := self.resp.readline():
                ev = json.loads(line)
                if ev["type"] == "ERROR":
                    self.errors.append(ev)
                    return
                self.revisions.append(int(ev["object"]["metadata"]["resourceVersion"]))
        except (OSError, http.client.HTTPException, ValueError):
            return  # the server died mid-stream
        finally:
            self.conn.close()


def run_writers(url: str, acked: Acked, *, kill: ApiProcess | None) -> None:
    """Run two writers for ``WRITE_SECONDS``; then SIGKILL ``kill`` while they still
    write (or stop them, when ``kill`` is None) and wait for them to end."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer, args=(url, f"w{i}", acked, stop), daemon=True)
        for i in range(2)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WRITE_SECONDS
    while time.monotonic() < deadline and all(t.is_alive() for t in threads):
        time.sleep(0.05)
    assert all(t.is_alive() for t in threads), acked.errors
    if kill is not None:
        stop_server(kill.proc, signal.SIGKILL)
    else:
        stop.set()
    for t in threads:
        t.join(10)
    assert not acked.errors
    assert acked.count > 20, "the writers hardly wrote anything"


def check_acknowledged(client: Http, acked: Acked) -> None:
    status, listed = client.call("GET", CM_PATH)
    assert status == 200
    stored = {o["metadata"]["name"]: o for o in listed["items"]}
    for name, seq in acked.seq.items():
        assert name in stored, f"acknowledged ConfigMap {name} is missing"
        obj = stored[name]
        assert int(obj["data"]["seq"]) >= seq, (name, obj["data"], seq)
        assert int(obj["metadata"]["resourceVersion"]) >= acked.rv[name]


def read_events(resp: http.client.HTTPResponse, until: str) -> list[dict[str, Any]]:
    """Watch events (one JSON document per line) up to the first about ``until``."""
    events: list[dict[str, Any]] = []
    while True:
        line = resp.readline()
        assert line, f"watch ended before an event for {until}: {events}"
        ev = json.loads(line)
        events.append(ev)
        assert ev["type"] != "ERROR", ev
        if ev["object"]["metadata"].get("name") == until:
            return events


@pytest.fixture
def port() -> int:
    return free_port()


def storage_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'state.db'}"


def open_watch(port: int, after: int) -> tuple[http.client.HTTPConnection, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"{CM_PATH}?watch=1&resourceVersion={after}&timeoutSeconds=10")
    resp = conn.getresponse()
    assert resp.status == 200
    return conn, resp


def revisions_of(events: list[dict[str, Any]]) -> list[int]:
    return [int(ev["object"]["metadata"]["resourceVersion"]) for ev in events]


def test_kill_9_during_writes_loses_no_acknowledged_write(tmp_path: Path, port: int) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, "--port", str(port), storage=storage_url(data_dir))
    acked = Acked()
    try:
        client = Http(server.url)
        status, listed = client.call("GET", CM_PATH)
        client.close()
        assert status == 200
        start = int(listed["metadata"]["resourceVersion"])
        watcher = Watcher(server.url, start)
        watcher.start()
        run_writers(server.url, acked, kill=server)
        watcher.join(10)
    finally:
        stop_server(server.proc, signal.SIGKILL)
    assert not watcher.is_alive()
    assert not watcher.errors
    assert watcher.revisions, "the watcher saw nothing before the kill"

    server = start_server(data_dir, "--port", str(port), storage=storage_url(data_dir))
    client = Http(server.url)
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        check_acknowledged(client, acked)

        # The watcher resumes from the last revision it saw, and a new watch
        # replays everything from before the writes (from the log): no 410.
        resumed = open_watch(port, watcher.revisions[-1])
        replay = open_watch(port, start)

        # New writes get revisions above every acknowledged one, and both
        # watches deliver them live.
        status, created = client.call(
            "POST", CM_PATH, {"metadata": {"name": "after-restart"}, "data": {"x": "1"}}
        )
        assert status == 201
        new_rv = int(created["metadata"]["resourceVersion"])
        assert new_rv > acked.max_rv

        resumed_events = read_events(resumed[1], "after-restart")
        replayed_events = read_events(replay[1], "after-restart")
        for conn, _ in (resumed, replay):
            conn.close()
        assert resumed_events[-1]["type"] == replayed_events[-1]["type"] == "ADDED"
        # Every acknowledged write (and those committed but not answered before
        # the kill) exactly once and in order, before and after the restart.
        revisions = watcher.revisions + revisions_of(resumed_events)
        assert revisions == sorted(set(revisions)), "gaps are allowed, repeats and reorders not"
        assert revisions_of(replayed_events) == revisions
        assert revisions[-1] == new_rv
        assert acked.revisions <= set(revisions)
    finally:
        client.close()
        stop_server(server.proc)


def test_sigterm_restart_keeps_everything(tmp_path: Path, port: int) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, "--port", str(port), storage=storage_url(data_dir))
    acked = Acked()
    try:
        run_writers(server.url, acked, kill=None)
        client = Http(server.url)
        status, before = client.call("GET", CM_PATH)
        client.close()
        assert status == 200
        # An open watch must not hold the shutdown up.
        watch = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        watch.request("GET", f"{CM_PATH}?watch=1")
        assert watch.getresponse().status == 200
        started = time.monotonic()
    finally:
        stop_server(server.proc, signal.SIGTERM)
    watch.close()
    assert server.proc.returncode == 0
    assert time.monotonic() - started < 5

    server = start_server(data_dir, "--port", str(port), storage=storage_url(data_dir))
    client = Http(server.url)
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        status, after = client.call("GET", CM_PATH)
        assert status == 200
        # Everything, exactly: names, contents, uids and resourceVersions.
        assert after["items"] == before["items"]
        assert int(after["metadata"]["resourceVersion"]) >= int(
            before["metadata"]["resourceVersion"]
        )
        check_acknowledged(client, acked)
        status, created = client.call("POST", CM_PATH, {"metadata": {"name": "after-restart"}})
        assert status == 201
        assert int(created["metadata"]["resourceVersion"]) > acked.max_rv
    finally:
        client.close()
        stop_server(server.proc)
