"""The ClickHouse store (through chDB) beside the DuckDB store, in the same run: the same
simulated cluster ingested into each (events/s and peak RSS of the ingest process, store bytes
per event), then every question warm on each with the same parameters (p50/p95 against the
issue's targets), and the answers compared.

    python -m bench.clickhouse [--events 10000000] [--seed 7] [--repeat 20] [--fresh] [--profile] [--record]

--profile adds where one warm call of each question spends its time: the named queries it asks
of the store, each with its calls and milliseconds, and what is left (the answer's own Python;
`incidents` asks its queries on several threads at once, so they add up to more than the call).

Both stores are cached under bench/data/ (ch-<events>-s<seed>.duckdb and .chdb/) until the code
or the inputs change; --fresh ingests again.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from bench import report
from bench.inputs import CLUSTER, Inputs, cluster, fingerprint
from bench.measure import byte_compiled, child_messages, percentile
from bench.questions import Params, questions
from bench.suite import Timing, span_and_params, warm
from kubetrail.store import open_store
from kubetrail.store.clickhouse import ClickHouseStore

GIB: Final = 2**30
INGEST_RATIO: Final = 0.9  # issue 17: ingest into chDB within 10% of DuckDB's rate, or better
CHDB_RSS: Final = 1.5 * GIB


class Ingested(msgspec.Struct, frozen=True):
    code: str
    events: int  # read: stored or found stored
    stored: int
    seconds: float
    peak_rss: int
    store_bytes: int


@dataclass(frozen=True)
class Engine:
    name: str
    db: str  # --db
    files: tuple[Path, ...]  # what the store is on disk


def engines(inputs: Inputs) -> list[Engine]:
    base = inputs.folder.with_name(f"ch-{inputs.folder.name}")
    duck = base.with_suffix(".duckdb")
    chdb = base.with_suffix(".chdb")
    return [
        Engine("DuckDB", str(duck), (duck, Path(f"{duck}.wal"))),
        Engine("chDB", f"chdb://{chdb}", (chdb, Path(f"{chdb}.lock"))),
    ]


def ingested(engine: Engine, inputs: Inputs, fresh: bool) -> Ingested:
    """Every file into a new store by one child process (as `kubetrail ingest FILE` each), or the
    measurement kept from when the cached store was built."""
    meta = engine.files[0].with_name(engine.files[0].name + ".ingest.json")
    code = f"{fingerprint()}/{inputs.fingerprint()}"
    if not fresh and meta.exists() and engine.files[0].exists():
        kept = msgspec.json.decode(meta.read_bytes(), type=Ingested)
        if kept.code == code:
            return kept
    for path in (*engine.files, meta):
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    print(f"bench: ingesting {inputs.folder} into {engine.db}", file=sys.stderr, flush=True)
    events = stored = 0
    seconds = 0.0
    peak = 0
    for msg, rss in child_messages(["ingest", engine.db, CLUSTER, *map(str, inputs.files())]):
        peak = max(peak, rss)
        if "start" not in msg:
            events += msg["stored"] + msg["duplicates"]
            stored += msg["stored"]
            seconds += msg["seconds"]
    result = Ingested(code, events, stored, seconds, peak, _store_bytes(engine))
    meta.write_bytes(msgspec.json.encode(result))
    return result


def _store_bytes(engine: Engine) -> int:
    """What the store holds on disk: DuckDB's file; chDB's active parts (the folder holds, for a
    few minutes after an ingest, the parts its merges replaced too: 530 against 234 bytes per
    event at 1M)."""
    if not engine.db.startswith("chdb://"):
        return sum(_bytes(p) for p in engine.files)
    store = open_store(engine.db, read_only=True)
    try:
        assert isinstance(store, ClickHouseStore)
        sql = "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = currentDatabase() AND active"
        return int(store.client.query(sql).result_rows[0][0])
    finally:
        store.close()


def _bytes(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.exists() else 0


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.clickhouse", description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--profile", action="store_true", help="where one warm call of each question spends its time")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    byte_compiled()
    inputs = cluster(args.events, args.seed)
    duck, chdb = engines(inputs)
    runs = {e.name: ingested(e, inputs, args.fresh) for e in (duck, chdb)}
    _, params = span_and_params(Path(duck.db), 20)
    timings: dict[str, list[Timing]] = {}
    for engine in (duck, chdb):
        store = open_store(engine.db, read_only=True)
        try:
            qs = questions(store, params)
            timings[engine.name] = warm(qs, args.repeat)
        finally:
            store.close()
    stores = [open_store(e.db, read_only=True) for e in (duck, chdb)]
    try:
        answers = [[q.ask() for q in questions(s, params)] for s in stores]
        names = [q.name for q in questions(stores[0], params)]
        differ = [n for n, a, b in zip(names, *answers, strict=True) if a != b]
    finally:
        for s in stores:
            s.close()
    lines = section(args, runs, timings, differ)
    if args.profile:
        lines += profiles([(e.name, open_store(e.db, read_only=True)) for e in (chdb, duck)], params)
    print("\n".join(lines))
    if args.record:
        report.record(lines)


def section(
    args: argparse.Namespace, runs: dict[str, Ingested], timings: dict[str, list[Timing]], differ: list[str]
) -> list[str]:
    d, c = runs["DuckDB"], runs["chDB"]
    rate_d, rate_c = d.events / d.seconds, c.events / c.seconds
    ok = rate_c >= INGEST_RATIO * rate_d and c.peak_rss <= CHDB_RSS
    rows = [
        (f"ingest, every source ({c.events:,} events read)", f"{rate_c:,.0f} events/s, peak {report.mib(c.peak_rss)}",
         f"{rate_d:,.0f} events/s, peak {report.mib(d.peak_rss)}", f"{rate_c / rate_d:.2f}",
         f"≥ {INGEST_RATIO}, peak ≤ {report.mib(CHDB_RSS)} {report.met(ok)}"),
        ("store bytes per event", f"{c.store_bytes / c.stored:,.0f} B", f"{d.store_bytes / d.stored:,.0f} B",
         f"{(c.store_bytes / c.stored) / (d.store_bytes / d.stored):.2f}", ""),
    ]  # fmt: skip
    for tc, td in zip(timings["chDB"], timings["DuckDB"], strict=True):
        p95c, p95d = percentile(tc.seconds, 95), percentile(td.seconds, 95)
        rows.append((f"{tc.name}: p50 / p95", f"{report.duration(percentile(tc.seconds, 50))} / {report.duration(p95c)}",
                     f"{report.duration(percentile(td.seconds, 50))} / {report.duration(p95d)}", f"{p95c / p95d:.2f}",
                     f"p95 {report.bound(tc.target)} {report.met(p95c <= tc.target)}"))  # fmt: skip
    out = [
        f"### {time.strftime('%Y-%m-%d')}: the ClickHouse store (chDB) beside DuckDB, {args.events:,} simulated events",
        "", f"Machine: {report.machine()}.", "",
        f"Command: `{shlex.join(['python', '-m', 'bench.clickhouse', *sys.argv[1:]])}`.", "",
        *report.table(("measure", "chDB", "DuckDB, same run", "ratio", "target"), rows, "lrrrl"), "",
        "Ingest: each file by its own ingest call in one child process per engine; peak RSS of that process and its "
        "workers. Questions: warm in the library, the same parameters on both stores, after one untimed call.",
        "Answers: " + ("identical on both stores." if not differ else f"DIFFERENT on {', '.join(differ)}."), "",
    ]  # fmt: skip
    return out


def profiles(stores: list[tuple[str, Any]], params: Params) -> list[str]:
    """One warm call of each question on each store (closed after), with the time of every named
    query it asked."""
    asking = []
    for engine, store in stores:
        spent: dict[str, list[float]] = defaultdict(list)
        store.query = _timed(store.query, spent)  # the instance's, shadowing the method
        asking.append((engine, questions(store, params), spent))
    rows = []
    try:
        for i in range(len(asking[0][1])):
            for engine, qs, spent in asking:
                qs[i].ask()  # warm
                spent.clear()
                start = time.perf_counter()
                qs[i].ask()
                total = time.perf_counter() - start
                asked = sorted(spent.items(), key=lambda kv: -sum(kv[1]))
                parts = [f"{name} {sum(t) * 1000:.0f}" + (f" ({len(t)}x)" if len(t) > 1 else "") for name, t in asked]
                rest = total - sum(sum(t) for t in spent.values())  # under 0: queries asked on several threads at once
                parts.append(f"the rest {rest * 1000:.0f}" if rest >= 0 else "some at once")
                rows.append((qs[i].name, engine, report.duration(total), ", ".join(parts)))
    finally:
        for _, store in stores:
            store.close()
    return [
        "Where one warm call spends its time (`--profile`): the named queries asked of the store, in ms.", "",
        *report.table(("question", "store", "call", "named queries, ms"), rows, "llrl"), "",
    ]  # fmt: skip


def _timed(query: Callable[..., Any], spent: dict[str, list[float]]) -> Callable[..., Any]:
    def timed(name: str, **params: Any) -> Any:
        start = time.perf_counter()
        try:
            return query(name, **params)
        finally:
            spent[name].append(time.perf_counter() - start)

    return timed


if __name__ == "__main__":
    main()
