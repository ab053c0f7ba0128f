"""What a benchmark run records: the machine and versions, markdown tables, and bench/RESULTS.md
(newest run first, older runs kept below)."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
RESULTS: Final = HERE / "RESULTS.md"
HEAD: Final = "# Benchmark results\n\nNewest first. Each run measures its baselines in the same run.\n\n"


def record(lines: list[str], results: Path = RESULTS) -> None:
    """Put a run's section at the top of RESULTS.md, older runs below."""
    old = results.read_text().removeprefix(HEAD) if results.exists() else ""
    results.write_text(HEAD + "\n".join(lines) + "\n" + old)


def machine(*extra: str) -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{p} {version(p)}" for p in ("kubetrail", "duckdb", "msgspec", "orjson", "pyarrow"))
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({_cpu()}), {mem:.0f} GiB; Python {platform.python_version()}; "
        + ", ".join(filter(None, (versions, *extra, _commit())))
    )


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "cpu unknown")
    except OSError:
        return "cpu unknown"


def _commit() -> str:
    """The source's commit, marked when the working tree differs from it."""
    try:
        git = ["git", "-C", str(HERE.parent)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        paths = ["--untracked-files=no", "--", "src", "bench", ":!bench/RESULTS.md"]  # a recorded run, bench/data: no code
        dirty = subprocess.run([*git, "status", "--porcelain", *paths], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"commit {head}" + (" + uncommitted changes" if dirty.strip() else "")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A markdown table; `align` has one letter per column: l or r."""
    rule = "|".join("---:" if a == "r" else "---" for a in align)
    return [f"| {' | '.join(header)} |", f"|{rule}|", *(f"| {' | '.join(r)} |" for r in rows)]


def duration(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def bound(seconds: float) -> str:
    """A target's time as written in the issue: 150 ms, 1 s, 1.5 s."""
    return f"{seconds * 1e3:g} ms" if seconds < 1 else f"{seconds:g} s"


def mib(size: float) -> str:
    if size < 2**30:
        return f"{size / 2**20:,.0f} MiB"
    return f"{size / 2**30:g} GiB" if size % 2**30 == 0 else f"{size / 2**30:,.2f} GiB"


def met(ok: bool) -> str:
    return "✓" if ok else "✗"
