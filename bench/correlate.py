"""Correlation benchmark: a simulated cluster's telemetry from every source, ingested, then the
incidents question over the whole period (every join: exec sessions, token use, requests,
baselines, egress) with its time and peak memory, and a timeline and who for scale.

    python -m bench.correlate [--events 1000000] [--seed 7] [--record]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from bench.ingest import DATA, machine, record
from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.run import simulate
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS


def store_of(events: int, seed: int) -> tuple[Path, float]:
    """The store of a simulated cluster (cached under bench/data/) and its ingest seconds."""
    folder = DATA / f"sim-{events}-s{seed}"
    db = DATA / f"sim-{events}-s{seed}.duckdb"
    took = DATA / f"sim-{events}-s{seed}.ingest-seconds"
    if not db.exists():
        simulate(folder, seed=seed, hours=max(2.0, events / 200_000), events=events)
        start = time.perf_counter()
        store = DuckDBStore(db)
        ingest(store, list(expand_paths([str(folder)])), Options())
        store.close()
        took.write_text(f"{time.perf_counter() - start:.1f}")
    return db, float(took.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()

    db, ingest_s = store_of(args.events, args.seed)
    store = DuckDBStore(db, read_only=True)
    (span,) = store.con.execute("SELECT epoch_ns(min(time)), epoch_ns(max(time)), count(*) FROM events").fetchall()
    window = Window(span[0], span[1] + 1)
    start = time.perf_counter()
    doc = incidents(store, Query(window, limit=10_000))
    seconds = time.perf_counter() - start
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    lines = [
        f"### {time.strftime('%Y-%m-%d')}: incidents over {span[2]:,} simulated events from every source",
        "",
        f"Machine: {machine()}. Period {(span[1] - span[0]) / 3600 / NS:.1f} h; store {db.stat().st_size / 2**20:,.0f} MiB, "
        f"ingested in {ingest_s:.0f} s. Command: `python -m bench.correlate --events {args.events} --seed {args.seed}`.",
        "",
        "| what | value |",
        "|---|---:|",
        f"| incidents over the whole period (all joins, computed at query time) | {seconds:.1f} s |",
        f"| peak RSS of the process (store open, answer built) | {peak:.2f} GiB |",
        f"| incidents found / gaps reported | {len(doc['rows'])} / {len(doc['gaps'])} |",
        "",
    ]
    print("\n".join(lines))
    if args.record:
        record(lines)


if __name__ == "__main__":
    main()
