"""The controllers: EndpointSlice reconciliation at scale (issue #4).

1,000 Services with 100 pods each (100,000 endpoints): time for the controllers to converge
after a cold start, and the latency from one pod's readiness change to its updated slice.
"""

from __future__ import annotations

from benchmarks.registry import Scenario, register

register(
    Scenario(
        name="controllers-endpointslices",
        family="controllers",
        what="EndpointSlice controller, 1,000 Services x 100 pods: cold-start convergence, "
        "readiness change to updated slice p50/p99",
        unit="s",
        group="controllers",
        issue=4,
    ),
)
