"""Deployments with the real kubectl against ``kubesvc up``: rollout status, history, undo, scale.

There is no node agent in these tests: whenever a rollout waits for pods, the
test marks them Running and Ready through the status subresource, as a node
agent would, while ``kubectl rollout status`` watches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from tests.e2e.kubectl_helpers import (
    Kubectl,
    requires_kubectl,
    squeeze,
    wait_for,
)

pytestmark = [pytest.mark.e2e, requires_kubectl]

T = TypeVar("T")
DEADLINE = 30.0
UP_ARGS = ("--disable-agent",)
"""``kubesvc up`` without a node agent: the tests mark pods ready themselves."""
IMAGE = "registry.example/web"


def until(check: Callable[[], T | None], what: str) -> T:
    """Poll ``check`` (kubectl calls) until it returns something truthy, within ``DEADLINE``."""
    result: T = wait_for(what, check, timeout=DEADLINE)
    return result


def ready_all(k: Kubectl) -> None:
    """Mark every pod that is not Ready yet as Running and Ready (the node agent's part)."""
    pods = k.obj("pods")["items"]
    for i, pod in enumerate(pods):
        meta = pod["metadata"]
        conditions = (pod.get("status") or {}).get("conditions") or []
        if meta.get("deletionTimestamp") or any(
            c["type"] == "Ready" and c["status"] == "True" for c in conditions
        ):
            continue
        ip = f"10.244.{i // 250}.{i % 250 + 2}"
        status = {
            "status": {
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        }
        k.run(
            "patch",
            "pod",
            meta["name"],
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
        )


def rollout_status(k: Kubectl, target: str) -> str:
    """``kubectl rollout status`` to completion, readying pods while it waits."""
    proc = k.popen("rollout", "status", target, "--timeout=60s")
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready_all(k)
            time.sleep(0.2)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"rollout status failed:\n{err}{out}"
    return out


def images(k: Kubectl) -> set[str]:
    return {
        p["spec"]["containers"][0]["image"]
        for p in k.obj("pods", "-l", "app=web")["items"]
        if not p["metadata"].get("deletionTimestamp")
    }


def history(k: Kubectl) -> list[str]:
    out = k.ok("rollout", "history", "deployment/web")
    return [squeeze(line) for line in out.splitlines() if line.strip()]


def test_rollout_status_history_undo_and_scale(k: Kubectl) -> None:
    out = k.ok("create", "deployment", "web", f"--image={IMAGE}:1", "--replicas=3")
    assert out.strip() == "deployment.apps/web created"
    out = rollout_status(k, "deployment/web")
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
    assert images(k) == {f"{IMAGE}:1"}

    assert k.ok("set", "image", "deployment/web", f"web={IMAGE}:2").strip() == (
        "deployment.apps/web image updated"
    )
    k.ok("annotate", "deployment/web", "kubernetes.io/change-cause=moved to 2")
    out = rollout_status(k, "deployment/web")
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
    until(lambda: images(k) == {f"{IMAGE}:2"}, "only new pods left")

    def two_revisions() -> list[str] | None:
        lines = history(k)
        return lines if lines[2:] == ["1 <none>", "2 moved to 2"] else None

    lines = until(two_revisions, "history with two revisions")
    assert lines[:2] == ["deployment.apps/web", "REVISION CHANGE-CAUSE"]
    detail = k.ok("rollout", "history", "deployment/web", "--revision=1")
    assert "deployment.apps/web with revision #1" in detail
    assert f"Image:      {IMAGE}:1" in detail or f"{IMAGE}:1" in detail

    assert k.ok("rollout", "undo", "deployment/web").strip() == "deployment.apps/web rolled back"
    out = rollout_status(k, "deployment/web")
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
    until(lambda: images(k) == {f"{IMAGE}:1"}, "back on the first image")
    d = k.obj("deployment", "web")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    until(
        lambda: [line.split(" ")[0] for line in history(k)[2:]] == ["2", "3"] or None,
        "revision 1 became 3",
    )
    # Undoing to the revision in place is skipped, as upstream.
    assert k.ok("rollout", "undo", "deployment/web", "--to-revision=3").strip() == (
        "deployment.apps/web skipped rollback (current template already matches revision 3)"
    )

    assert k.ok("scale", "deployment/web", "--replicas=5").strip() == "deployment.apps/web scaled"
    rollout_status(k, "deployment/web")
    ready = until(
        lambda: (
            squeeze(k.ok("get", "deployment", "web").splitlines()[1]).split(" ")[1]
            if "5/5" in k.ok("get", "deployment", "web")
            else None
        ),
        "5/5 ready",
    )
    assert ready == "5/5"
    rs_lines = [squeeze(line) for line in k.ok("get", "rs", "-l", "app=web").splitlines()[1:]]
    desired = sorted(int(line.split(" ")[1]) for line in rs_lines)
    assert desired == [0, 5]


def test_rollout_status_reports_progress_until_pods_are_ready(k: Kubectl) -> None:
    k.ok("create", "deployment", "web", f"--image={IMAGE}:1", "--replicas=2")
    res = k.run("rollout", "status", "deployment/web", "--timeout=2s")
    assert res.rc != 0
    assert 'Waiting for deployment "web" rollout to finish' in res.out
    assert "timed out waiting for the condition" in res.err
    out = rollout_status(k, "deployment/web")
    assert 'deployment "web" successfully rolled out' in out


def test_scale_then_delete_in_the_foreground_with_kubectl(k: Kubectl) -> None:
    k.ok("create", "deployment", "tmp", f"--image={IMAGE}:1", "--replicas=1")
    assert k.ok("scale", "deployment/tmp", "--replicas=3").strip() == "deployment.apps/tmp scaled"
    until(lambda: len(k.names("pods", "-l", "app=tmp")) == 3 or None, "three pods")
    out = k.ok("delete", "deployment", "tmp", "--cascade=foreground", "--timeout=30s")
    assert out.strip() == 'deployment.apps "tmp" deleted'
    until(lambda: k.names("pods", "-l", "app=tmp") == [] or None, "pods collected")
    assert k.names("rs", "-l", "app=tmp") == []
