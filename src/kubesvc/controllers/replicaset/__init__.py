"""The ReplicaSet controller (and, with another kind, the ReplicationController one).

``reconcile`` decides (pure); ``controller`` watches, applies and reports.
Registers ``replicaset`` on import; ``controllers.replication`` registers
``replicationcontroller`` with the same implementation.
"""

from __future__ import annotations

from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.replicaset.controller import REPLICASETS, ReplicaSetController


def _build(ctx: ControllerContext) -> ReplicaSetController:
    return ReplicaSetController(ctx, REPLICASETS)


registry.register("replicaset", _build)
