"""The machine and software a benchmark ran on."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata

PACKAGES = ("numpy", "numba", "scipy", "pyarrow", "vowpalwabbit", "datatable", "ftrl-cli")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe(revision: str) -> dict:
    """CPU, cores, memory, OS, versions, the measured revision and the date."""
    mem = memory_gb()
    return {
        "revision": revision,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory": f"{mem:.1f} GB" if mem else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions(),
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }
