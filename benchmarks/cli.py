"""The command line: ``python -m benchmarks run|list|check|install|cleanup``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from benchmarks import namespaces, report, tools
from benchmarks.model import STATUS_ERROR
from benchmarks.registry import Scenario, registered, select
from benchmarks.runner import run
from benchmarks.settings import FULL, QUICK, pick_cpus

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
RESULTS_DIR = PACKAGE_DIR / "results"
MARKDOWN = REPO_ROOT / "BENCHMARKS.md"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure kubesvc beside nginx, HAProxy, dnsmasq, Unbound, iperf3 and the "
        "kernel, side by side on this machine.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="run scenarios (all by default)")
    run_cmd.add_argument(
        "scenarios", nargs="*", help="scenario, family or group names (anchors are added)"
    )
    run_cmd.add_argument(
        "--quick", action="store_true", help="2 s runs, 1 repetition; writes results/quick.json"
    )
    run_cmd.add_argument("--list", action="store_true", help="list scenarios and exit")
    run_cmd.add_argument(
        "--write", action="store_true", help="also replace BENCHMARKS.md (quick or partial run)"
    )
    run_cmd.add_argument("--duration", type=int, help="seconds per measurement")
    run_cmd.add_argument("--repetitions", type=int, help="measurements per scenario")
    run_cmd.add_argument("--warmup", type=int, help="warm-up seconds before each measurement")
    run_cmd.add_argument("--json", type=Path, help="where to write the JSON results")
    run_cmd.add_argument("--markdown", type=Path, help="where to write the Markdown table")
    run_cmd.add_argument(
        "--tmp-dir", type=Path, help="where the run's temporary directory is created"
    )
    run_cmd.add_argument(
        "--record-processes",
        type=Path,
        help="append the id of every process group started to this file (leak checks)",
    )

    commands.add_parser("list", help="list scenarios and whether they can run here")
    commands.add_parser("check", help="check that the anchor tools are installed")
    commands.add_parser("install", help="apt-get install the anchor tools (root)")
    commands.add_parser("cleanup", help="delete network namespaces left by crashed runs")
    return parser


def _list(scenarios: Sequence[Scenario]) -> None:
    width = max(len(s.name) for s in scenarios)
    for s in scenarios:
        availability = s.available()
        state = "ready" if availability.ok else availability.reason
        anchor = f" (vs {s.anchor})" if s.anchor else ""
        print(f"{s.name:<{width}}  {s.unit:<9} {state}{anchor}")
        print(f"{'':<{width}}  {s.what}")


def _check() -> int:
    missing = tools.missing()
    for tool in tools.TOOLS:
        state = "missing" if tool in missing else tools.version(tool)
        print(f"{tool.command:<8} {tool.package:<13} {state}")
    if missing:
        print(f"\nmissing: {', '.join(t.command for t in missing)}; install with:")
        print(f"  {tools.apt_line(missing)}   (or: python -m benchmarks install)")
        return 1
    return 0


def _cleanup() -> int:
    stale = namespaces.leftovers()
    for name in stale:
        print(f"deleting network namespace {name}")
        namespaces.remove(name)
    if not stale:
        print("no leftover namespaces")
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path.name


def _run(args: argparse.Namespace) -> int:
    everything = registered()
    if args.list:
        _list(everything)
        return 0
    chosen, unknown = select(everything, args.scenarios)
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    missing = tools.missing()
    if missing:
        print(
            f"missing anchor tools: {', '.join(t.command for t in missing)} "
            f"(scenarios that need them are skipped); install with:\n  {tools.apt_line(missing)}"
        )
    base = QUICK if args.quick else FULL
    server_cpu, load_cpu = pick_cpus(os.sched_getaffinity(0))
    settings = base.with_overrides(
        duration_s=args.duration, repetitions=args.repetitions, warmup_s=args.warmup
    )
    settings = dataclasses.replace(settings, server_cpu=server_cpu, load_cpu=load_cpu)
    complete = not args.scenarios
    default_json = "quick.json" if args.quick else ("latest.json" if complete else "partial.json")
    json_path: Path = args.json or RESULTS_DIR / default_json
    markdown_path: Path | None = args.markdown
    if markdown_path is None and (args.write or (complete and not args.quick)):
        markdown_path = MARKDOWN

    done = run(chosen, settings, tmp_root=args.tmp_dir, record=args.record_processes)
    result = done.result
    report.write(result, json_path, markdown_path, json_name=_relative(json_path))
    print()
    print("\n".join(report.table_rows(result.scenarios)))
    not_run = report.not_run_rows(result.scenarios)
    if not_run:
        print()
        print("\n".join(not_run))
    print(f"\n{result.mode} run took {result.duration_s:.0f} s; results in {json_path}")
    if markdown_path is not None:
        print(f"table in {markdown_path}")
    failed = any(s.status == STATUS_ERROR for s in result.scenarios)
    return 1 if failed or result.leftover_processes else 0


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every clean-up, as Ctrl-C does


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ["PATH"] = tools.search_path()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "list":
            _list(registered())
            return 0
        if args.command == "check":
            return _check()
        if args.command == "install":
            missing = tools.missing()
            if not missing:
                print("every anchor tool is installed")
            return tools.install(missing)
        if args.command == "cleanup":
            return _cleanup()
    except KeyboardInterrupt:
        print("interrupted; every process started was ended", file=sys.stderr)
        return 130
    return 2
