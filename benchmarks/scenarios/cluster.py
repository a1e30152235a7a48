"""The whole cluster (issue #10): start-up, memory, and the headline user-facing figure.

``apply-to-first-answer``: from ``kubectl apply`` of a Deployment + Service + Ingress to the
first successful HTTP answer through the Service's DNS name and through the Ingress.
"""

from __future__ import annotations

from benchmarks.registry import Scenario, register

register(
    Scenario(
        name="cluster-startup",
        family="cluster",
        what="kubesvc up: start to API ready and all components ready",
        unit="s",
        group="cluster",
        issue=10,
    ),
    Scenario(
        name="cluster-memory",
        family="cluster",
        what="kubesvc up resident memory, idle and with the examples applied",
        unit="MiB",
        group="cluster",
        issue=10,
    ),
    Scenario(
        name="apply-to-first-answer",
        family="cluster",
        what="kubectl apply of Deployment + Service + Ingress to the first HTTP answer "
        "via the Service's DNS name and via the Ingress",
        unit="s",
        group="cluster",
        issue=10,
    ),
)
