"""Parsing the load generators' output, on recorded outputs."""

from __future__ import annotations

import json

import pytest

from benchmarks.parsers import (
    WRK_DONE_SCRIPT,
    WRK_MARKER,
    ParseError,
    dnsperf_latencies,
    parse_dnsperf,
    parse_iperf3,
    parse_wrk,
)

# wrk 4.1.0 -t1 -c50 -d3s --latency -s done.lua: its own report, then our JSON line.
WRK_OUTPUT = f"""\
Running 3s test @ http://127.0.0.1:18080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   587.85us  447.25us   8.22ms   95.70%
    Req/Sec    73.94k     9.77k   97.01k    63.33%
  Latency Distribution
     50%  547.00us
     75%  671.00us
     90%  810.00us
     99%    2.54ms
  220545 requests in 3.00s, 31.34MB read
Requests/sec:  73417.84
Transfer/sec:     10.43MB
{WRK_MARKER}{{"requests":220545,"duration_us":3003970,"bytes":32860205,\
"errors":{{"connect":0,"read":0,"write":0,"status":0,"timeout":0}},\
"latency_us":{{"min":107,"mean":587.847,"max":8220,"stdev":447.255,\
"p50":547,"p90":810,"p99":2543,"p999":5961}}}}
"""

DNSPERF_SUMMARY = """\
DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 15353 -d q.txt -l 2 -c 10
[Status] Sending queries (to 127.0.0.1:15353)
[Status] Started at: Wed Nov 25 19:51:23 2026
[Status] Stopping after 2.000000 seconds
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         145043
  Queries completed:    145041 (100.00%)
  Queries lost:         2 (0.00%)

  Response codes:       NOERROR 145041 (100.00%)
  Average packet size:  request 49, response 65
  Run time (s):         2.000235
  Queries per second:   72512.979725

  Average Latency (s):  0.000879 (min 0.000028, max 0.007406)
  Latency StdDev (s):   0.000609

"""

DNSPERF_VERBOSE = """\
> NOERROR svc-0.default.svc.cluster.local A 0.000226
> NOERROR svc-1.default.svc.cluster.local A 0.000206
[Timeout] Query timed out: msg id 7
> NXDOMAIN nope.default.svc.cluster.local A 0.000100
> NOERROR svc-3.default.svc.cluster.local A 0.001000
"""

IPERF3_JSON = {
    "start": {"version": "iperf 3.12", "test_start": {"protocol": "TCP", "num_streams": 1}},
    "intervals": [],
    "end": {
        "sum_sent": {
            "start": 0,
            "end": 1.00037,
            "seconds": 1.00037,
            "bytes": 1411645440,
            "bits_per_second": 11288986594.959866,
            "retransmits": 30,
            "sender": True,
        },
        "sum_received": {
            "start": 0,
            "end": 1.001245,
            "seconds": 1.001245,
            "bytes": 1411645440,
            "bits_per_second": 11279121014.33715,
            "sender": True,
        },
    },
}

IPERF3_ERROR = {
    "start": {"connected": [], "version": "iperf 3.12"},
    "intervals": [],
    "end": {},
    "error": "unable to connect to server: Connection refused",
}


def test_wrk_rate_and_exact_percentiles() -> None:
    parsed = parse_wrk(WRK_OUTPUT)
    assert parsed.value == pytest.approx(220545 / 3.003970)
    assert parsed.p50_ms == pytest.approx(0.547)
    assert parsed.p99_ms == pytest.approx(2.543)
    assert parsed.errors == 0
    assert parsed.extra["p999_ms"] == pytest.approx(5.961)


def test_wrk_counts_every_kind_of_error() -> None:
    line = WRK_OUTPUT.replace('"read":0', '"read":3').replace('"status":0', '"status":4')
    assert parse_wrk(line).errors == 7


def test_wrk_without_result_line_fails() -> None:
    with pytest.raises(ParseError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_script_prints_the_marker_the_parser_reads() -> None:
    assert WRK_MARKER in WRK_DONE_SCRIPT
    assert "latency:percentile(99)" in WRK_DONE_SCRIPT


def test_dnsperf_summary_without_per_query_lines() -> None:
    parsed = parse_dnsperf(DNSPERF_SUMMARY)
    assert parsed.value == pytest.approx(72512.979725)
    assert parsed.errors == 2
    assert parsed.p50_ms is None and parsed.p99_ms is None
    assert parsed.extra["latency_avg_s"] == pytest.approx(0.000879)
    assert parsed.extra["latency_stddev_s"] == pytest.approx(0.000609)
    assert parsed.extra["latency_max_s"] == pytest.approx(0.007406)
    assert "average" in parsed.latency_note


def test_dnsperf_percentiles_from_verbose_lines() -> None:
    latencies = dnsperf_latencies(DNSPERF_VERBOSE.splitlines(keepends=True))
    assert latencies == [0.000226, 0.000206, 0.000100, 0.001000]
    parsed = parse_dnsperf(DNSPERF_SUMMARY, latencies)
    assert parsed.p50_ms == pytest.approx(0.216)
    assert parsed.p99_ms == pytest.approx(0.97678)
    assert "-v" in parsed.latency_note


def test_dnsperf_that_did_not_run_fails() -> None:
    with pytest.raises(ParseError):
        parse_dnsperf("Error: could not open datafile\n")


def test_iperf3_gbits_received() -> None:
    parsed = parse_iperf3(json.dumps(IPERF3_JSON))
    assert parsed.value == pytest.approx(11.279121014)
    assert parsed.extra["retransmits"] == 30
    assert parsed.p50_ms is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps(IPERF3_ERROR), id="error-reported"),
        pytest.param("iperf3: error - unable to connect", id="not-json"),
        pytest.param(json.dumps({"end": {}}), id="no-sums"),
    ],
)
def test_iperf3_failures(text: str) -> None:
    with pytest.raises(ParseError):
        parse_iperf3(text)
