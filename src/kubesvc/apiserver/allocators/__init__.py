"""IP and port allocators of the API server, and the Service allocation on top of them.

* ``bitmap``: slot state with upstream's two-band random scan.
* ``ipalloc``: ClusterIPs over ``--service-cluster-ip-range``.
* ``portalloc``: NodePorts over ``--service-node-port-range``.
* ``servicealloc``: what a Service create/update/delete takes and gives back,
  in transactions, with Kubernetes' errors.
* ``repair``: rebuilding the state from stored Services, and the periodic repair.

Invariant: a value is handed out to at most one Service at a time; the state is
in memory and derived from storage, never stored itself.
"""

from kubesvc.apiserver.allocators.ipalloc import DEFAULT_SERVICE_CIDR, IPAllocator
from kubesvc.apiserver.allocators.portalloc import DEFAULT_NODE_PORT_RANGE, PortAllocator
from kubesvc.apiserver.allocators.servicealloc import ServiceAllocators, Transaction

__all__ = [
    "DEFAULT_NODE_PORT_RANGE",
    "DEFAULT_SERVICE_CIDR",
    "IPAllocator",
    "PortAllocator",
    "ServiceAllocators",
    "Transaction",
]
