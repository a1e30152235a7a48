"""The Ingress controller (issue #9), beside nginx and HAProxy as reverse proxies.

Runs in the ``http`` group in front of the same nginx backend; its anchor is nginx as a reverse
proxy (target: at least 0.8x on one core). Also with TLS, and the time for one changed Ingress
among 5,000 to take effect.
"""

from __future__ import annotations

from benchmarks.registry import Scenario, register

register(
    Scenario(
        name="ingress-http",
        family="ingress",
        what="kubesvc Ingress controller, one host/path rule to the nginx backend",
        unit="rps",
        group="http",
        anchor="http-nginx-proxy",
        issue=9,
    ),
    Scenario(
        name="ingress-https",
        family="ingress",
        what="kubesvc Ingress controller with TLS termination",
        unit="rps",
        group="http",
        issue=9,
    ),
    Scenario(
        name="ingress-reconfig",
        family="ingress",
        what="time for a change to 1 Ingress among 5,000 to take effect",
        unit="s",
        group="ingress-reconfig",
        issue=9,
    ),
)
