"""Live input into the store: request bodies received by `kubetrail serve` and lines appended to a
followed file, written in groups with the position they reached (a `Cursor`) in one transaction.

A body is framed, redacted, detected and normalized exactly as a file is by `ingest` (the same
`normalize_chunk`), with its records placed at their line and byte offset in their origin (the
spool, the followed file). Each origin is one `files` row, whose counts grow with every write.

Cluster names (CONTRACT.md, "cluster"): the sender's configured cluster, else the writer's, is
authoritative; without either, the events that name no cluster take the one name the group and
the live input has carried so far, else as for `ingest` (the store's one cluster, else
`default`, and several names are warned about). Events that arrive in a fresh store before any
record named the cluster go under `default`, marked in the store as a fallback (it survives a
restart); once a record names the one cluster, they are renamed to it, so one cluster is never
split between `default` and its name. A `default` the store held before is a cluster of its own
and stays (as for `ingest`: `kubetrail clusters` flags a likely split).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from kubetrail.ingest.clusters import name_clusters, pending_name
from kubetrail.ingest.pipeline import ChunkResult, Job, _decoders, normalize_chunks
from kubetrail.ingest.reader import Chunk, Record, chunks
from kubetrail.store import Cursor, FileResult, Store, WriteCounts


@dataclass(frozen=True, slots=True)
class Body:
    """A piece of live input: a received request body, or lines appended to a followed file."""

    data: bytes  # decompressed
    origin: str  # provenance: the receiver and sender ("POST /v1/audit from apiserver"), or the file's path
    source: str | None = None  # every record is of this source (a receiver's), or None: detect each
    cluster: str | None = None  # the sender's configured cluster (authoritative), or None
    line: int = 1  # line of the first byte of `data` in its origin
    offset: int = 0  # byte offset of `data` in its origin


@dataclass
class LiveResult:
    """What one write did."""

    stored: Counter[str] = field(default_factory=Counter)  # new events by source
    duplicates: int = 0
    conflicts: int = 0
    quarantined: int = 0
    records: int = 0
    warnings: tuple[str, ...] = ()
    duplicates_by_origin: Counter[str] = field(default_factory=Counter)
    quarantined_by_source: Counter[str] = field(default_factory=Counter)  # "" when no source was recognized
    newest: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, node) -> the newest event time written (ns)
    oldest: int | None = None  # the oldest event time written (ns)


@dataclass
class _Origin:
    path: str
    file_id: int
    size: int = 0
    records: int = 0
    skipped: int = 0
    quarantined: int = 0
    ingested: int = 0
    duplicates: int = 0
    conflicts: int = 0
    sources: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Prepared:
    """A group of bodies ready to normalize: its bodies by origin, source and cluster (a `Job`), in
    the order each first came (picklable: a worker process may normalize it)."""

    bodies: Sequence[Body]
    parts: list[tuple[Job, list[Body]]]
    pending: str  # the cluster of events that name none, until the group is written


def normalize(parts: Sequence[tuple[Job, Sequence[Body]]]) -> list[ChunkResult]:
    """Frame, redact, detect and normalize each part's bodies into one result (pure)."""
    return [normalize_chunks(_chunks(bodies), job) for job, bodies in parts]


def _chunks(bodies: Sequence[Body]) -> Iterator[Chunk]:
    for body in bodies:
        for chunk in chunks(io.BufferedReader(io.BytesIO(body.data)), _decoders()):
            yield _placed(chunk, body)


class LiveWriter:
    """Writes groups of bodies with their cursor. One writer per store (the store's single writer).

    `write` does it all here; `prepare`, `normalize` (anywhere) and `commit` let a caller
    normalize the next group in a worker while this one is written."""

    def __init__(self, store: Store, cluster: str | None = None) -> None:
        self.store = store
        self.cluster = cluster  # the cluster of every body whose sender has none configured
        self.origins: dict[str, _Origin] = {}
        self.named: Counter[tuple[str, str]] = Counter()  # (cluster the records name, source) -> events, over the writer's life
        self.settled = False  # the fallback cluster, if any, moved to the one name learned

    def write(self, bodies: Sequence[Body], cursor: Cursor | None = None) -> LiveResult:
        prepared = self.prepare(bodies)
        return self.commit(prepared, normalize(prepared.parts), cursor)

    def prepare(self, bodies: Sequence[Body]) -> Prepared:
        pending = pending_name()
        parts: dict[Job, list[Body]] = {}
        for body in bodies:
            parts.setdefault(self._job(body, pending), []).append(body)
        return Prepared(bodies, list(parts.items()), pending)

    def commit(self, prepared: Prepared, results: Sequence[ChunkResult], cursor: Cursor | None = None) -> LiveResult:
        """Write what `normalize(prepared.parts)` gave, with the cursor, in one transaction."""
        pending = prepared.pending
        done = [(job, result) for (job, _), result in zip(prepared.parts, results, strict=True)]
        events = pa.concat_tables([r.events for _, r in done]) if done else None
        for job, r in done:
            if job.given is None:
                self.named.update(r.named)
        warnings = self._settle()
        if events is not None and events.num_rows and pc.any(pc.equal(events["cluster"], pending)).as_py():
            name, told = self._unnamed()
            warnings += told
            cluster = events["cluster"]
            named_here = pc.if_else(pc.equal(cluster, pending), pa.scalar(name), cluster)
            events = events.set_column(events.schema.get_field_index("cluster"), "cluster", named_here)
        quarantine = [q for _, r in done for q in r.quarantine]
        self.store.write_quarantine(quarantine)
        if events is None or not events.num_rows:
            counts = self.store.write_events(pa.table({}), cursor) if cursor is not None else None
        else:
            counts = self.store.write_events(events, cursor)
        out = self._account(prepared.bodies, done, counts.files if counts else {}, warnings)
        out.quarantined_by_source.update(q.source or "" for q in quarantine)
        if events is not None and events.num_rows:
            out.newest = _newest(events)
            out.oldest = pc.min(events["time"].cast(pa.int64())).as_py()
        return out

    def _unnamed(self) -> tuple[str, tuple[str, ...]]:
        """The cluster of events that name none, with no cluster configured: the one name the
        records of this live input have carried so far, else as for an ingest (the store's one
        cluster, else `default`, marked as a fallback when the store held no cluster)."""
        learned = {name for name, _ in self.named}
        if len(learned) == 1:
            return learned.pop(), ()
        naming = name_clusters(None, self.named, self.store.cluster_names())
        if naming.origin == "default" and not naming.warnings:  # nothing named, and the store holds no cluster
            self.store.mark_fallback_cluster(naming.name)
        return naming.name, naming.warnings

    def _settle(self) -> tuple[str, ...]:
        """Once the records have named one cluster: the events stored under the fallback before,
        moved to it (what is said of it)."""
        learned = {name for name, _ in self.named}
        if self.settled or len(learned) != 1:
            return ()
        self.settled = True
        (name,) = learned
        fallback = self.store.fallback_cluster()
        if fallback is None or fallback == name:
            return ()
        moved = self.store.rename_cluster(fallback, name)
        return (f"{moved} events stored under {fallback!r} before any record named the cluster are now under {name!r}",)

    def _job(self, body: Body, pending: str) -> Job:
        origin = self.origins.get(body.origin)
        if origin is None:
            origin = self.origins[body.origin] = _Origin(body.origin, self.store.begin_file(body.origin))
        given = body.cluster or self.cluster
        return Job(body.origin, origin.file_id, body.source, given or pending, given)

    def _account(
        self,
        bodies: Sequence[Body],
        results: list[tuple[Job, ChunkResult]],
        per_file: dict[int, WriteCounts],
        warnings: tuple[str, ...],
    ) -> LiveResult:
        out = LiveResult(warnings=warnings)
        for body in bodies:
            self.origins[body.origin].size += len(body.data)
        for job, r in results:
            origin = self.origins[job.path]
            origin.records += r.records
            origin.skipped += r.skipped
            origin.quarantined += len(r.quarantine)
            origin.sources.update(r.sources)
            out.records += r.records
            out.quarantined += len(r.quarantine)
        touched = {self.origins[b.origin].file_id: self.origins[b.origin] for b in bodies}
        for file_id, origin in touched.items():
            counts = per_file.get(file_id)
            if counts is not None:
                origin.ingested += sum(counts.stored.values())
                origin.duplicates += counts.duplicates
                origin.conflicts += counts.conflicts
                out.stored.update(counts.stored)
                out.duplicates += counts.duplicates
                out.conflicts += counts.conflicts
                out.duplicates_by_origin[origin.path] += counts.duplicates
            self.store.finish_file(file_id, _file_result(origin))
        return out


def _file_result(origin: _Origin) -> FileResult:
    top = origin.sources.most_common(1)
    return FileResult(
        sha256="", size=origin.size, source=top[0][0] if top else None, records=origin.records, ingested=origin.ingested,
        duplicates=origin.duplicates, conflicts=origin.conflicts, quarantined=origin.quarantined, skipped_lines=origin.skipped,
    )  # fmt: skip


def _newest(events: pa.Table) -> dict[tuple[str, str], int]:
    """The newest event time per (source, node) of a batch (node "" when the event has none)."""
    node = pc.fill_null(events["node"], "")
    keyed = pa.table({"source": events["source"], "node": node, "time": events["time"].cast(pa.int64())})
    groups = keyed.group_by(["source", "node"]).aggregate([("time", "max")]).to_pylist()
    return {(g["source"], g["node"]): g["time_max"] for g in groups}


def _placed(chunk: Chunk, body: Body) -> Chunk:
    """A chunk of a body, with its lines and offsets counted from the body's place in its origin."""
    lines, offset = body.line - 1, body.offset
    if chunk.framed is None:
        return Chunk(chunk.line + lines, chunk.offset + offset, chunk.data)
    for item in chunk.framed:
        item.line += lines
        if isinstance(item, Record):
            item.offset += offset
    return chunk
