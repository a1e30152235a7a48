"""The benchmark runner end to end: one quick anchor scenario, then an interrupted run.

Runs ``python -m benchmarks`` from the repository root as a user would. Nothing is asserted
about speed; only that numbers come out, and that no process and no temporary file outlives
the run, also when it is interrupted.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin:/bin") and shutil.which("wrk")),
    reason="needs nginx and wrk (python -m benchmarks install)",
)


def _runner(tmp_path: Path, *extra: str) -> list[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return [
        sys.executable,
        "-m",
        "benchmarks",
        "run",
        "http-direct",
        "--quick",
        "--warmup",
        "0",
        "--json",
        str(tmp_path / "out.json"),
        "--tmp-dir",
        str(work),
        "--record-processes",
        str(tmp_path / "pgids"),
        *extra,
    ]


def _live_members(pgids: list[int]) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) in pgids and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def _pgids(tmp_path: Path) -> list[int]:
    path = tmp_path / "pgids"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_quick_http_direct_produces_numbers_and_leaves_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        _runner(tmp_path, "--duration", "1"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    (scenario,) = data["scenarios"]
    assert scenario["name"] == "http-direct"
    assert scenario["status"] == "ok"
    (sample,) = scenario["samples"]
    assert sample["value"] > 0
    assert sample["p50_ms"] > 0 and sample["p99_ms"] >= sample["p50_ms"]
    assert "guard" in sample
    assert scenario["summary"]["median"] == sample["value"]
    assert data["machine"]["cores"] >= 1
    assert data["tools"]["wrk"] != "missing"
    assert data["leftover_processes"] == []
    pgids = _pgids(tmp_path)
    assert len(pgids) >= 2  # at least the nginx backend and one wrk
    assert _live_members(pgids) == []
    assert list((tmp_path / "work").iterdir()) == []


def test_interrupted_run_ends_every_process(tmp_path: Path) -> None:
    runner = subprocess.Popen(
        _runner(tmp_path, "--duration", "20"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while len(_pgids(tmp_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # wait for the backend and wrk to be running
        assert len(_pgids(tmp_path)) >= 2, "the runner never started wrk"
        time.sleep(0.3)
        runner.send_signal(signal.SIGINT)
        _, stderr = runner.communicate(timeout=20)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode == 130, stderr
    assert _live_members(_pgids(tmp_path)) == []
    assert list((tmp_path / "work").iterdir()) == []
