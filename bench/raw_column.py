"""Where the original record should live (issue 16): what writing a class table costs with and
without its `raw` column, written as the store writes (one thread, the write memory limit, a
commit per row group, then a checkpoint), from the rows of a store the suite built.

    python -m bench.raw_column [STORE] [--tables api_calls,flows] [--runs 3] [--record]

Each layout gets the same rows (up to 3 row groups of 122,880) in a fresh file:
- inline: the table as it is (`raw` a ZSTD VARCHAR column);
- without raw: the table without it, the hot table's own cost;
- side table: without raw, and (id_key, raw) in a table of its own;
- zstd segments: without raw, and the raws of each 1,024 rows compressed by Arrow (zstd) into one
  BLOB, the work a worker process could take off the writer.
Measured: µs per event (median of the runs) and the file's bytes per event.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from bench.report import machine, record, table
from kubetrail.store.duckdb import WRITE_MEMORY_LIMIT

STORE: Final = Path(__file__).resolve().parent / "data" / "cluster-1000000-s7.duckdb"
ROW_GROUP: Final = 122_880
SEGMENT_ROWS: Final = 1_024
RAW: Final = ", raw VARCHAR USING COMPRESSION ZSTD"

Extra = Callable[[duckdb.DuckDBPyConnection, pa.Table], None]


def rows_of(store: Path, name: str) -> tuple[str, pa.Table]:
    with duckdb.connect(str(store), read_only=True) as con:
        (ddl,) = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0]
        rows = con.sql(f"SELECT * FROM {name} LIMIT {3 * ROW_GROUP}").to_arrow_table()
    if RAW not in ddl:
        raise SystemExit(f"{store}: table {name} has no column `{RAW.strip(', ')}`; is it a store of schema 15?")
    return ddl, rows


def side_table(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> None:
    con.register("_raws", batch.select(["id_key", "raw"]))
    con.execute("INSERT INTO raws SELECT * FROM _raws")
    con.unregister("_raws")


def segments(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> None:
    raw = batch["raw"].combine_chunks()
    blobs: list[bytes] = []
    sizes: list[int] = []
    for start in range(0, len(raw), SEGMENT_ROWS):
        part = raw.slice(start, SEGMENT_ROWS)
        offsets, data = part.buffers()[1], part.buffers()[2]
        first = struct.unpack_from("<i", offsets, 4 * part.offset)[0]
        last = struct.unpack_from("<i", offsets, 4 * (part.offset + len(part)))[0]
        blobs.append(pa.compress(data.slice(first, last - first), "zstd", asbytes=True))
        sizes.append(last - first)
    con.register("_segments", pa.table({"data": pa.array(blobs, pa.binary()), "size": pa.array(sizes, pa.int64())}))
    con.execute("INSERT INTO raw_segments SELECT * FROM _segments")
    con.unregister("_segments")


LAYOUTS: Final[dict[str, tuple[bool, str, Extra | None]]] = {
    # name: (keeps raw in the table, the extra table's DDL, what else each batch writes)
    "inline": (True, "", None),
    "without raw": (False, "", None),
    "side table": (False, "CREATE TABLE raws (id_key UBIGINT, raw VARCHAR USING COMPRESSION ZSTD)", side_table),
    "zstd segments": (False, "CREATE TABLE raw_segments (data BLOB, size BIGINT)", segments),
}


def write(ddl: str, rows: pa.Table, name: str, layout: str, folder: Path) -> tuple[float, int]:
    """Seconds to write `rows` in this layout, and the file's size."""
    keep, extra_ddl, extra = LAYOUTS[layout]
    path = folder / f"{name}-{layout.replace(' ', '-')}.duckdb"
    path.unlink(missing_ok=True)
    batch_of = rows if keep else rows.drop_columns(["raw"])
    with duckdb.connect(str(path)) as con:
        con.execute(f"SET memory_limit = '{WRITE_MEMORY_LIMIT}'")
        con.execute("SET threads = 1")
        con.execute(ddl if keep else ddl.replace(RAW, ""))
        if extra_ddl:
            con.execute(extra_ddl)
        started = time.perf_counter()
        for start in range(0, rows.num_rows, ROW_GROUP):
            con.execute("BEGIN")
            con.register("_batch", batch_of.slice(start, ROW_GROUP))
            con.execute(f"INSERT INTO {name} SELECT * FROM _batch")
            con.unregister("_batch")
            if extra is not None:
                extra(con, rows.slice(start, ROW_GROUP))
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
        _check(con, name, layout, rows)
    size = path.stat().st_size
    path.unlink()
    return seconds, size


def _check(con: duckdb.DuckDBPyConnection, name: str, layout: str, rows: pa.Table) -> None:
    """Every row written, and every raw byte where its layout keeps it."""
    stored = {"table": f"SELECT count(*) FROM {name}"}
    if layout == "side table":
        stored["raws"] = "SELECT count(*) FROM raws"
    if layout == "zstd segments":
        stored["raw bytes"] = "SELECT sum(size) FROM raw_segments"
    expected = {"table": rows.num_rows, "raws": rows.num_rows, "raw bytes": _raw_bytes(rows)}
    for what, sql in stored.items():
        (got,) = con.execute(sql).fetchall()[0]
        if got != expected[what]:
            raise SystemExit(f"{name}, {layout}: {got} {what} stored of {expected[what]}")


def _raw_bytes(rows: pa.Table) -> int:
    return sum(len(r.encode()) for r in rows["raw"].to_pylist() if r is not None)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.raw_column", description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path, nargs="?", default=STORE, help="a store of schema 15 (default: the suite's 1M store)")
    ap.add_argument("--tables", default="api_calls,flows", help="class tables, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args()
    if not args.store.exists():
        raise SystemExit(f"{args.store}: no such store; `python -m bench --events 1000000` builds the default one")
    out = [
        f"### {time.strftime('%Y-%m-%d')}: writing a class table with and without the original record",
        "",
        f"Machine: {machine()}. Command: `{shlex.join(['python', '-m', 'bench.raw_column', *sys.argv[1:]])}`.",
        "",
    ]
    header = ("table, rows", "layout", "µs per event", "vs inline", "file bytes per event")
    rows_out: list[list[str]] = []
    with tempfile.TemporaryDirectory(dir=args.store.parent) as tmp:
        for name in args.tables.split(","):
            ddl, rows = rows_of(args.store, name)
            raw_bytes = _raw_bytes(rows) / rows.num_rows
            timings = {layout: [write(ddl, rows, name, layout, Path(tmp)) for _ in range(args.runs)] for layout in LAYOUTS}
            inline = statistics.median(s for s, _ in timings["inline"])
            for layout, runs in timings.items():
                seconds = statistics.median(s for s, _ in runs)
                rows_out.append([
                    f"{name}, {rows.num_rows:,} (raw {raw_bytes:,.0f} B each)", layout, f"{seconds / rows.num_rows * 1e6:.2f}",
                    f"{seconds / inline:.2f}", f"{runs[0][1] / rows.num_rows:.0f}",
                ])  # fmt: skip
                print(" | ".join(rows_out[-1]), flush=True)
    out += [*table(header, rows_out, "llrrr"), ""]
    out.append(
        f"Each layout: the same rows in a fresh file, one thread, memory limit {WRITE_MEMORY_LIMIT}, a commit per "
        f"{ROW_GROUP:,} rows, then a checkpoint; median of {args.runs} runs. Segments: {SEGMENT_ROWS:,} raws per zstd BLOB."
    )
    out.append("")
    print("\n".join(out))
    if args.record:
        record(out)


if __name__ == "__main__":
    main()
