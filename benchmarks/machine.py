"""A description of the machine a run happened on, for the results' header."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

PROC = Path("/proc")


def cpu_model(cpuinfo: str) -> str:
    """The first ``model name`` in /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


def mem_total_bytes(meminfo: str) -> int | None:
    """``MemTotal`` from /proc/meminfo text, in bytes."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def os_release() -> str:
    for line in _read(Path("/etc/os-release")).splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return platform.system()


def describe() -> dict[str, Any]:
    """CPU model, cores, kernel, memory, OS and Python of this machine."""
    return {
        "cpu_model": cpu_model(_read(PROC / "cpuinfo")),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "memory_bytes": mem_total_bytes(_read(PROC / "meminfo")),
        "os": os_release(),
        "python": platform.python_version(),
        "euid": os.geteuid(),
    }
