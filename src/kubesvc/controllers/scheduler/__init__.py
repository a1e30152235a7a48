"""The scheduler: binds pending pods to nodes (``decide`` is pure, ``controller`` binds).

Registers ``scheduler`` on import.
"""

from __future__ import annotations

from kubesvc.controllers import registry
from kubesvc.controllers.scheduler.controller import Scheduler

registry.register("scheduler", Scheduler)
