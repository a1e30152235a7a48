"""The node agent for real, as root, inside a throwaway node namespace (issue 5's must-shows).

One cluster per module (API server + controllers, and the agent as its own
process) in a node namespace with no route out. Each test works in its own
Kubernetes namespace and checks what a user would: pods' IPs reachable from
the node and from each other, readiness taking a pod out of its Service's
EndpointSlice, liveness restarting it, init containers gating, back-off,
configMap files, ``kubectl logs -f``, nothing left on the host after a
delete, and pods surviving a kill -9 of the agent.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.kubectl_helpers import Kubectl, requires_kubectl, wait_for
from tests.system.nodecluster import NodeCluster, netns_names, node_cluster

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.slow,
    requires_kubectl,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces"),
    pytest.mark.timeout(120),
]

SERVER = textwrap.dedent(
    """
    import http.server, os
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            flag = {"/ready": "/flags/unready", "/healthz": "/flags/dead"}.get(self.path)
            code = 500 if flag and os.path.exists(flag) else 200
            body = (os.environ.get("HOSTNAME", "") + "\\n").encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
    """
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with node_cluster(tmp_path_factory.mktemp("node")) as c:
        yield c


@pytest.fixture
def k(cluster: NodeCluster, request: pytest.FixtureRequest) -> Iterator[Kubectl]:
    ns = f"t-{secrets.token_hex(3)}"
    admin = cluster.kubectl()
    admin.ok("create", "namespace", ns)
    try:
        yield cluster.kubectl(ns)
    finally:
        admin.run("delete", "namespace", ns, "--wait=false")


def _python() -> str:
    return subprocess.run(
        ["python3", "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def deployment(name: str, replicas: int) -> dict[str, Any]:
    probe = {"periodSeconds": 1, "failureThreshold": 1, "timeoutSeconds": 1}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 2,
                    "containers": [
                        {
                            "name": "web",
                            "image": "python:3.11",
                            "command": [_python(), "-c", SERVER],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}
                            | probe,
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": 8080},
                                "initialDelaySeconds": 2,
                            }
                            | probe,
                            "volumeMounts": [{"name": "flags", "mountPath": "/flags"}],
                        }
                    ],
                    "volumes": [{"name": "flags", "emptyDir": {}}],
                },
            },
        },
    }


def pods(k: Kubectl, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = k.obj("pods", "-l", selector)["items"]
    return items


def ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def http_get(cluster: NodeCluster, url: str, via_pid: int = 0) -> str:
    """GET from the node namespace, or from the network namespace of process ``via_pid``."""
    code = (
        f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=2).read().decode())"
    )
    if via_pid:
        argv = ["nsenter", f"--net=/proc/{via_pid}/ns/net", "python3", "-c", code]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    else:
        done = cluster.run("python3", "-c", code, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def pod_dir(cluster: NodeCluster, pod: dict[str, Any]) -> Path:
    return cluster.node_data / "node" / "node-1" / "pods" / pod["metadata"]["uid"]


def container_pid(cluster: NodeCluster, pod: dict[str, Any], container: str) -> int:
    records = sorted(
        (pod_dir(cluster, pod) / "containers" / container).glob("*.json"),
        key=lambda p: int(p.stem),
    )
    return int(json.loads(records[-1].read_text())["pid"])


def slice_readiness(k: Kubectl, service: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for s in k.obj("endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]:
        for ep in s.get("endpoints") or []:
            for ip in ep["addresses"]:
                out[ip] = bool((ep.get("conditions") or {}).get("ready"))
    return out


def test_deployment_pods_run_with_their_own_addresses_probes_and_restarts(
    cluster: NodeCluster, k: Kubectl
) -> None:
    k.ok("apply", "-f", k.write("web.yaml", deployment("web", 3)))
    k.ok("expose", "deployment", "web", "--port", "80", "--target-port", "8080")
    running = wait_for(
        "three ready pods",
        lambda: (ps := pods(k, "app=web")) and len(ps) == 3 and all(map(ready, ps)) and ps,
        timeout=30,
    )
    ips = sorted(p["status"]["podIP"] for p in running)
    assert len(set(ips)) == 3
    assert all(ip.startswith("10.244.0.") for ip in ips)
    names = {p["metadata"]["name"] for p in running}
    # from the node, each pod answers with its own hostname (its UTS namespace)
    assert {http_get(cluster, f"http://{ip}:8080/") for ip in ips} == names
    # pod to pod
    first = running[0]
    assert http_get(cluster, f"http://{ips[1]}:8080/", container_pid(cluster, first, "web"))
    wait_for("all endpoints ready", lambda: slice_readiness(k, "web") == dict.fromkeys(ips, True))

    # readiness failure takes exactly that pod out of the slice
    victim = running[1]
    flags = pod_dir(cluster, victim) / "volumes" / "flags"
    (flags / "unready").touch()
    victim_ip = victim["status"]["podIP"]
    want = {ip: ip != victim_ip for ip in ips}
    wait_for("the unready pod's endpoint not ready", lambda: slice_readiness(k, "web") == want)
    (flags / "unready").unlink()
    wait_for("ready again", lambda: slice_readiness(k, "web") == dict.fromkeys(ips, True))

    # liveness failure restarts the container; kubectl shows the restart count
    (flags / "dead").touch()
    name = victim["metadata"]["name"]

    def restarted() -> bool:
        line = k.ok("get", "pod", name, "--no-headers").split()
        return line[3] != "0"

    wait_for("a restart", restarted, timeout=20)
    (flags / "dead").unlink()
    wait_for("the restarted pod ready", lambda: ready(k.obj("pod", name)), timeout=20)
    events = k.ok("get", "events", "--field-selector", f"involvedObject.name={name}")
    assert "Unhealthy" in events and "Liveness probe failed" in events

    # deleting the Deployment leaves nothing behind on the host
    dirs = [pod_dir(cluster, p) for p in running]
    k.ok("delete", "deployment", "web")
    wait_for("pods gone", lambda: not pods(k, "app=web"), timeout=30)
    wait_for("pod directories gone", lambda: not any(d.exists() for d in dirs))
    links = cluster.run("ip", "-o", "link").stdout
    assert "veth" not in links, links


def test_init_containers_gate_the_start(cluster: NodeCluster, k: Kubectl) -> None:
    gate = f"/run/ksvc-gate-{secrets.token_hex(3)}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "gated"},
        "spec": {
            "initContainers": [
                {
                    "name": "wait",
                    "image": "busybox",
                    "command": ["sh", "-c", f"until [ -e {gate} ]; do sleep 0.1; done"],
                }
            ],
            "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }
    k.ok("apply", "-f", k.write("gated.yaml", pod))
    wait_for("Init:0/1", lambda: "Init:0/1" in k.ok("get", "pod", "gated"))
    time.sleep(0.5)
    assert "Init:0/1" in k.ok("get", "pod", "gated")
    Path(gate).touch()
    try:
        wait_for("Running", lambda: "Running" in k.ok("get", "pod", "gated"))
    finally:
        Path(gate).unlink()
    status = k.obj("pod", "gated")["status"]
    init = status["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed"


def test_crashloop_backs_off(cluster: NodeCluster, k: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "crasher"},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox", "command": ["sh", "-c", "echo boom; exit 3"]}
            ]
        },
    }
    k.ok("apply", "-f", k.write("crasher.yaml", pod))
    wait_for("CrashLoopBackOff", lambda: "CrashLoopBackOff" in k.ok("get", "pod", "crasher"))
    status = wait_for(
        "three restarts",
        lambda: (
            (s := k.obj("pod", "crasher")["status"])["containerStatuses"][0]["restartCount"] >= 3
            and s
        ),
        timeout=20,
    )
    last = status["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 3 and last["reason"] == "Error"
    assert "boom" in k.ok("logs", "crasher", "--previous")
    events = k.ok("get", "events", "--field-selector", "involvedObject.name=crasher")
    assert "BackOff" in events


def test_config_map_files_and_streaming_logs(cluster: NodeCluster, k: Kubectl) -> None:
    k.ok("create", "configmap", "cfg", "--from-literal=app.conf=port 6379")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "talker"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "command": [
                        "sh",
                        "-c",
                        "cat /etc/app/app.conf; echo; i=0; "
                        "while true; do i=$((i+1)); echo line $i; sleep 0.2; done",
                    ],
                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}],
                }
            ],
            "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
        },
    }
    k.ok("apply", "-f", k.write("talker.yaml", pod))
    wait_for("running", lambda: "Running" in k.ok("get", "pod", "talker"))
    wait_for("config file in the log", lambda: "port 6379" in k.ok("logs", "talker"))
    with k.popen("logs", "-f", "talker", "--tail", "1") as follow:
        try:
            assert follow.stdout is not None
            seen = [follow.stdout.readline() for _ in range(4)]
        finally:
            follow.kill()
    numbers = [int(line.split()[1]) for line in seen if line.startswith("line ")]
    assert len(numbers) == 4 and numbers == sorted(numbers) and numbers[-1] > numbers[0]
    stamped = k.ok("logs", "talker", "--timestamps", "--tail", "1").strip()
    assert stamped.split(" ", 1)[0].endswith("Z")


def test_agent_kill_9_then_restart_readopts_running_pods(cluster: NodeCluster, k: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "survivor"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }
    k.ok("apply", "-f", k.write("survivor.yaml", pod))
    before = wait_for("ready", lambda: ready(p := k.obj("pod", "survivor")) and p)
    pid = container_pid(cluster, before, "c")
    netns_before = netns_names()
    cluster.kill_node()
    os.kill(pid, 0)  # still running without its agent
    cluster.start_node()
    time.sleep(1.0)
    after = k.obj("pod", "survivor")
    assert ready(after)
    assert container_pid(cluster, after, "c") == pid
    os.kill(pid, 0)
    status = after["status"]["containerStatuses"][0]
    assert status["restartCount"] == 0
    assert status["containerID"] == before["status"]["containerStatuses"][0]["containerID"]
    assert (
        status["state"]["running"]["startedAt"]
        == (before["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
    )
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert netns_names() == netns_before
    k.ok("delete", "pod", "survivor")
    wait_for("process gone", lambda: not _alive(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def test_memory_limit_goes_into_the_containers_cgroup(cluster: NodeCluster, k: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "limited"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "command": ["sleep", "3600"],
                    "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}},
                }
            ]
        },
    }
    k.ok("apply", "-f", k.write("limited.yaml", pod))
    running = wait_for("ready", lambda: ready(p := k.obj("pod", "limited")) and p)
    pid = container_pid(cluster, running, "c")
    groups = {
        line.split(":", 2)[1]: line.split(":", 2)[2]
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    }
    if "memory" in groups:  # cgroup v1
        limit = Path("/sys/fs/cgroup/memory" + groups["memory"]) / "memory.limit_in_bytes"
        assert int(limit.read_text()) == 64 * 1024 * 1024
        quota = (
            Path(
                "/sys/fs/cgroup/cpu" + groups["cpu,cpuacct"]
                if "cpu,cpuacct" in groups
                else "/sys/fs/cgroup/cpu" + groups["cpu"]
            )
            / "cpu.cfs_quota_us"
        )
        assert int(quota.read_text()) == 25000
    else:  # cgroup v2
        base = Path("/sys/fs/cgroup" + groups[""])
        assert int((base / "memory.max").read_text()) == 64 * 1024 * 1024
    k.ok("delete", "pod", "limited")


def test_a_node_whose_agent_stops_goes_not_ready_with_its_endpoints(
    cluster: NodeCluster, k: Kubectl
) -> None:
    k.ok("apply", "-f", k.write("web.yaml", deployment("lapse", 1)))
    k.ok("expose", "deployment", "lapse", "--port", "80", "--target-port", "8080")
    pod = wait_for("ready", lambda: (ps := pods(k, "app=lapse")) and ready(ps[0]) and ps[0])
    ip = pod["status"]["podIP"]
    wait_for("endpoint ready", lambda: slice_readiness(k, "lapse") == {ip: True})
    cluster.kill_node()
    try:
        wait_for(
            "node NotReady",
            lambda: "NotReady" in cluster.kubectl().ok("get", "node", "node-1"),
            timeout=20,
        )
        wait_for("endpoint not ready", lambda: slice_readiness(k, "lapse") == {ip: False})
        assert http_get(cluster, f"http://{ip}:8080/")  # the pod itself still serves
    finally:
        cluster.start_node()
    wait_for("node Ready", lambda: " Ready " in cluster.kubectl().ok("get", "node", "node-1"))
    wait_for("endpoint ready again", lambda: slice_readiness(k, "lapse") == {ip: True})
    k.ok("delete", "deployment", "lapse")


def test_cleanup_after_a_crash_leaves_nothing(cluster: NodeCluster, k: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "leftover"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }
    k.ok("apply", "-f", k.write("leftover.yaml", pod))
    running = wait_for("ready", lambda: ready(p := k.obj("pod", "leftover")) and p)
    pid = container_pid(cluster, running, "c")
    cluster.kill_node()
    assert _alive(pid)
    try:
        cluster.cleanup()
        wait_for("process gone", lambda: not _alive(pid), timeout=5)
        assert not [
            n for n in netns_names() if n.startswith("ksvc-") and not n.startswith("ksvc-t-")
        ]
        assert "kubesvc0" not in cluster.run("ip", "-o", "link").stdout
        assert not list(
            (cluster.node_data / "node" / "node-1" / "pods").glob("*/containers/*/*.json")
        )
    finally:
        cluster.start_node()
    # the restarted agent runs the pod again from scratch
    wait_for("ready again", lambda: ready(k.obj("pod", "leftover")), timeout=20)
    k.ok("delete", "pod", "leftover")


SEED_SERVER = textwrap.dedent(
    """
    import http.server
    CONFIG = "/opt/kubesvc-example-app/config/application-default.yml"
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.headers.get("X-Custom-Header") == "Awesome" or self.path == "/"
            body = open(CONFIG, "rb").read() if ok else b"no header\\n"
            self.send_response(200 if ok else 403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    open("/opt/kubesvc-example-app/logs/started", "w").write("yes")
    http.server.ThreadingHTTPServer(("0.0.0.0", 36300), H).serve_forever()
    """
)


def test_the_seeds_pod_shape_config_items_pvc_subpath_probe_headers_host_port(
    cluster: NodeCluster, k: Kubectl
) -> None:
    """The seed's isc-bap-service pod, with a Python server for its image."""
    k.ok("create", "configmap", "app-cm", "--from-literal=app-cm.yml=server: {port: 36300}")
    probe = {
        "httpGet": {
            "path": "/api/status",
            "port": 36300,
            "httpHeaders": [{"name": "X-Custom-Header", "value": "Awesome"}],
        },
        "periodSeconds": 1,
        "timeoutSeconds": 2,
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "seedlike"},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "volumes": [
                {"name": "app-pvc", "persistentVolumeClaim": {"claimName": "common-pvc"}},
                {
                    "name": "app-cm",
                    "configMap": {
                        "name": "app-cm",
                        "defaultMode": 420,
                        "items": [{"key": "app-cm.yml", "path": "application-default.yml"}],
                    },
                },
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "isc-bap-service:v0.0.1",
                    "command": [_python(), "-c", SEED_SERVER],
                    "ports": [{"containerPort": 36300, "hostPort": 8081}],
                    "volumeMounts": [
                        {
                            "mountPath": "/opt/kubesvc-example-app/logs",
                            "name": "app-pvc",
                            "subPath": "app/logs",
                        },
                        {"mountPath": "/opt/kubesvc-example-app/config", "name": "app-cm"},
                    ],
                    "readinessProbe": probe,
                    "livenessProbe": probe | {"initialDelaySeconds": 5},
                }
            ],
        },
    }
    k.ok("apply", "-f", k.write("seedlike.yaml", pod))
    running = wait_for("ready", lambda: ready(p := k.obj("pod", "seedlike")) and p, timeout=30)
    ip = running["status"]["podIP"]
    assert http_get(cluster, f"http://{ip}:36300/") == "server: {port: 36300}"
    # hostPort 8081 on the node's address reaches the pod
    assert http_get(cluster, "http://10.244.0.1:8081/") == "server: {port: 36300}"
    events = k.ok("get", "events", "--field-selector", "involvedObject.name=seedlike")
    assert "VolumeNotSupported" in events
    logs_dir = pod_dir(cluster, running) / "volumes" / "app-pvc" / "app" / "logs"
    assert (logs_dir / "started").read_text() == "yes"
    # the mounts stay inside the pod: the host sees only the (empty) mount points the
    # agent made, and those go with the pod
    assert not any(Path("/opt/kubesvc-example-app").rglob("*.yml"))
    k.ok("delete", "pod", "seedlike")
    assert not Path("/opt/kubesvc-example-app").exists()


def test_pods_get_their_own_resolv_conf_hosts_and_hostname(
    cluster: NodeCluster, k: Kubectl
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "named"},
        "spec": {
            "hostname": "web-0",
            "subdomain": "web",
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "command": ["sh", "-c", "cat /etc/resolv.conf /etc/hosts; hostname"],
                }
            ],
        },
    }
    k.ok("apply", "-f", k.write("named.yaml", pod))
    wait_for("Completed", lambda: "Completed" in k.ok("get", "pod", "named"))
    out = k.ok("logs", "named")
    ns = k.namespace
    assert "nameserver 10.96.0.10" in out
    assert f"search {ns}.svc.cluster.local svc.cluster.local cluster.local" in out
    assert "options ndots:5" in out
    ip = k.obj("pod", "named")["status"]["podIP"]
    assert f"{ip}\tweb-0.web.{ns}.svc.cluster.local\tweb-0" in out
    assert out.rstrip().splitlines()[-1] == "web-0"
    k.ok("delete", "pod", "named")
