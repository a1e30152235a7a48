"""Expectations: creations and deletions a controller has asked for and not yet seen.

A controller's cache lags behind its own writes. Without bookkeeping, a sync
that runs before the informer has delivered the pods it just created would
create them again. So, as upstream's ``UIDTrackingControllerExpectations``:

* before creating ``n`` pods, ``expect_creations(key, n)``; each pod ADDED
  event for that controller calls ``creation_observed(key)``;
* before deleting pods, ``expect_deletions(key, pod_keys)``; each DELETED event
  (or a pod seen with a ``deletionTimestamp``) calls ``deletion_observed``;
* a write that failed is never observed, so the controller lowers the
  expectation itself (``creation_observed``/``deletion_observed``);
* ``satisfied(key)`` is true when nothing is pending, when nothing was ever
  recorded, or when the record is older than ``ttl`` (a missed event must not
  block the controller forever: upstream's 5 minutes).

Only the work queue's single worker for a key and the informer handlers touch
an entry; everything runs on one event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kubesvc.util.clock import Clock

EXPECTATIONS_TTL = 300.0
"""Upstream's ExpectationsTimeout."""


@dataclass(slots=True)
class _Entry:
    adds: int
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0


class Expectations:
    def __init__(self, clock: Clock, ttl: float = EXPECTATIONS_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._entries: dict[str, _Entry] = {}

    def satisfied(self, key: str) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            return True
        if entry.adds <= 0 and not entry.deletes:
            return True
        return self.clock.monotonic() - entry.at > self.ttl

    def expect_creations(self, key: str, count: int) -> None:
        self._entries[key] = _Entry(count, set(), self.clock.monotonic())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        self._entries[key] = _Entry(0, set(pod_keys), self.clock.monotonic())

    def creation_observed(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.adds > 0:
            entry.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.deletes.discard(pod_key)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected (for tests and logs)."""
        entry = self._entries.get(key)
        return (max(entry.adds, 0), len(entry.deletes)) if entry else (0, 0)
