"""Result formatting: numbers, the Markdown table and the JSON document."""

from __future__ import annotations

import json

import pytest

from benchmarks.guard import Verdict
from benchmarks.model import STATUS_ERROR, STATUS_OK, STATUS_UNAVAILABLE, RunResult, Sample
from benchmarks.model import ScenarioResult as Result
from benchmarks.report import (
    extra_rows,
    fmt_ms,
    fmt_value,
    not_run_rows,
    render_markdown,
    table_rows,
    to_json,
)
from benchmarks.stats import summarize


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(187257.4, "187,257", id="thousands"),
        pytest.param(207.6, "208", id="hundreds"),
        pytest.param(14.23, "14.2", id="tens"),
        pytest.param(8.016, "8.02", id="units"),
    ],
)
def test_fmt_value(value: float, text: str) -> None:
    assert fmt_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(None, "", id="unknown"),
        pytest.param(0.1254, "0.125", id="sub-ms"),
        pytest.param(1.3111, "1.31", id="ms"),
        pytest.param(17.04, "17.0", id="tens-of-ms"),
    ],
)
def test_fmt_ms(value: float | None, text: str) -> None:
    assert fmt_ms(value) == text


QUIET = Verdict(
    busy=False,
    foreign_share=0.01,
    steal_share=0.0,
    kernel_share=0.02,
    ours_share=0.9,
    loadavg_before=0.5,
    loadavg_after=1.5,
)
BUSY = Verdict(
    busy=True,
    foreign_share=0.2,
    steal_share=0.0,
    kernel_share=0.0,
    ours_share=0.7,
    loadavg_before=0.5,
    loadavg_after=1.5,
    reason="other processes used 20% of the measured cores",
)


def _result(
    name: str,
    values: list[float],
    *,
    anchor: str | None = None,
    ratio: float | None = None,
    guard: Verdict = QUIET,
    errors: int = 0,
    status: str = STATUS_OK,
    reason: str = "",
) -> Result:
    samples = tuple(
        Sample(value=v, p50_ms=0.5, p99_ms=1.25, errors=errors, guard=guard) for v in values
    )
    return Result(
        name=name,
        family="http",
        what="what | it is",
        unit="rps",
        anchor=anchor,
        status=status,
        reason=reason,
        samples=samples,
        summary=summarize(values, [0.5] * len(values), [1.25] * len(values)) if values else None,
        ratio=ratio,
    )


DIRECT = _result("http-direct", [100000.0, 90000.0, 110000.0])
PROXY = _result("http-proxy", [50000.0, 60000.0, 55000.0], anchor="http-direct", ratio=0.55)
FLAGGED = _result("http-flagged", [1000.0], guard=BUSY, errors=3)
MISSING = _result("proxy-userspace", [], status=STATUS_UNAVAILABLE, reason="not yet available")
BROKEN = _result("http-broken", [], status=STATUS_ERROR, reason="setup failed:\nline two")


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip("|").split(" | ")]


def test_table_row_has_every_column() -> None:
    rows = table_rows([DIRECT, PROXY])
    assert _cells(rows[0]) == [
        "scenario",
        "what",
        "unit",
        "median",
        "min\N{EN DASH}max",
        "p50 ms",
        "p99 ms",
        "ratio",
    ]
    assert _cells(rows[2]) == [
        "http-direct",
        "what \\| it is",
        "rps",
        "100,000",
        "90,000\N{EN DASH}110,000",
        "0.500",
        "1.25",
        "",
    ]
    assert _cells(rows[3])[-1] == "0.55x http-direct"


def test_table_marks_busy_and_errors_and_skips_rows_without_numbers() -> None:
    rows = table_rows([FLAGGED, MISSING, BROKEN])
    assert len(rows) == 3
    assert _cells(rows[2])[0] == "http-flagged [busy] [errors]"


def test_not_run_rows_are_one_line_each() -> None:
    rows = not_run_rows([DIRECT, MISSING, BROKEN])
    assert len(rows) == 4
    assert _cells(rows[2])[:3] == ["proxy-userspace", "what \\| it is", "unavailable"]
    assert _cells(rows[3])[3] == "setup failed: line two"
    assert not_run_rows([DIRECT]) == []


RUN = RunResult(
    mode="full",
    date="2026-11-25T20:00:00+00:00",
    duration_s=540.0,
    machine={"cpu_model": "Test CPU", "cores": 2, "memory_bytes": 2**34, "kernel": "6.1"},
    tools={"nginx": "1.22.1", "wrk": "4.1.0"},
    settings={"duration_s": 10, "repetitions": 3, "warmup_s": 2, "server_cpu": 0, "load_cpu": 1},
    scenarios=(DIRECT, PROXY, FLAGGED, MISSING),
)


def test_json_round_trips_with_samples_summary_and_machine() -> None:
    data = json.loads(json.dumps(to_json(RUN)))
    assert data["machine"]["cpu_model"] == "Test CPU"
    assert data["tools"]["nginx"] == "1.22.1"
    by_name = {s["name"]: s for s in data["scenarios"]}
    proxy = by_name["http-proxy"]
    assert [s["value"] for s in proxy["samples"]] == [50000.0, 60000.0, 55000.0]
    assert proxy["summary"]["median"] == 55000.0
    assert proxy["ratio"] == 0.55
    assert proxy["samples"][0]["guard"]["busy"] is False
    assert by_name["http-flagged"]["flags"] == ["busy", "errors"]
    assert by_name["proxy-userspace"]["status"] == "unavailable"
    assert "summary" not in by_name["proxy-userspace"]


def test_markdown_has_method_table_and_not_measured_section() -> None:
    text = render_markdown(RUN)
    assert text.startswith("# Benchmarks\n")
    assert "## Method" in text
    assert "3 measurement(s) of 10 s, each after a 2 s warm-up" in text
    assert "Test CPU, 2 cores, 16.0 GiB" in text
    results = text.split("## Results")[1].split("## Not measured")[0]
    assert results.count("\n| http-") == 3
    assert "proxy-userspace | what \\| it is | unavailable" in text


def test_extra_rows_show_median_and_spread_of_component_figures_only() -> None:
    samples = tuple(
        Sample(value=v, extra={"watch_p99_ms": w}) for v, w in [(1.0, 3.0), (2.0, 9.0), (3.0, 4.0)]
    )
    component = Result(
        name="apiserver",
        family="apiserver",
        what="api",
        unit="creates/s",
        anchor=None,
        status=STATUS_OK,
        samples=samples,
        issue=2,
    )
    anchor = Result(
        name="http-direct",
        family="http",
        what="nginx",
        unit="rps",
        anchor=None,
        status=STATUS_OK,
        samples=(Sample(value=1.0, extra={"bytes": 5.0}),),
    )
    rows = extra_rows([anchor, component])
    assert rows[2:] == ["| apiserver | watch_p99_ms | 4.00 | 3.00\N{EN DASH}9.00 |"]
    assert extra_rows([anchor]) == []
