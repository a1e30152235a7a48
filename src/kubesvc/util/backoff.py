"""Exponential back-off with optional jitter (pure; randomness injected).

``Backoff.next()`` returns the delay before the next attempt and grows it:
``initial``, ``initial*factor``, ... capped at ``cap``; ``reset()`` starts over
after a success. With ``jitter = j`` each delay is stretched by a random factor
in ``[1, 1 + j)``, so many clients that failed together do not retry together
(client-go's reflector uses jitter 1.0: delays up to twice the base).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    initial: float = 0.8
    """client-go's reflector starts at 800 ms."""
    cap: float = 30.0
    """... and waits at most 30 s between attempts."""
    factor: float = 2.0
    jitter: float = 0.0


class Backoff:
    def __init__(self, policy: BackoffPolicy, rng: random.Random | None = None) -> None:
        if policy.initial < 0 or policy.cap < 0 or policy.factor < 1 or policy.jitter < 0:
            raise ValueError(f"invalid back-off policy {policy}")
        self.policy = policy
        self._rng = rng or random.Random()
        self._current = policy.initial
        self.attempts = 0

    def next(self) -> float:
        """The delay to wait now; the following call returns a longer one."""
        p = self.policy
        delay = min(self._current, p.cap)
        self._current = min(self._current * p.factor, p.cap)
        self.attempts += 1
        if p.jitter:
            delay *= 1.0 + self._rng.random() * p.jitter
        return delay

    def reset(self) -> None:
        self._current = self.policy.initial
        self.attempts = 0
