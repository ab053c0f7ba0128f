"""Ingest benchmark: end-to-end `kubetrail ingest` of simulated audit logs, beside the parsing
limit measured in the same run (per-line typed decoding with `msgspec.json.Decoder(AuditEvent)`
of the same file in one process), and the store's write alone: the events that ingest stored,
read back normalized and written again into a fresh store as ingest writes them, and appended to
the tables of events with nothing else.

    python -m bench.ingest [--events 1000000] [--seed 7] [--workers 0] [--runs 3] [--record]

Each run measures the parsing limit, then the ingest; the run whose ratio is the median is
reported. Prints a table of events/s, the ratio to the parsing limit and peak memory (RSS summed over the
ingest process and its workers, sampled every 50 ms), then where an event's time goes, stage by
stage (bench/stages.py); `--record` appends both to bench/RESULTS.md.

The last two rows bound what any ingest into this store could reach on this machine's cores, with
the work spread perfectly over every core: with no normalization, dedupe or rollups at all, an
event still costs one typed decode plus its append to its table in CPU time; with the
store's whole write (dedupe, append, rollups) but still no normalization, a typed decode plus
that write.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from bench.audit_types import AuditEvent
from bench.inputs import DATA
from bench.measure import PeakRss, byte_compiled, decode_rate
from bench.report import machine, record
from bench.stages import breakdown, timer_overhead
from bench.stages import table as stages_table
from kubetrail.ingest.pipeline import BATCH_EVENTS
from kubetrail.model import FIELD_NAMES
from kubetrail.simulate.audit import write_audit_log
from kubetrail.simulate.cluster import build_cluster
from kubetrail.store.batch import SCHEMA
from kubetrail.store.duckdb import DuckDBStore

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


@dataclass
class Run:
    seconds: float
    peak_rss: int
    summary: dict[str, Any]


def ingest_run(path: Path, db: Path, workers: int) -> Run:
    cmd = [sys.executable, "-m", "kubetrail", "ingest", str(path), "--db", str(db), "-o", "json"]
    if workers:
        cmd += ["--workers", str(workers)]
    start = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc, PeakRss(proc.pid) as peak:
        out, _ = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode})")
    return Run(seconds, peak.take(), orjson.loads(out))


def rewrite_rate(db: Path, fresh: Path, write: Callable[[DuckDBStore, pa.Table], object]) -> float:
    """Events/s of `write` alone: the events of `db`, read back already normalized, written into a
    fresh store in batches of BATCH_EVENTS, as ingest writes them. Only the writes are timed, and
    the store's close (its last checkpoint)."""
    columns = ", ".join(f'"{c}"' for c in FIELD_NAMES)
    source = duckdb.connect(str(db), read_only=True)
    store = DuckDBStore(fresh)
    events, seconds = 0, 0.0
    try:
        for batch in _batches(source.sql(f"SELECT {columns} FROM events").to_arrow_reader(BATCH_EVENTS)):
            start = time.perf_counter()
            write(store, batch)
            seconds += time.perf_counter() - start
            events += batch.num_rows
    finally:
        source.close()
        start = time.perf_counter()
        store.close()
        seconds += time.perf_counter() - start
    return events / seconds


def _batches(pieces: pa.RecordBatchReader) -> Iterator[pa.Table]:
    """Whole batches of BATCH_EVENTS rows (the last one shorter): the reader stops its pieces at
    the source's row groups, and a write below a row group goes through the WAL (half the rate)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for piece in pieces:
        pending.append(piece)
        rows += piece.num_rows
        while rows >= BATCH_EVENTS:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, BATCH_EVENTS).combine_chunks().cast(SCHEMA)
            rest = table.slice(BATCH_EVENTS)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending).combine_chunks().cast(SCHEMA)


def store_write(store: DuckDBStore, batch: pa.Table) -> None:
    """What ingest does with a batch: dedupe, insert, side tables, commit."""
    store.write_events(batch)


def table_insert(store: DuckDBStore, batch: pa.Table) -> None:
    """The least any store of these events does: append them to the tables of their classes, as
    ingest does, nothing else."""
    store.con.register("_new", batch)
    store._append(set(pc.unique(batch["kind"]).to_pylist()))
    store.con.unregister("_new")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=0, help="ingest worker processes (0 = kubetrail's default)")
    ap.add_argument("--runs", type=int, default=3, help="ingest runs, each beside its parsing limit; the median is kept")
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    byte_compiled()

    path = audit_file(args.events, args.seed)
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    # The parsing limit: typed msgspec decoding, the fastest Python can read this file (beside it,
    # orjson into dicts: what a source normalizer receives). Each run measures the limit, then
    # the ingest; the run of the median ratio is reported. The events that the last run stored
    # are written again by the store alone.
    runs: list[tuple[float, float, Run]] = []  # (ratio, limit, run)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            limit = decode_rate(path, msgspec.json.Decoder(AuditEvent).decode)
            db = Path(tmp, f"ingest-{i}.duckdb")
            run = ingest_run(path, db, args.workers)
            runs.append((lines / run.seconds / limit, limit, run))
            if i < args.runs - 1:
                db.unlink()
        ratios = sorted(r for r, _, _ in runs)
        ratio, limit, run = next(r for r in runs if r[0] == ratios[len(ratios) // 2])
        os.replace(Path(tmp, f"ingest-{args.runs - 1}.duckdb"), Path(tmp, "ingest.duckdb"))
        generic = decode_rate(path, orjson.loads)
        write = rewrite_rate(Path(tmp, "ingest.duckdb"), Path(tmp, "write.duckdb"), store_write)
        insert = rewrite_rate(Path(tmp, "ingest.duckdb"), Path(tmp, "insert.duckdb"), table_insert)
        stages = breakdown([path], Path(tmp, "stages.duckdb"))
    stored = sum(run.summary["ingested"].values())
    rate = lines / run.seconds
    peak_rss = max(r.peak_rss for _, _, r in runs)
    cores = os.cpu_count() or 1
    bound = cores / (1 / limit + 1 / insert)
    bound_write = cores / (1 / limit + 1 / write)
    rows = [
        ("parsing limit: msgspec.json.Decoder(AuditEvent), 1 process, in the median run", f"{limit:,.0f}", "1.00", ""),
        ("orjson.loads to dicts, 1 process", f"{generic:,.0f}", f"{generic / limit:.2f}", ""),
        (f"kubetrail ingest end to end (workers={args.workers or 'auto'}), the median of {args.runs} runs"
         f" (ratios {', '.join(f'{r:.3f}' for r in ratios)})", f"{rate:,.0f}", f"{ratio:.2f}",
         f"{peak_rss / 2**20:,.0f} MiB (largest)"),
        ("the store's write alone: the stored events written again, 1 process", f"{write:,.0f}", f"{write / limit:.2f}", ""),
        ("the table insert alone: the same, into the tables of events only", f"{insert:,.0f}", f"{insert / limit:.2f}", ""),
        (f"bound: typed decoding + the table insert, nothing else, perfectly spread over {cores} cores", f"{bound:,.0f}",
         f"{bound / limit:.2f}", ""),
        (f"bound: typed decoding + the store's write, nothing else, perfectly spread over {cores} cores", f"{bound_write:,.0f}",
         f"{bound_write / limit:.2f}", ""),
    ]  # fmt: skip
    table = [
        f"### {time.strftime('%Y-%m-%d')}: ingest of {lines:,} simulated audit events ({path.stat().st_size / 2**20:,.0f} MiB)",
        "",
        f"Machine: {machine()}. Stored {stored:,} events in {run.seconds:.1f} s; "
        f"quarantined {run.summary['quarantined']}. Command: `{shlex.join(['python', '-m', 'bench.ingest', *sys.argv[1:]])}`.",
        "",
        "| what | events/s | ratio to parsing limit | peak RSS |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "Where an event's time goes: the same file ingested again in one process, its stages timed one by one (bench/stages.py).",
        "",
        *stages_table({"audit log": stages}, timer_overhead()),
        "",
    ]
    print("\n".join(table))
    if args.record:
        record(table)


if __name__ == "__main__":
    main()
