"""`kubesvc up -f`: manifests applied at start, and the errors a user sees for bad ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config
from tests.conftest import start_server, stop_server

pytestmark = pytest.mark.e2e

GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: from-up
data:
  greeting: hello
---
apiVersion: v1
kind: Service
metadata:
  name: web-from-up
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
"""


def test_up_applies_the_given_manifests(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "app.yaml").write_text(GOOD)
    server = start_server(tmp_path / "data", "-f", str(manifests), command="up")
    try:
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(server.kubeconfig)))
        cm = api.read_namespaced_config_map("from-up", "default")
        assert cm.data == {"greeting": "hello"}
        svc = api.read_namespaced_service("web-from-up", "default")
        assert svc.spec.cluster_ip and svc.spec.ports[0].target_port == 8080
        managers = {m.manager for m in svc.metadata.managed_fields}
        assert "kubesvc-up" in managers
    finally:
        stop_server(server.proc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: old\n",
            'no matches for kind "Deployment" in version "extensions/v1beta1" '
            "(Deployment moved to apiVersion apps/v1)",
            id="removed-api-version-gets-a-hint",
        ),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: indent\n",
            "bad.yaml:5: mapping values are not allowed here",
            id="broken-yaml-names-file-and-line",
        ),
        pytest.param(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  type: NodePort\n"
            "  ports:\n  - port: 80\n    nodePort: 80801\n",
            "Error from server (Invalid): error when applying",
            id="invalid-object-gets-the-api-error",
        ),
    ],
)
def test_up_refuses_bad_manifests_with_one_clear_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    args = [sys.executable, "-m", "kubesvc", "up", "--port", "0", "--storage", "memory://"]
    args += ["--data-dir", str(tmp_path / "data"), "-f", str(path), "--network-mode", "loopback"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
