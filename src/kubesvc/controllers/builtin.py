"""Imports every built-in controller module so that each registers itself.

Add a line here when adding a controller module; the import order is the
start order.
"""

from __future__ import annotations

from kubesvc.controllers import (
    daemonset,  # noqa: F401
    deployment,  # noqa: F401
    endpoints,  # noqa: F401
    endpointslicemirroring,  # noqa: F401
    garbagecollector,  # noqa: F401
    loadbalancer,  # noqa: F401
    nodelifecycle,  # noqa: F401
    podgc,  # noqa: F401
    replicaset,  # noqa: F401
    replication,  # noqa: F401
    scheduler,  # noqa: F401
)
from kubesvc.controllers.endpointslice import controller  # noqa: F401
