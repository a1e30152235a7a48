"""Small helpers around shared informers that several workload controllers use."""

from __future__ import annotations

from kubesvc.client.cache import IndexFunc
from kubesvc.client.informer import Informer

CONTROLLER_UID_INDEX = "controller-uid"
"""Objects filed under the uid of their controller (``pods.controller_uid_index``)."""


def ensure_indexer(informer: Informer, name: str, fn: IndexFunc) -> None:
    """Add an index unless another controller sharing the informer already did."""
    try:
        informer.add_indexer(name, fn)
    except ValueError:
        pass
