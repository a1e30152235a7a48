"""The garbage collector: background, foreground and orphan deletion over ownerReferences.

``decide`` holds the rules (pure); ``controller`` watches every resource and
acts. Registers ``garbagecollector`` on import.
"""

from __future__ import annotations

from kubesvc.controllers import registry
from kubesvc.controllers.garbagecollector.controller import GarbageCollector

registry.register("garbagecollector", GarbageCollector)
