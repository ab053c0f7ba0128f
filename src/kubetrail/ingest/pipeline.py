"""Ingest: inputs -> chunks -> records -> (redact, detect, normalize) -> batches -> store.

A record that cannot be read or normalized is quarantined with its file, line and reason; the
batch goes on. Memory is bounded by the chunk and batch sizes, whatever the input size. Large
JSON-lines inputs are normalized by worker processes (chunks in, Arrow batches out, in order);
several smaller inputs are shared between this process and a worker (see _Sharing). The store is
written by this process only, in batches that may hold the events of several small inputs (each
input's counts still come back on their own).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kubetrail.ids import content_hash
from kubetrail.ingest.clusters import Naming, name_clusters, pending_name
from kubetrail.ingest.reader import CHUNK_BYTES, BytesDecoder, Chunk, Record, Skipped, chunks, open_input, records_of
from kubetrail.model import CLASS_OF_KIND, KINDS, Event
from kubetrail.redact import needs_redaction, redact, redact_text
from kubetrail.sources import NormalizeError, Source, detect, registry
from kubetrail.store import FileResult, QuarantineRow, Store, WriteCounts
from kubetrail.store.batch import misfits, to_arrow

# Events per store write: one DuckDB row group, which DuckDB appends compressed straight to the
# file (smaller writes are logged, then compressed again at each checkpoint: 30 vs 17 µs/event).
BATCH_EVENTS: Final = 122_880
# ... unless they take more memory than this first (as Arrow): a batch is held twice over while
# it is written (here, and DuckDB's copy of its rows), so wide events (large request bodies) go
# in smaller batches. The simulated cluster's widest, Tetragon's, take 424 MiB per 122,880.
BATCH_BYTES: Final = 384 << 20
PARALLEL_MIN_BYTES: Final = 32 << 20  # inputs at least this large are normalized by the workers
SHARE_MIN_BYTES: Final = 4 << 20  # smaller inputs, together at least this large, are shared with a worker
SHARE_AHEAD_BYTES: Final = 64 << 20  # how far ahead of this process a worker takes inputs (memory bound)
# While this thread normalizes, the pool's thread that receives a worker's results waits for the
# GIL at every read of the pipe (64 KiB), up to the switch interval each time (5 ms by default):
# 7 MiB of results reached this process 0.3 s after the worker had sent them.
SWITCH_SECONDS: Final = 0.0005
PARENT_POLL_SECONDS: Final = 1.0  # how often a worker checks that its parent is alive
_KINDS: Final = frozenset(KINDS)
_encode = msgspec.msgpack.Encoder().encode


@dataclass
class FileSummary:
    path: str
    source: str | None
    ingested: int
    quarantined: int

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "ingested": self.ingested, "quarantined": self.quarantined}


@dataclass
class Summary:
    ingested: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    conflicts: int = 0
    quarantined: int = 0
    skipped_lines: int = 0
    files: list[FileSummary] = field(default_factory=list)
    named: Counter[tuple[str, str]] = field(default_factory=Counter)  # (cluster the records name, source) -> events
    naming: Naming | None = None  # the cluster of the events that name none, once every input is read

    def as_json(self) -> dict[str, Any]:
        sensor_clusters: dict[str, dict[str, int]] = {}
        for (name, source), n in sorted(self.named.items()):
            sensor_clusters.setdefault(name, {})[source] = n
        naming = self.naming
        return {
            "ingested": dict(sorted(self.ingested.items())),
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "quarantined": self.quarantined,
            "skipped_lines": self.skipped_lines,
            "files": [f.as_json() for f in self.files],
            "cluster": {"name": naming.name, "from": naming.origin} if naming else None,
            "sensor_clusters": sensor_clusters,
            "warnings": list(naming.warnings) if naming else [],
        }


Progress = Callable[[str, int], None]  # (path, bytes read so far)


@dataclass(frozen=True)
class Options:
    source: Source | None = None  # --source: skip detection
    cluster: str | None = None  # --cluster
    workers: int = 0  # worker processes for large inputs; 0 = one per core
    parallel_min_bytes: int = PARALLEL_MIN_BYTES  # inputs at least this large use the workers
    share_min_bytes: int = SHARE_MIN_BYTES  # smaller inputs, together at least this large, are shared
    chunk_bytes: int = CHUNK_BYTES  # unit of work of a worker


def ingest(store: Store, paths: Iterable[str], options: Options, progress: Progress | None = None) -> Summary:
    summary = Summary()
    batches = _Batches(store)
    _system_allocator()
    paths = list(paths)
    in_store = store.cluster_names()
    run = _Run(options, pending_name())
    for left in store.pending_clusters():  # an ingest that stopped before naming its events: this one does
        store.rename_cluster(left, run.pending)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_SECONDS)
    try:
        with Workers(options.workers) as workers:
            sharing = _Sharing(store, paths, run, workers)
            for index, path in enumerate(paths):
                _FileIngest(store, path, run, summary, workers, batches, progress, sharing, index).run()
        batches.flush()
    finally:
        sys.setswitchinterval(switch)
    summary.naming = name_clusters(options.cluster, summary.named, in_store)
    store.rename_cluster(run.pending, summary.naming.name)
    return summary


@dataclass(frozen=True)
class _Run:
    """One ingest: its options and the name its events that name no cluster are stored under
    until every input is read (ingest/clusters.py)."""

    options: Options
    pending: str

    def job(self, path: str, file_id: int) -> Job:
        source = self.options.source
        return Job(path, file_id, source.name if source else None, self.options.cluster or self.pending, self.options.cluster)


# -- normalizing a chunk (pure: runs here or in a worker) -------------------------------------
@dataclass
class ChunkResult:
    events: pa.Table
    quarantine: list[QuarantineRow]
    records: int = 0
    skipped: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    named: Counter[tuple[str, str]] = field(default_factory=Counter)  # (cluster the records name, source) -> events


@dataclass(frozen=True)
class Job:
    path: str
    file_id: int
    source_name: str | None
    unnamed: str  # the cluster of events that name none: --cluster, else the ingest's pending name
    given: str | None  # --cluster: the cluster of every event


def normalize_chunk(chunk: Chunk, job: Job) -> ChunkResult:
    """Frame, redact, detect and normalize the records of one chunk."""
    return normalize_chunks((chunk,), job)


def normalize_chunks(pieces: Iterable[Chunk], job: Job) -> ChunkResult:
    """The records of several chunks of one input as one result (one Arrow table: a table per
    small chunk, such as a live body of one Falco alert, cost 0.5 ms each)."""
    state = _ChunkState(job)
    # Parsed records hold no reference cycles; the cyclic collector would only rescan the
    # chunk's many small objects over and over.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for chunk in pieces:
            for item in records_of(chunk):
                if isinstance(item, Skipped):
                    state.skipped += 1
                else:
                    state.record(item)
        return ChunkResult(state.table(), state.quarantine, state.records, state.skipped, state.sources, state.named)
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class InputResult:
    """A whole input read and normalized in a worker: its chunk results in order, and what its
    files row needs."""

    chunks: list[ChunkResult]
    sha256: str
    size: int


def normalize_input(job: Job, chunk_bytes: int) -> InputResult:
    stream, hasher = open_input(job.path)
    with stream:
        results = [normalize_chunk(c, job) for c in chunks(stream, _decoders(), chunk_bytes)]
    return InputResult(results, hasher.sha256.hexdigest(), hasher.size)


def _decoders() -> tuple[BytesDecoder, ...]:
    return tuple(d for s in registry().values() if (d := s.decode_bytes) is not None)


class _ChunkState:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.forced = registry()[job.source_name] if job.source_name else None
        self.hint: Source | None = self.forced
        self.events: list[Event] = []
        self.quarantine: list[QuarantineRow] = []
        self.sources: Counter[str] = Counter()
        self.named: Counter[tuple[str, str]] = Counter()
        self.records = self.skipped = 0

    def record(self, rec: Record) -> None:
        self.records += 1
        if rec.error is not None:
            self._quarantine(rec, None, rec.error, redact_text(rec.text.decode("utf-8", "replace")))
            return
        source = self.forced or detect(rec.value, self.hint)
        scan = source is None or source.may_hold_secrets is None or source.may_hold_secrets(rec.value)
        redacted = scan and needs_redaction(rec.text) and redact(rec.value)
        if source is None:
            self._quarantine(rec, None, f"not a record of any known source ({_shape(rec.value)})", _raw(rec, redacted))
            return
        self.hint = source
        try:
            events = list(source.normalize(rec.value))
            for event in events:
                _check(event)
        except (NormalizeError, msgspec.ValidationError) as exc:
            self._quarantine(rec, source.name, f"{source.name}: {exc}", _raw(rec, redacted))
            return
        except Exception as exc:  # a normalizer bug must not stop the batch: keep the record, say why
            self._quarantine(rec, source.name, f"{source.name}: {type(exc).__name__}: {exc}", _raw(rec, redacted))
            return
        raw = _raw(rec, redacted)
        for event in events:
            self._finish(event, rec, raw)
        self.sources[source.name] += 1

    def _finish(self, event: Event, rec: Record, raw: str) -> None:
        own_raw, fmt = event.raw, event.format
        # The same event by another path (format), or named another cluster, is the same content
        # (model.PROVENANCE_FIELDS; a normalizer leaves `cluster` and the provenance unset).
        event.raw = event.format = None
        event.content_hash = content_hash(_encode(event))
        event.raw = own_raw if own_raw is not None else raw
        event.format = fmt
        named = event.sensor_cluster
        if named is not None:
            self.named[named, event.source] += 1
        job = self.job
        event.cluster = job.given or named or job.unnamed
        event.file_id, event.line, event.byte_offset = self.job.file_id, rec.line, rec.offset
        self.events.append(event)

    def table(self) -> pa.Table:
        """The events as Arrow; a record any of whose events holds a field its class's table has
        no column for is quarantined whole, saying so (a normalizer's bug: never dropped)."""
        table = to_arrow(self.events)
        bad = misfits(table)
        if not bad:
            return table
        dropped: set[tuple[int | None, int | None]] = set()  # (line, byte offset) of each record quarantined
        for row, name in sorted(bad.items()):
            e = self.events[row]
            if (e.line, e.byte_offset) in dropped:
                continue
            dropped.add((e.line, e.byte_offset))
            reason = (
                f"{self.job.path}:{e.line}: {e.source}: {e.kind} event with field {name}, for which table "
                f"{CLASS_OF_KIND[e.kind].table} has no column (a kubetrail bug: please report it)"
            )
            self.quarantine.append(
                QuarantineRow(self.job.file_id, e.line or 0, e.byte_offset or 0, e.source, reason, e.raw or "")
            )
        keep = [(e.line, e.byte_offset) not in dropped for e in self.events]
        return table.filter(pa.array(keep))

    def _quarantine(self, rec: Record, source: str | None, reason: str, raw: str) -> None:
        row = QuarantineRow(self.job.file_id, rec.line, rec.offset, source, f"{self.job.path}:{rec.line}: {reason}", raw)
        self.quarantine.append(row)


def _check(event: Event) -> None:
    if event.kind not in _KINDS:
        raise NormalizeError(f"unknown kind {event.kind!r}")
    if not isinstance(event.time, int) or event.time <= 0:
        raise NormalizeError(f"no usable time ({event.time!r})")


def _raw(rec: Record, redacted: bool) -> str:
    if redacted:
        return orjson.dumps(rec.value).decode()
    return rec.text.decode("utf-8", "replace")


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(value)[:8])
        return f"object with keys: {keys}" if keys else "empty object"
    return f"a JSON {type(value).__name__}"


# -- one input into the store ----------------------------------------------------------------
def _system_allocator() -> None:
    """Arrow buffers from the C library's allocator (for the whole process), which returns large
    blocks to the system when freed; Arrow's default (mimalloc) keeps them, so every process held
    its largest batch for good. 1M audit events, `python -m bench.ingest`, runs side by side:
    peak RSS summed over the processes ~1,000 -> ~900 MiB, events/s unchanged."""
    pa.set_memory_pool(pa.system_memory_pool())


def _worker_init(parent: int) -> None:
    """A worker's set-up: the allocator, and a thread that ends the worker once its parent (the
    process that started the pool) is gone: a `kill -9`ed `serve` or `ingest` leaves no worker
    waiting for work that never comes. The parent's pid is given, not read here: a parent killed
    while the worker was still starting had already left it to init, whose pid it would have
    watched for good (tests/serve/test_crash.py, once in a few runs)."""
    _system_allocator()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="kubetrail-parent", daemon=True).start()


def _started() -> None:
    """A worker's first task: done once the worker is up, its modules imported."""
    _decoders()  # imports every source module


class Workers:
    """A process pool, started on first need and shared by all inputs of one ingest (or by the
    groups `serve` drains)."""

    def __init__(self, count: int) -> None:
        self.count = count or os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None
        self.up: Future[None] | None = None  # done once a worker can take work

    def start(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.count, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init, initargs=(os.getpid(),)
            )
            self.up = self.pool.submit(_started)
        return self.pool

    def map(self, job: Job, items: Iterator[Chunk]) -> Iterator[ChunkResult]:
        pool = self.start()
        pending: deque[Future[ChunkResult]] = deque()
        for chunk in items:  # keep at most 2 chunks per worker in flight: memory stays bounded
            pending.append(pool.submit(normalize_chunk, chunk, job))
            if len(pending) >= 2 * self.count:
                yield pending.popleft().result()
        for future in pending:
            yield future.result()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # Without waiting: the workers exit (~50 ms) while the last batch is written. Python
        # reaps them, at the latest when it exits.
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self.up = None


class _Batches:
    """Events on their way to the store, from one input or several: written in batches of exactly
    BATCH_EVENTS (the rest waits for the next), or of what is pending once it holds BATCH_BYTES
    (or the smaller batch the store takes, Store.max_batch), and what is left at the end, so that
    small inputs (a directory of short files, a live batch) do not each pay for a write, and a
    large input fills whole row groups. An input is finished
    (its counts final, its files row completed) once it is read and its last events are written,
    in the order the inputs came."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.max_events, self.max_bytes = store.max_batch or (BATCH_EVENTS, BATCH_BYTES)
        self.pending: list[pa.Table] = []  # chunk results, in order
        self.rows = self.bytes = 0
        self.inputs: dict[int, _FileIngest] = {}  # by file id: inputs with events not yet counted
        self.read: deque[_FileIngest] = deque()  # inputs read to the end, to finish in order

    def add(self, events: pa.Table, owner: _FileIngest) -> None:
        self.inputs[owner.file_id] = owner
        if events.num_rows:
            self.pending.append(events)
            self.rows += events.num_rows
            self.bytes += events.nbytes
        while self.rows >= self.max_events:
            self._write(self.max_events)
        if self.bytes >= self.max_bytes:
            self._write(self.rows)

    def done(self, owner: _FileIngest) -> None:
        self.read.append(owner)
        if not self.rows:
            self._finish_read()

    def flush(self) -> None:
        if self.rows:
            self._write(self.rows)  # finishes what it can
        else:
            self._finish_read()

    def _write(self, rows: int) -> None:
        pending = pa.concat_tables(self.pending)
        batch, rest = pending.slice(0, rows), pending.slice(rows)
        self.pending, self.rows = ([rest] if rest.num_rows else []), rest.num_rows
        self.bytes = rest.nbytes
        for file_id, counts in self.store.write_events(batch).files.items():
            self.inputs[file_id].count(counts)
        self._finish_read()

    def _finish_read(self) -> None:
        waiting = {f for piece in self.pending for f in pc.unique(piece["file_id"]).to_pylist()}
        while self.read and self.read[0].file_id not in waiting:
            owner = self.read.popleft()
            self.inputs.pop(owner.file_id, None)
            owner.finish()


class _Sharing:
    """Smaller inputs shared with the workers. This process reads the inputs in order; between
    its chunks, it hands a worker that is up and free the last input nobody has started, whole,
    and later takes its results in their turn. Each side works from its own end of the list, so
    neither waits for the other until they meet. On a long list, "the end" is SHARE_AHEAD_BYTES
    of input ahead of this process, so that results waiting for their turn stay few. A worker
    takes ~0.3-0.5 s to come up (imports): only an ingest of several such inputs, together
    share_min_bytes or more, starts them for this.

    This process counts as a core: one worker fewer than the pool has takes inputs, each with one
    at work and one queued (so that it has the next when this process reaches the end of the one
    it is on). The incremental batch of the benchmark (6 files, 17 MB): normalized in 0.69-1.0 s
    shared, against 0.89-1.2 s in this process alone."""

    def __init__(self, store: Store, paths: list[str], run: _Run, workers: Workers) -> None:
        options = run.options
        self.store, self.run, self.options, self.workers = store, run, options, workers
        self.sizes = {i: size for i, p in enumerate(paths) if (size := _shareable(p, options)) is not None}
        self.open = deque(self.sizes)  # shareable inputs not started by anyone, in order
        self.claims: dict[int, tuple[int, Future[InputResult]]] = {}  # input index -> (file id, its results)
        self.paths = paths
        self.helpers = max(1, workers.count - 1)
        if len(self.open) >= 2 and sum(self.sizes.values()) >= options.share_min_bytes:
            workers.start()
        else:
            self.open.clear()

    def starting(self, index: int) -> tuple[int, Future[InputResult]] | None:
        """This process reaches input `index` (in order): the worker's claim on it, if it took it."""
        if self.open and self.open[0] == index:
            self.open.popleft()
        return self.claims.pop(index, None)

    def offer(self) -> None:
        """Between chunks: give a worker that is up and free the last open input."""
        up, pool = self.workers.up, self.workers.pool
        if not self.open or up is None or pool is None or not up.done():
            return
        if sum(not future.done() for _, future in self.claims.values()) >= 2 * self.helpers:
            return
        while True:
            index = self._last_ahead()
            if index is None:
                return
            self.open.remove(index)
            path = self.paths[index]
            if _whole_in_a_worker(path):
                break
        file_id = self.store.begin_file(path)
        job = self.run.job(path, file_id)
        self.claims[index] = (file_id, pool.submit(normalize_input, job, self.options.chunk_bytes))

    def _last_ahead(self) -> int | None:
        """The last open input within SHARE_AHEAD_BYTES ahead, counting inputs already claimed."""
        budget = SHARE_AHEAD_BYTES - sum(self.sizes[i] for i in self.claims)
        last = None
        for index in self.open:
            budget -= self.sizes[index]
            if budget < 0:
                break
            last = index
        return last


def _shareable(path: str, options: Options) -> int | None:
    """The size of a file below the size the workers take chunk by chunk, else None."""
    try:
        if path == "-" or path.endswith(".gz") or not os.path.isfile(path):
            return None
        size = os.path.getsize(path)
    except OSError:
        return None  # read in its turn, where the error is reported
    return size if size < options.parallel_min_bytes else None


def _whole_in_a_worker(path: str) -> bool:
    """Not compressed (it could hold far more than its size, and a worker holds all of its
    results) and readable (else it is read in its turn, where the error is reported)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) != b"\x1f\x8b"
    except OSError:
        return False


class _FileIngest:
    """Reads one input into the store and adds its counts to the run's summary."""

    def __init__(
        self, store: Store, path: str, run: _Run, summary: Summary, workers: Workers, batches: _Batches,
        progress: Progress | None, sharing: _Sharing, index: int,
    ) -> None:  # fmt: skip
        self.store, self.path, self.ingest_run, self.options, self.summary = store, path, run, run.options, summary
        self.workers, self.batches, self.progress = workers, batches, progress
        self.sharing, self.index = sharing, index
        self.file_id = -1
        self.sha256, self.size = "", 0
        self.stored: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.records = self.duplicates = self.conflicts = self.quarantined = self.skipped = 0

    def run(self) -> None:
        claim = self.sharing.starting(self.index)
        if claim is not None:
            self.file_id, future = claim
            done = future.result()
            for chunk_result in done.chunks:
                self._take(chunk_result)
            self.sha256, self.size = done.sha256, done.size
            if self.progress:
                self.progress(self.path, done.size)
            self.batches.done(self)
            return
        self.file_id = file_id = self.store.begin_file(self.path)
        job = self.ingest_run.job(self.path, file_id)
        stream, hasher = open_input(self.path)
        with stream:
            for chunk_result in self._results(chunks(stream, _decoders(), self.options.chunk_bytes), job):
                self._take(chunk_result)
                self.sharing.offer()
                if self.progress:
                    self.progress(self.path, hasher.size)
        self.sha256, self.size = hasher.sha256.hexdigest(), hasher.size
        self.batches.done(self)

    def count(self, counts: WriteCounts) -> None:
        """What a write did with this input's events."""
        self.stored.update(counts.stored)
        self.duplicates += counts.duplicates
        self.conflicts += counts.conflicts

    def finish(self) -> None:
        """Read and written: complete the input's files row and add it to the summary."""
        top = self.sources.most_common(1)
        result = FileResult(
            sha256=self.sha256, size=self.size, source=top[0][0] if top else None, records=self.records,
            ingested=sum(self.stored.values()), duplicates=self.duplicates, conflicts=self.conflicts,
            quarantined=self.quarantined, skipped_lines=self.skipped,
        )  # fmt: skip
        self.store.finish_file(self.file_id, result)
        self._add_to_summary(result)

    def _results(self, items: Iterator[Chunk], job: Job) -> Iterator[ChunkResult]:
        first = next(items, None)
        if first is None:
            return
        yield normalize_chunk(first, job)
        big = self.path != "-" and os.path.isfile(self.path) and os.path.getsize(self.path) >= self.options.parallel_min_bytes
        if big and self.workers.count > 1:
            yield from self.workers.map(job, items)
        else:
            yield from (normalize_chunk(c, job) for c in items)

    def _take(self, result: ChunkResult) -> None:
        self.records += result.records
        self.skipped += result.skipped
        self.sources.update(result.sources)
        self.summary.named.update(result.named)
        self.quarantined += len(result.quarantine)
        self.store.write_quarantine(result.quarantine)
        self.batches.add(result.events, self)

    def _add_to_summary(self, result: FileResult) -> None:
        s = self.summary
        s.ingested.update(self.stored)
        s.duplicates += self.duplicates
        s.conflicts += self.conflicts
        s.quarantined += self.quarantined
        s.skipped_lines += self.skipped
        s.files.append(FileSummary(self.path, result.source, result.ingested, self.quarantined))
