"""Watch fan-out shared by the storage backends.

A backend commits a write, then calls ``Broadcaster.publish(event)``
synchronously (no ``await`` in between), so events reach the broadcaster in
revision order, one per revision. The broadcaster keeps:

* a ring buffer of the last ``capacity`` events, indexed by revision, and
* the live subscriptions, indexed by prefix, so a publish costs one dict
  look-up per distinct prefix length plus one append per matching subscriber.

Theory of operation of one subscription (a ``Watch``), which holds ``next``,
the first revision it has not yet handed out or queued:

1. *Catching up* (not registered with the broadcaster): each step reads the
   events in ``[next, next + batch)`` up to the broadcaster's last revision,
   from the ring buffer when it still holds ``next``, otherwise from the
   backend's ``CatchUp`` callable (its log). When ``next`` passes the last
   published revision, the subscription registers itself; this check and the
   registration run without an ``await`` in between, so no event falls between
   replay and live delivery (no gaps) and none is seen twice (no duplicates).
2. *Live*: ``publish`` appends matching events to the subscription's queue
   and wakes its reader. When the queue grows past ``max_pending`` (the reader
   is slower than the writers), the subscription drops its queue, unregisters
   and goes back to catching up from the first event it dropped. Writers never
   wait for readers and memory stays bounded; a reader that falls behind so far
   that the backend compacted the revisions it still needs ends with
   ``Compacted``, and its client re-lists.

``Watch.close()`` (or ``Broadcaster.close()``) ends the iteration at once,
dropping whatever was queued.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from kubesvc.storage.interface import Event, StorageError

log = logging.getLogger(__name__)

CatchUp = Callable[[str, int, int], Sequence[Event]]
"""``catch_up(prefix, after, upto)``: the events for keys under ``prefix`` with
``after < revision <= upto``, in revision order. Raises ``Compacted`` when
``after`` is below the backend's compacted revision. Called on the event loop
with ranges of at most ``BroadcastSettings.catch_up_batch`` revisions."""


@dataclass(frozen=True, slots=True)
class BroadcastSettings:
    capacity: int = 10_000
    """Events kept in memory for new and lagging watches. Older ones come from the
    backend's log, which costs a read; 10,000 covers a watch re-established after
    a short disconnect on a busy server."""
    max_pending: int = 4096
    """Events queued for one live watch before it is switched back to catching up
    (from the ring buffer, so the switch itself is cheap). Bounds memory per watch."""
    catch_up_batch: int = 512
    """Revisions read per catch-up step; keeps each synchronous read short."""


class Subscription:
    """One watch on a ``Broadcaster``; implements the ``Watch`` protocol."""

    __slots__ = (
        "__weakref__",
        "_closed",
        "_error",
        "_hub",
        "_live",
        "_next",
        "_pending",
        "_waiter",
        "prefix",
    )

    def __init__(self, hub: Broadcaster, prefix: str, after: int) -> None:
        self._hub = hub
        self.prefix = prefix
        self._next = after + 1
        self._pending: deque[Event] = deque()
        self._live = False
        self._closed = False
        self._error: StorageError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._pending:
                return self._pending.popleft()
            if self._error is not None:
                error, self._error = self._error, None
                self.close()
                raise error
            if self._live:
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            else:
                self._catch_up_step()
                if not self._pending and not self._live:
                    # A stretch with nothing under our prefix: let others run.
                    await asyncio.sleep(0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pending.clear()
        if self._live:
            self._hub._unregister(self)
            self._live = False
        self._wake()

    # -- called by the broadcaster --------------------------------------------

    def _catch_up_step(self) -> None:
        hub = self._hub
        last = hub.last_revision
        if self._next > last:
            hub._register(self)
            self._live = True
            return
        upto = min(last, self._next + hub.settings.catch_up_batch - 1)
        try:
            events, upto = hub._replay(self.prefix, self._next, upto)
        except StorageError as exc:
            self._error = exc
            return
        self._pending.extend(events)
        self._next = upto + 1

    def _deliver(self, event: Event) -> bool:
        """Queue a live event; False when the queue overflowed and we unregistered."""
        if event.revision < self._next:
            return True  # a watch that started at a future revision
        self._pending.append(event)
        self._next = event.revision + 1
        if len(self._pending) > self._hub.settings.max_pending:
            log.debug("watch fell behind; catching up from the buffer")
            self._next = self._pending[0].revision
            self._pending.clear()
            self._live = False
            self._wake()
            return False
        self._wake()
        return True

    def _end(self) -> None:
        """The broadcaster is closing: end like ``close`` but leave the index alone."""
        self._live = False
        self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Broadcaster:
    """Ring buffer of recent events plus the live subscriptions.

    ``revision`` is the store's current revision when the broadcaster is made:
    the buffer starts empty and everything up to it comes from ``catch_up``.
    """

    def __init__(
        self, revision: int, catch_up: CatchUp, settings: BroadcastSettings | None = None
    ) -> None:
        self.settings = settings or BroadcastSettings()
        if self.settings.capacity < 1 or self.settings.max_pending < 1:
            raise ValueError("capacity and max_pending must be positive")
        self._catch_up = catch_up
        self._ring: list[Event | None] = [None] * self.settings.capacity
        self._floor = revision  # the buffer holds the revisions in (floor, last]
        self.last_revision = revision
        self._by_prefix: dict[str, dict[Subscription, None]] = {}
        self._length_counts: Counter[int] = Counter()
        self._lengths: list[int] = []
        self._all: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self._closed = False

    def subscribe(self, prefix: str, after: int) -> Subscription:
        """A watch on keys under ``prefix`` for the events after revision ``after``.

        The caller (the backend) has already checked ``after`` against its
        compacted revision."""
        sub = Subscription(self, prefix, after)
        if self._closed:
            sub.close()
        else:
            self._all.add(sub)
        return sub

    def publish(self, event: Event) -> None:
        """Record a committed event and hand it to the matching live watches."""
        rev = event.revision
        if rev != self.last_revision + 1:
            # Never happens with a well-behaved backend; stay correct anyway by
            # sending everything before this event through catch-up.
            log.warning("non-contiguous revision published; buffer reset")
            self._floor = rev - 1
        self._ring[rev % self.settings.capacity] = event
        self.last_revision = rev
        self._floor = max(self._floor, rev - self.settings.capacity)
        key = event.kv.key
        overflowed: list[Subscription] = []
        for length in self._lengths:
            if length > len(key):
                break
            subs = self._by_prefix.get(key[:length])
            if subs:
                overflowed.extend(sub for sub in subs if not sub._deliver(event))
        for sub in overflowed:
            self._unregister(sub)

    def close(self) -> None:
        """End every watch; later ``subscribe`` calls return ended watches."""
        self._closed = True
        for sub in list(self._all):
            sub._end()
        self._by_prefix.clear()
        self._length_counts.clear()
        self._lengths = []

    @property
    def watcher_count(self) -> int:
        """Live (registered) watches; for metrics and tests."""
        return sum(len(subs) for subs in self._by_prefix.values())

    # -- used by subscriptions ------------------------------------------------

    def _replay(self, prefix: str, first: int, upto: int) -> tuple[Sequence[Event], int]:
        """Events under ``prefix`` from revision ``first`` on: from the buffer when it
        holds ``first`` (up to ``upto``), else from the log up to where the buffer
        begins. Returns them with the last revision covered."""
        if first > self._floor:
            capacity = self.settings.capacity
            ring = self._ring
            events: list[Event] = []
            for rev in range(first, upto + 1):
                ev = ring[rev % capacity]
                if ev is not None and ev.kv.key.startswith(prefix):
                    events.append(ev)
            return events, upto
        upto = min(upto, self._floor)
        return self._catch_up(prefix, first - 1, upto), upto

    def _register(self, sub: Subscription) -> None:
        prefix = sub.prefix
        subs = self._by_prefix.get(prefix)
        if subs is None:
            subs = self._by_prefix[prefix] = {}
            self._length_counts[len(prefix)] += 1
            self._lengths = sorted(self._length_counts)
        subs[sub] = None

    def _unregister(self, sub: Subscription) -> None:
        prefix = sub.prefix
        subs = self._by_prefix.get(prefix)
        if subs is None or sub not in subs:
            return
        del subs[sub]
        if not subs:
            del self._by_prefix[prefix]
            self._length_counts[len(prefix)] -= 1
            if not self._length_counts[len(prefix)]:
                del self._length_counts[len(prefix)]
            self._lengths = sorted(self._length_counts)
