"""Migrating a store written by an older kubetrail, as a user's store is on upgrade.

    python -m bench.migrate OLD.duckdb [--record]

The store is copied (the original is left as it is) and opened by this kubetrail in a child
process, which migrates it. Measured: seconds, the child's peak RSS, the store's peak disk use
(its file, WAL, DuckDB's temporary folder and a migration's fresh file, sampled) beside its size before, and its size after.
Checked: the events' ids and contents (count and an order-free digest of id and content hash, per
kind) and the schema version, before and after.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import duckdb

from bench.measure import Peak, PeakRss
from bench.report import machine, record
from kubetrail.store.duckdb import SCHEMA_VERSION

DIGEST: Final = "SELECT kind, count(*), bit_xor(hash(id)), bit_xor(hash(content_hash)) FROM events GROUP BY kind ORDER BY kind"


def disk(db: Path) -> int:
    """Bytes the store takes: its file, its WAL, DuckDB's temporary folder, and the fresh file a
    migration by copy writes beside it (with its WAL)."""
    total = 0
    tmp = Path(f"{db}.tmp")
    beside = (Path(f"{db}.wal"), Path(f"{db}.migrating"), Path(f"{db}.migrating.wal"))
    for path in (db, *beside, *(tmp.iterdir() if tmp.is_dir() else ())):
        try:
            total += path.stat().st_size
        except FileNotFoundError:  # not there, or a temporary file gone between listing and stat
            continue
    return total


def state(db: Path) -> tuple[int, list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        (version,) = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0]
        return int(version), con.execute(DIGEST).fetchall()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.migrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path, help="a store written by an older kubetrail (left unchanged)")
    ap.add_argument("--work", type=Path, default=None, help="where the copy is migrated (default: beside the store)")
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args()
    work: Path = args.work or args.store.with_name(args.store.stem + "-migrated.duckdb")
    for path in (work, Path(f"{work}.wal")):
        path.unlink(missing_ok=True)
    shutil.copyfile(args.store, work)
    before_version, before = state(work)
    if before_version >= SCHEMA_VERSION:
        raise SystemExit(f"{args.store}: schema {before_version}, not older than this kubetrail's ({SCHEMA_VERSION})")
    size_before = disk(work)
    events = sum(int(row[1]) for row in before)  # type: ignore[call-overload]
    cmd = [
        sys.executable,
        "-c",
        "import sys; from kubetrail.store.duckdb import DuckDBStore; DuckDBStore(sys.argv[1]).close()",
        str(work),
    ]
    started = time.perf_counter()
    with Peak(lambda: disk(work)) as peak_disk, subprocess.Popen(cmd) as proc, PeakRss(proc.pid) as rss:
        proc.wait()
    disk_peak = peak_disk.take()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"migration failed with exit status {proc.returncode}")
    after_version, after = state(work)
    same = after == before
    mib = 2**20
    lines = [
        f"### {time.strftime('%Y-%m-%d')}: migrating a store of {events:,} events, schema {before_version} to {after_version}",
        "",
        f"Machine: {machine()}. Command: `{shlex.join(['python', '-m', 'bench.migrate', *sys.argv[1:]])}`.",
        "",
        "| what | value |",
        "|---|---:|",
        f"| time to open the store and migrate it | {seconds:.1f} s |",
        f"| peak RSS of the migrating process | {rss.take() / mib:,.0f} MiB |",
        f"| store on disk before | {size_before / mib:,.0f} MiB |",
        f"| peak on disk while migrating (file, WAL, temporary folder, fresh file) | {disk_peak / mib:,.0f} MiB"
        f" ({disk_peak / size_before:.2f}x) |",
        f"| store on disk after | {disk(work) / mib:,.0f} MiB ({disk(work) / size_before:.2f}x) |",
        f"| events per kind, ids and content hashes the same after | {'yes' if same else 'NO'} |",
        "",
    ]
    print("\n".join(lines), flush=True)
    if not same:
        print(f"before: {before}\nafter: {after}", file=sys.stderr)
    if args.record:
        record(lines)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
