"""``kubesvc up`` in loopback mode (any user): pods run as processes on 127.x addresses.

The same agent as netns mode, without namespaces: each pod gets its own
loopback address (``POD_IP``), probes reach it there, ``kubectl logs`` reads
its output, the Service environment variables are set, and deleting the pod
stops its process.
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.kubectl_helpers import Kubectl, requires_kubectl, wait_for

pytestmark = [requires_kubectl, pytest.mark.e2e]
UP_ARGS = ("--network-mode", "loopback", "--crashloop-backoff", "0.5,2")
"""``kubesvc up`` with its node agent in loopback mode and a fast back-off."""

SERVER = textwrap.dedent(
    """
    import http.server, os
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            env = os.environ
            body = ("%s %s\\n" % (env["POD_IP"], env.get("WEB_SERVICE_HOST", "-"))).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    print("serving on", os.environ["POD_IP"], flush=True)
    http.server.HTTPServer((os.environ["POD_IP"], 8080), H).serve_forever()
    """
)


def web_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "terminationGracePeriodSeconds": 3,
            "containers": [
                {
                    "name": "web",
                    "image": "python:3.11",
                    "command": [sys.executable, "-c", SERVER],
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {
                        "httpGet": {"path": "/", "port": "http"},
                        "periodSeconds": 1,
                    },
                }
            ],
        },
    }


def test_a_pod_runs_on_its_own_loopback_address(k: Kubectl) -> None:
    k.ok("create", "service", "clusterip", "web", "--tcp", "80:8080")
    k.ok("apply", "-f", k.write("web.yaml", web_pod()))
    pod = wait_for(
        "the pod ready",
        lambda: (
            (p := k.obj("pod", "web"))
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions") or []
            )
            and p
        ),
        timeout=30,
    )
    ip = pod["status"]["podIP"]
    assert ip.startswith("127.") and ip != "127.0.0.1"
    assert pod["status"]["hostIP"] == "127.0.0.1"
    import urllib.request

    body = urllib.request.urlopen(f"http://{ip}:8080/", timeout=5).read().decode()
    svc_ip = k.obj("service", "web")["spec"]["clusterIP"]
    assert body.split() == [ip, svc_ip]
    assert f"serving on {ip}" in k.ok("logs", "web")
    table = k.ok("get", "pod", "web", "-o", "wide")
    assert "Running" in table and "1/1" in table and ip in table
    k.ok("delete", "pod", "web", "--timeout=20s")
    assert k.run("get", "pod", "web").rc != 0


def test_a_container_without_command_says_why_it_waits(k: Kubectl) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "redis"},
        "spec": {"containers": [{"name": "redis", "image": "redis:7"}]},
    }
    k.ok("apply", "-f", k.write("redis.yaml", pod))
    status = wait_for(
        "a waiting reason",
        lambda: (
            ((k.obj("pod", "redis")["status"].get("containerStatuses") or [{}])[0])
            .get("state", {})
            .get("waiting", {})
            .get("reason")
            not in (None, "ContainerCreating")
            and k.obj("pod", "redis")["status"]
        ),
    )
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "NoCommand"
    assert "command" in waiting["message"]
    events = k.ok("get", "events", "--field-selector", "involvedObject.name=redis")
    assert "runs commands" in events


def test_env_from_config_and_field_refs(k: Kubectl) -> None:
    k.ok("create", "configmap", "settings", "--from-literal=MODE=fast")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "envy", "labels": {"tier": "gold"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "command": ["sh", "-c", 'echo "$GREETING" $MODE $MY_NAME $POD_IP $0'],
                    "args": ["$(MY_NAME)"],
                    "env": [
                        {"name": "GREETING", "value": "hello-$(MY_NAME)"},
                        {
                            "name": "MY_NAME",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                        },
                    ],
                    "envFrom": [{"configMapRef": {"name": "settings"}}],
                }
            ],
        },
    }
    k.ok("apply", "-f", k.write("envy.yaml", pod))
    wait_for("Completed", lambda: "Completed" in k.ok("get", "pod", "envy"))
    words = k.ok("logs", "envy").split()
    # GREETING is defined before MY_NAME, so its $(MY_NAME) stays as written (kubelet's rule)
    assert words[0] == "hello-$(MY_NAME)"
    assert words[1:3] == ["fast", "envy"]
    assert words[3].startswith("127.")
    assert words[4] == "envy"  # $(VAR) in args expanded by the agent


def test_pre_stop_hook_then_sigterm_then_sigkill_after_the_grace_period(
    k: Kubectl, tmp_path: Path
) -> None:
    said = tmp_path / "pre-stop"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "stubborn"},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    # ignores SIGTERM: only the SIGKILL after the grace period ends it
                    "command": ["sh", "-c", 'trap "" TERM; while true; do sleep 0.1; done'],
                    "lifecycle": {
                        "preStop": {"exec": {"command": ["sh", "-c", f"echo bye > {said}"]}}
                    },
                }
            ],
        },
    }
    k.ok("apply", "-f", k.write("stubborn.yaml", pod))
    wait_for("running", lambda: "Running" in k.ok("get", "pod", "stubborn"))
    started = time.monotonic()
    k.ok("delete", "pod", "stubborn", "--timeout=20s")
    took = time.monotonic() - started
    assert said.read_text() == "bye\n"
    assert took >= 1.0
    assert k.run("get", "pod", "stubborn").rc != 0
