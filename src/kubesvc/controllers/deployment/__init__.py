"""The Deployment controller: ReplicaSets per pod template, rolling updates, revisions.

``reconcile`` (pure) holds the algorithm and its steps; ``util`` the
annotations, fenceposts and conditions; ``controller`` the informers and the
writes. Registers ``deployment`` on import.
"""

from __future__ import annotations

from kubesvc.controllers import registry
from kubesvc.controllers.deployment.controller import DeploymentController

registry.register("deployment", DeploymentController)
