"""The runner's logic: ratios from summaries, and repeats when the guard says busy."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchmarks import runner
from benchmarks.env import Env
from benchmarks.guard import CpuTicks, GuardSample
from benchmarks.model import STATUS_OK, STATUS_UNAVAILABLE, Sample
from benchmarks.procs import Processes
from benchmarks.registry import Scenario
from benchmarks.runner import RetryBudget, _Outcome, finalize, measure_guarded
from benchmarks.settings import RunSettings


def _scenario(name: str, anchor: str | None = None) -> Scenario:
    return Scenario(name=name, family="f", what=name, unit="rps", group="g", anchor=anchor)


def _samples(*values: float) -> list[Sample]:
    return [Sample(value=v, p50_ms=0.1, p99_ms=1.0) for v in values]


def test_finalize_ratio_of_medians_to_anchor() -> None:
    results = finalize(
        [
            _Outcome(_scenario("direct"), _samples(100.0, 80.0, 120.0)),
            _Outcome(_scenario("proxy", "direct"), _samples(40.0, 50.0, 60.0)),
            _Outcome(_scenario("orphan", "missing"), _samples(10.0)),
            _Outcome(_scenario("planned", "direct"), [], STATUS_UNAVAILABLE, "not yet"),
        ]
    )
    by_name = {r.name: r for r in results}
    assert by_name["direct"].ratio is None
    assert by_name["direct"].summary is not None
    assert by_name["direct"].summary.median == 100.0
    assert by_name["proxy"].ratio == pytest.approx(0.5)
    assert by_name["orphan"].ratio is None
    assert by_name["planned"].summary is None
    assert by_name["planned"].status == STATUS_UNAVAILABLE


def _guard_sample(elapsed: int, busy: int, ours: int) -> GuardSample:
    """Two cores, ``elapsed`` ticks each; ``busy`` busy ticks on core 0, ``ours`` of them ours."""
    return GuardSample(
        cpus={
            0: CpuTicks(busy=busy, idle=elapsed - busy, steal=0),
            1: CpuTicks(busy=0, idle=elapsed, steal=0),
        },
        ours=ours,
        kernel=0,
        loadavg=0.0,
    )


START = _guard_sample(0, 0, 0)
QUIET = (START, _guard_sample(1000, 500, 500))
BUSY = (START, _guard_sample(1000, 900, 500))  # 400 of 2000 ticks were others'


@dataclass
class FakeProbe:
    values: Iterator[float]
    warmed: list[int] = field(default_factory=list)
    measured: list[int] = field(default_factory=list)

    def fresh(self) -> AbstractContextManager[object]:
        return nullcontext()

    def warm(self, seconds: int) -> None:
        self.warmed.append(seconds)

    def measure(self, seconds: int) -> Sample:
        self.measured.append(seconds)
        return Sample(value=next(self.values))


def _env(tmp_path: Path, warmup_s: int = 1) -> Env:
    settings = RunSettings(duration_s=3, warmup_s=warmup_s, max_retries=2)
    return Env(tmp=tmp_path, procs=Processes(tmp_path), settings=settings)


@pytest.mark.parametrize(
    ("verdicts", "budget", "attempts", "value", "busy"),
    [
        pytest.param([QUIET], 100.0, 1, 1.0, False, id="quiet-first-time"),
        pytest.param([BUSY, QUIET], 100.0, 2, 2.0, False, id="busy-then-repeated"),
        pytest.param([BUSY, BUSY, BUSY], 100.0, 3, 3.0, True, id="stays-busy-kept-and-flagged"),
        pytest.param([BUSY], 0.0, 1, 1.0, True, id="no-budget-left-flags-at-once"),
    ],
)
def test_measure_guarded(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    verdicts: list[tuple[GuardSample, GuardSample]],
    budget: float,
    attempts: int,
    value: float,
    busy: bool,
) -> None:
    readings = iter([sample for pair in verdicts for sample in pair])
    monkeypatch.setattr("benchmarks.guard.take_sample", lambda pgids: next(readings))
    probe = FakeProbe(values=iter([1.0, 2.0, 3.0]))
    said: list[str] = []
    sample = measure_guarded(
        _env(tmp_path), probe, RetryBudget(budget), name="s", say=said.append, settle_s=0.0
    )
    assert sample.attempts == attempts
    assert sample.value == value
    assert sample.guard is not None and sample.guard.busy is busy
    assert probe.warmed == [1]  # one warm-up, not one per repeat
    assert probe.measured == [3] * attempts
    assert bool(said) is (attempts > 1 or busy)


def test_no_warmup_when_zero(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    readings = iter(QUIET)
    monkeypatch.setattr("benchmarks.guard.take_sample", lambda pgids: next(readings))
    probe = FakeProbe(values=iter([5.0]))
    env = _env(tmp_path, warmup_s=0)
    measure_guarded(env, probe, RetryBudget(0.0), name="s", say=lambda text: None, settle_s=0.0)
    assert probe.warmed == []


def test_run_reports_unavailable_without_starting_anything(tmp_path: Path) -> None:
    done = runner.run(
        [_scenario("planned")],
        RunSettings(duration_s=1, repetitions=1, warmup_s=0),
        say=lambda text: None,
        tmp_root=tmp_path,
    )
    (result,) = done.result.scenarios
    assert result.status == STATUS_UNAVAILABLE
    assert done.process_groups == frozenset()
    assert list(tmp_path.iterdir()) == []  # the run's temp directory is gone


def test_run_measures_in_alternating_rounds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    readings = itertools.cycle(QUIET)
    monkeypatch.setattr("benchmarks.guard.take_sample", lambda pgids: next(readings))
    order: list[str] = []

    def setup_for(name: str, value: float) -> Scenario:
        def setup(env: Env, stack: object) -> FakeProbe:
            probe = FakeProbe(values=iter([value] * 10))
            original = probe.measure

            def measure(seconds: int) -> Sample:
                order.append(name)
                return original(seconds)

            probe.measure = measure  # type: ignore[method-assign]
            return probe

        return Scenario(
            name=name,
            family="f",
            what=name,
            unit="rps",
            group="g",
            setup=setup,
            anchor=None if name == "a" else "a",
        )

    done = runner.run(
        [setup_for("a", 100.0), setup_for("b", 50.0)],
        RunSettings(duration_s=1, repetitions=3, warmup_s=0),
        say=lambda text: None,
        tmp_root=tmp_path,
    )
    assert order == ["a", "b", "a", "b", "a", "b"]
    by_name = {r.name: r for r in done.result.scenarios}
    assert by_name["b"].status == STATUS_OK
    assert by_name["b"].ratio == pytest.approx(0.5)
    assert len(by_name["a"].samples) == 3
