"""The embedded store: one DuckDB file, created on first use, migrated by numbered SQL files."""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb

from kubetrail.malloc import release_freed
from kubetrail.model import CLASSES, EventClass, catalog
from kubetrail.rules import CLASS_BY_TABLE, Rule
from kubetrail.rules import builtin as builtin_rules
from kubetrail.store import (
    PENDING_CLUSTER,
    Cursor,
    FileResult,
    QuarantineRow,
    StoreError,
    WriteCounts,
    numbered_sql,
    write_counts,
)
from kubetrail.store.ddl import STORAGE_COLUMNS, candidate_fields, storage_columns
from kubetrail.store.duckdb_rules import Coverage, Covered, Params, column, merge_matches, predicate

if TYPE_CHECKING:
    import pyarrow as pa

SQL_DIR: Final = resources.files("kubetrail.store") / "sql"


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every migration file, in order."""
    return numbered_sql(SQL_DIR)


SCHEMA_VERSION: Final = migrations()[-1][0]
# Event ids and content hashes included the cluster name before this version (0012): such events
# cannot be told apart from the same events ingested again, so a store holding them is refused.
CLUSTER_FREE_IDS: Final = 12
# DuckDB's default (80% of RAM) would let the buffer pool grow with the data on a long ingest.
MEMORY_LIMIT: Final = "256MB"
# ... and while a batch is written: DuckDB's part of the write (mostly the append and the
# checkpoint at commit) takes what it may, beside the batch the process holds. With the whole
# limit, 1M simulated Tetragon events (424 MiB in Arrow for 122,880) peaked at 1,050 MiB over
# the ingest's processes.
# Not for a store that other threads read while it is written (serve: the alert engine, the read
# API): the limit is the database's, not the connection's, so lowering it for a write made their
# queries fail, and a query holding more than the lowered limit made the lowering fail, every
# retry again: the drain stopped for good (bench.alerts, 2026-12-05).
WRITE_MEMORY_LIMIT: Final = "128MB"
# A migration's copy into a fresh file (_copy_into) runs on one thread with this much: a
# target row group is built uncompressed (122,880 Hubble flows with their records: ~170 MiB)
# before it is compressed into the file, and with less room, or several threads each building
# one, DuckDB spilled it to its temporary folder. Copying a 3M-event store of schema 14 (566 MiB
# into a 511 MiB fresh file), all tables in one transaction: 655 MiB spilled at 256 MB and two
# threads (2.65x the store's disk at the peak), 364 MiB on one thread at 512 MB. A table per
# transaction on one thread at 512 MB: none (1.92x), in 24.5 s instead of 56.5 s.
MIGRATE_MEMORY_LIMIT: Final = "512MB"
# No merging of small row groups at checkpoints: a checkpoint after a small batch (a live batch,
# a short file) merged row groups across the whole table, 7.8 s at 10M events against 49 ms
# without. Full batches are whole row groups anyway (pipeline.BATCH_EVENTS).
# A write larger than the checkpoint threshold is checkpointed at its commit, which skips writing
# it to the WAL first (the WAL would be checkpointed right after, or at close). The default 16 MB
# let a batch of 10k events (27 MB of WAL) through the WAL: 0.17 s to write it and 0.15 s to
# checkpoint it at the next commit, against ~0.25 s for the checkpoint at commit alone.
_SETTINGS: Final[dict[str, str | int | bool]] = {
    "max_vacuum_tasks": 0,
    "checkpoint_threshold": "1MB",
}
# `serve` writes a group every second or so: checkpointed at each commit, the process grew by
# ~100 bytes per event stored (+36 MiB/min at 5,000 events/s, native memory outside DuckDB's
# buffer pool); through the WAL, checkpointed every ~3 groups, RSS rises and falls with the WAL
# and grows by ~25 bytes per event (+8 MiB/min; bench/serve.py, bench/RESULTS.md).
LIVE_CHECKPOINT_THRESHOLD: Final = "64MB"
# Every checkpoint leaves DuckDB holding ~2 KB of native memory per column of each table it wrote
# (the new segment's in-memory state), for as long as the database is open: nothing merges the
# segments without vacuuming (off, above). Written in small groups, as `serve` and `ingest
# --follow` write, that is 50-170 bytes per event: the process grew without bound (bench.serve:
# +11.5 MiB/min at 5,000 events/s). Closing the database drops it (on reopening, a table's
# segments are read back only when a query reaches them), so the writer reopens it after this
# many events: 500k simulated events written in groups of 6,000 held 26 MiB (serve's threshold)
# to 84 MiB (the default) more, and a reopen takes ~30 ms. Vacuuming instead held 16 bytes per
# event but made each write 45% slower, more as the table grew.
REOPEN_EVENTS: Final = 500_000
# `serve` writes groups of ~6,500 events: with a reopen every 500k, glibc's bytes in use rose and
# fell between 29 and 113 MiB (the default checkpoint threshold); every 100k, with what was freed
# handed back at each reopen (kubetrail/malloc.py), between 15 and 26 MiB (serve's threshold), at
# the same speed (LiveWriter, 1.6-2.6M events of the simulated cluster, 2026-12-06).
LIVE_REOPEN_EVENTS: Final = 100_000


def _append_sql(c: EventClass) -> str:
    """Appending the rows of class `c` of a batch (`_new`) to its table."""
    fields = [f'"{f}"' for f in c.fields]
    keys = storage_columns(c)
    values = [*fields, *(f"md5_number_lower({STORAGE_COLUMNS[k][0]})" for k in keys)]
    kinds = ", ".join(f"'{k}'" for k in c.kinds)
    return f"INSERT INTO {c.table} ({', '.join([*fields, *keys])}) SELECT {', '.join(values)} FROM _new WHERE kind IN ({kinds})"


_APPENDS: Final = tuple((frozenset(c.kinds), _append_sql(c)) for c in CLASSES)
EVENT_TABLES: Final = tuple(c.table for c in CLASSES)
# Tables kept beside the events, and the macro giving each one's rows of a batch of new events
# (registered as `_new`): who held which IP (0002), exec sessions (0004), hourly rollups (0010),
# pod changes and DNS answers (0011). The rules' candidates (0016) are written by their own
# compiled filter (Coverage).
_SIDE_TABLES: Final = (
    *((t, f"{t}_of('_new')") for t in ("ip_runs", "exec_stages")),
    *((f"{r}_hours", f"{r}_hours_of('_new', NULL, NULL)") for r in ("process", "egress", "alert", "api", "token")),
    *((t, f"{t}_of('_new')") for t in ("pod_changes", "dns_answers")),
)

# Migrations that reshape the events and are done by copying the store into a fresh file
# (DuckDBStore._rebuild): moving 10M events between tables in place peaked at 2.36x the store's
# disk and left it 1.91x as large, DuckDB keeping the dropped table's blocks (bench.migrate).
REBUILT_AT: Final = frozenset({15})
# Rules as data (0016): from this version on the store keeps the candidates of the rules it covers.
RULE_CANDIDATES: Final = 16
_BASE_TABLES: Final = """
SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = 'main'
    AND table_catalog = current_database() ORDER BY table_name
"""

# Every table with a cluster column: the events and the tables kept beside them.
_CLUSTER_TABLES: Final = """
SELECT table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.column_name = 'cluster' AND t.table_type = 'BASE TABLE' AND table_schema = 'main' ORDER BY table_name
"""

_FALLBACK: Final = "live_fallback_cluster"  # meta key: Store.fallback_cluster
_ROW_GROUP: Final = 122_880  # DuckDB's rows per row group
_FIELDS: Final = {f.name: f for f in catalog()}
_PROVENANCE: Final = "f.path AS provenance_path, f.sha256 AS provenance_sha256, epoch_ns(f.started_at) AS provenance_ingested_at"


# The events of a rule scan's window [$since, $until) ns, of $cluster (NULL: all).
_IN_WINDOW: Final = (
    '"time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until) AND ($cluster IS NULL OR cluster = $cluster)'
)


def _candidate_columns(c: EventClass) -> str:
    """What a rule scan returns of each event: its class's fields but the raw record."""
    return ", ".join(_select_field(c, f) for f in candidate_fields(c))


def _among(ids: Sequence[str] | None, params: Params, keyword: str) -> str:
    """A rule scan's rows narrowed to these event ids (none: no narrowing)."""
    return f"{keyword} id IN (SELECT unnest({params.add(list(ids))}::VARCHAR[]))" if ids is not None else ""


def _select_field(c: EventClass, name: str) -> str:
    """A field as `get_events` returns it from the table of class `c` (times as int ns)."""
    if name not in c.fields:
        return f'NULL AS "{name}"'
    return f'epoch_ns(e."{name}") AS "{name}"' if _FIELDS[name].sql.startswith("TIMESTAMP") else f'e."{name}"'


# Classify a batch against itself and the store: a repeat of the same (id, content) is a
# duplicate; a different content under a taken id is a conflict, kept under `id~content_hash`
# (deterministic, so re-ingesting it is then a duplicate too). Only the narrow key columns are
# read here; the wide batch goes straight from Arrow into the tables. Two steps, in every table
# of events: the stored rows whose id_key matches a candidate id (`_KEY_HITS`), then their ids
# and content hashes by row number (`_hit`). Reading `id` within the scan read every id of the
# store: 0.40-0.49 s against 0.07-0.22 s at 10M events, whether none, some or all of a 13.5k
# batch was stored before.
_KEY_HITS: Final = "WITH candidates AS (SELECT id FROM _keys UNION ALL SELECT id || '~' || content_hash FROM _keys)\n" + (
    "\nUNION ALL\n".join(
        f"""SELECT e.id, e.content_hash
FROM (SELECT rowid AS r FROM {table} WHERE id_key IN (SELECT md5_number_lower(id) FROM candidates)) k
JOIN {table} e ON e.rowid = k.r"""
        for table in EVENT_TABLES
    )
)
_CLASSIFY: Final = """
WITH b AS (SELECT id, content_hash, _seq FROM _keys)
SELECT
    row_number() OVER (PARTITION BY id, content_hash ORDER BY _seq) > 1
        OR EXISTS (SELECT 1 FROM _hit h WHERE h.content_hash = b.content_hash
                   AND (h.id = b.id OR h.id = b.id || '~' || b.content_hash)) AS dup,
    first_value(content_hash) OVER (PARTITION BY id ORDER BY _seq) <> content_hash
        OR EXISTS (SELECT 1 FROM _hit h WHERE h.id = b.id AND h.content_hash <> b.content_hash) AS conflict
FROM b ORDER BY _seq
"""


class DuckDBStore:
    max_batch: tuple[int, int] | None = None  # the pipeline's: a row group (ingest/pipeline.py)

    def __init__(
        self, path: str | Path, *, read_only: bool = False, memory_limit: str = MEMORY_LIMIT,
        checkpoint_threshold: str | None = None,  # default: _SETTINGS's (serve: LIVE_CHECKPOINT_THRESHOLD)
        write_memory_limit: str | None = WRITE_MEMORY_LIMIT,  # None: writes keep memory_limit (a store read meanwhile)
        reopen_events: int = REOPEN_EVENTS,  # the writer reopens the database after writing this many events
    ) -> None:  # fmt: skip
        self.path = str(path)
        self.memory_limit = memory_limit
        self.write_memory_limit = write_memory_limit
        self.reopen_events = reopen_events
        self.reopened = 0  # times the writer reopened the database
        self._written = 0  # events written since it was opened
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        # Readers on other threads hold the gate while they use their cursor: a reopen waits for
        # them to finish, and they for it.
        self._gate = threading.Condition()
        self._reading_now = 0
        self._reopening = False
        self._generation = 0  # of the connection: a thread's cursor of an older one is not used
        # Seconds spent in each step of write_events, when set (bench/stages.py reads them).
        self.stages: dict[str, float] | None = None
        try:
            settings = _SETTINGS | ({"checkpoint_threshold": checkpoint_threshold} if checkpoint_threshold else {})
            self._config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit, **settings}
            self.con = self._connect(read_only)
        except duckdb.IOException as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self._coverage: Coverage | None = None
        if not read_only:
            self._migrate()
        elif self.schema_version() != SCHEMA_VERSION:
            # Questions need the current schema: an older store is migrated first (a newer one is
            # refused, with what to do), then opened read-only again.
            self.con.close()
            DuckDBStore(path, memory_limit=memory_limit).close()
            self.con = self._connect(True)

    @classmethod
    def live(cls, path: str | Path) -> DuckDBStore:
        """The store with a long-running writer's settings (`serve`, `ingest --follow`): small
        groups through the WAL (LIVE_CHECKPOINT_THRESHOLD), a reopen every LIVE_REOPEN_EVENTS, and
        one memory limit for the writes and the reads beside them."""
        threshold, reopen = LIVE_CHECKPOINT_THRESHOLD, LIVE_REOPEN_EVENTS
        return cls(path, checkpoint_threshold=threshold, write_memory_limit=None, reopen_events=reopen)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(self.path, read_only=read_only, config=self._config)
        # DuckDB draws a progress bar on stdout for any statement of more than 2 s, even into a
        # pipe: into the JSON of a command's output (a migration takes minutes).
        con.execute("SET enable_progress_bar = false")
        return con

    # -- schema ---------------------------------------------------------------------------
    def _one(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a query (results are always read to the end, as DuckDB requires)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def schema_version(self) -> int:
        has_meta = self._one("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_schema = 'main'")
        if not has_meta or not has_meta[0]:
            return 0
        row = self._one("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {current}, newer than this kubetrail ({SCHEMA_VERSION}): upgrade kubetrail"
            )
        if 0 < current < CLUSTER_FREE_IDS and self._count("events"):
            raise StoreError(
                f"store {self.path} was written by a kubetrail whose event ids included the cluster name (schema {current}); "
                "its events cannot be matched with the same events ingested now: ingest the files again into a new store "
                "(--db NEW_PATH)"
            )
        pending = [(version, sql) for version, sql in migrations() if version > current]
        if current and any(version in REBUILT_AT for version, _ in pending) and self._count("events"):
            self._rebuild(current)
        else:
            self._apply(pending)
        if current < RULE_CANDIDATES:
            self.cover_rules(builtin_rules().rules)

    def _apply(self, pending: list[tuple[int, str]]) -> None:
        for version, sql in pending:
            # Each migration in one transaction: one that fails (or a process killed meanwhile)
            # leaves the store as the previous one left it.
            self.con.execute("BEGIN")
            try:
                self.con.execute(sql)
                self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
                self.con.execute("COMMIT")
            except duckdb.Error as exc:
                self.con.execute("ROLLBACK")
                raise StoreError(
                    f"cannot migrate store {self.path} to schema version {version}: {exc}; "
                    f"it is left as it was (schema version {self.schema_version()})"
                ) from exc

    def _rebuild(self, current: int) -> None:
        """Migrate by copying the store into a fresh file of the current schema, then putting it
        in the store's place with one rename: a failure or a crash before it leaves the store as
        it was (a later open starts again), and the store comes out compact."""
        fresh = Path(f"{self.path}.migrating")
        made = (fresh, Path(f"{fresh}.wal"))
        for leftover in made:
            leftover.unlink(missing_ok=True)
        print(f"kubetrail: migrating store {self.path} to schema version {SCHEMA_VERSION} (once; ~10 s per million events)",
              file=sys.stderr, flush=True)  # fmt: skip
        try:
            self._check_classes()
            sequences = self.con.execute(
                "SELECT sequence_name, last_value FROM duckdb_sequences() WHERE database_name = current_database() "
                "AND last_value IS NOT NULL"
            ).fetchall()
            target = DuckDBStore(fresh, memory_limit=self.memory_limit)
            for name, last in sequences:  # the fresh store's sequences go on from the old ones
                target.con.execute(f"SELECT max(nextval('{name}')) FROM range(?)", [last])
            target.close()
            self._copy_into(fresh)
        except (duckdb.Error, StoreError) as exc:
            for path in made:
                path.unlink(missing_ok=True)
            raise StoreError(
                f"cannot migrate store {self.path} to schema version {SCHEMA_VERSION}: {exc}; "
                f"it is left as it was (schema version {current})"
            ) from exc
        self.con.close()
        with open(fresh, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(fresh, self.path)
        self.con = self._connect(False)

    def _check_classes(self) -> None:
        """Every stored event has a table, and each of its fields a column there."""
        kinds = [k for c in CLASSES for k in c.kinds]
        row = self._one("SELECT count(*), string_agg(DISTINCT kind, ', ') FROM events WHERE NOT list_contains(?, kind)", [kinds])
        if row and row[0]:
            raise StoreError(f"{row[0]} events of kinds no table holds: {row[1]}")
        for c in CLASSES:
            outside = " OR ".join(f'"{f}" IS NOT NULL' for f in _FIELDS if f not in c.fields)
            row = self._one(f"SELECT count(*) FROM events WHERE list_contains(?, kind) AND ({outside})", [list(c.kinds)])
            if row and row[0]:
                raise StoreError(f"{row[0]} events of table {c.table} have a field it has no column for")

    def _copy_into(self, fresh: Path) -> None:
        """Every table's rows into the fresh store (of the current schema), the events each into
        the table of its class. Each table is committed on its own: what a transaction holds
        uncommitted DuckDB spilled to its temporary folder, and a copy that stops halfway leaves
        only the fresh file, which the store never becomes (_rebuild)."""
        con = self.con
        con.execute("ATTACH ? AS fresh", [str(fresh)])
        fresh_tables = {t for (t,) in con.execute(_BASE_TABLES.replace("current_database()", "'fresh'")).fetchall()}
        # Tables a later migration dropped are not copied; the rules' candidates are built anew.
        tables = [t for (t,) in con.execute(_BASE_TABLES).fetchall() if t not in ("events", "meta") and t in fresh_tables]
        copies: list[tuple[str, list[object]]] = [
            ("INSERT OR REPLACE INTO fresh.meta SELECT * FROM meta WHERE key <> 'schema_version'", []),
            *((f"INSERT INTO fresh.{table} BY NAME SELECT * FROM {table}", []) for table in tables),
        ]
        for c in CLASSES:
            fields = ", ".join(f'"{f}"' for f in c.fields)
            keys = ", ".join(f"md5_number_lower({STORAGE_COLUMNS[k][0]}) AS {k}" for k in storage_columns(c))
            sql = f"INSERT INTO fresh.{c.table} BY NAME SELECT {fields}, {keys} FROM events WHERE list_contains(?, kind)"
            copies.append((sql, [list(c.kinds)]))
        con.execute(f"SET memory_limit = '{MIGRATE_MEMORY_LIMIT}'")
        con.execute("SET threads = 1")
        try:
            for sql, params in copies:
                con.execute("BEGIN")
                try:
                    con.execute(sql, params)
                    con.execute("COMMIT")
                except duckdb.Error:
                    con.execute("ROLLBACK")
                    raise
            con.execute("CHECKPOINT fresh")
        finally:
            con.execute("DETACH fresh")
            con.execute("RESET threads")
            con.execute(f"SET memory_limit = '{self.memory_limit}'")

    # -- files ----------------------------------------------------------------------------
    def begin_file(self, path: str) -> int:
        row = self._one(
            "INSERT INTO files (file_id, path, started_at)"
            " VALUES (nextval('file_ids'), ?, make_timestamp_ns(?)) RETURNING file_id",
            [path, _now()],
        )
        assert row is not None
        return int(row[0])

    def finish_file(self, file_id: int, result: FileResult) -> None:
        stored_nothing = result.ingested == 0 and result.conflicts == 0 and result.quarantined == 0
        # A live input (no sha256: it has no end) keeps its row: its counts are updated as it goes.
        if stored_nothing and result.sha256 and self._seen_before(file_id, result.sha256):
            # Re-reading a file already ingested stores nothing new, not even a files row.
            self.con.execute("DELETE FROM files WHERE file_id = ?", [file_id])
            return
        self.con.execute(
            """UPDATE files SET sha256 = ?, size = ?, finished_at = make_timestamp_ns(?), source = ?, records = ?, ingested = ?,
               duplicates = ?, conflicts = ?, quarantined = ?, skipped_lines = ? WHERE file_id = ?""",
            [
                result.sha256,
                result.size,
                _now(),
                result.source,
                result.records,
                result.ingested,
                result.duplicates,
                result.conflicts,
                result.quarantined,
                result.skipped_lines,
                file_id,
            ],
        )

    def _seen_before(self, file_id: int, sha256: str) -> bool:
        row = self._one(
            "SELECT count(*) FROM files f, files me"
            " WHERE me.file_id = ? AND f.path = me.path AND f.sha256 = ? AND f.file_id <> ?",
            [file_id, sha256, file_id],
        )
        return bool(row and row[0])

    # -- events ---------------------------------------------------------------------------
    def write_events(self, batch: pa.Table, cursor: Cursor | None = None) -> WriteCounts:
        # Arrow is imported by the writes only: a question's process never needs it (~70 ms).
        import pyarrow as pa
        import pyarrow.compute as pc

        if batch.num_rows == 0:
            if cursor is not None:
                self._save_cursor(self.con, cursor)
            return WriteCounts()
        keys = pa.table({"id": batch["id"], "content_hash": batch["content_hash"], "_seq": pa.array(range(batch.num_rows))})
        con = self.con
        con.register("_keys", keys)
        if self.write_memory_limit is not None:
            con.execute(f"SET memory_limit = '{self.write_memory_limit}'")
        try:
            con.execute("BEGIN")
            with self._stage("dedupe"):
                con.register("_hit", con.sql(_KEY_HITS).to_arrow_table())
                cls = con.sql(_CLASSIFY).to_arrow_table()
                dup, conflict = cls["dup"], cls["conflict"]
                ids = pc.if_else(conflict, pc.binary_join_element_wise(batch["id"], batch["content_hash"], "~"), batch["id"])
                new = batch.set_column(0, "id", ids)
                if pc.any(dup).as_py():
                    # The new rows as a view that skips the duplicates: filtering the batch in Arrow
                    # copied it whole beside itself, +300 MiB at the peak for 122,880 Hubble flows
                    # among which a few had been seen before.
                    con.register("_batch", new.append_column("_dup", dup))
                    con.execute("CREATE OR REPLACE TEMP VIEW _new AS SELECT * EXCLUDE (_dup) FROM _batch WHERE NOT _dup")
                else:
                    con.register("_new", new)
            kinds = set(pc.unique(batch["kind"]).to_pylist())
            with self._stage("insert"):
                self._append(kinds)
            for table, of_batch in _SIDE_TABLES:
                with self._stage(f"side table {table}"):
                    con.execute(f"INSERT INTO {table} SELECT * FROM {of_batch}")
            with self._stage("rule candidates"):
                for sql, params in self.coverage().statements("_new", kinds):
                    con.execute(sql, params)
            if cursor is not None:
                self._save_cursor(con, cursor)
            with self._stage("commit"):
                con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            for view in ("_keys", "_hit", "_new", "_batch"):
                con.unregister(view)
            con.execute("DROP VIEW IF EXISTS temp._new")
            if self.write_memory_limit is not None:
                con.execute(f"SET memory_limit = '{self.memory_limit}'")
            pa.default_memory_pool().release_unused()
        self._written += batch.num_rows
        if self._written >= self.reopen_events:
            self.reopen()
        return write_counts(batch["file_id"], batch["source"], dup, conflict)

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        if self.stages is None:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - started

    @staticmethod
    def _save_cursor(con: duckdb.DuckDBPyConnection, cursor: Cursor) -> None:
        con.execute(
            "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, make_timestamp_ns(?))",
            [cursor.name, cursor.position, cursor.state, _now()],
        )

    def cursor(self, name: str) -> Cursor | None:
        with self._reading() as con:
            row = con.execute("SELECT position, state FROM cursors WHERE name = ?", [name]).fetchall()
        return Cursor(name, int(row[0][0]), row[0][1]) if row else None

    # -- alerts (written by serve's alert thread, on its own cursor) --------------------------
    def told_incidents(self) -> list[dict[str, Any]]:
        with self._reading() as con:
            cur = con.execute("SELECT * FROM alert_incidents")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def save_told(self, incidents: list[dict[str, Any]], outbox: list[tuple[str, str]], now: int) -> list[int]:
        """Incidents' new states and the notices they bring, in one transaction; the notices' seqs."""
        with self._reading() as con:
            con.execute("BEGIN")
            try:
                if incidents:
                    columns = list(incidents[0])
                    con.executemany(
                        f"INSERT OR REPLACE INTO alert_incidents ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                        [[i[c] for c in columns] for i in incidents],
                    )
                notice_sql = "INSERT INTO alert_outbox (output, notice, created_at) VALUES (?, ?, ?) RETURNING seq"
                seqs = [int(con.execute(notice_sql, [output, notice, now]).fetchall()[0][0]) for output, notice in outbox]
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            return seqs

    def outbox_pending(self) -> list[tuple[int, str, str]]:
        """(seq, output, notice) not yet delivered, oldest first."""
        sql = "SELECT seq, output, notice FROM alert_outbox WHERE sent_at IS NULL ORDER BY seq"
        with self._reading() as con:
            rows = con.execute(sql).fetchall()
        return [(int(seq), output, notice) for seq, output, notice in rows]

    def outbox_sent(self, seqs: list[int], at: int) -> None:
        if seqs:
            with self._reading() as con:
                con.execute("UPDATE alert_outbox SET sent_at = ? WHERE list_contains(?, seq)", [at, seqs])

    # -- rules ----------------------------------------------------------------------------
    def coverage(self) -> Coverage:
        """The rules whose candidates the store keeps (read once; `cover_rules` replaces it)."""
        if self._coverage is None:
            with self._reading() as con:
                rows = con.execute('SELECT rule_id, "table", digest, definition FROM rule_coverage ORDER BY rule_id').fetchall()
            self._coverage = Coverage([Covered.read(*row) for row in rows])
        return self._coverage

    def candidate_counts(self) -> dict[str, int]:
        """The candidates kept for the covered rules, by class table."""
        return {c.table: self._count(f"{c.table}_candidates") for c in CLASSES}

    def covered_rules(self) -> dict[str, str]:
        return dict(self.coverage().digests)

    def cover_rules(self, rules: Sequence[Rule]) -> None:
        """Keep the candidates of these rules (and no others) from now on: the candidate tables
        rebuilt from the events, in one transaction."""
        covered = Covered.of(rules)
        coverage = Coverage(covered)
        con = self.con
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM rule_coverage")
            if covered:
                con.executemany("INSERT INTO rule_coverage VALUES (?, ?, ?, ?)", [c.row() for c in covered])
            for c in CLASSES:
                con.execute(f"DELETE FROM {c.table}_candidates")
            for sql, params in coverage.statements("{table}"):
                con.execute(sql, params)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        self._coverage = coverage

    def rule_matches(
        self, rules: Sequence[Rule], since: int, until: int, cluster: str | None = None, ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The events of [since, until) (of `cluster`; among `ids`) that the rules match, each
        with the ids of the rules it matched (`rules`), in time order; a threshold rule's with the
        `count` of its group. A covered rule reads its class's candidates; any other, its class
        table. All single-event rules of a class read in one scan; a threshold rule in its own."""
        read = self.coverage().source
        found: dict[str, dict[str, Any]] = {}
        add = partial(merge_matches, found)
        for r in rules:
            if r.sequence is not None:
                add(self._sequence_scan([read(n, s) for n, s in r.selections()], r, since, until, cluster, ids))
        for c in CLASSES:
            single: dict[str, list[Rule]] = {}  # by where they read
            for r in (r for r in rules if r.table == c.table and r.sequence is None):
                source = read(*r.selections()[-1])
                if r.threshold is not None:
                    add(self._threshold_scan(source, c, r, since, until, cluster, ids))
                else:
                    single.setdefault(source, []).append(r)
            for source, part in single.items():
                add(self._scan(source, c, part, since, until, cluster, ids))
        return sorted(found.values(), key=lambda r: (r["time"], r["id"]))

    def _scan(
        self, source: str, c: EventClass, rules: Sequence[Rule], since: int, until: int, cluster: str | None,
        ids: Sequence[str] | None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        params = Params()
        # Each rule's predicate twice: in the filter, so that only the rows it keeps are read
        # whole, and in the list of the rules a row matched.
        predicates = [predicate(r.kinds, r.condition, c, params) for r in rules]
        hits = ", ".join(f"CASE WHEN {p} THEN {params.add(r.id)} END" for p, r in zip(predicates, rules, strict=True))
        sql = f"""SELECT {_candidate_columns(c)}, list_filter([{hits}], lambda r: r IS NOT NULL) AS rules
FROM {source} e
WHERE {_IN_WINDOW} AND ({" OR ".join(predicates)}) {_among(ids, params, "AND")}"""
        return self._rows(sql, {**params.values, "since": since, "until": until, "cluster": cluster})

    def _threshold_scan(
        self, source: str, c: EventClass, rule: Rule, since: int, until: int, cluster: str | None,
        ids: Sequence[str] | None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The event at which each group of a threshold rule reached its count within its span
        (the window's events only), with the group's `count` in the window."""
        assert rule.threshold is not None
        params = Params()
        where = predicate(rule.kinds, rule.condition, c, params)
        keys = [column(name, params) for name in rule.threshold.by]
        by = ", ".join(f"_k{i}" for i in range(len(keys)))
        sql = f"""WITH matched AS (
    SELECT {_candidate_columns(c)}, {", ".join(f"{k} AS _k{i}" for i, k in enumerate(keys))}
    FROM {source} e
    WHERE {_IN_WINDOW} AND {where} AND {" AND ".join(f"{k} IS NOT NULL" for k in keys)}
), counted AS (
    SELECT *, count(*) OVER (PARTITION BY {by} ORDER BY "time" RANGE BETWEEN {int(rule.threshold.within_ns)} PRECEDING
                             AND CURRENT ROW) AS _reached,
        count(*) OVER (PARTITION BY {by}) AS "count"
    FROM matched
), fired AS (
    SELECT * EXCLUDE ({by}, _reached), [{params.add(rule.id)}] AS rules FROM counted
    WHERE _reached >= {params.add(rule.threshold.count)}
    QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY "time", id) = 1
)
SELECT * FROM fired {_among(ids, params, "WHERE")}"""
        return self._rows(sql, {**params.values, "since": since, "until": until, "cluster": cluster})

    def _sequence_scan(
        self, sources: Sequence[str], rule: Rule, since: int, until: int, cluster: str | None, ids: Sequence[str] | None
    ) -> list[dict[str, Any]]:
        """The first event of the window, per key, of a sequence rule's last step that an event of
        each earlier step preceded, in order, with the same key values (and cluster), all within
        the rule's span; with the id of the first step's event (`first_step`)."""
        assert rule.sequence is not None
        params = Params()
        steps, within = rule.sequence.steps, int(rule.sequence.within_ns)
        n_keys = len(steps[0].key)
        ctes = []
        for n, (step, source) in enumerate(zip(steps, sources, strict=True)):
            c = CLASS_BY_TABLE[step.table]
            keys = [column(k, params) for k in step.key]
            last = n == len(steps) - 1
            columns = _candidate_columns(c) if last else 'id AS _id, cluster AS _cluster, epoch_ns("time") AS _t'
            window = _IN_WINDOW if last else _IN_WINDOW.replace("$since", f"$since - {within}")
            ctes.append(f"""{"l" if last else f"s{n}"} AS (
    SELECT {columns}, {", ".join(f"{k} AS _k{i}" for i, k in enumerate(keys))}
    FROM {source} e
    WHERE {window} AND {predicate(step.kinds, step.condition, c, params)}
        AND {" AND ".join(f"{k} IS NOT NULL" for k in keys)}
)""")
        earlier = [f"s{n}" for n in range(len(steps) - 1)]
        joins = " ".join(
            f"JOIN {s} ON {s}._cluster = l.cluster AND " + " AND ".join(f"{s}._k{i} = l._k{i}" for i in range(n_keys))
            for s in earlier
        )
        times = [*(f"{s}._t" for s in earlier), 'l."time"']
        event_ids = [*(f"{s}._id" for s in earlier), "l.id"]
        order = " AND ".join(
            [f'{earlier[0]}._t >= l."time" - {within}']
            + [f"{a} <= {b}" for a, b in itertools.pairwise(times)]
            + [f"{a} <> {b}" for a, b in itertools.pairwise(event_ids)]
        )
        per_key = ", ".join(f"l._k{i}" for i in range(n_keys))
        sql = f"""WITH {", ".join(ctes)}, fired AS (
    SELECT l.* EXCLUDE ({", ".join(f"_k{i}" for i in range(n_keys))}), [{params.add(rule.id)}] AS rules,
        {earlier[0]}._id AS first_step
    FROM l {joins}
    WHERE {order}
    QUALIFY row_number() OVER (PARTITION BY l.cluster, {per_key} ORDER BY l."time", l.id, {earlier[0]}._t DESC) = 1
)
SELECT * FROM fired {_among(ids, params, "WHERE")}"""
        return self._rows(sql, {**params.values, "since": since, "until": until, "cluster": cluster})

    def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._reading() as con:
            cur = con.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _append(self, kinds: set[str]) -> None:
        """Append `_new` to the tables of its classes (`kinds`: the kinds it holds), with one
        thread: DuckDB splits a table of several Arrow chunks between its threads, each of which
        writes its part as a row group of its own, to be merged: 17-19 against 11-12 µs/event for
        a batch of 122,880 audit events in 8 chunks (in one chunk, or with one thread: 11-12)."""
        self.con.execute("SET threads = 1")
        for of_kinds, sql in _APPENDS:
            if not kinds.isdisjoint(of_kinds):
                self.con.execute(sql)
        # Not in a `finally`: in the transaction a failed append aborted, RESET fails too, and its
        # "transaction is aborted" hid the error that aborted it (an out-of-memory in serve's log).
        # The next append sets the threads again.
        self.con.execute("RESET threads")

    def write_quarantine(self, rows: list[QuarantineRow]) -> int:
        if not rows:
            return 0
        import pyarrow as pa

        now = _now()
        table = pa.table(
            {
                "file_id": [r.file_id for r in rows],
                "line": [r.line for r in rows],
                "byte_offset": [r.byte_offset for r in rows],
                "source": [r.source for r in rows],
                "reason": [r.reason for r in rows],
                "raw": [r.raw for r in rows],
                "raw_hash": [r.raw_hash() for r in rows],
                "quarantined_at": pa.array([now] * len(rows), pa.timestamp("ns")),
            }
        )
        self.con.register("_q", table)
        try:
            before = self._count("quarantine")
            self.con.execute(
                "INSERT INTO quarantine SELECT DISTINCT ON (raw_hash) * FROM _q"
                " WHERE raw_hash NOT IN (SELECT raw_hash FROM quarantine)"
            )
            return self._count("quarantine") - before
        finally:
            self.con.unregister("_q")

    # -- clusters -------------------------------------------------------------------------
    def cluster_names(self) -> list[str]:
        return [c for c in self._clusters() if not c.startswith(PENDING_CLUSTER)]

    def pending_clusters(self) -> list[str]:
        return [c for c in self._clusters() if c.startswith(PENDING_CLUSTER)]

    def _clusters(self) -> list[str]:
        return [row[0] for row in self.con.execute("SELECT DISTINCT cluster FROM events ORDER BY cluster").fetchall()]

    def rename_cluster(self, old: str, new: str) -> int:
        if old == new:
            return 0
        con = self.con
        tables = [row[0] for row in con.execute(_CLUSTER_TABLES).fetchall()]
        con.execute("BEGIN")
        try:
            renamed = 0
            for table in tables:
                cur = con.execute(f"UPDATE {table} SET cluster = $new WHERE cluster = $old", {"old": old, "new": new})
                renamed += cur.fetchall()[0][0] if table in EVENT_TABLES else 0
            con.execute("DELETE FROM meta WHERE key = $key AND value = $old", {"key": _FALLBACK, "old": old})
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return int(renamed)

    def fallback_cluster(self) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [_FALLBACK])
        return str(row[0]) if row else None

    def mark_fallback_cluster(self, name: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_FALLBACK, name])

    def _count(self, table: str) -> int:
        row = self._one(f"SELECT count(*) FROM {table}")
        return int(row[0]) if row else 0

    # -- reads ----------------------------------------------------------------------------
    def memory(self) -> dict[str, int]:
        with self._reading() as con:
            rows = con.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0").fetchall()
        return {str(tag): int(used) for tag, used in rows}

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        return self.get_events([event_id]).get(event_id)

    def get_events(
        self, event_ids: Iterable[str], fields: Sequence[str] = (), within: tuple[int, int] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Times come back as int ns (the contract formats them; datetimes would lose digits)."""
        # Two steps: find the rows on the narrow key (a wide scan for a few rows costs ~4x more),
        # in every table of events at once, then read those rows' columns, one read per run of
        # nearby rows of a table: the join's rowid range limits the scan to the row groups
        # between its first and last row.
        unknown = [f for f in fields if f not in _FIELDS]
        if unknown:
            raise ValueError(f"not fields of an event: {', '.join(unknown)}")
        names = list(dict.fromkeys(("id", *fields))) if fields else list(_FIELDS)
        ids = list(dict.fromkeys(event_ids))
        when = 'AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)' if within else ""
        find = " UNION ALL ".join(
            f"SELECT {i} AS t, rowid AS r FROM {c.table} WHERE id_key IN (SELECT md5_number_lower(unnest($ids::VARCHAR[]))) "
            f"AND list_contains($ids, id) {when}"
            for i, c in enumerate(CLASSES)
        )
        with self._reading() as con:
            hits = con.execute(
                f"{find} ORDER BY t, r", {"ids": ids, **({"since": within[0], "until": within[1]} if within else {})}
            ).fetchall()
            runs: list[tuple[int, list[int]]] = []
            for t, rowid in hits:
                if runs and runs[-1][0] == t and rowid - runs[-1][1][-1] <= _ROW_GROUP:
                    runs[-1][1].append(rowid)
                else:
                    runs.append((t, [rowid]))
            out: dict[str, dict[str, Any]] = {}
            for t, run in runs:
                c = CLASSES[t]
                columns = ", ".join(_select_field(c, f) for f in names)
                select = f"SELECT {columns} FROM {c.table} e" if fields else (
                    f"SELECT {columns}, {_PROVENANCE} FROM {c.table} e LEFT JOIN files f USING (file_id)"
                )  # fmt: skip
                cur = con.execute(f"{select} WHERE e.rowid IN (SELECT unnest($rows::BIGINT[]))", {"rows": run})
                cols = [d[0] for d in cur.description]
                out.update((d["id"], d) for d in (dict(zip(cols, row, strict=True)) for row in cur.fetchall()))
            return out

    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        with self._reading() as con:
            cur = con.execute(_named_query(name), params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def abandon(self) -> None:
        """Roll back what a failed write left open on the writer's connection, if anything: a
        transaction left aborted makes DuckDB refuse every later statement ("Current transaction
        is aborted"), and serve's drain retried into it for good (bench.serve with a 64 MB memory
        limit, after an out-of-memory error in a write)."""
        with suppress(duckdb.TransactionException):  # none was open
            self.con.execute("ROLLBACK")

    def own(self) -> None:
        """Make the calling thread the store's writer, on the store's own connection; every other
        thread, the one that opened the store included, then reads through a cursor of its own."""
        self._owner = threading.get_ident()

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's connection while the caller uses it: the store's own on the writer's
        thread, a cursor of it on any other (a DuckDB connection is not for two threads at once),
        not closed under it by a reopen."""
        if threading.get_ident() == self._owner:
            yield self.con
            return
        depth = getattr(self._local, "depth", 0)
        if not depth:  # a nested read holds the gate already: waiting for a reopen would wait for itself
            with self._gate:
                while self._reopening:
                    self._gate.wait()
                self._reading_now += 1
        self._local.depth = depth + 1
        try:
            cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
            if cursor is None or self._local.generation != self._generation:
                cursor = self._local.cursor = self.con.cursor()
                self._local.generation = self._generation
                self._cursors.append(cursor)
            yield cursor
        finally:
            self._local.depth = depth
            if not depth:
                with self._gate:
                    self._reading_now -= 1
                    self._gate.notify_all()

    def reopen(self) -> None:
        """Close the database and open it again (on the writer's thread, between writes): what
        DuckDB holds for every checkpoint since it opened is let go (REOPEN_EVENTS). Readers on
        other threads finish first; the next read of each opens a new cursor."""
        with self._gate:
            self._reopening = True
            while self._reading_now:
                self._gate.wait()
        try:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
            self._generation += 1
            self.con.close()
            self.con = self._connect(False)
            self._written = 0
            self.reopened += 1
            release_freed()  # what the closed database held, in free chunks between used ones
        finally:
            with self._gate:
                self._reopening = False
                self._gate.notify_all()

    def close(self) -> None:
        for cursor in self._cursors:
            cursor.close()
        self.con.close()


@cache
def _named_query(name: str) -> str:
    entry = SQL_DIR / "queries" / f"{name}.sql"
    if not entry.is_file():
        raise KeyError(f"no query named {name!r}")
    return entry.read_text()


def _now() -> int:
    return time.time_ns()
