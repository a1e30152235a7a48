"""Run settings: how long, how often and on which cores each measurement runs."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RunSettings:
    """One benchmark run's knobs; the defaults are the full run of BENCHMARKS.md."""

    mode: str = "full"
    """``full`` (writes latest.json and BENCHMARKS.md) or ``quick`` (writes quick.json)."""
    duration_s: int = 10
    """Length of one measurement; wrk and iperf3 take whole seconds. 10 s keeps the spread of
    the anchors within a few percent while a full run stays well under 15 minutes."""
    repetitions: int = 3
    """Measurements per scenario, taken in rounds that alternate system and anchor."""
    warmup_s: int = 2
    """Load applied (and thrown away) before each measurement: fills caches, connection pools
    and the conntrack table, and lets CPU frequency settle. 0 disables it."""
    server_cpu: int = 0
    """Core for every server, proxy and backend (``taskset -c``)."""
    load_cpu: int = 1
    """Core for the load generator (wrk, dnsperf, iperf3 client)."""
    max_retries: int = 2
    """How often one measurement is repeated when the busy guard flags it."""
    retry_budget_s: float = 60.0
    """Total time the whole run may spend on repeats, so that a machine that stays busy cannot
    push a full run past its 15-minute bound; after that, runs are flagged instead. A quiet
    full run with the API server and controller scenarios takes about 13 minutes."""
    foreign_threshold: float = 0.05
    """Share of the watched cores' time other processes may use before a run counts as busy.
    Kernel threads and our own processes do not count; see guard.py."""
    steal_threshold: float = 0.10
    """Share of the watched cores' time the hypervisor may steal before a run counts as busy."""
    ready_timeout_s: float = 10.0
    """How long a server may take to listen on its port."""

    @property
    def cpus(self) -> frozenset[int]:
        """The cores the guard watches: the ones we pin to."""
        return frozenset({self.server_cpu, self.load_cpu})

    def with_overrides(
        self,
        *,
        duration_s: int | None = None,
        repetitions: int | None = None,
        warmup_s: int | None = None,
    ) -> RunSettings:
        """These settings with the command line's explicit values applied."""
        return replace(
            self,
            duration_s=self.duration_s if duration_s is None else duration_s,
            repetitions=self.repetitions if repetitions is None else repetitions,
            warmup_s=self.warmup_s if warmup_s is None else warmup_s,
        )


FULL = RunSettings()
QUICK = RunSettings(
    mode="quick", duration_s=2, repetitions=1, warmup_s=1, max_retries=1, retry_budget_s=15.0
)


def pick_cpus(available: set[int]) -> tuple[int, int]:
    """The server core and the load core out of the cores this process may use.

    The two lowest-numbered cores; on a one-core machine both share it (numbers then only
    compare systems that share the same handicap).
    """
    ordered = sorted(available)
    if not ordered:
        return 0, 0
    if len(ordered) == 1:
        return ordered[0], ordered[0]
    return ordered[0], ordered[1]
