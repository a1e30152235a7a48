"""The scenario contract, the registry, and the pure choice of what to run in which order.

A ``Scenario`` is a named row of the results table. Its ``setup`` starts what it measures
(servers registered for clean-up on the given ExitStack) and returns a ``Probe`` that applies
load. Scenarios that share a ``group`` run together: their servers start once, then the runner
takes measurements in rounds (a, b, c, a, b, c, ...) so that system and anchor see the same
machine. A scenario names its ``anchor``: the row its ratio is computed against, which is always
measured in the same run (selecting a scenario selects its anchor).

Components that do not exist yet are registered with ``setup=None`` and the issue that adds
them; the runner lists them as not yet available and never invents their numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from typing import Protocol

from benchmarks import tools
from benchmarks.env import Env
from benchmarks.model import STATUS_OK, STATUS_SKIPPED, STATUS_UNAVAILABLE, Sample


class Probe(Protocol):
    """Applies load to a prepared scenario."""

    def fresh(self) -> AbstractContextManager[object]:
        """Resources that live for one measurement (its warm-up and its run), e.g. a fresh
        set of network namespaces so that conntrack starts empty."""
        ...

    def warm(self, seconds: int) -> None:
        """Apply load for ``seconds`` and throw the result away."""
        ...

    def measure(self, seconds: int) -> Sample:
        """Apply load for ``seconds`` and return what was measured."""
        ...


@dataclass(frozen=True)
class LoadProbe:
    """The usual probe: one load function; warm-up is the same load, thrown away."""

    load: Callable[[int], Sample]
    warm_load: Callable[[int], Sample] | None = None

    def fresh(self) -> AbstractContextManager[object]:
        return nullcontext()

    def warm(self, seconds: int) -> None:
        (self.warm_load or self.load)(seconds)

    def measure(self, seconds: int) -> Sample:
        return self.load(seconds)


@dataclass(frozen=True)
class Availability:
    """Whether a scenario can run here, and if not, why."""

    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


Setup = Callable[[Env, ExitStack], Probe]


@dataclass(frozen=True)
class Scenario:
    """One row of the results table."""

    name: str
    family: str
    """The module (under scenarios/) that owns it: http, dns, iperf, netns, proxy, ..."""
    what: str
    """What is measured, for the report's "what" column."""
    unit: str
    group: str
    """Scenarios of one group run interleaved, sharing fixtures."""
    setup: Setup | None = None
    anchor: str | None = None
    requires: tuple[str, ...] = ()
    """Commands that must be installed (see tools.TOOLS)."""
    needs_root: bool = False
    issue: int | None = None
    """The issue that adds (or added) the component measured."""
    check: Callable[[], Availability] | None = None
    """An extra availability check (e.g. an optional Python package)."""

    def available(self) -> Availability:
        if self.setup is None:
            added_by = f" (added by issue #{self.issue})" if self.issue else ""
            return Availability(STATUS_UNAVAILABLE, f"not yet available{added_by}")
        missing = tools.missing(self.requires)
        if missing:
            return Availability(
                STATUS_SKIPPED,
                f"missing {', '.join(t.command for t in missing)}: {tools.apt_line(missing)}",
            )
        if self.needs_root and os.geteuid() != 0:
            return Availability(
                STATUS_SKIPPED, "needs root (creates network namespaces and nftables rules)"
            )
        if self.check is not None:
            return self.check()
        return Availability(STATUS_OK)


_REGISTRY: dict[str, Scenario] = {}


def register(*scenarios: Scenario) -> None:
    """Add scenarios to the registry; report order is registration order."""
    for scenario in scenarios:
        if scenario.name in _REGISTRY:
            raise ValueError(f"scenario {scenario.name!r} registered twice")
        _REGISTRY[scenario.name] = scenario


def registered() -> list[Scenario]:
    """Every registered scenario (importing the scenario modules first)."""
    from benchmarks.scenarios import load  # the scenario modules import this one

    load()
    return list(_REGISTRY.values())


def select(scenarios: Sequence[Scenario], names: Iterable[str]) -> tuple[list[Scenario], list[str]]:
    """The scenarios ``names`` ask for, plus their anchors, in registry order.

    A name matches a scenario's name, family or group; no names means all. Returns the
    selection and the names that matched nothing.
    """
    wanted = list(names)
    by_name = {s.name: s for s in scenarios}
    chosen: set[str] = set()
    unknown = []
    if not wanted:
        chosen = set(by_name)
    for name in wanted:
        matches = {s.name for s in scenarios if name in (s.name, s.family, s.group)}
        if not matches:
            unknown.append(name)
        chosen |= matches
    pending = list(chosen)
    while pending:
        anchor = by_name[pending.pop()].anchor
        if anchor is not None and anchor in by_name and anchor not in chosen:
            chosen.add(anchor)
            pending.append(anchor)
    return [s for s in scenarios if s.name in chosen], unknown


def groups(scenarios: Sequence[Scenario]) -> list[list[Scenario]]:
    """``scenarios`` split by group, groups in order of first appearance."""
    order: dict[str, list[Scenario]] = {}
    for scenario in scenarios:
        order.setdefault(scenario.group, []).append(scenario)
    return list(order.values())
