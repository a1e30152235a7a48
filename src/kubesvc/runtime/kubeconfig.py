"""Kubeconfig files that reach a kubesvc cluster (pure rendering)."""

from __future__ import annotations

import yaml


def render(server_url: str, *, cluster: str = "kubesvc", user: str = "admin") -> str:
    """A kubeconfig with one cluster, one user and one current context."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server_url}}],
        "users": [{"name": user, "user": {}}],
        "contexts": [
            {"name": cluster, "context": {"cluster": cluster, "user": user, "namespace": "default"}}
        ],
        "current-context": cluster,
        "preferences": {},
    }
    return str(yaml.safe_dump(doc, sort_keys=False))
