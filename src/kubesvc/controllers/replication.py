"""The ReplicationController controller: the ReplicaSet controller over ``v1`` RCs.

Upstream runs the ReplicaSet code on RCs converted to ReplicaSets; here the
shared implementation takes the kind as a parameter. The only differences are
the selector (a plain label map) and the API group. Registers
``replicationcontroller``.
"""

from __future__ import annotations

from kubesvc.controllers import registry
from kubesvc.controllers.context import ControllerContext
from kubesvc.controllers.replicaset.controller import REPLICATIONCONTROLLERS, ReplicaSetController


def _build(ctx: ControllerContext) -> ReplicaSetController:
    return ReplicaSetController(ctx, REPLICATIONCONTROLLERS)


registry.register("replicationcontroller", _build)
