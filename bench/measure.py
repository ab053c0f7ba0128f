"""How the benchmarks measure: wall time of repeated calls and their percentiles, decoding rates
(the parsing limit), and the peak memory of a child process together with its workers."""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import orjson

SAMPLE_SECONDS: Final = 0.05  # RSS sampling period: a /proc scan costs ~2 ms of another core
_PAGE: Final = os.sysconf("SC_PAGE_SIZE")


def byte_compiled() -> None:
    """kubetrail's modules byte-compiled, as an installed package has them. An editable install
    under PYTHONDONTWRITEBYTECODE (as on the benchmark machine) has none, so every measured
    process would compile the modules it imports again: ~0.2 s of a cold CLI call."""
    import kubetrail

    compileall.compile_dir(Path(kubetrail.__file__).parent, quiet=1)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds of each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method); the value itself for a single one."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def decode_seconds(paths: Iterable[Path], decode: Callable[[bytes], object]) -> float:
    """Seconds `decode` takes over every line of the files, one process."""
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                decode(line)
    return time.perf_counter() - start


def lines(paths: Iterable[Path]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            total += sum(1 for _ in f)
    return total


def decode_rate(path: Path, decode: Callable[[bytes], object]) -> float:
    """Lines/s of `decode` over the file's lines, one process."""
    return lines([path]) / decode_seconds([path], decode)


def tree_rss(root: int) -> int:
    """RSS in bytes of `root` and all its descendants (from /proc/PID/stat)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid ... rss (field 24 of stat, in pages)
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * _PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


class Peak:
    """Samples `measure()` in a thread; `take()` returns the peak since the last take."""

    def __init__(self, measure: Callable[[], int]) -> None:
        self.measure, self.peak = measure, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def take(self) -> int:
        peak, self.peak = max(self.peak, self.measure()), 0
        return peak

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, self.measure())


class PeakRss(Peak):
    """The RSS of a process tree."""

    def __init__(self, pid: int) -> None:
        super().__init__(lambda: tree_rss(pid))


def child_messages(args: list[str]) -> Iterator[tuple[dict[str, Any], int]]:
    """Run `python -m bench.child ARGS...` and yield each JSON line it prints with the peak RSS of
    its process tree since the previous line. Raises SystemExit when the child fails."""
    cmd = [sys.executable, "-m", "bench.child", *args]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc, PeakRss(proc.pid) as peak:
        assert proc.stdout is not None
        for line in proc.stdout:
            yield orjson.loads(line), peak.take()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: failed with exit status {proc.returncode}")
