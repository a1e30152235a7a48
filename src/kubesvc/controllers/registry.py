"""Every controller by name, with the factory that builds it (order is start order).

A factory takes the shared ``ControllerContext`` and returns a ``Controller``:
anything with ``name``, ``ready`` (an ``asyncio.Event``) and
``async run(stop: asyncio.Event)`` — ``kubesvc.client.controller.QueueController``
subclasses fit. ``kubesvc controllers --controllers a,b`` picks a subset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from kubesvc.controllers.context import ControllerContext


class Controller(Protocol):
    name: str
    ready: asyncio.Event

    async def run(self, stop: asyncio.Event) -> None: ...


Factory = Callable[[ControllerContext], Controller]

_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    if name in _FACTORIES:
        raise ValueError(f"controller {name!r} registered twice")
    _FACTORIES[name] = factory


def names() -> list[str]:
    _load_builtin()
    return list(_FACTORIES)


def factory(name: str) -> Factory:
    _load_builtin()
    try:
        return _FACTORIES[name]
    except KeyError:
        known = ", ".join(_FACTORIES)
        raise ValueError(f"unknown controller {name!r}; known: {known}") from None


def _load_builtin() -> None:
    """Import the built-in controller modules; each registers itself on import."""
    from kubesvc.controllers import builtin  # noqa: F401
