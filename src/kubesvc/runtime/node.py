"""The node agent as a component: its settings from flags, and its run and cleanup.

``default_network_mode`` picks netns when the process is root on Linux (pods
get their own namespaces on the bridge), loopback otherwise. ``run_node``
runs one agent against an API server until ``stop``; ``cleanup_node`` removes
everything an agent made on this machine (``kubesvc node --cleanup``), also
after a crash.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

from kubesvc.client.kubeconfig import ClientConfig
from kubesvc.client.rest import ApiClient
from kubesvc.node.agent import NodeAgent
from kubesvc.node.layout import StateDir
from kubesvc.node.runtime.process import ProcessRuntime
from kubesvc.node.sandbox.registry import make_sandbox
from kubesvc.node.settings import LOOPBACK, NETNS, NodeSettings
from kubesvc.util.tasks import until_stopped

FIELD_MANAGER = "kubelet"


def default_network_mode() -> str:
    return NETNS if sys.platform == "linux" and os.geteuid() == 0 else LOOPBACK


def default_node_name() -> str:
    """The host name, lower-cased into a DNS label as kubelet does."""
    name = re.sub(r"[^a-z0-9.-]", "-", socket.gethostname().lower()).strip("-.")
    return name or "kubesvc-node"


def node_state_dir(data_dir: Path, node_name: str) -> Path:
    return data_dir / "node" / node_name


async def run_node(
    config: ClientConfig,
    settings: NodeSettings,
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    drain: bool = False,
) -> None:
    """Run a node agent until ``stop``; ``ready`` is set once it registered and adopted."""
    async with ApiClient(config, field_manager=FIELD_MANAGER) as client:
        agent = NodeAgent(client, settings)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(agent.run(stop, drain=drain))
            if ready is not None:
                await until_stopped(agent.ready.wait(), stop)
                if agent.ready.is_set():
                    ready.set()


async def cleanup_node(settings: NodeSettings) -> None:
    """Stop every recorded container and remove sandboxes, bridge, rules, cgroups and files."""
    state = StateDir(settings.state_dir)
    await ProcessRuntime(state).cleanup()
    await make_sandbox(settings, state).cleanup()
