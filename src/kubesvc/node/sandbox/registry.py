"""Sandboxes by network mode name: the one place that maps ``--network-mode`` to a class.

``netns`` is imported only when chosen: it needs pyroute2 and root, loopback mode needs
neither.
"""

from __future__ import annotations

from collections.abc import Callable

from kubesvc.node.layout import StateDir
from kubesvc.node.sandbox.base import Sandbox
from kubesvc.node.settings import LOOPBACK, NETNS, NodeSettings


def _loopback(settings: NodeSettings, state: StateDir) -> Sandbox:
    from kubesvc.node.sandbox.loopback import LoopbackSandbox

    return LoopbackSandbox(settings, state)


def _netns(settings: NodeSettings, state: StateDir) -> Sandbox:
    from kubesvc.node.sandbox.netns import NetnsSandbox

    return NetnsSandbox(settings, state)


MODES: dict[str, Callable[[NodeSettings, StateDir], Sandbox]] = {
    LOOPBACK: _loopback,
    NETNS: _netns,
}


def make_sandbox(settings: NodeSettings, state: StateDir | None = None) -> Sandbox:
    """The sandbox of ``settings.network_mode`` keeping its records under ``state`` (default:
    ``settings.state_dir``); ValueError names the known modes."""
    try:
        factory = MODES[settings.network_mode]
    except KeyError:
        known = ", ".join(sorted(MODES))
        raise ValueError(
            f"unknown network mode {settings.network_mode!r} (known: {known})"
        ) from None
    return factory(settings, state or StateDir(settings.state_dir))
