"""Runs the chosen scenarios: group by group, rounds alternating system and anchor, each
measurement warmed up and watched by the busy guard.

For each group: start the servers of every runnable scenario (``setup``), then for each round
1..N and each scenario in registry order: enter the probe's ``fresh()`` resources, warm up,
take a guard sample, measure, take another, and judge. A busy verdict repeats the measurement
(at most ``max_retries`` times, within a run-wide time budget); after that the sample is kept
and flagged. A scenario that fails is recorded as an error and the others go on. Everything a
group started ends when the group ends; the temp directory is removed at the end of the run.
Summaries and ratios are computed from the samples by ``finalize`` (pure).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import guard, machine, tools
from benchmarks.env import Env
from benchmarks.model import (
    STATUS_ERROR,
    STATUS_OK,
    RunResult,
    Sample,
    ScenarioResult,
)
from benchmarks.procs import Processes
from benchmarks.registry import Probe, Scenario, groups
from benchmarks.settings import RunSettings
from benchmarks.stats import ratio, summarize

logger = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass
class RetryBudget:
    """Seconds the whole run may still spend repeating busy measurements."""

    remaining_s: float

    def allows(self, seconds: float) -> bool:
        return self.remaining_s >= seconds

    def spend(self, seconds: float) -> None:
        self.remaining_s -= seconds


@dataclass
class Progress:
    """Measurements done so far out of all planned, for the console."""

    done: int
    total: int


@dataclass
class _Outcome:
    scenario: Scenario
    samples: list[Sample] = field(default_factory=list)
    status: str = STATUS_OK
    reason: str = ""


def measure_guarded(
    env: Env, probe: Probe, budget: RetryBudget, *, name: str, say: Say, settle_s: float = 1.0
) -> Sample:
    """One measurement: fresh resources, warm-up, then the run under the busy guard.

    Before a repeat it pauses ``settle_s`` seconds (counted against the budget), to let a
    burst of someone else's work pass.
    """
    settings = env.settings
    with probe.fresh():
        if settings.warmup_s > 0:
            probe.warm(settings.warmup_s)
        attempt = 1
        while True:
            before = guard.take_sample(env.procs.pgids)
            started = time.monotonic()
            sample = probe.measure(settings.duration_s)
            after = guard.take_sample(env.procs.pgids)
            verdict = guard.assess(
                before,
                after,
                settings.cpus,
                settings.foreign_threshold,
                settings.steal_threshold,
            )
            sample = dataclasses.replace(sample, guard=verdict, attempts=attempt)
            elapsed = time.monotonic() - started
            if not verdict.busy:
                return sample
            if attempt > settings.max_retries or not budget.allows(elapsed + settle_s):
                say(f"  {name}: machine busy, kept and flagged ({verdict.reason})")
                return sample
            say(f"  {name}: machine busy, repeating ({verdict.reason})")
            budget.spend(elapsed + settle_s)
            time.sleep(settle_s)
            attempt += 1


def _run_group(
    env: Env,
    outcomes: Sequence[_Outcome],
    budget: RetryBudget,
    say: Say,
    progress: Progress,
) -> None:
    settings = env.settings
    with ExitStack() as stack:
        env.begin_group(stack)
        try:
            probes: dict[str, Probe] = {}
            for outcome in outcomes:
                name = outcome.scenario.name
                setup = outcome.scenario.setup
                if setup is None:
                    continue  # not runnable; filtered out by the caller
                try:
                    probes[name] = setup(env, stack)
                except Exception as exc:
                    logger.debug("scenario setup failed name=%s", name, exc_info=True)
                    outcome.status, outcome.reason = STATUS_ERROR, f"setup failed: {exc}"
                    say(f"  {name}: {outcome.reason}")
            by_name = {o.scenario.name: o for o in outcomes}
            for round_index in range(settings.repetitions):
                for name in list(probes):
                    outcome = by_name[name]
                    progress.done += 1
                    try:
                        sample = measure_guarded(env, probes[name], budget, name=name, say=say)
                    except Exception as exc:
                        logger.debug("measurement failed name=%s", name, exc_info=True)
                        outcome.status, outcome.reason = STATUS_ERROR, f"run failed: {exc}"
                        say(f"  {name}: {outcome.reason}")
                        del probes[name]
                        continue
                    outcome.samples.append(sample)
                    say(
                        f"[{progress.done:3d}/{progress.total}] {name} round "
                        f"{round_index + 1}/{settings.repetitions}: "
                        f"{_brief(sample, outcome.scenario.unit)}"
                    )
        finally:
            env.end_group()


def _brief(sample: Sample, unit: str) -> str:
    text = f"{sample.value:,.1f} {unit}"
    if sample.p99_ms is not None:
        text += f", p50 {sample.p50_ms:.3f} ms, p99 {sample.p99_ms:.3f} ms"
    if sample.errors:
        text += f", {sample.errors} errors"
    if sample.guard is not None:
        text += f" (others {sample.guard.foreign_share:.1%}, steal {sample.guard.steal_share:.1%})"
    return text


def finalize(outcomes: Sequence[_Outcome]) -> list[ScenarioResult]:
    """Summaries and ratios to anchors, from the samples (pure)."""
    summaries = {
        o.scenario.name: summarize(
            [s.value for s in o.samples],
            [s.p50_ms for s in o.samples],
            [s.p99_ms for s in o.samples],
        )
        for o in outcomes
        if o.samples
    }
    results = []
    for o in outcomes:
        s = o.scenario
        summary = summaries.get(s.name)
        anchor = summaries.get(s.anchor) if s.anchor else None
        results.append(
            ScenarioResult(
                name=s.name,
                family=s.family,
                what=s.what,
                unit=s.unit,
                anchor=s.anchor,
                status=o.status,
                reason=o.reason,
                samples=tuple(o.samples),
                summary=summary,
                ratio=ratio(summary.median if summary else None, anchor.median if anchor else None),
                issue=s.issue,
            )
        )
    return results


@dataclass
class Run:
    """What ``run`` returns: the result, and every process group it started (for checks)."""

    result: RunResult
    process_groups: frozenset[int]


def run(
    chosen: Sequence[Scenario],
    settings: RunSettings,
    *,
    say: Say = print,
    tmp_root: Path | None = None,
    record: Path | None = None,
) -> Run:
    """Run ``chosen`` (anchors included by the caller) and return the results."""
    started = time.monotonic()
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    outcomes = [_Outcome(s) for s in chosen]
    runnable = []
    for outcome in outcomes:
        availability = outcome.scenario.available()
        if availability.ok:
            runnable.append(outcome)
        else:
            outcome.status, outcome.reason = availability.status, availability.reason
    progress = Progress(0, len(runnable) * settings.repetitions)
    budget = RetryBudget(settings.retry_budget_s)
    previous_affinity = os.sched_getaffinity(0)
    with (
        tempfile.TemporaryDirectory(prefix="kubesvc-bench-", dir=tmp_root) as tmp,
        Processes(_logs(Path(tmp)), record=record) as procs,
    ):
        env = Env(tmp=Path(tmp), procs=procs, settings=settings)
        # Keep our own CPU time on the cores the guard watches (see guard.py).
        os.sched_setaffinity(0, settings.cpus)
        try:
            for group in groups([o.scenario for o in runnable]):
                names = {s.name for s in group}
                _run_group(
                    env, [o for o in runnable if o.scenario.name in names], budget, say, progress
                )
        finally:
            os.sched_setaffinity(0, previous_affinity)
        procs.stop_all()
        history = procs.history
        leftovers = procs.leftovers()
    if leftovers:
        say(f"WARNING: processes outlived the run: {leftovers}")
    result = RunResult(
        mode=settings.mode,
        date=date,
        duration_s=round(time.monotonic() - started, 1),
        machine=machine.describe(),
        tools=tools.versions(),
        settings=dataclasses.asdict(settings),
        scenarios=tuple(finalize(outcomes)),
        leftover_processes=tuple(leftovers),
    )
    return Run(result=result, process_groups=history)


def _logs(tmp: Path) -> Path:
    path = tmp / "logs"
    path.mkdir()
    return path
