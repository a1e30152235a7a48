"""The DaemonSet controller: one daemon pod per eligible node, rolling updates.

``reconcile`` (pure) decides; ``controller`` watches and writes. Registers
``daemonset`` on import.
"""

from __future__ import annotations

from kubesvc.controllers import registry
from kubesvc.controllers.daemonset.controller import DaemonSetController

registry.register("daemonset", DaemonSetController)
