"""The anchors' tools (Debian packages): are they installed, which versions, how to install.

Commands are looked up on PATH plus /usr/sbin and /sbin, where Debian puts most of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SBIN = ("/usr/sbin", "/sbin")


@dataclass(frozen=True)
class Tool:
    """A command a scenario runs, the Debian package that provides it, and how to ask its
    version."""

    command: str
    package: str
    version_argv: tuple[str, ...]
    version_pattern: str


TOOLS: tuple[Tool, ...] = (
    Tool("nginx", "nginx-light", ("nginx", "-v"), r"nginx/(\S+)"),
    Tool("haproxy", "haproxy", ("haproxy", "-v"), r"HAProxy version (\S+)"),
    Tool("dnsmasq", "dnsmasq-base", ("dnsmasq", "--version"), r"Dnsmasq version (\S+)"),
    Tool("unbound", "unbound", ("unbound", "-V"), r"Version (\S+)"),
    Tool("wrk", "wrk", ("wrk", "--version"), r"wrk (\S+)"),
    Tool("dnsperf", "dnsperf", ("dnsperf", "-h"), r"Version (\S+)"),
    Tool("iperf3", "iperf3", ("iperf3", "--version"), r"iperf (\S+)"),
    Tool("nft", "nftables", ("nft", "--version"), r"nftables v(\S+)"),
    Tool("ip", "iproute2", ("ip", "-V"), r"iproute2-([\w.]+)"),
    Tool("taskset", "util-linux", ("taskset", "--version"), r"util-linux (\S+)"),
)

BY_COMMAND = {t.command: t for t in TOOLS}


def search_path() -> str:
    """PATH with the sbin directories appended (non-root shells often lack them)."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(parts + [d for d in SBIN if d not in parts])


def find(command: str) -> str | None:
    """The full path of ``command``, or None if it is not installed."""
    return shutil.which(command, path=search_path())


def missing(commands: Iterable[str] | None = None) -> list[Tool]:
    """The tools among ``commands`` (all anchor tools by default) that are not installed."""
    chosen = TOOLS if commands is None else [BY_COMMAND[c] for c in commands]
    return [t for t in chosen if find(t.command) is None]


def apt_line(tools: Sequence[Tool]) -> str:
    """The command that installs ``tools``' packages."""
    packages = " ".join(dict.fromkeys(t.package for t in tools))
    sudo = "" if os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install -y --no-install-recommends {packages}"


def parse_version(tool: Tool, output: str) -> str:
    """The version in a tool's ``--version``-style output, or "unknown"."""
    match = re.search(tool.version_pattern, output)
    return match.group(1) if match else "unknown"


def version(tool: Tool) -> str:
    """The installed version of ``tool`` ("missing" if it is not installed)."""
    path = find(tool.command)
    if path is None:
        return "missing"
    try:
        done = subprocess.run(
            [path, *tool.version_argv[1:]],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return parse_version(tool, done.stdout + done.stderr)


def versions() -> dict[str, str]:
    """Every anchor tool's installed version, by command."""
    return {t.command: version(t) for t in TOOLS}


def install(tools: Sequence[Tool]) -> int:
    """apt-get install ``tools``' packages (needs root); returns the exit status."""
    if not tools:
        return 0
    if os.geteuid() != 0:
        print(f"installing needs root; run: {apt_line(tools)}")
        return 1
    packages = list(dict.fromkeys(t.package for t in tools))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = subprocess.run(["apt-get", "update"], env=env, check=False)
    if update.returncode != 0:
        return update.returncode
    argv = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    return subprocess.run(argv, env=env, check=False).returncode
