"""The node agent: pod start latency and memory (issue #5).

Create-to-Ready latency for 1, 10 and 100 pods without probe delays (Kubernetes' pod-startup
SLO is 5 s at p99), and the agent's resident memory with 100 pods.
"""

from __future__ import annotations

from benchmarks.registry import Scenario, register

register(
    Scenario(
        name="node-pod-startup",
        family="node",
        what="node agent, pod create to Ready for 1/10/100 pods (p50/p99)",
        unit="s",
        group="node",
        issue=5,
    ),
    Scenario(
        name="node-memory",
        family="node",
        what="node agent resident memory with 100 pods",
        unit="MiB",
        group="node",
        issue=5,
    ),
)
