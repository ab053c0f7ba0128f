"""The benchmark suite at one size: a simulated cluster's telemetry from every source, ingested,
correlated and questioned, each measurement beside its baseline measured in the same run.

- ingest, per source: each file by its own ingest call in a child process (time, and peak RSS of
  the child and its workers), beside the parsing limit: `orjson.loads` of every line of the same
  files in one process, right after; then the store's size per million events;
- correlation: the incidents question over the whole period in a child process (time, peak RSS);
- incremental: a later batch of 10,000 events of the same cluster into a copy of the store,
  ingested, then the incidents of the latest hour (one child process, store opening included);
- every question warm in the library (p50/p95 after one untimed call) and `ask secrets` cold
  through the CLI (p50), with parameters taken from the data;
- baselines over the raw files: jq for the secrets and egress questions, DuckDB `read_json` for
  the secrets question, each checked to give the same answer set as kubetrail; and how many
  questions it takes for ingest to pay for itself against each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
import orjson

from bench import baselines
from bench.audit_types import AuditEvent
from bench.inputs import BATCH_EVENTS, CLUSTER, DATA, Inputs, cluster, fingerprint, next_batch
from bench.measure import child_messages, decode_seconds, lines, percentile, timed
from bench.questions import HOUR, Params, Question, external_connections, params, questions, secret_actors
from kubetrail.answers.window import Window
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS, format_ns

ROOT: Final = Path(__file__).resolve().parents[1]
BIG: Final = 5_000_000  # from this size on, the slow raw baselines run once
DUCKDB: Final = "DuckDB read_json over the raw audit log"
JQ_AUDIT: Final = "jq over the raw audit log"
JQ_FLOWS: Final = "jq over the raw Hubble and Tetragon files"


@dataclass(frozen=True)
class Config:
    events: int
    seed: int = 7
    repeat: int = 20  # warm calls per question
    cold: int = 5  # cold CLI runs
    raw_repeat: int = 0  # runs of each raw baseline; 0: 3, or 1 from BIG events on
    samples: int = 20  # trace events and addresses asked about in turn
    batch: int = BATCH_EVENTS  # events of the incremental batch
    fresh: bool = False  # ingest again even when the store is cached
    data: Path = DATA

    @property
    def raw_runs(self) -> int:
        return self.raw_repeat or (1 if self.events >= BIG else 3)


# -- ingest ------------------------------------------------------------------------------------
class FileIngest(msgspec.Struct, frozen=True):
    name: str
    source: str
    stored: int  # new events (conflicts included)
    quarantined: int
    duplicates: int  # events already stored (the same event by another path, a repeated delivery)
    conflicts: int
    seconds: float
    peak_rss: int
    parse_seconds: float = 0.0  # orjson.loads of every line, one process

    @property
    def events(self) -> int:
        """Events read and normalized: stored or found already stored."""
        return self.stored + self.duplicates


class Ingest(msgspec.Struct, frozen=True):
    code: str  # fingerprint of kubetrail's code and of the inputs when measured
    measured_at: str
    files: list[FileIngest]
    typed_audit: tuple[int, float]  # lines, seconds of msgspec.json.Decoder(AuditEvent) over the audit log

    def files_of(self, *sources: str) -> list[FileIngest]:
        return [f for f in self.files if f.source in sources]

    def sources(self) -> list[str]:
        return sorted({f.source for f in self.files}, key=lambda s: -sum(f.events for f in self.files_of(s)))


def stored(inputs: Inputs, fresh: bool) -> tuple[Path, Ingest]:
    """The store of `inputs` and how its ingest went, measured when it was built: cached until
    kubetrail's code or the inputs change."""
    db, meta = (inputs.folder.with_name(inputs.folder.name + suffix) for suffix in (".duckdb", ".ingest.json"))
    code = f"{fingerprint()}/{inputs.fingerprint()}"
    cached = None if fresh or not db.exists() else _cached_ingest(meta)
    if cached is not None and cached.code == code:
        return db, cached
    for path in (db, Path(f"{db}.wal"), meta):
        path.unlink(missing_ok=True)
    print(f"bench: ingesting {inputs.folder} into {db} (cached until the code changes)", file=sys.stderr, flush=True)
    ingest = Ingest(code, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), *_measure_ingest(db, inputs))
    meta.write_bytes(msgspec.json.encode(ingest))
    return db, ingest


def _cached_ingest(meta: Path) -> Ingest | None:
    """The measurement kept beside a store; None when there is none (or of an older format)."""
    try:
        return msgspec.json.decode(meta.read_bytes(), type=Ingest)
    except (OSError, msgspec.DecodeError):
        return None


def _measure_ingest(db: Path, inputs: Inputs) -> tuple[list[FileIngest], tuple[int, float]]:
    """Each file ingested, then its parsing limit; and typed decoding of the audit log."""
    folder, files = inputs.folder, _ingest(db, inputs.files())
    limits = [msgspec.structs.replace(f, parse_seconds=decode_seconds([folder / f.name], orjson.loads)) for f in files]
    audit = baselines.audit_logs([folder / f.name for f in files if f.source == "k8s_audit"])
    return limits, (lines(audit), decode_seconds(audit, msgspec.json.Decoder(AuditEvent).decode))


def _ingest(db: Path, files: list[Path]) -> list[FileIngest]:
    out = []
    for msg, peak in child_messages(["ingest", str(db), CLUSTER, *map(str, files)]):
        if "start" not in msg:
            name = Path(msg.pop("path")).name
            out.append(FileIngest(name=name, **{**msg, "source": msg["source"] or "unknown"}, peak_rss=peak))
    return out


# -- correlation and the incremental batch ---------------------------------------------------
@dataclass(frozen=True)
class Correlation:
    window: Window
    seconds: float
    incidents: int
    peak_rss: int


def correlation(db: Path, span: Window) -> Correlation:
    msg, peak = list(child_messages(["incidents", str(db), str(span.since), str(span.until)]))[-1]
    return Correlation(span, msg["seconds"], msg["incidents"], max(peak, msg["max_rss"]))


@dataclass(frozen=True)
class Incremental:
    events: int  # new events stored (conflicts included)
    duplicates: int
    conflicts: int
    ingest_seconds: float
    incidents_seconds: float
    incidents: int
    quarantined: int
    peak_rss: int

    @property
    def seconds(self) -> float:
        return self.ingest_seconds + self.incidents_seconds


def incremental(db: Path, batch: Inputs) -> Incremental:
    """The batch into a copy of the store, then the incidents of the latest hour."""
    copy = db.with_name(db.stem + "-incremental.duckdb")
    shutil.copyfile(db, copy)
    # On disk before the batch comes, as a store at rest is (DuckDB syncs its own writes): else the
    # batch's checkpoint, whose fsync covers the whole file, waited for the kernel to write the
    # fresh copy back. At 10M events: 2.45-2.61 s of ingest without this, 1.83 s with it.
    with open(copy, "rb+") as f:
        os.fsync(f.fileno())
    try:
        msg, peak = list(child_messages(["incremental", str(copy), CLUSTER, *map(str, batch.files())]))[-1]
    finally:
        for path in (copy, Path(f"{copy}.wal")):
            path.unlink(missing_ok=True)
    rss = max(peak, msg.pop("max_rss"))
    return Incremental(**msg, peak_rss=rss)


# -- questions and baselines -----------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    name: str
    target: float
    seconds: list[float]


@dataclass(frozen=True)
class Baseline:
    what: str
    question: str  # the name of the kubetrail question it answers too
    seconds: list[float]
    answer: set[str]
    kubetrail: set[str]


def warm(qs: list[Question], repeat: int) -> list[Timing]:
    """Each question once untimed (caches, lazy imports), then `repeat` timed calls."""
    out = []
    for q in qs:
        q.ask()
        out.append(Timing(q.name, q.target_p95, timed(q.ask, repeat)))
    return out


def cold_cli(db: Path, at: int, runs: int) -> list[float]:
    """`kubetrail ask secrets` as a new process each time: start-up, store opening, answer."""
    ask = ["ask", "secrets", "--since", "1h", "--at", format_ns(at), "--db", str(db), "-o", "json"]
    cmd = [sys.executable, "-m", "kubetrail", *ask]
    return timed(lambda: subprocess.run(cmd, check=True, capture_output=True), runs)


def raw(what: str, question: str, ask: Callable[[], set[str]], kubetrail: set[str], runs: int) -> Baseline:
    answers: list[set[str]] = []
    seconds = timed(lambda: answers.append(ask()), runs)
    return Baseline(what, question, seconds, answers[0], kubetrail)


def raw_baselines(ingest: Ingest, folder: Path, store: DuckDBStore, hour: Window, runs: int) -> list[Baseline]:
    audit = baselines.audit_logs([folder / f.name for f in ingest.files_of("k8s_audit")])
    flows = [folder / f.name for f in ingest.files_of("hubble", "tetragon")]
    secrets, connections = secret_actors(store, hour), external_connections(store, hour)
    out = [raw(DUCKDB, "ask secrets", lambda: baselines.duckdb_secrets(audit, hour), secrets, runs)]
    if baselines.jq_path() is not None:
        out.append(raw(JQ_AUDIT, "ask secrets", lambda: baselines.jq_secrets(audit, hour), secrets, runs))
        out.append(raw(JQ_FLOWS, "ask egress", lambda: baselines.jq_egress(flows, hour), connections, runs))
    return out


# -- one size ----------------------------------------------------------------------------------
@dataclass
class Result:
    config: Config
    inputs: Inputs
    raw_bytes: int
    store_bytes: int
    ingest: Ingest
    params: Params
    correlation: Correlation
    incremental: Incremental
    warm: list[Timing] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(f.stored for f in self.ingest.files)

    def warm_p50(self, question: str) -> float:
        return next(percentile(t.seconds, 50) for t in self.warm if t.name.startswith(question))


def run(cfg: Config) -> Result:
    inputs = cluster(cfg.events, cfg.seed, cfg.data)
    db, ingest = stored(inputs, cfg.fresh)
    span, p = span_and_params(db, cfg.samples)
    result = Result(cfg, inputs, inputs.size(), db.stat().st_size, ingest, p, correlation(db, span),
                    incremental(db, next_batch(inputs, cfg.events, cfg.seed, cfg.batch)))  # fmt: skip
    store = DuckDBStore(db, read_only=True)
    try:
        result.warm = warm(questions(store, p), cfg.repeat)
        result.baselines = raw_baselines(ingest, inputs.folder, store, p.hour, cfg.raw_runs)
    finally:
        store.close()
    result.cold = cold_cli(db, p.hour.until, cfg.cold)
    return result


def span_and_params(db: Path, samples: int) -> tuple[Window, Params]:
    """The stored period, and the questions' parameters from its last hour (whole seconds)."""
    store = DuckDBStore(db, read_only=True)
    try:
        ((first, last),) = store.con.execute('SELECT epoch_ns(min("time")), epoch_ns(max("time")) FROM events').fetchall()
        until = (last // NS + 1) * NS
        return Window(first, last + 1), params(store, Window(until - HOUR, until), samples)
    finally:
        store.close()
