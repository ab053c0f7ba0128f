"""Where an ingested event's time goes: `kubetrail ingest`'s stages timed one by one, in one
process, over the same files.

    python -m bench.stages [--events 1000000] [--seed 7] [--record]

The pipeline's own functions run as ingest runs them (`normalize_chunk` per chunk, the store's
`write_events` per batch of BATCH_EVENTS), the normalizing and the store's write in passes of
their own (see `breakdown`); each stage's functions are wrapped with a timer in the modules that
call them:

- read and frame: the file read, decompressed and hashed, cut into chunks of whole lines;
- decode: each line split off and parsed by `orjson.loads`;
- detect: which source a record is;
- redaction: the scan for secret material, and the masking where it is found;
- normalize: the source's normalizer, without the ids it makes;
- ids and hashes: event ids (`make_id`, inside the normalizers) and content hashes (the event
  encoded and checksummed);
- raw record: the original text kept for `show`;
- pipeline: the rest of `normalize_chunk` (checks, provenance, counting, freeing each record's
  parsed value);
- columns: events into Arrow columns;
- dedupe, insert, side tables, commit: the store's write (DuckDBStore.stages).

The timers cost some time of their own: each wrapped call is counted and the cost of one
measured on a function that does nothing, and the total shown as its own row; and the
normalizing (decode to columns) is also run with no timers first, both shown side by side.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import pyarrow as pa

from bench.inputs import cluster
from bench.measure import byte_compiled
from bench.report import machine, record
from kubetrail.ids import content_hash
from kubetrail.ingest import pipeline
from kubetrail.ingest.pipeline import BATCH_EVENTS, ChunkResult, Job, normalize_chunk
from kubetrail.ingest.reader import Chunk, Record, Skipped, chunks, open_input, records_of
from kubetrail.sources import Source, detect, registry
from kubetrail.store.batch import to_arrow
from kubetrail.store.duckdb import DuckDBStore

STAGES: Final = (
    "read and frame", "decode", "detect", "redaction", "normalize", "ids and hashes", "raw record", "pipeline",
    "columns", "dedupe", "insert", "side tables", "commit",
)  # fmt: skip
NORMALIZE_STAGES: Final = STAGES[1:8]  # inside normalize_chunk
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class Breakdown:
    """Seconds per stage over some inputs, and the events they stored."""

    seconds: defaultdict[str, float] = dataclasses.field(default_factory=lambda: defaultdict(float))
    events: int = 0
    records: int = 0
    calls: int = 0  # wrapped calls (each costs the timer's overhead)
    untimed: float = 0.0  # seconds of normalize_chunk over the same inputs with no timers

    def normalizing_us(self) -> float:
        """The timed stages that normalize_chunk runs (decode to columns), µs/event."""
        return sum(self.us(s) for s in (*NORMALIZE_STAGES, "columns"))

    def us(self, stage: str) -> float:
        return self.seconds[stage] / max(1, self.events) * 1e6


class _Timers:
    def __init__(self, into: Breakdown) -> None:
        self.into = into

    def wrap(self, stage: str, fn: F) -> F:
        seconds, into, clock = self.into.seconds, self.into, time.perf_counter

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[stage] += clock() - start
                into.calls += 1

        return timed  # type: ignore[return-value]


class _Patched:
    """The pipeline's stage functions replaced by timed ones, for the life of the context."""

    def __init__(self, timers: _Timers) -> None:
        self.timers = timers
        self.saved: list[tuple[object, str, object]] = []
        self.sources: dict[str, Source] = {}

    def __enter__(self) -> _Patched:
        t = self.timers
        self._set(pipeline, "detect", self._detect(detect))
        for name in ("needs_redaction", "redact"):
            self._set(pipeline, name, t.wrap("redaction", getattr(pipeline, name)))
        self._set(pipeline, "_raw", t.wrap("raw record", pipeline._raw))
        self._set(pipeline, "_encode", t.wrap("ids and hashes", pipeline._encode))
        self._set(pipeline, "content_hash", t.wrap("ids and hashes", content_hash))
        self._set(pipeline, "to_arrow", t.wrap("columns", to_arrow))
        self._set(pipeline, "records_of", self._records_of)
        for source in registry().values():
            module = __import__(source.normalize.__module__, fromlist=["make_id"])
            if hasattr(module, "make_id"):  # ids are made inside the normalizers: timed apart
                self._set(module, "make_id", t.wrap("ids in normalize", module.make_id))
        return self

    def _records_of(self, chunk: Chunk) -> Iterator[Record | Skipped]:
        """The chunk's records one at a time, each one's decoding timed, as the pipeline takes them."""
        into, clock = self.timers.into, time.perf_counter
        items = records_of(chunk)
        while True:
            start = clock()
            item = next(items, None)
            into.seconds["decode"] += clock() - start
            into.calls += 1
            if item is None:
                return
            yield item

    def _detect(self, detect: Callable[..., Source | None]) -> Callable[..., Source | None]:
        timed = self.timers.wrap("detect", detect)

        def detect_timed(record: Any, hint: Source | None = None) -> Source | None:
            found = timed(record, hint)
            if found is None:
                return None
            if found.name not in self.sources:
                normalize = self.timers.wrap("normalize", lambda value, n=found.normalize: list(n(value)))
                self.sources[found.name] = dataclasses.replace(found, normalize=normalize)
            return self.sources[found.name]

        return detect_timed

    def _set(self, module: object, name: str, value: object) -> None:
        self.saved.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    def __exit__(self, *exc: object) -> None:
        for module, name, value in reversed(self.saved):
            setattr(module, name, value)


def breakdown(paths: list[Path], db: Path) -> Breakdown:
    """The stages of ingesting `paths` into a new store at `db`, one process, in three passes:
    the normalizing with no timers, then timed stage by stage, then again with no timers into
    the store, whose write is timed. Apart: DuckDB's work in the same process (its threads at a
    commit) slowed the normalizing between writes by ~40 µs per audit event."""
    out = Breakdown(untimed=sum(seconds for _, seconds in _normalized(paths, None)))
    with _Patched(_Timers(out)):
        for result, seconds in _normalized(paths, out):
            out.seconds["normalize_chunk"] += seconds
            out.records += result.records
    store = DuckDBStore(db)
    store.stages = {}
    pending: list[pa.Table] = []
    rows = 0
    try:
        for result, _ in _normalized(paths, None, store):
            store.write_quarantine(result.quarantine)
            pending.append(result.events)
            rows += result.events.num_rows
            while rows >= BATCH_EVENTS:
                rows = _write(store, pending, BATCH_EVENTS, out)
        while rows:
            rows = _write(store, pending, rows, out)
    finally:
        start = time.perf_counter()
        store.close()
        store.stages["commit"] = store.stages.get("commit", 0.0) + time.perf_counter() - start
    s = out.seconds
    s["normalize"] -= s["ids in normalize"]
    s["ids and hashes"] += s.pop("ids in normalize")
    s["pipeline"] = s.pop("normalize_chunk") - sum(s[k] for k in (*NORMALIZE_STAGES, "columns") if k != "pipeline")
    for name, seconds in store.stages.items():
        s["side tables" if name.startswith("side table ") else name] += seconds
        if name.startswith("side table "):
            s[name] = seconds
    return out


def _normalized(
    paths: list[Path], timed: Breakdown | None, store: DuckDBStore | None = None
) -> Iterator[tuple[ChunkResult, float]]:
    """Each chunk's result and the seconds normalize_chunk took; reading and framing timed into
    `timed`; files rows begun in `store` (else file id 0)."""
    decoders = pipeline._decoders()
    for path in paths:
        job = Job(str(path), store.begin_file(str(path)) if store else 0, None, "bench", "bench")
        stream, _ = open_input(str(path))
        with stream:
            items = chunks(stream, decoders)
            while True:
                start = time.perf_counter()
                chunk = next(items, None)
                if timed is not None:
                    timed.seconds["read and frame"] += time.perf_counter() - start
                if chunk is None:
                    break
                start = time.perf_counter()
                result = normalize_chunk(chunk, job)
                yield result, time.perf_counter() - start


def _write(store: DuckDBStore, pending: list[pa.Table], rows: int, out: Breakdown) -> int:
    """Write the first `rows` pending events; the rows left."""
    table = pa.concat_tables(pending)
    store.write_events(table.slice(0, rows))
    rest = table.slice(rows)
    pending[:] = [rest] if rest.num_rows else []
    out.events += rows
    return int(rest.num_rows)


def _nothing() -> None:
    pass


def timer_overhead() -> float:
    """Seconds one timed call costs beyond the call itself."""
    calls = 200_000
    bare = _nothing
    timed = _Timers(Breakdown()).wrap("x", bare)
    start = time.perf_counter()
    for _ in range(calls):
        bare()
    plain = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(calls):
        timed()
    return max(0.0, (time.perf_counter() - start - plain) / calls)


def table(columns: dict[str, Breakdown], overhead: float) -> list[str]:
    """Stages as rows, one column of µs/event per input set, and the side tables in detail."""
    names = list(columns)
    detail = sorted({k for b in columns.values() for k in b.seconds if k.startswith("side table ")})
    lines = [f"| stage | {' | '.join(f'{n}, µs/event' for n in names)} |", "|---|" + "---:|" * len(names)]
    for stage in (*STAGES, *detail):
        cells = [f"{b.us(stage):.1f}" for b in columns.values()]
        label = f"… {stage.removeprefix('side table ')}" if stage in detail else stage
        lines.append(f"| {label} | {' | '.join(cells)} |")
    totals = [f"**{sum(b.us(s) for s in STAGES):.1f}**" for b in columns.values()]
    lines.append(f"| total, one process | {' | '.join(totals)} |")
    timers = [f"{b.calls * overhead / max(1, b.events) * 1e6:.1f}" for b in columns.values()]
    lines.append(f"| … of which the timers themselves (estimated, in the stages above) | {' | '.join(timers)} |")
    both = [f"{b.normalizing_us():.1f} timed, {b.untimed / max(1, b.events) * 1e6:.1f} untimed" for b in columns.values()]
    lines.append(f"| decode to columns (normalize_chunk), timed and with no timers | {' | '.join(both)} |")
    events = [f"{b.events:,}" for b in columns.values()]
    lines.append(f"| events stored | {' | '.join(events)} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="events of the simulated cluster")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    byte_compiled()
    inputs = cluster(args.events, args.seed)
    by_source: dict[str, list[Path]] = {}
    for path in inputs.files():
        by_source.setdefault(_source_of(path), []).append(path)
    columns: dict[str, Breakdown] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, paths in sorted(by_source.items()):
            columns[name] = breakdown(paths, Path(tmp, f"{name}.duckdb"))
    overhead = timer_overhead()
    lines = [
        f"### {time.strftime('%Y-%m-%d')}: where an ingested event's time goes, {inputs.folder.name}, by file",
        "",
        f"Machine: {machine()}. Command: `python -m bench.stages --events {args.events} --seed {args.seed}`. "
        "Each group of files ingested into a store of its own, in one process, its stages timed one by one "
        "(bench/stages.py); µs per stored event.",
        "",
        *table(columns, overhead),
        "",
    ]
    print("\n".join(lines))
    if args.record:
        record(lines)


def _source_of(path: Path) -> str:
    """The column a simulated file is shown under: its name without the extension (a story's
    file beside the producer's)."""
    return path.name.split(".")[0].removeprefix("story-")


if __name__ == "__main__":
    main()
