"""The ClickHouse store: a ClickHouse server (`clickhouse://`, `clickhouses://`) or the engine in
this process (`chdb:///PATH`), through clickhouse-connect for both, so the code that talks to a
server is the code tested here; only the transport differs.

The schema is made for the engine (store/clickhouse_ddl.py): duplicates are merged by the engine
and every read is of deduplicated rows (`FINAL`), so two writers storing the same events at once
still store each once. The writer classifies a batch against the store before inserting, as the
DuckDB store does, for the ingest summary's counts and to give a conflict its `id~hash`; those
counts are best-effort when writers race, the stored events never are.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from kubetrail.malloc import release_freed
from kubetrail.model import CLASS_OF_KIND, CLASSES, FIELD_NAMES, catalog
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
from kubetrail.store.clickhouse_ddl import on_cluster, view_type

if TYPE_CHECKING:
    import pyarrow as pa
    from clickhouse_connect.driver.client import Client

    from kubetrail.rules import Rule
    from kubetrail.store.duckdb_rules import Coverage

SQL_DIR: Final = resources.files("kubetrail.store") / "sql"
SCHEMES: Final = ("chdb", "clickhouse", "clickhouses")
DEFAULT_DATABASE: Final = "kubetrail"
# The environment variables a server's password is read from (never from the URL: a command line
# is visible to every user of the machine, and lands in shell histories).
PASSWORD_ENV: Final = "KUBETRAIL_CLICKHOUSE_PASSWORD"
PASSWORD_FILE_ENV: Final = "KUBETRAIL_CLICKHOUSE_PASSWORD_FILE"
_FIELDS: Final = {f.name: f for f in catalog()}
_TIMES: Final = frozenset(f.name for f in catalog() if f.sql.startswith("TIMESTAMP"))
_LISTS: Final = frozenset(f.name for f in catalog() if f.sql.startswith("VARCHAR[]"))
# Inserts whose events span many days (a corpus years long) write a part per day: allowed.
_INSERT_SETTINGS: Final = {"max_partitions_per_insert_block": 0}
_FALLBACK: Final = "live_fallback_cluster"  # meta key: Store.fallback_cluster
# The time a table's rows are kept by (retain): an event's, a rollup's hour, the last time an
# address was seen held, a DNS answer's.
_RETENTION_COLUMNS: Final = ("time", "hour", "last_seen", "first")


def is_url(db: str) -> bool:
    """Whether `--db` names a ClickHouse store (a URL of SCHEMES) rather than a DuckDB file."""
    return db.split("://", 1)[0] in SCHEMES and "://" in db


@dataclass(frozen=True, slots=True)
class Target:
    """Where a `--db` URL points: chDB's folder, or a server; and the database there."""

    url: str  # as given (it never holds a password: parse_url refuses one)
    database: str
    path: str | None = None  # chDB
    host: str | None = None
    port: int | None = None
    user: str | None = None
    secure: bool = False


def parse_url(db: str) -> Target:
    parts = urlsplit(db)
    if parts.scheme not in SCHEMES:
        raise StoreError(f"{db}: not a ClickHouse store URL ({', '.join(s + '://' for s in SCHEMES)})")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "chdb":
        if parts.netloc not in ("", "."):
            raise StoreError(f"{db}: a chDB store is a folder: chdb:///absolute/path or chdb://./relative/path")
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StoreError(f"{db}: a chDB store needs a folder: chdb:///absolute/path")
        database = query.get("database", DEFAULT_DATABASE)
        return Target(db, _database(db, database), path=path)
    if parts.password is not None:
        raise StoreError(
            f"{parts.scheme}://{parts.hostname}: a password in the store URL would be visible to every user of this "
            f"machine: set {PASSWORD_ENV} or {PASSWORD_FILE_ENV} instead"
        )
    secure = parts.scheme == "clickhouses"
    database = parts.path.strip("/") or DEFAULT_DATABASE
    return Target(
        db, _database(db, database), host=parts.hostname or "localhost", port=parts.port or (8443 if secure else 8123),
        user=parts.username or "default", secure=secure,
    )  # fmt: skip


def _database(db: str, name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise StoreError(f"{db}: {name!r} is not a database name (letters, digits and _)")
    return name


def _password() -> str:
    if path := os.environ.get(PASSWORD_FILE_ENV):
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise StoreError(f"{PASSWORD_FILE_ENV}={path}: {exc.strerror}") from exc
    return os.environ.get(PASSWORD_ENV, "")


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every ClickHouse migration, in order."""
    return numbered_sql(SQL_DIR / "clickhouse")


SCHEMA_VERSION: Final = migrations()[-1][0]
RULE_CANDIDATES: Final = 5  # the migration that made the rules' candidate tables


@cache
def side_statements() -> list[tuple[int, str]]:
    """(version, sql) of the statements that keep the tables beside the events (lookups and
    rollups): `sql/clickhouse/side/NNNN_<table>.sql`, NNNN the migration that creates the table.
    Each reads `{batch}`: the new events of a batch as they are written, or every stored event
    (the `events` view) when its migration fills the table for the events stored before it."""
    return [(version, s) for version, sql in numbered_sql(SQL_DIR / "clickhouse" / "side") for s in statements(sql)]


def statements(sql: str) -> list[str]:
    """A migration's statements: each ends with `;` at the end of a line; `--` comments dropped."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";").strip()]


class _Lock:
    """chDB runs one engine per process, and a folder may be open in one process only: a lock file
    beside the folder says which process holds it (chDB itself only says `Code: 36`)."""

    def __init__(self, path: str, url: str) -> None:
        self.file = Path(f"{path.rstrip('/')}.lock")
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            raise StoreError(
                f"store {url} is in use by another process (PID {holder}; chDB opens a store in one process only): "
                "stop it first, or ask it"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)


# The chDB folder this process opened, and its lock: the engine stays up for the process (chDB
# cannot start again on another folder), and the lock with it.
_CHDB: dict[str, Any] = {}
_CHDB_GUARD = threading.Lock()


class ClickHouseStore:
    # Each write is a part per class table, held whole while the engine sorts and writes it, and
    # the batch is in `_new` besides: no row groups to fill here, so smaller batches than DuckDB's,
    # for memory (1M events into chDB: the ingest process's anonymous memory ~1.7 -> ~0.9 GiB).
    max_batch: tuple[int, int] | None = (32_768, 96 << 20)

    def __init__(self, db: str, *, read_only: bool = False) -> None:
        """`read_only`: opened to ask questions; an older store is migrated all the same, as a
        DuckDB store is (ClickHouse has no read-only connection to take)."""
        self.target = parse_url(db)
        self.path = db
        self._local = threading.local()
        self._thread_clients: list[Client] = []
        self._owner = threading.get_ident()
        self._coverage: Coverage | None = None
        self.client = self._connect()
        self.cluster = self._distributed_over()  # before migrating: what a migration changes goes there
        self._migrate()

    # -- connection -----------------------------------------------------------------------
    def _connect(self) -> Client:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import ClickHouseError

        t = self.target
        try:
            if t.path is None:
                admin = clickhouse_connect.get_client(
                    host=t.host, port=t.port, username=t.user, password=_password(), secure=t.secure
                )
                admin.command(f"CREATE DATABASE IF NOT EXISTS {t.database}")
                return clickhouse_connect.get_client(
                    host=t.host, port=t.port, username=t.user, password=_password(), secure=t.secure, database=t.database
                )
            return self._chdb_client()
        except ClickHouseError as exc:
            raise StoreError(f"cannot open store {t.url}: {_brief(exc)}") from exc

    def _chdb_client(self) -> Client:
        import clickhouse_connect

        t = self.target
        assert t.path is not None
        path = os.path.abspath(t.path)
        with _CHDB_GUARD:
            held = _CHDB.get("path")
            if held is not None and held != path:
                raise StoreError(
                    f"cannot open store {t.url}: this process has the chDB store {held} open, and chDB opens one "
                    "folder per process"
                )
            if held is None:
                _CHDB.update(path=path, lock=_Lock(path, t.url))
        admin = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        admin.command(f"CREATE DATABASE IF NOT EXISTS {t.database}")
        admin.close()
        return clickhouse_connect.get_client(dsn=f"chdb://{path}", database=t.database)

    def _client(self) -> Client:
        """This thread's client: the store's own on the thread that opened it, a new one on any
        other (a client is not for two threads at once)."""
        if threading.get_ident() == self._owner:
            return self.client
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._connect()
            self._thread_clients.append(client)
        return client

    # -- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int:
        if not self._scalar("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'meta'"):
            return 0
        value = self._scalar("SELECT value FROM meta FINAL WHERE key = 'schema_version'")
        return int(value) if value else 0

    def _migrate(self) -> None:
        from clickhouse_connect.driver.exceptions import ClickHouseError

        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {current}, newer than this kubetrail ({SCHEMA_VERSION}): upgrade kubetrail"
            )
        for version, sql in migrations():
            if version <= current:
                continue
            # ClickHouse has no transactions for DDL: every statement of a migration is idempotent
            # (IF NOT EXISTS, OR REPLACE), so one stopped halfway is done again from its start.
            try:
                for statement in statements(sql):  # on a ClickHouse cluster, on every node
                    for each in on_cluster(statement, self.cluster) if self.cluster else [statement]:
                        self.client.command(each)
                for of, side in side_statements():
                    if of == version and current:  # a new store has no events to fill them from
                        self.client.command(side.format(batch="events"), settings=_INSERT_SETTINGS)
                if version == RULE_CANDIDATES:
                    self._cover_at_migration(filled=bool(current))
            except ClickHouseError as exc:
                raise StoreError(
                    f"cannot migrate store {self.path} to schema version {version}: {_brief(exc)}; "
                    f"it stays at schema version {self.schema_version()} (opening it again retries)"
                ) from exc
            self._set_meta("schema_version", str(version))

    def _cover_at_migration(self, filled: bool) -> None:
        """The built-in rules covered by the migration that makes the candidate tables: their
        candidates filled from the stored events (`filled`: a new store has none), and kept as
        long as the events are."""
        from kubetrail.rules import builtin

        self.cover_rules(builtin().rules, fill=filled)
        if filled and (days := self._scalar("SELECT value FROM meta FINAL WHERE key = 'retention_days'")):
            self.retain(int(days))

    def _distributed_over(self) -> str | None:
        """The ClickHouse cluster the tables are Distributed over (`store init --on-cluster`), or
        None for tables of one server (or chDB)."""
        engine = self._scalar("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'api_calls'")
        found = re.match(r"Distributed\('?(\w+)'?,", str(engine or ""))
        return found.group(1) if found else None

    def retain(self, days: int | None) -> list[str]:
        """Keep `days` days of data (None: everything): a TTL on every table, by the time of its
        rows, so that ClickHouse drops what grows older at its merges (whole days, the tables
        being partitioned by day). Returns the tables changed."""
        client = self._client()
        columns = client.query(
            "SELECT table, name FROM system.columns WHERE database = currentDatabase() AND name IN {c:Array(String)} "
            "AND table IN (SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree')",
            parameters={"c": list(_RETENTION_COLUMNS)},
        ).result_rows
        by_table: dict[str, str] = {}
        for table, column in columns:  # the first of _RETENTION_COLUMNS a table has
            if table not in by_table or _RETENTION_COLUMNS.index(column) < _RETENTION_COLUMNS.index(by_table[table]):
                by_table[table] = column
        for table, column in sorted(by_table.items()):
            ttl = "REMOVE TTL" if days is None else f"MODIFY TTL toDateTime(`{column}`) + toIntervalDay({int(days)})"
            client.command(f"ALTER TABLE {self._on_nodes(table)} {ttl}")
        self._set_meta("retention_days", "" if days is None else str(days))
        return sorted(by_table)

    def _on_nodes(self, table: str) -> str:
        """Where an UPDATE or DELETE of `table` goes: a Distributed table takes neither, its
        replicated tables on every node do."""
        return f"{table}_local ON CLUSTER {self.cluster}" if self.cluster else table

    def _set_meta(self, key: str, value: str) -> None:
        self._client().command(
            "INSERT INTO meta VALUES ({k:String}, {v:String}, fromUnixTimestamp64Nano({t:Int64}))",
            parameters={"k": key, "v": value, "t": time.time_ns()},
        )

    def _scalar(self, sql: str, **params: Any) -> Any:
        rows = self._client().query(sql, parameters=params).result_rows
        return rows[0][0] if rows else None

    # -- files ----------------------------------------------------------------------------
    def begin_file(self, path: str) -> int:
        # No sequences in ClickHouse, and several writers: a file id is the start time in ms
        # with 20 random low bits (ordered as the files were begun; two files begun in the same
        # ms collide once in a million).
        file_id = (time.time_ns() // 1_000_000) << 20 | secrets.randbits(20)
        self._file_row({"file_id": file_id, "path": path, "started_at": time.time_ns()})
        return file_id

    def _file_row(self, row: dict[str, Any]) -> None:
        row = {**row, "version": time.time_ns()}
        names = list(row)
        values = ", ".join(f"{{{n}:{_FILE_TYPES[n]}}}" for n in names)
        self._client().command(f"INSERT INTO files ({', '.join(names)}) VALUES ({values})", parameters=row)

    def finish_file(self, file_id: int, result: FileResult) -> None:
        stored_nothing = result.ingested == 0 and result.conflicts == 0 and result.quarantined == 0
        client = self._client()
        begun = client.query(
            "SELECT path, toUnixTimestamp64Nano(started_at) FROM files FINAL WHERE file_id = {f:Int64}", parameters={"f": file_id}
        ).result_rows
        if not begun:
            return
        path, started = begun[0]
        if stored_nothing and result.sha256:
            seen = self._scalar(
                "SELECT count() FROM files FINAL WHERE path = {p:String} AND sha256 = {s:String} AND file_id <> {f:Int64}",
                p=path, s=result.sha256, f=file_id,
            )  # fmt: skip
            if seen:  # re-reading a file already ingested stores nothing new, not even a files row
                client.command(f"DELETE FROM {self._on_nodes('files')} WHERE file_id = {{f:Int64}}", parameters={"f": file_id})
                return
        self._file_row({
            "file_id": file_id, "path": path, "started_at": started, "finished_at": time.time_ns(),
            "sha256": result.sha256, "size": result.size, "source": result.source, "records": result.records,
            "ingested": result.ingested, "duplicates": result.duplicates, "conflicts": result.conflicts,
            "quarantined": result.quarantined, "skipped_lines": result.skipped_lines,
        })  # fmt: skip

    # -- events ---------------------------------------------------------------------------
    def write_events(self, batch: pa.Table, cursor: Cursor | None = None) -> WriteCounts:
        import pyarrow as pa
        import pyarrow.compute as pc

        if batch.num_rows == 0:
            if cursor is not None:
                self._save_cursor(cursor)
            return WriteCounts()
        client = self._client()
        stored = self._stored_keys(client, batch)
        if not stored and pc.count_distinct(batch["id"]).as_py() == batch.num_rows:
            dup = conflict = [False] * batch.num_rows  # every event new (most batches): no need to look closer
        else:
            dup, conflict = _classify(batch, stored)
        dup_arr, conflict_arr = pa.array(dup), pa.array(conflict)
        new = batch
        if any(conflict):
            ids_or_keys = pc.binary_join_element_wise(batch["id"], batch["content_hash"], "~")
            new = new.set_column(0, "id", pc.if_else(conflict_arr, ids_or_keys, batch["id"]))
        # Each copy of a batch is its size again (~350 MiB for 122,880 audit events with their
        # records): rows are copied only where some are left out.
        new = _for_insert(_where(new, pc.invert(dup_arr)))
        if new.num_rows:
            # The batch crosses into the engine once (`_new`), and each class table, the tables
            # beside the events (which read the class tables too), the candidates and the keys
            # are written from there.
            self._load_new(client, new)
            kinds = set(new["kind"].unique().to_pylist())
            for c in CLASSES:
                if kinds.intersection(c.kinds):
                    cols = ", ".join(f"`{f}`" for f in c.fields)
                    client.command(
                        f"INSERT INTO {c.table} ({cols}) SELECT {cols} FROM _new WHERE kind IN {{kinds:Array(String)}}",
                        parameters={"kinds": list(c.kinds)},
                        settings=_INSERT_SETTINGS,
                    )
            self._write_side_tables(client)
            self._write_candidates(client, kinds)
            # The keys last: a write that stops before them (a crash, an error) is found new again
            # when the batch is written again, and done again whole (the engine merges what it had
            # stored).
            self._write_keys(client)
        if cursor is not None:
            self._save_cursor(cursor)
        # What the batch's conversions freed goes back to the system, and chDB's allocator hands
        # back its free pages (it kept ~1 GiB after 200k Tetragon events without it).
        release_freed()
        if self.target.path is not None:
            client.command("SYSTEM JEMALLOC PURGE")
        return write_counts(batch["file_id"], batch["source"], pa.chunked_array([dup_arr]), pa.chunked_array([conflict_arr]))

    @staticmethod
    def _load_new(client: Client, new: pa.Table) -> None:
        """A batch's new events into a temporary table of the client's session, `_new`."""
        ddl = ", ".join(f"`{f}` {_VIEW_TYPES[f]}" for f in FIELD_NAMES)
        client.command(f"CREATE TEMPORARY TABLE IF NOT EXISTS _new ({ddl}) ENGINE = Memory")
        client.command("TRUNCATE TABLE _new")
        _insert(client, "_new", _for_insert(new))  # _for_insert: a no-op on write_events' batch

    @staticmethod
    def _write_side_tables(client: Client) -> None:
        """The tables beside the events, from the batch's new events in `_new` (side_statements)."""
        for _, sql in side_statements():
            client.command(sql.format(batch="_new"), settings=_INSERT_SETTINGS)

    def _write_candidates(self, client: Client, kinds: set[str]) -> None:
        """The candidates of the covered rules among the batch's new events (`_new`, of `kinds`)."""
        for sql, params in self.coverage().statements("_new", kinds):
            client.command(sql, parameters=params, settings=_INSERT_SETTINGS)

    @staticmethod
    def _write_keys(client: Client) -> None:
        """The keys of the batch's new events in `_new`, with the table each is in."""
        client.command(
            "INSERT INTO event_keys SELECT cityHash64(id), id, content_hash, time, transform(kind, {kinds:Array(String)}, "
            "{tables:Array(String)}, '') FROM _new",
            parameters={"kinds": list(CLASS_OF_KIND), "tables": [c.table for c in CLASS_OF_KIND.values()]},
        )

    @staticmethod
    def _stored_keys(client: Client, batch: pa.Table) -> set[tuple[str, str]]:
        """(id, content_hash) of the stored events whose id is one of the batch's, or its
        `id~hash`: the batch's keys go into a temporary table of the client's session, and
        event_keys is searched by their hashes first (0007), then by the keys (GLOBAL: on a
        cluster, the shards get the sets)."""
        client.command("CREATE TEMPORARY TABLE IF NOT EXISTS _batch_keys (id String, content_hash String) ENGINE = Memory")
        client.command("TRUNCATE TABLE _batch_keys")
        client.insert_arrow("_batch_keys", batch.select(["id", "content_hash"]))
        keys = "SELECT id AS k FROM _batch_keys UNION ALL SELECT concat(id, '~', content_hash) FROM _batch_keys"
        rows = client.query(
            f"SELECT id, content_hash FROM event_keys PREWHERE id_hash GLOBAL IN (SELECT cityHash64(k) FROM ({keys})) "
            f"WHERE id GLOBAL IN ({keys})"
        ).result_rows
        return {(i, h) for i, h in rows}

    def _save_cursor(self, cursor: Cursor) -> None:
        self._client().command(
            "INSERT INTO cursors VALUES ({n:String}, {p:Int64}, {s:Nullable(String)}, fromUnixTimestamp64Nano({t:Int64}))",
            parameters={"n": cursor.name, "p": cursor.position, "s": cursor.state, "t": time.time_ns()},
        )

    def cursor(self, name: str) -> Cursor | None:
        rows = (
            self._client()
            .query("SELECT position, state FROM cursors FINAL WHERE name = {n:String}", parameters={"n": name})
            .result_rows
        )
        return Cursor(name, int(rows[0][0]), rows[0][1]) if rows else None

    def write_quarantine(self, rows: list[QuarantineRow]) -> int:
        if not rows:
            return 0
        import pyarrow as pa

        hashes = [r.raw_hash() for r in rows]
        known = {h for (h,) in self._client().query(
            "SELECT raw_hash FROM quarantine WHERE raw_hash IN {h:Array(String)}", parameters={"h": hashes}
        ).result_rows}  # fmt: skip
        now = time.time_ns()
        table = pa.table({
            "file_id": [r.file_id for r in rows], "line": [r.line for r in rows], "byte_offset": [r.byte_offset for r in rows],
            "source": [r.source for r in rows], "reason": [r.reason for r in rows], "raw": [r.raw for r in rows],
            "raw_hash": hashes, "quarantined_at": pa.array([now] * len(rows), pa.timestamp("ns")),
        })  # fmt: skip
        self._client().insert_arrow("quarantine", table, settings=_INSERT_SETTINGS)
        return len(set(hashes) - known)

    # -- clusters -------------------------------------------------------------------------
    def cluster_names(self) -> list[str]:
        return [c for c in self._clusters() if not c.startswith(PENDING_CLUSTER)]

    def pending_clusters(self) -> list[str]:
        return [c for c in self._clusters() if c.startswith(PENDING_CLUSTER)]

    def _clusters(self) -> list[str]:
        union = " UNION DISTINCT ".join(f"SELECT DISTINCT cluster FROM {c.table}" for c in CLASSES)
        return sorted(str(row[0]) for row in self._client().query(union).result_rows)

    def rename_cluster(self, old: str, new: str) -> int:
        """Every table with a cluster column: an event table by a lightweight update (cluster is
        outside its sorting key, so it can change in place); a table beside them whose rows are
        identified by their cluster (in its sorting key, which cannot change) by copying its rows
        under the new name and deleting the old ones."""
        if old == new:
            return 0
        client = self._client()
        renamed = 0
        events = {c.table for c in CLASSES}
        candidates = {f"{c.table}_candidates" for c in CLASSES}
        tables = client.query(
            "SELECT t.name, t.sorting_key FROM system.tables t WHERE t.database = currentDatabase() "
            "AND t.engine LIKE '%MergeTree' AND t.name IN "
            "(SELECT table FROM system.columns WHERE database = currentDatabase() AND name = 'cluster') "
            "AND t.name NOT LIKE '%\\_local' ORDER BY t.name"
        ).result_rows
        names = {"old": old, "new": new}
        for table, key in tables:
            # A DELETE or an ALTER UPDATE is a mutation of every part, even where no row matches
            # (0.5 s on a rollup at 1M events, at the end of every ingest): only where one does.
            if not self._scalar(f"SELECT count() FROM (SELECT 1 FROM {table} WHERE cluster = {{old:String}} LIMIT 1)", old=old):
                continue
            if table in events or table in candidates:
                n = int(self._scalar(f"SELECT count() FROM {table} FINAL WHERE cluster = {{old:String}}", old=old) or 0)
                if n:
                    sql = f"UPDATE {self._on_nodes(table)} SET cluster = {{new:String}} WHERE cluster = {{old:String}}"
                    client.command(sql, parameters=names)
                    renamed += n if table in events else 0
            elif "cluster" in (k.strip() for k in str(key).split(",")):
                # The old rows in a subquery: in its own WHERE, `cluster` would be the new name.
                rows = f"(SELECT * FROM {table} WHERE cluster = {{old:String}})"
                copy = f"INSERT INTO {table} SELECT * REPLACE ({{new:String}} AS cluster) FROM {rows}"
                client.command(copy, parameters=names, settings=_INSERT_SETTINGS)
                client.command(f"DELETE FROM {self._on_nodes(table)} WHERE cluster = {{old:String}}", parameters=names)
            else:
                sql = f"ALTER TABLE {self._on_nodes(table)} UPDATE cluster = {{new:String}} WHERE cluster = {{old:String}}"
                client.command(sql, parameters=names, settings={"mutations_sync": 2})
        if self.fallback_cluster() == old:
            client.command(f"DELETE FROM {self._on_nodes('meta')} WHERE key = {{k:String}}", parameters={"k": _FALLBACK})
        return renamed

    def fallback_cluster(self) -> str | None:
        value = self._scalar("SELECT value FROM meta FINAL WHERE key = {k:String}", k=_FALLBACK)
        return str(value) if value is not None else None

    def mark_fallback_cluster(self, name: str) -> None:
        self._set_meta(_FALLBACK, name)

    # -- reads ----------------------------------------------------------------------------
    def get_event(self, event_id: str) -> dict[str, Any] | None:
        return self.get_events([event_id]).get(event_id)

    def get_events(
        self, event_ids: Iterable[str], fields: Sequence[str] = (), within: tuple[int, int] | None = None
    ) -> dict[str, dict[str, Any]]:
        unknown = [f for f in fields if f not in _FIELDS]
        if unknown:
            raise ValueError(f"not fields of an event: {', '.join(unknown)}")
        names = list(dict.fromkeys(("id", *fields))) if fields else list(FIELD_NAMES)
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return {}
        # Two steps, as in DuckDBStore: where each id is (its table and time, by the primary key
        # of event_keys: the ids' hashes), then the rows of each table between the first and last
        # of those times.
        client = self._client()
        spans: dict[str, list[int]] = {}
        for table, first, last in client.query(
            "SELECT `table`, toUnixTimestamp64Nano(min(time)), toUnixTimestamp64Nano(max(time)) FROM event_keys "
            "WHERE has(arrayMap(i -> cityHash64(i), {ids:Array(String)}), id_hash) AND id IN {ids:Array(String)} "
            "GROUP BY `table`",
            parameters={"ids": ids},
        ).result_rows:
            spans[str(table)] = [int(first), int(last)]
        out: dict[str, dict[str, Any]] = {}
        for c in CLASSES:
            if c.table not in spans:
                continue
            first, last = spans[c.table]
            if within:
                first, last = max(first, within[0]), min(last, within[1] - 1)
            columns = ", ".join(_select_field(c.fields, f) for f in names)
            sql = (
                # e.time: `time` alone would be the select list's alias, in ns.
                f"SELECT {columns} FROM {c.table} e FINAL WHERE e.id IN {{ids:Array(String)}} "
                "AND e.time BETWEEN fromUnixTimestamp64Nano({first:Int64}) AND fromUnixTimestamp64Nano({last:Int64})"
            )
            if not fields:
                sql = (
                    f"SELECT e.*, f.path AS provenance_path, f.sha256 AS provenance_sha256, "
                    f"toUnixTimestamp64Nano(f.started_at) AS provenance_ingested_at FROM ({sql}) e "
                    "LEFT JOIN (SELECT file_id, path, sha256, started_at FROM files FINAL) f ON f.file_id = e.file_id "
                    "SETTINGS join_use_nulls = 1"
                )
            result = client.query(sql, parameters={"ids": ids, "first": first, "last": last})
            for row in result.named_results():
                out[row["id"]] = _read_row(row)
        return out

    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        result = self._client().query(_named_query(name), parameters=params)
        return [_read_row(row) for row in result.named_results()]

    # -- rules ----------------------------------------------------------------------------
    def rule_matches(
        self, rules: Sequence[Rule], since: int, until: int, cluster: str | None = None, ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """As DuckDBStore.rule_matches (store/clickhouse_rules.py): a covered rule reads its
        class's candidates, any other its class table."""
        from kubetrail.store.clickhouse_rules import rule_matches

        return rule_matches(self._client(), rules, since, until, cluster, ids, self.coverage().source)

    def coverage(self) -> Coverage:
        """The rules whose candidates the store keeps (read once; `cover_rules` replaces it)."""
        if self._coverage is None:
            from kubetrail.store.clickhouse_rules import coverage
            from kubetrail.store.duckdb_rules import Covered

            rows = self._client().query("SELECT rule_id, table, digest, definition FROM rule_coverage FINAL ORDER BY rule_id")
            self._coverage = coverage([Covered.read(*row) for row in rows.result_rows])
        return self._coverage

    def cover_rules(self, rules: Sequence[Rule], *, fill: bool = True) -> None:
        """Keep the candidates of these rules (and no others) from now on: the candidate tables
        emptied and filled again from the stored events (`fill`). Not atomic, as ClickHouse has no
        transactions: until it is done, a rule scan may find too few candidates; a writer storing
        meanwhile keeps the candidates of the rules it read when it opened the store."""
        from kubetrail.store.clickhouse_rules import coverage
        from kubetrail.store.duckdb_rules import Covered

        covered = Covered.of(rules)
        client = self._client()
        client.command(f"TRUNCATE TABLE {self._on_nodes('rule_coverage')}")
        if covered:
            client.insert("rule_coverage", [c.row() for c in covered], column_names=["rule_id", "table", "digest", "definition"])
        for c in CLASSES:
            client.command(f"TRUNCATE TABLE {self._on_nodes(f'{c.table}_candidates')}")
        self._coverage = coverage(covered)
        if fill:
            for sql, params in self._coverage.statements("{table} FINAL"):
                client.command(sql, parameters=params, settings=_INSERT_SETTINGS)

    def covered_rules(self) -> dict[str, str]:
        return dict(self.coverage().digests)

    def candidate_counts(self) -> dict[str, int]:
        """The candidates kept for the covered rules, by class table."""
        return {c.table: int(self._scalar(f"SELECT count() FROM {c.table}_candidates FINAL")) for c in CLASSES}

    def memory(self) -> dict[str, int]:
        value = self._scalar("SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'")
        return {"MemoryTracking": int(value)} if value else {}

    def close(self) -> None:
        for client in (self.client, *self._thread_clients):
            client.close()


# Every field's type in the `events` view (nullable where a class lacks the column).
_VIEW_TYPES: Final = {f: view_type(f) for f in FIELD_NAMES}
_FILE_TYPES: Final = {
    "file_id": "Int64", "path": "String", "sha256": "Nullable(String)", "size": "Nullable(Int64)",
    "started_at": "DateTime64(9, 'UTC')", "finished_at": "Nullable(DateTime64(9, 'UTC'))",
    "source": "Nullable(String)", "records": "Nullable(Int64)", "ingested": "Nullable(Int64)",
    "duplicates": "Nullable(Int64)", "conflicts": "Nullable(Int64)", "quarantined": "Nullable(Int64)",
    "skipped_lines": "Nullable(Int64)", "version": "UInt64",
}  # fmt: skip


def _select_field(fields: Sequence[str], name: str) -> str:
    """A field as get_events returns it (times as int ns); NULL where the class has no column."""
    if name not in fields:
        return f"NULL AS `{name}`"
    return f"toUnixTimestamp64Nano(e.`{name}`) AS `{name}`" if name in _TIMES else f"e.`{name}` AS `{name}`"


def _read_row(row: dict[str, Any]) -> dict[str, Any]:
    """A result row as the DuckDB store gives it: an empty list of a list field is NULL (a
    ClickHouse Array cannot be)."""
    for name in _LISTS.intersection(row):
        if row[name] == []:
            row[name] = None
    return row


# Rows per Arrow insert (a batch into `_new`): clickhouse-connect serializes an insert whole (Arrow
# IPC, then a file chDB reads) and the engine converts it whole, so each slice is held three times
# over while it crosses; a batch (ClickHouseStore.max_batch) crosses in slices of this many.
INSERT_ROWS: Final = 16_384


def _insert(client: Client, table: str, rows: pa.Table) -> None:
    for start in range(0, rows.num_rows, INSERT_ROWS):
        client.insert_arrow(table, rows.slice(start, INSERT_ROWS), settings=_INSERT_SETTINGS)


def _classify(batch: pa.Table, stored: set[tuple[str, str]]) -> tuple[list[bool], list[bool]]:
    """Which of a batch's events are duplicates, and which conflicts, as DuckDBStore classifies
    them: a repeat of (id, content) is a duplicate; another content under an id taken (in the
    store, or earlier in the batch) a conflict, kept as id~hash. `stored`: the store's (id,
    content_hash) under the batch's ids and their id~hash."""
    stored_hashes: dict[str, set[str]] = {}
    for sid, sh in stored:
        stored_hashes.setdefault(sid, set()).add(sh)
    dup, conflict = [], []
    first_hash: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for i, h in zip(batch["id"].to_pylist(), batch["content_hash"].to_pylist(), strict=True):
        taken = stored_hashes.get(i, set())
        dup.append((i, h) in seen or h in taken or h in stored_hashes.get(f"{i}~{h}", set()))
        conflict.append(first_hash.setdefault(i, h) != h or bool(taken - {h}))
        seen.add((i, h))
    return dup, conflict


def _where(rows: pa.Table, mask: pa.Array) -> pa.Table:
    """The rows `mask` keeps: the table itself when it keeps them all (a filter copies them)."""
    import pyarrow.compute as pc

    kept = pc.sum(mask).as_py() or 0
    return rows if kept == rows.num_rows else rows.filter(mask)


def _for_insert(rows: pa.Table) -> pa.Table:
    """A batch's columns as the tables take them: a NULL list as an empty one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in _LISTS.intersection(rows.column_names):
        i = rows.column_names.index(name)
        col = rows[name]
        if col.null_count:
            empty = pa.scalar([], col.type)
            rows = rows.set_column(i, name, pc.if_else(pc.is_null(col), empty, col))
    return rows


@cache
def _named_query(name: str) -> str:
    entry = SQL_DIR / "queries" / f"{name}.clickhouse.sql"
    if not entry.is_file():
        raise KeyError(f"no ClickHouse query named {name!r}")
    return entry.read_text()


def _brief(exc: Exception) -> str:
    """A ClickHouse error's message without the stack trace chDB appends."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:500]
