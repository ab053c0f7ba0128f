"""Ingest benchmark: end-to-end `kubetrail ingest` of simulated audit logs, beside the parsing
limit measured in the same run (per-line typed decoding with `msgspec.json.Decoder(AuditEvent)`
of the same file in one process).

    python -m bench.ingest [--events 1000000] [--seed 7] [--workers 0] [--record]

Prints a table of events/s, the ratio to the parsing limit and peak memory (RSS summed over the
ingest process and its workers, sampled every 20 ms); `--record` appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import msgspec
import orjson

from bench.audit_types import AuditEvent
from kubetrail.simulate.audit import write_audit_log
from kubetrail.simulate.cluster import build_cluster

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
START_NS = 1_764_324_000 * 10**9  # 2025-11-28T10:00:00Z


def audit_file(events: int, seed: int) -> Path:
    """The simulated audit log, generated once and cached under bench/data/."""
    path = DATA / f"audit-{events}-s{seed}.log"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        hours = max(1.0, events / 250_000)
        write_audit_log(tmp, cluster=build_cluster(seed, START_NS, hours), events=events, seed=seed)
        tmp.rename(path)
    return path


def decode_rate(path: Path, decode: Callable[[bytes], object]) -> float:
    """Lines/s of `decode` over the file's lines, one process."""
    start = time.perf_counter()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            decode(line)
            n += 1
    return n / (time.perf_counter() - start)


@dataclass
class Run:
    seconds: float
    peak_rss: int
    summary: dict[str, object]


def _tree_rss(root: int) -> int:
    """RSS in bytes of `root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = int(statm[1]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def ingest_run(path: Path, workers: int) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "kubetrail", "ingest", str(path), "--db", f"{tmp}/b.duckdb", "-o", "json"]
        if workers:
            cmd += ["--workers", str(workers)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, _ = proc.communicate()
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"ingest failed ({proc.returncode})")
        return Run(seconds, peak, orjson.loads(out))


def record(lines: list[str]) -> None:
    """Put a run's table at the top of bench/RESULTS.md, older runs below."""
    results = HERE / "RESULTS.md"
    head = "# Benchmark results\n\nNewest first. Each run measures its baselines in the same run.\n\n"
    old = results.read_text().removeprefix(head) if results.exists() else ""
    results.write_text(head + "\n".join(lines) + "\n" + old)


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{p} {version(p)}" for p in ("duckdb", "msgspec", "orjson", "pyarrow"))
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB; Python {platform.python_version()}; {versions}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=0, help="ingest worker processes (0 = kubetrail's default)")
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()

    path = audit_file(args.events, args.seed)
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    # The parsing limit: typed msgspec decoding, the fastest Python can read this file. Beside
    # it, orjson into dicts: what a source normalizer receives.
    limit = decode_rate(path, msgspec.json.Decoder(AuditEvent).decode)
    generic = decode_rate(path, orjson.loads)
    run = ingest_run(path, args.workers)
    stored = sum(run.summary["ingested"].values())  # type: ignore[attr-defined]
    rate = lines / run.seconds
    rows = [
        ("parsing limit: msgspec.json.Decoder(AuditEvent), 1 process", f"{limit:,.0f}", "1.00", ""),
        ("orjson.loads to dicts, 1 process", f"{generic:,.0f}", f"{generic / limit:.2f}", ""),
        (f"kubetrail ingest end to end (workers={args.workers or 'auto'})", f"{rate:,.0f}", f"{rate / limit:.2f}",
         f"{run.peak_rss / 2**20:,.0f} MiB"),
    ]  # fmt: skip
    table = [
        f"### {time.strftime('%Y-%m-%d')}: ingest of {lines:,} simulated audit events ({path.stat().st_size / 2**20:,.0f} MiB)",
        "",
        f"Machine: {machine()}. Stored {stored:,} events in {run.seconds:.1f} s; "
        f"quarantined {run.summary['quarantined']}. Command: `python -m bench.ingest --events {args.events} --seed {args.seed}`.",
        "",
        "| what | events/s | ratio to parsing limit | peak RSS |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
    ]
    print("\n".join(table))
    if args.record:
        record(table)


if __name__ == "__main__":
    main()
