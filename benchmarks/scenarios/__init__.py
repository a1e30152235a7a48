"""Scenario families, one module each; ``load`` imports them, which registers their scenarios.

``FAMILIES`` is the order of the report: anchors first, then the components measured against
them. A component issue adds its module here (or fills in its placeholder module).
"""

from __future__ import annotations

import importlib

FAMILIES = (
    "http",
    "dns",
    "iperf",
    "netns",
    "apiserver",
    "controllers",
    "node",
    "proxy",
    "ingress",
    "cluster",
)


def load() -> None:
    """Import every family module (each registers its scenarios once)."""
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
