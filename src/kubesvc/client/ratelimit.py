"""Per-key retry delays for the work queue (pure; no clock needed).

``ExponentialRateLimiter`` is client-go's ``ItemExponentialFailureRateLimiter``:
the n-th failure of a key in a row waits ``base * 2**n`` seconds, capped at
``cap``; ``forget(key)`` (after a success) starts that key over. Keys are
independent, so one failing object never slows the others down.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol


class RateLimiter(Protocol):
    def when(self, key: Hashable) -> float:
        """The delay before retrying ``key`` now; counts one more failure."""
        ...

    def forget(self, key: Hashable) -> None:
        """Stop tracking ``key`` (it succeeded or was given up)."""
        ...

    def num_requeues(self, key: Hashable) -> int:
        """Failures counted for ``key`` since it was last forgotten."""
        ...


class ExponentialRateLimiter:
    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        """client-go's controller defaults: 5 ms doubling up to 1000 s."""
        if base < 0 or cap < base:
            raise ValueError(f"need 0 <= base <= cap, got base={base} cap={cap}")
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        if n >= 64:  # 2**n would overflow a float long before; the cap applies anyway
            return self.cap
        return min(self.base * 2.0**n, self.cap)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)
