"""Parsers for the load generators' output: wrk (via a Lua ``done`` hook), dnsperf, iperf3 -J.

Pure functions from text to numbers; the fixtures in tests/unit/benchmarks are recorded outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmarks.stats import percentile

WRK_MARKER = "KUBESVC-BENCH-WRK "

WRK_DONE_SCRIPT = """\
-- Printed by wrk at the end of a run: exact counts and latency percentiles (microseconds)
-- as one JSON line, so that nothing depends on wrk's human-readable units.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.3f,"max":%d,"stdev":%.3f,' ..
    '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\\n',
    "MARKER", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
""".replace("MARKER", WRK_MARKER)


class ParseError(ValueError):
    """The tool's output did not have the shape we expected (it probably failed)."""


@dataclass(frozen=True)
class Parsed:
    """Throughput, latency percentiles and the raw figures of one load-generator run."""

    value: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    extra: dict[str, float] = field(default_factory=dict)
    latency_note: str = ""


def parse_wrk(stdout: str) -> Parsed:
    """Requests/s and p50/p99 from the JSON line printed by ``WRK_DONE_SCRIPT``."""
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            data = json.loads(line[len(WRK_MARKER) :])
            break
    else:
        raise ParseError("wrk printed no result line (did it run with the done script?)")
    duration_s = data["duration_us"] / 1e6
    if duration_s <= 0:
        raise ParseError("wrk reported a zero duration")
    latency = data["latency_us"]
    errors = data["errors"]
    error_count = int(sum(errors.values()))
    extra = {
        "requests": float(data["requests"]),
        "duration_s": duration_s,
        "bytes": float(data["bytes"]),
        "latency_mean_ms": latency["mean"] / 1000.0,
        "latency_stdev_ms": latency["stdev"] / 1000.0,
        "latency_max_ms": latency["max"] / 1000.0,
        "p90_ms": latency["p90"] / 1000.0,
        "p999_ms": latency["p999"] / 1000.0,
    }
    extra.update({f"errors_{k}": float(v) for k, v in errors.items()})
    return Parsed(
        value=data["requests"] / duration_s,
        p50_ms=latency["p50"] / 1000.0,
        p99_ms=latency["p99"] / 1000.0,
        errors=error_count,
        extra=extra,
    )


_DNSPERF_FIELDS = {
    "queries_sent": re.compile(r"Queries sent:\s+(\d+)"),
    "queries_completed": re.compile(r"Queries completed:\s+(\d+)"),
    "queries_lost": re.compile(r"Queries lost:\s+(\d+)"),
    "run_time_s": re.compile(r"Run time \(s\):\s+([\d.]+)"),
    "qps": re.compile(r"Queries per second:\s+([\d.]+)"),
    "latency_avg_s": re.compile(r"Average Latency \(s\):\s+([\d.]+)"),
    "latency_min_s": re.compile(r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)"),
    "latency_max_s": re.compile(r"Average Latency \(s\):.*max ([\d.]+)\)"),
    "latency_stddev_s": re.compile(r"Latency StdDev \(s\):\s+([\d.]+)"),
}

# "> NOERROR svc-1.default.svc.cluster.local A 0.000206": one line per answered query (-v).
_DNSPERF_QUERY = re.compile(r"^> \S+ \S+ \S+ ([\d.]+)$")


def dnsperf_latencies(lines: Iterable[str]) -> list[float]:
    """Per-query latencies in seconds from dnsperf's verbose (``-v``) lines."""
    latencies = []
    for line in lines:
        if line.startswith("> "):
            match = _DNSPERF_QUERY.match(line.rstrip("\n"))
            if match:
                latencies.append(float(match.group(1)))
    return latencies


def parse_dnsperf(stdout: str, latencies: list[float] | None = None) -> Parsed:
    """Queries/s and latency from dnsperf's statistics block.

    dnsperf 2.x prints only the average and standard deviation of latency. When per-query
    latencies from its ``-v`` lines are given, p50/p99 are computed from them; otherwise they
    are left out and the note says so (the average and stddev stay in ``extra``).
    """
    values: dict[str, float] = {}
    for key, pattern in _DNSPERF_FIELDS.items():
        match = pattern.search(stdout)
        if match:
            values[key] = float(match.group(1))
    if "qps" not in values:
        raise ParseError("dnsperf printed no 'Queries per second' (did it run?)")
    extra = dict(values)
    if latencies:
        p50: float | None = percentile(latencies, 50.0) * 1000.0
        p99: float | None = percentile(latencies, 99.0) * 1000.0
        extra["latency_samples"] = float(len(latencies))
        note = "p50/p99 from dnsperf -v per-query latencies"
    else:
        p50 = p99 = None
        note = "dnsperf reports only average and stddev latency (in extra)"
    return Parsed(
        value=values["qps"],
        p50_ms=p50,
        p99_ms=p99,
        errors=int(values.get("queries_lost", 0.0)),
        extra=extra,
        latency_note=note,
    )


def parse_iperf3(stdout: str) -> Parsed:
    """Gbit/s received (one stream, sender to receiver) from ``iperf3 -J`` output."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ParseError("iperf3 printed no JSON") from exc
    if data.get("error"):
        raise ParseError(f"iperf3 failed: {data['error']}")
    end = data.get("end", {})
    try:
        received = float(end["sum_received"]["bits_per_second"])
        sent = float(end["sum_sent"]["bits_per_second"])
    except (KeyError, TypeError) as exc:
        raise ParseError("iperf3 JSON has no end.sum_received/sum_sent") from exc
    sum_sent = end["sum_sent"]
    extra = {
        "received_gbps": received / 1e9,
        "sent_gbps": sent / 1e9,
        "retransmits": float(sum_sent.get("retransmits", 0)),
        "seconds": float(sum_sent.get("seconds", 0.0)),
    }
    return Parsed(value=received / 1e9, p50_ms=None, p99_ms=None, errors=0, extra=extra)
