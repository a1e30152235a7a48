"""Results as JSON (every sample, for machines) and as Markdown (BENCHMARKS.md, for people).

Rendering is pure; ``write`` puts the texts in place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks import stats
from benchmarks.model import STATUS_OK, RunResult, Sample, ScenarioResult

SCHEMA = 1
EN_DASH = "\N{EN DASH}"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def sample_json(sample: Sample) -> dict[str, Any]:
    data: dict[str, Any] = {
        "value": _round(sample.value),
        "p50_ms": _round(sample.p50_ms),
        "p99_ms": _round(sample.p99_ms),
        "errors": sample.errors,
        "attempts": sample.attempts,
    }
    if sample.latency_note:
        data["latency_note"] = sample.latency_note
    if sample.guard is not None:
        g = sample.guard
        data["guard"] = {
            "busy": g.busy,
            "foreign_share": _round(g.foreign_share),
            "steal_share": _round(g.steal_share),
            "kernel_share": _round(g.kernel_share),
            "ours_share": _round(g.ours_share),
            "loadavg_before": g.loadavg_before,
            "loadavg_after": g.loadavg_after,
            "reason": g.reason,
        }
    data["extra"] = {k: _round(v) for k, v in sorted(sample.extra.items())}
    return data


def scenario_json(result: ScenarioResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": result.name,
        "family": result.family,
        "what": result.what,
        "unit": result.unit,
        "anchor": result.anchor,
        "status": result.status,
    }
    if result.reason:
        data["reason"] = result.reason
    if result.issue is not None:
        data["issue"] = result.issue
    if result.summary is not None:
        s = result.summary
        data["summary"] = {
            "n": s.n,
            "median": _round(s.median),
            "min": _round(s.min),
            "max": _round(s.max),
            "spread": _round(s.spread),
            "p50_ms": _round(s.p50_ms),
            "p99_ms": _round(s.p99_ms),
        }
    data["ratio"] = _round(result.ratio)
    data["flags"] = result.flags
    data["samples"] = [sample_json(s) for s in result.samples]
    return data


def to_json(run: RunResult) -> dict[str, Any]:
    """The whole run as a JSON-ready dict."""
    return {
        "schema": SCHEMA,
        "mode": run.mode,
        "date": run.date,
        "duration_s": run.duration_s,
        "machine": run.machine,
        "tools": run.tools,
        "settings": run.settings,
        "leftover_processes": list(run.leftover_processes),
        "scenarios": [scenario_json(s) for s in run.scenarios],
    }


def fmt_value(value: float) -> str:
    """Throughput with about three significant digits, thousands separated."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_ratio(result: ScenarioResult) -> str:
    if result.ratio is None or result.anchor is None:
        return ""
    return f"{result.ratio:.2f}x {result.anchor}"


def _cell(text: str, limit: int | None = None) -> str:
    """``text`` fit for one Markdown table cell: one line, pipes escaped, maybe shortened."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.replace("|", "\\|")


def table_rows(results: Iterable[ScenarioResult]) -> list[str]:
    """The results table in Markdown: measured rows only."""
    rows = [
        f"| scenario | what | unit | median | min{EN_DASH}max | p50 ms | p99 ms | ratio |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.summary is None:
            continue
        s = r.summary
        name = r.name + "".join(f" [{flag}]" for flag in r.flags)
        if r.status != STATUS_OK:
            name += f" [{r.status}]"
        cells = [
            name,
            _cell(r.what),
            r.unit,
            fmt_value(s.median),
            f"{fmt_value(s.min)}{EN_DASH}{fmt_value(s.max)}",
            fmt_ms(s.p50_ms),
            fmt_ms(s.p99_ms),
            fmt_ratio(r),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def not_run_rows(results: Iterable[ScenarioResult]) -> list[str]:
    """Scenarios without numbers: not yet available, skipped here, or failed."""
    rows = []
    for r in results:
        if r.summary is not None:
            continue
        rows.append(f"| {r.name} | {_cell(r.what)} | {r.status} | {_cell(r.reason, 300)} |")
    if not rows:
        return []
    return ["| scenario | what | status | why |", "|---|---|---|---|", *rows]


def extra_rows(results: Iterable[ScenarioResult]) -> list[str]:
    """The further figures component scenarios measure (medians over their samples)."""
    rows = []
    for r in results:
        if r.issue is None or not r.samples:
            continue
        keys = sorted({k for s in r.samples for k in s.extra})
        for key in keys:
            values = [s.extra[key] for s in r.samples if key in s.extra]
            spread = f"{fmt_value(min(values))}{EN_DASH}{fmt_value(max(values))}"
            rows.append(f"| {r.name} | {key} | {fmt_value(stats.median(values))} | {spread} |")
    if not rows:
        return []
    header = f"| scenario | figure | median | min{EN_DASH}max |"
    return [header, "|---|---|---:|---:|", *rows]


METHOD = """\
- Servers (anchors, later kubesvc) run on loopback pinned to core {server_cpu} \
(`taskset -c {server_cpu}`); the load generator runs on core {load_cpu}. Every proxy shares its \
core with the nginx backend (`return 200 "ok"`, 1 worker): each proxy row is "proxy plus \
backend on one core", the same handicap for anchors and kubesvc.
- Each scenario: {repetitions} measurement(s) of {duration_s} s, each after a {warmup_s} s \
warm-up, taken in rounds that alternate the scenarios of a group (a, b, c, a, b, c, ...). \
Reported: median, min and max of the throughput; p50/p99 are the medians of each measurement's \
percentiles.
- HTTP: `wrk -t1 -c50 --latency`, keep-alive unless marked [Connection: close]; exact \
percentiles from wrk's Lua `done` hook. DNS: `dnsperf -c 10` over 100 cluster names \
(`svc-N.default.svc.cluster.local`); p50/p99 computed from dnsperf's per-query lines (`-v`), \
which costs the load generator a few percent, equally for every DNS row; servers faster than \
dnsperf's core make those rows lower bounds. Bulk: iperf3, one stream, Gbit/s received.
- Kernel path: three throwaway network namespaces (client, node, backend) with no link to the \
machine, created fresh for each measurement; the node holds a table in kube-proxy's nftables \
shape (`service-ips` verdict map, `numgen random mod 2`) that DNATs a VIP to two backends.
- ratio = the row's median throughput / its anchor's, measured in the same run. Absolute \
numbers drift between machines and runs; compare ratios.
- Busy guard: /proc/stat is sampled around each measurement; time the watched cores spent on \
processes other than ours (kernel threads excepted) above {foreign:.0%}, or hypervisor steal \
above {steal:.0%}, repeats the measurement (bounded). [busy] marks rows where it stayed busy; \
[errors] rows where the load generator saw failed requests or lost queries."""


def _gib(value: object) -> str:
    return f"{value / 2**30:.1f} GiB" if isinstance(value, int) else "?"


def render_markdown(run: RunResult, json_name: str = "benchmarks/results/latest.json") -> str:
    """BENCHMARKS.md: when and where, the method, the table, what did not run."""
    m = run.machine
    settings = run.settings
    tool_list = ", ".join(f"{name} {version}" for name, version in run.tools.items())
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python -m benchmarks run` ({run.mode} mode) on {run.date} in "
        f"{run.duration_s / 60:.1f} min. Machine: {m.get('cpu_model')}, {m.get('cores')} cores, "
        f"{_gib(m.get('memory_bytes'))}, Linux {m.get('kernel')}, {m.get('os')}; "
        f"Python {m.get('python')}. Tools: {tool_list}. Every sample is in "
        f"`{json_name}`; `benchmarks/README.md` says how to run it.",
        "",
        "## Method",
        "",
        METHOD.format(
            server_cpu=settings.get("server_cpu"),
            load_cpu=settings.get("load_cpu"),
            repetitions=settings.get("repetitions"),
            duration_s=settings.get("duration_s"),
            warmup_s=settings.get("warmup_s"),
            foreign=settings.get("foreign_threshold", 0.0),
            steal=settings.get("steal_threshold", 0.0),
        ),
        "",
        "## Results",
        "",
        *table_rows(run.scenarios),
    ]
    extra = extra_rows(run.scenarios)
    if extra:
        lines += ["", "## Other figures of the kubesvc scenarios", "", *extra]
    not_run = not_run_rows(run.scenarios)
    if not_run:
        lines += ["", "## Not measured in this run", "", *not_run]
    lines.append("")
    return "\n".join(lines)


def write(run: RunResult, json_path: Path, markdown_path: Path | None, *, json_name: str) -> None:
    """Write the JSON (and the Markdown, when given a path); ``json_name`` is how the
    Markdown refers to the JSON file."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(to_json(run), indent=2) + "\n")
    if markdown_path is not None:
        markdown_path.write_text(render_markdown(run, json_name))
