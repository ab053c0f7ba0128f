"""The store seam: everything above it talks to a `Store`, never to an engine directly.

`duckdb.py` is the embedded default (`--db PATH`); `clickhouse.py` implements the same protocol
with its own SQL (`--db chdb:///PATH`, `clickhouse://host/db`). `open_store` picks by `--db`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import pyarrow as pa

    from kubetrail.rules import Rule


# The prefix of the name an ingest stores the events that name no cluster under until it has read
# every input (ingest/clusters.py). No cluster is named so: `:` is not in a DNS label.
PENDING_CLUSTER: Final = "kubetrail:pending:"


def numbered_sql(folder: Traversable) -> list[tuple[int, str]]:
    """(number, text) of a folder's `NNNN_*.sql` files (migrations), in order; none where the
    folder is missing."""
    if not folder.is_dir():
        return []
    found = [(int(e.name[:4]), e.read_text()) for e in folder.iterdir() if e.name[:4].isdigit() and e.name.endswith(".sql")]
    return sorted(found)


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class WriteCounts:
    stored: dict[str, int] = field(default_factory=dict)  # new events by source, conflicts included
    duplicates: int = 0  # the same event (same id, same content) already stored or repeated
    conflicts: int = 0  # a different event with an id already taken: stored too, under id~hash
    files: dict[int, WriteCounts] = field(default_factory=dict)  # the same, per file id of the batch


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a live input stands (the spool of `serve`, a followed file): stored with the events
    it led to, in one transaction."""

    name: str
    position: int
    state: str | None = None  # what else the input needs to resume (a followed file's identity)


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    file_id: int
    line: int
    byte_offset: int
    source: str | None  # the source the record was taken for, when known
    reason: str
    raw: str  # redacted

    def raw_hash(self) -> str:
        """What tells one quarantined record from another: the same record for the same reason
        is kept once."""
        return hashlib.blake2b(f"{self.reason}\x1f{self.raw}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class FileResult:
    sha256: str
    size: int
    source: str | None
    records: int
    ingested: int
    duplicates: int
    conflicts: int
    quarantined: int
    skipped_lines: int


def write_counts(
    file_ids: pa.ChunkedArray, sources: pa.ChunkedArray, dup: pa.ChunkedArray, conflict: pa.ChunkedArray
) -> WriteCounts:
    """What a write stored, found twice and found in conflict, in all and per file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = pa.table({"file": file_ids, "source": sources, "dup": dup, "conflict": pc.and_not(conflict, dup)})
    groups = rows.group_by(["file", "source", "dup"]).aggregate([("conflict", "sum"), ("dup", "count")]).to_pylist()
    stored: dict[int, Counter[str]] = {}
    other: dict[int, list[int]] = {}  # file -> [duplicates, conflicts]
    for g in groups:
        file, n = g["file"], g["dup_count"]
        stored.setdefault(file, Counter())
        counts = other.setdefault(file, [0, 0])
        if g["dup"]:
            counts[0] += n
        else:
            stored[file][g["source"]] += n
            counts[1] += g["conflict_sum"] or 0
    files = {f: WriteCounts(dict(stored[f]), duplicates=other[f][0], conflicts=other[f][1]) for f in stored}
    total: Counter[str] = Counter()
    for c in files.values():
        total.update(c.stored)
    return WriteCounts(dict(total), sum(c.duplicates for c in files.values()), sum(c.conflicts for c in files.values()), files)


class Store(Protocol):
    # The largest batch the store takes in one write_events, in events and in bytes of Arrow:
    # ingest cuts its batches no larger. None: the pipeline's own (a DuckDB row group).
    max_batch: tuple[int, int] | None

    def schema_version(self) -> int:
        """The version of the schema the store is at (its last migration)."""
        ...

    def begin_file(self, path: str) -> int:
        """Register an input being read; returns its file id for provenance."""
        ...

    def finish_file(self, file_id: int, result: FileResult) -> None:
        """Record what reading the file gave (its sha256 is known only at the end)."""
        ...

    def write_events(self, batch: pa.Table, cursor: Cursor | None = None) -> WriteCounts:
        """Store a batch of events (columns of the catalog), deduplicated against the store, and
        `cursor` with them in the same transaction."""
        ...

    def cursor(self, name: str) -> Cursor | None:
        """The position a live input last committed, or None."""
        ...

    def write_quarantine(self, rows: list[QuarantineRow]) -> int:
        """Keep records that could not be ingested; returns how many were new."""
        ...

    def cluster_names(self) -> list[str]:
        """The clusters the store holds events of (not the pending names of an ingest under way)."""
        ...

    def pending_clusters(self) -> list[str]:
        """Pending names an ingest stored events under and did not get to rename (it stopped)."""
        ...

    def rename_cluster(self, old: str, new: str) -> int:
        """Every row named cluster `old`, events and the tables beside them, named `new` (a merge
        when `new` is taken); returns the events renamed. A fallback mark on `old` goes with it."""
        ...

    def fallback_cluster(self) -> str | None:
        """The name live input stored events that name no cluster under before any record named
        one, while no record has (see ingest/live.py); None otherwise."""
        ...

    def mark_fallback_cluster(self, name: str) -> None:
        """Note that `name` holds live events stored there only because no record named a cluster."""
        ...

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        """One stored event with its provenance, or None."""
        ...

    def get_events(
        self, event_ids: Iterable[str], fields: Sequence[str] = (), within: tuple[int, int] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The stored events of those ids, with their provenance, by id (ids not stored left out);
        given `fields`, just those of each (and its id), without provenance; given `within` (ns,
        [since, until)), only those of that time (the rest of the store not read)."""
        ...

    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run the engine's named query (`sql/queries/<name>.sql` of that engine) with
        parameters bound by name; times come back as int ns. Safe to call from several threads
        at once (writes are not)."""
        ...

    def rule_matches(
        self, rules: Sequence[Rule], since: int, until: int, cluster: str | None = None, ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The events of [since, until) ns (of `cluster`; among `ids`) that the rules match, with
        their fields (times as int ns) and `rules`, the ids of the rules each matched; in time
        order. Compiled for the engine; fast for the rules the store covers."""
        ...

    def cover_rules(self, rules: Sequence[Rule]) -> None:
        """Keep, with every batch written from now on, the events these rules match, and find
        those already stored: the rules the store covers are these."""
        ...

    def covered_rules(self) -> dict[str, str]:
        """The rules the store covers: rule id -> the digest of what it selected then."""
        ...

    def candidate_counts(self) -> dict[str, int]:
        """The candidates kept for the covered rules, by class table (none kept: empty)."""
        ...

    def memory(self) -> dict[str, int]:
        """The engine's own memory in this process, in bytes, by what it holds (DuckDB: its
        buffer pool's tags, e.g. BASE_TABLE, IN_MEMORY_TABLE); what is not in use is left out.
        Safe to call from any thread."""
        ...

    def close(self) -> None: ...


def open_store(db: str, *, read_only: bool = False, live: bool = False) -> Store:
    """The store `db` names: a ClickHouse URL (chdb://, clickhouse://, clickhouses://) or a DuckDB
    file; `live` gives a DuckDB store a long-running writer's settings (DuckDBStore.live). Raises
    the engine's StoreError with what to do when it cannot be opened."""
    from kubetrail.store.clickhouse import ClickHouseStore, is_url
    from kubetrail.store.duckdb import DuckDBStore

    if is_url(db):
        return ClickHouseStore(db, read_only=read_only)
    return DuckDBStore.live(db) if live else DuckDBStore(db, read_only=read_only)
