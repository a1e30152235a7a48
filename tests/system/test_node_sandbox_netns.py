"""netns-mode sandboxes for real, as root, inside a throwaway node network namespace.

The test process never changes namespace: ``NetnsSandbox`` runs in short driver
subprocesses entered into the node namespace with ``nsenter --net`` (same mount
namespace, so pod namespaces land in /run/netns where ``ip netns exec`` finds them).
Traffic only goes to addresses inside namespaces made here. Everything made is
removed in a ``finally``, also when the test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesvc.node.sandbox.netns import host_veth_name, netns_name

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces"),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("ip", "nsenter", "nft")),
        reason="needs ip, nsenter and nft",
    ),
]

DRIVER = textwrap.dedent(
    """
    import asyncio, dataclasses, json, sys, time
    from pathlib import Path
    from kubesvc.node.layout import StateDir
    from kubesvc.node.sandbox.netns import NetnsSandbox
    from kubesvc.node.settings import NodeSettings

    async def main():
        cmd = json.loads(sys.argv[1])
        settings = NodeSettings(
            node_name="node-1", state_dir=Path(cmd["state"]), network_mode="netns",
            cluster_dns=("10.96.0.10",),
        )
        sandbox = NetnsSandbox(settings, StateDir(settings.state_dir))
        out = {"node_ip": sandbox.node_ip, "infos": {}, "ms": []}
        for pod in cmd.get("setup", []):
            started = time.perf_counter()
            info = await sandbox.setup(pod)
            out["ms"].append((time.perf_counter() - started) * 1000)
            out["infos"][info.pod_uid] = {
                k: str(v) for k, v in dataclasses.asdict(info).items()
            }
        for uid in cmd.get("teardown", []):
            await sandbox.teardown(uid)
        if cmd.get("cleanup"):
            await sandbox.cleanup()
        out["existing"] = sorted(sandbox.existing())
        print(json.dumps(out))

    asyncio.run(main())
    """
)

PROBE = textwrap.dedent(
    """
    import json, socket, sys, urllib.request
    results = []
    for kind, host, port in json.loads(sys.argv[1]):
        if kind == "http":
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/", timeout=2) as r:
                    results.append(r.status)
            except OSError as err:
                results.append(repr(err))
        else:  # "reach": a TCP answer of any kind (accept or refusal) within a second
            s = socket.socket()
            s.settimeout(1)
            try:
                s.connect((host, port))
                results.append("reached")
            except ConnectionRefusedError:
                results.append("reached")
            except OSError as err:
                results.append(repr(err))
            finally:
                s.close()
    print(json.dumps(results))
    """
)


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=check)


def netns_names() -> set[str]:
    out = sh("ip", "netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def new_uid() -> str:
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def pod(uid: str, name: str, host_port: int = 0) -> dict[str, Any]:
    port: dict[str, Any] = {"containerPort": 8080}
    if host_port:
        port["hostPort"] = host_port
    return {
        "metadata": {"uid": uid, "name": name, "namespace": "team"},
        "spec": {"containers": [{"name": "c", "ports": [port]}]},
    }


class Node:
    def __init__(self, name: str, state: Path) -> None:
        self.name = name
        self.state = state

    def drive(self, **cmd: Any) -> dict[str, Any]:
        proc = subprocess.run(
            [
                "nsenter",
                f"--net=/run/netns/{self.name}",
                sys.executable,
                "-c",
                DRIVER,
                json.dumps({"state": str(self.state), **cmd}),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
        return result

    def probe(self, netns: str, *checks: tuple[str, str, int]) -> list[Any]:
        proc = sh("ip", "netns", "exec", netns, sys.executable, "-c", PROBE, json.dumps(checks))
        result: list[Any] = json.loads(proc.stdout)
        return result

    def links(self) -> set[str]:
        out = sh("ip", "-n", self.name, "-o", "link", "show").stdout
        return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}

    def wait_link_gone(self, link: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if link not in self.links():
                return True
            time.sleep(0.02)
        return False


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """A node namespace with only ``lo`` up: no route out of it exists."""
    name = f"ksvctest-node-{secrets.token_hex(4)}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield Node(name, tmp_path / "state")
    finally:
        # deleting it also removes the bridge, the veths' host ends and the nftables table
        sh("ip", "netns", "delete", name, check=False)


def test_pods_on_the_bridge(node: Node, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, c = new_uid(), new_uid(), new_uid()
    server: subprocess.Popen[bytes] | None = None
    foreign = f"ksvc-{secrets.token_hex(6)}"
    try:
        made = node.drive(setup=[pod(a, "a"), pod(b, "b", host_port=8081), pod(c, "c")])
        infos = made["infos"]
        gateway = made["node_ip"]
        ips = {uid: infos[uid]["ip"] for uid in (a, b, c)}
        assert gateway == "10.244.0.1"
        assert len(set(ips.values())) == 3
        assert all(ip.startswith("10.244.0.") and ip != gateway for ip in ips.values())
        ns = {uid: Path(infos[uid]["netns"]).name for uid in (a, b, c)}
        assert set(ns.values()) <= netns_names()
        assert "kubesvc0" in node.links()
        assert "nameserver 10.96.0.10" in Path(infos[a]["resolv_conf"]).read_text()
        assert f"{ips[a]}\ta\n" in Path(infos[a]["hosts"]).read_text()
        with capsys.disabled():
            print(f"\nsandbox setup ms: {[round(ms, 1) for ms in made['ms']]}")

        # a web server in pod b, on every address of its namespace
        server = subprocess.Popen(
            [
                *("ip", "netns", "exec", ns[b]),
                *(sys.executable, "-m", "http.server", "8080", "--bind", "0.0.0.0"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while node.probe(ns[a], ("http", ips[b], 8080)) != [200]:
            assert time.monotonic() < deadline, "server in pod b never answered pod a"
            time.sleep(0.05)

        # pod to pod and pod to gateway, both ways
        assert node.probe(ns[a], ("reach", gateway, 1), ("reach", ips[c], 1)) == ["reached"] * 2
        assert node.probe(ns[b], ("reach", ips[a], 1)) == ["reached"]
        # hostPort 8081 -> pod b:8080 from the node, through its bridge address and localhost
        assert node.probe(node.name, ("http", gateway, 8081), ("http", "127.0.0.1", 8081)) == [
            200,
            200,
        ]

        # a restarted agent (new process, same state) gets the same sandbox back; one whose
        # record says it was half made (a crash during setup) is remade with the same address
        record = node.state / "pods" / c / "sandbox.json"
        record.write_text(json.dumps({**json.loads(record.read_text()), "ready": False}))
        again = node.drive(setup=[pod(b, "b", host_port=8081), pod(c, "c")], teardown=[a])
        assert again["infos"][b] == infos[b]
        assert again["infos"][c] == infos[c]
        assert again["existing"] == sorted([b, c])
        assert node.probe(ns[b], ("reach", ips[c], 1)) == ["reached"]
        assert ns[a] not in netns_names()
        assert node.wait_link_gone(host_veth_name(a)), "pod a's veth outlived its namespace"
        assert node.probe(node.name, ("http", gateway, 8081)) == [200]

        # leftovers: pod c loses its record (as if the agent crashed before writing it);
        # another agent's pod namespace (not linked to this node) must survive cleanup
        record.unlink()
        sh("ip", "netns", "add", foreign)
        gone = node.drive(cleanup=True)
        assert gone["existing"] == []
        assert not {ns[b], ns[c]} & netns_names()
        assert foreign in netns_names()
        assert node.links() == {"lo"}
        table = sh("ip", "netns", "exec", node.name, "nft", "list", "tables").stdout
        assert "kubesvc-hostports" not in table
        assert not [p for p in (node.state / "ipam").iterdir() if not p.name.startswith(".")]
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        left = netns_names()
        for name in [foreign, *(netns_name(u) for u in (a, b, c))]:
            if name in left:
                sh("ip", "netns", "delete", name, check=False)
