"""What writing one drained group costs `serve`'s drain beside threads that want the GIL (issue 14).

    python -m bench.group_write [--store-events 1000000] [--groups 40] [--events 5000] [--record]

`serve`'s drain writes each group of received events (LiveWriter.commit) while the receivers and
the alert engine run Python on other threads. Every call into DuckDB gives the GIL up and takes
it back, and a thread that wants it back waits until the holder hands it over: at most
`sys.getswitchinterval()` later (CPython's default 5 ms).

A store is made of the simulated cluster's first `--store-events` events (bench/inputs.py; every
source at bench.serve's shares, in groups of 100,000), then `--groups` groups of `--events` of
the records that follow, normalized beforehand, are written into a copy of it with serve's store
settings, in each case:
- alone;
- beside one thread running Python without pause (the worst competitor: it always wants the
  GIL), at CPython's switch interval and at serve's (SWITCH_SECONDS).
Measured: the median write of a group, the share of it each stage of the store's write took
(the store's stage timers), and that every case stored the same events.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.inputs import CLUSTER, DATA, cluster
from bench.report import machine, record, table
from bench.serve import WIRES, shares
from kubetrail.ingest.live import Body, LiveWriter, Prepared, normalize
from kubetrail.ingest.pipeline import ChunkResult
from kubetrail.serve.run import SWITCH_SECONDS
from kubetrail.store import Cursor
from kubetrail.store.duckdb import DuckDBStore

DEFAULT_SWITCH: Final = 0.005  # CPython's
BUILD_GROUP: Final = 100_000  # events per group while the store is made (not measured)
CASES: Final = (
    # (name, a busy thread beside the writer, switch interval)
    ("alone", False, DEFAULT_SWITCH),
    (f"beside a busy thread, switch interval {DEFAULT_SWITCH * 1000:g} ms (CPython's)", True, DEFAULT_SWITCH),
    (f"beside a busy thread, switch interval {SWITCH_SECONDS * 1000:g} ms (serve's)", True, SWITCH_SECONDS),
)


class Records:
    """The simulated files read on from where the last group ended, each source at its share."""

    def __init__(self, folder: Path, skip: dict[str, int] | None = None) -> None:
        self.share = shares()
        self.lines = {w.file: _lines(folder / w.file) for w in WIRES}
        self.taken = dict.fromkeys(self.lines, 0)
        for name, n in (skip or {}).items():
            self._take(name, n)

    def group(self, events: int) -> list[Body]:
        bodies = []
        for w in WIRES:
            data = b"".join(self._take(w.file, max(1, round(events * self.share[w.file] / w.records_per_line))))
            if data:
                bodies.append(Body(data, f"POST {w.path} from bench", w.source, CLUSTER))
        if not bodies:
            raise SystemExit("bench.group_write: the simulated files ran out: give fewer --groups or --events")
        return bodies

    def _take(self, name: str, n: int) -> list[bytes]:
        lines = list(itertools.islice(self.lines[name], n))
        self.taken[name] += len(lines)
        return lines


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from f


@dataclass(frozen=True)
class Case:
    name: str
    seconds: list[float]  # per group
    stages: dict[str, float]  # seconds over all groups
    stored: int


def build(path: Path, records: Records, events: int) -> None:
    store = DuckDBStore.live(path)
    writer = LiveWriter(store, CLUSTER)
    for _ in range(events // BUILD_GROUP):
        writer.write(records.group(BUILD_GROUP))
    store.close()


@contextmanager
def busy(on: bool) -> Iterator[None]:
    """A thread that runs Python without pause, while the block runs."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    thread = threading.Thread(target=spin, daemon=True)
    if on:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if on:
            thread.join()


def measure(base: Path, folder: Path, inputs: Path, start: dict[str, int], case: tuple[str, bool, float], groups: int,
            events: int) -> Case:  # fmt: skip
    name, competing, switch = case
    path = folder / "case.duckdb"
    shutil.copyfile(base, path)
    store = DuckDBStore.live(path)
    writer = LiveWriter(store, CLUSTER)
    records = Records(inputs, start)
    prepared: list[tuple[Prepared, list[ChunkResult]]] = []
    for _ in range(groups):
        p = writer.prepare(records.group(events))
        prepared.append((p, normalize(p.parts)))
    store.stages = {}
    seconds: list[float] = []
    stored = 0
    before = sys.getswitchinterval()
    sys.setswitchinterval(switch)
    try:
        with busy(competing):
            for i, (p, results) in enumerate(prepared):
                started = time.perf_counter()
                result = writer.commit(p, results, Cursor("bench", i))
                seconds.append(time.perf_counter() - started)
                stored += sum(result.stored.values())
    finally:
        sys.setswitchinterval(before)
    stages = store.stages
    store.close()
    path.unlink()
    return Case(name, seconds, stages, stored)


def report(cases: list[Case], argv: list[str], store_events: int, groups: int, events: int) -> list[str]:
    alone = statistics.median(cases[0].seconds)
    stage_names = sorted(cases[0].stages, key=lambda s: -cases[0].stages[s])
    rows = []
    for c in cases:
        total = sum(c.seconds)
        median = statistics.median(c.seconds)
        top = ", ".join(f"{s} {c.stages.get(s, 0.0) / total:.0%}" for s in stage_names[:4])
        rows.append([c.name, f"{median * 1000:,.0f} ms", f"{median / alone:.2f}", f"{c.stored:,}", top])
    return [
        f"### {time.strftime('%Y-%m-%d')}: writing a drained group beside a thread that wants the GIL",
        "",
        f"Machine: {machine()}. Command: `{shlex.join(['python', '-m', 'bench.group_write', *argv])}`.",
        "",
        *table(["case", "median write per group", "vs alone", "events stored", "largest stages of the write"], rows, "lrrrl"),
        "",
        f"A store of the simulated cluster's first {store_events:,} events, then {groups} groups of {events:,} events "
        "of the records that follow (every source at bench.serve's shares), each written by LiveWriter.commit into "
        "a copy of it with serve's store settings.",
        "",
    ]


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(prog="python -m bench.group_write", description=__doc__.split("\n\n")[0])
    ap.add_argument("--store-events", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=40)
    ap.add_argument("--events", type=int, default=5_000, help="events per group")
    ap.add_argument("--cluster-events", type=int, default=4_000_000, help="the simulated cluster read (bench.serve's)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args(argv)
    if args.store_events + args.groups * args.events > args.cluster_events:
        raise SystemExit("bench.group_write: --store-events and the groups need more than --cluster-events")
    inputs = cluster(args.cluster_events, 7, args.data)
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="group-write-", dir=args.data) as tmp:
        base = Path(tmp) / "base.duckdb"
        records = Records(inputs.folder)
        build(base, records, args.store_events)
        for case in CASES:
            cases.append(measure(base, Path(tmp), inputs.folder, records.taken, case, args.groups, args.events))
            print(f"bench.group_write: {case[0]}: median {statistics.median(cases[-1].seconds) * 1000:,.0f} ms",
                  file=sys.stderr, flush=True)  # fmt: skip
    if len({c.stored for c in cases}) != 1:
        raise SystemExit(f"bench.group_write: the cases stored different events: {[c.stored for c in cases]}")
    lines = report(cases, list(sys.argv[1:] if argv is None else argv), args.store_events, args.groups, args.events)
    print("\n".join(lines), flush=True)
    if args.record:
        record(lines)
    return lines


if __name__ == "__main__":
    main()
