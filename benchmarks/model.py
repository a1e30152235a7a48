"""The results' data model: one measurement (Sample), one scenario's outcome, one whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.guard import Verdict
from benchmarks.stats import Summary


@dataclass(frozen=True)
class Sample:
    """One measurement of one scenario."""

    value: float
    """Throughput in the scenario's unit (requests/s, queries/s, Gbit/s, ...)."""
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    """Failed requests, lost queries: a run with errors is flagged in the report."""
    extra: dict[str, float] = field(default_factory=dict)
    """Everything else the tool reported, kept in the JSON for the curious."""
    latency_note: str = ""
    guard: Verdict | None = None
    attempts: int = 1
    """1 + how often the guard made us repeat this measurement."""


STATUS_OK = "ok"
STATUS_SKIPPED = "skipped"
"""Could run in principle, but not here (a tool is missing, or we are not root)."""
STATUS_UNAVAILABLE = "unavailable"
"""The component it measures does not exist yet."""
STATUS_ERROR = "error"


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's outcome in a run."""

    name: str
    family: str
    what: str
    unit: str
    anchor: str | None
    status: str
    reason: str = ""
    samples: tuple[Sample, ...] = ()
    summary: Summary | None = None
    ratio: float | None = None
    """Median throughput over the anchor's median throughput, measured in the same run."""
    issue: int | None = None

    @property
    def flags(self) -> list[str]:
        """Why a reader should distrust this row, if anything."""
        found = []
        if any(s.guard is not None and s.guard.busy for s in self.samples):
            found.append("busy")
        if any(s.errors for s in self.samples):
            found.append("errors")
        return found


@dataclass(frozen=True)
class RunResult:
    """A whole run: when, where, with what, and every scenario's outcome."""

    mode: str
    date: str
    duration_s: float
    machine: dict[str, Any]
    tools: dict[str, str]
    settings: dict[str, Any]
    scenarios: tuple[ScenarioResult, ...]
    leftover_processes: tuple[int, ...] = ()
    """Processes of ours found alive after the run ended everything: should be empty."""
