"""The API server: request throughput and latency over HTTP with the sqlite store.

The ``apiserver`` scenario starts kubesvc's API server (sqlite storage in the run's temporary
directory) pinned to the server core and drives it from the load core. It measures:

- creates per second of 10,000 ConfigMaps and Services, with p50/p99 latency per create;
- get latency (p50/p99) of single objects;
- the time to list all 10,000 objects;
- watch delivery: p99 of the delay from an acknowledged write to the event reaching a client
  that watches the collection;
- resident memory of the server process with 10,000 Services stored.

The aim (issue #2) is thousands of writes per second and sub-10 ms watch delivery on a 2-core
machine. There is no external anchor for these rows: they are tracked run to run. The primary
figure of the row is creates per second; the other figures go into the sample's ``extra``.
"""

from __future__ import annotations

from benchmarks.registry import Scenario, register

register(
    Scenario(
        name="apiserver",
        family="apiserver",
        what="API server over HTTP, sqlite store: 10,000 creates, get, list, watch delivery, RSS",
        unit="creates/s",
        group="apiserver",
        setup=None,
        issue=2,
    ),
)
