"""Running the load generators (wrk, dnsperf, iperf3 client) pinned to the load core.

Each returns a ``Sample`` built by the pure parsers; output goes to files in the temp
directory (dnsperf's per-query lines can run to tens of megabytes).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import parsers
from benchmarks.env import Env
from benchmarks.model import Sample

SLACK_S = 15.0
"""Extra time a load generator gets beyond its run before we end it as hung."""


def _sample(parsed: parsers.Parsed) -> Sample:
    return Sample(
        value=parsed.value,
        p50_ms=parsed.p50_ms,
        p99_ms=parsed.p99_ms,
        errors=parsed.errors,
        extra=dict(parsed.extra),
        latency_note=parsed.latency_note,
    )


def _wrk_script(env: Env) -> Path:
    path = env.tmp / "wrk-done.lua"
    if not path.exists():
        path.write_text(parsers.WRK_DONE_SCRIPT)
    return path


def wrk(
    env: Env,
    url: str,
    seconds: int,
    *,
    close: bool = False,
    connections: int = 50,
    netns: str | None = None,
) -> Sample:
    """``wrk -t1 -c50 -d{seconds}s --latency`` against ``url``; every request on a new
    connection when ``close`` (``Connection: close``)."""
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(_wrk_script(env)),
    ]
    if close:
        argv += ["-H", "Connection: close"]
    argv.append(url)
    finished = env.procs.run(
        "wrk", argv, cpu=env.settings.load_cpu, netns=netns, timeout=seconds + SLACK_S
    )
    return _sample(parsers.parse_wrk(finished.text()))


def dnsperf(
    env: Env,
    host: str,
    port: int,
    queries: Path,
    seconds: int,
    *,
    clients: int = 10,
    latencies: bool = True,
) -> Sample:
    """``dnsperf -c 10 -l {seconds}`` over the query file; with ``latencies``, ``-v`` writes
    one line per answer from which p50/p99 are computed."""
    argv = [
        "dnsperf",
        "-s",
        host,
        "-p",
        str(port),
        "-d",
        str(queries),
        "-c",
        str(clients),
        "-l",
        str(seconds),
    ]
    if latencies:
        argv.append("-v")
    out = env.tmp / "dnsperf.out"
    finished = env.procs.run(
        "dnsperf", argv, cpu=env.settings.load_cpu, timeout=seconds + SLACK_S, stdout=out
    )
    summary_lines: list[str] = []
    query_lines: list[str] = []
    with finished.stdout.open(errors="replace") as stream:
        for line in stream:
            (query_lines if line.startswith("> ") else summary_lines).append(line)
    finished.stdout.unlink()
    values = parsers.dnsperf_latencies(query_lines) if latencies else None
    return _sample(parsers.parse_dnsperf("".join(summary_lines), values))


def iperf3(env: Env, host: str, port: int, seconds: int) -> Sample:
    """One iperf3 stream for ``seconds`` to ``host:port``; Gbit/s received."""
    argv = ["iperf3", "--client", host, "--port", str(port), "--time", str(seconds), "--json"]
    finished = env.procs.run(
        "iperf3-client", argv, cpu=env.settings.load_cpu, timeout=seconds + SLACK_S
    )
    return _sample(parsers.parse_iperf3(finished.text()))
