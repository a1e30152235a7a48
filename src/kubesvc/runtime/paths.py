"""Where a cluster's state lives: the data directory and the files in it.

Layout of a data directory::

    state.db          the sqlite store (all API objects)
    kubeconfig.yaml   admin kubeconfig for kubectl and the Python client
    server.json       how to reach the running API server (written on start)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def default_data_dir() -> Path:
    """``/var/lib/kubesvc`` for root (as k3s uses /var/lib/rancher), else per user."""
    env = os.environ.get("KUBESVC_DATA_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/kubesvc")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kubesvc"


def prepare(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return data_dir


def storage_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'state.db').resolve()}"


def kubeconfig_path(data_dir: Path) -> Path:
    return data_dir / "kubeconfig.yaml"


def write_server_info(data_dir: Path, info: dict[str, Any]) -> None:
    tmp = data_dir / "server.json.tmp"
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(data_dir / "server.json")


def read_server_info(data_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((data_dir / "server.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
