"""The embedded store: migrations, schema = catalog, dedupe semantics."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import duckdb
import pytest

from kubetrail.model import CLASSES, COMMON_FIELDS, FIELD_NAMES, KINDS, Event, catalog
from kubetrail.store.batch import to_arrow
from kubetrail.store.ddl import STORAGE_COLUMNS, storage_columns
from kubetrail.store.duckdb import (
    LIVE_CHECKPOINT_THRESHOLD,
    LIVE_REOPEN_EVENTS,
    MEMORY_LIMIT,
    SCHEMA_VERSION,
    DuckDBStore,
    StoreError,
    migrations,
)
from tests.answers.conftest import story_store


def event(id_: str, verb: str = "get", **kw: object) -> Event:
    return Event(
        id=id_,
        time=1_764_324_000_000_000_001,
        source="k8s_audit",
        kind="api_call",
        cluster="c",
        verb=verb,
        content_hash=f"h-{verb}",
        **kw,
    )  # type: ignore[arg-type]


def test_a_new_store_is_created_at_the_latest_schema_version(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    assert store.schema_version() == SCHEMA_VERSION >= 1
    store.close()


def test_migrated_tables_of_events_match_the_logical_schema(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    sql = (
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_name = ? ORDER BY ordinal_position"
    )
    tables = {c.table: store.con.execute(sql, [c.table]).fetchall() for c in CLASSES}
    view = store.con.execute(sql, ["events"]).fetchall()
    store.close()
    fields = {f.name: f for f in catalog()}

    def column(name: str) -> tuple[str, str, str]:
        if name in STORAGE_COLUMNS:
            return (name, STORAGE_COLUMNS[name][1], "YES")
        f = fields[name]
        return (name, f.sql.replace(" NOT NULL", ""), "NO" if "NOT NULL" in f.sql else "YES")

    for c in CLASSES:
        assert tables[c.table] == [column(n) for n in (*c.fields, *storage_columns(c))], c.table
    # The view: every field of the catalog, in its order, then the storage columns.
    assert [(n, t) for n, t, _ in view] == [column(n)[:2] for n in (*fields, *STORAGE_COLUMNS)]


def test_every_kind_has_one_class_and_every_field_a_column() -> None:
    assert sorted(kind for c in CLASSES for kind in c.kinds) == sorted(KINDS)
    assert {f for c in CLASSES for f in c.fields} == set(FIELD_NAMES)
    assert all(set(COMMON_FIELDS) <= set(c.fields) for c in CLASSES)


def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    DuckDBStore(tmp_path / "s.duckdb").close()
    store = DuckDBStore(tmp_path / "s.duckdb")
    assert store.con.execute("SELECT count(*) FROM meta").fetchall() == [(1,)]
    store.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_store_from_a_newer_kubetrail_is_refused(tmp_path: Path, read_only: bool) -> None:
    DuckDBStore(tmp_path / "s.duckdb").close()
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this kubetrail"):
        DuckDBStore(tmp_path / "s.duckdb", read_only=read_only)


def test_an_empty_store_from_an_older_kubetrail_is_migrated_even_when_opened_to_read(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:  # as schema 11 left it
        for version, sql in migrations():
            if version <= 11:
                con.execute(sql)
        con.execute("INSERT INTO meta VALUES ('schema_version', '11')")
    reader = DuckDBStore(tmp_path / "s.duckdb", read_only=True)
    try:
        assert reader.schema_version() == SCHEMA_VERSION
        names = reader.con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'events'").fetchall()
        columns = {c for (c,) in names}
        assert {"sensor_cluster", "time_source"} <= columns
        with pytest.raises(duckdb.Error, match="read-only"):  # and open read-only again
            reader.con.execute("CREATE TABLE t (a INTEGER)")
    finally:
        reader.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_store_holding_events_with_the_cluster_in_their_ids_is_refused(tmp_path: Path, read_only: bool) -> None:
    # Before schema 12 an event's id included its cluster name: the same event ingested now would
    # not be found a duplicate of it, so such a store is refused with what to do instead.
    path = story_store(tmp_path / "s.duckdb", "exec-session")
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"event ids included the cluster name \(schema 11\).*into a new store"):
        DuckDBStore(path, read_only=read_only)


def test_a_store_held_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "s.duckdb"
    DuckDBStore(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreError, match="cannot open store"):
            DuckDBStore(db)
    finally:
        holder.kill()
        holder.wait()


def test_write_events_counts_new_duplicates_and_conflicts(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    first = store.write_events(to_arrow([event("a"), event("b"), event("a")]))
    assert (first.stored, first.duplicates, first.conflicts) == ({"k8s_audit": 2}, 1, 0)
    second = store.write_events(to_arrow([event("a"), event("a", verb="watch"), event("c")]))
    assert (second.stored, second.duplicates, second.conflicts) == ({"k8s_audit": 2}, 1, 1)
    ids = [r[0] for r in store.con.execute("SELECT id FROM events ORDER BY id").fetchall()]
    assert ids == ["a", "a~h-watch", "b", "c"]
    assert [store.get_event(i)["verb"] for i in ids] == ["get", "watch", "get", "get"]  # type: ignore[index]
    store.close()


def test_a_failed_append_raises_its_own_error(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.write_events(to_arrow([event("a")]))
    store.con.execute("BEGIN")
    store.con.execute("""CREATE TEMP VIEW _new AS SELECT * REPLACE ('not a time' AS "time") FROM events""")
    with pytest.raises(duckdb.ConversionException):  # not "Current transaction is aborted"
        store._append({"api_call"})
    store.con.execute("ROLLBACK")
    assert store.write_events(to_arrow([event("b")])).stored == {"k8s_audit": 1}
    store.close()


def test_conflict_inside_one_batch_keeps_the_first_under_the_plain_id(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    counts = store.write_events(to_arrow([event("x", verb="get"), event("x", verb="list")]))
    assert counts.conflicts == 1
    rows = store.con.execute("SELECT id, verb FROM events ORDER BY id").fetchall()
    assert rows == [("x", "get"), ("x~h-list", "list")]
    store.close()


def test_each_batch_records_who_held_an_address_and_loopback_is_no_ones(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")

    def connect(id_: str, t: int, pod: str, src: str) -> Event:
        return Event(id=id_, time=t * 10**9, source="tetragon", kind="network_flow", cluster="c", namespace="ns", pod_name=pod,
                     src_ip=src, dst_ip="10.96.0.1", content_hash=id_)  # fmt: skip

    store.write_events(to_arrow([connect("1", 100, "a", "10.244.1.5"), connect("2", 110, "a", "127.0.0.1")]))
    store.write_events(to_arrow([connect("3", 200, "a", "10.244.1.5"), connect("4", 300, "b", "10.244.1.5")]))
    rows = store.con.execute("SELECT ip, pod_name, epoch(first_seen), epoch(last_seen), observations FROM ip_runs ORDER BY ALL")
    # One run per batch and holder (the query merges them: see tests/identity); 127.0.0.1 is every pod's own.
    assert rows.fetchall() == [
        ("10.244.1.5", "a", 100, 100, 1),
        ("10.244.1.5", "a", 200, 200, 1),
        ("10.244.1.5", "b", 300, 300, 1),
    ]
    store.close()


def test_times_keep_nanoseconds(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.write_events(to_arrow([event("a")]))
    row = store.get_event("a")
    assert row is not None and row["time"] == 1_764_324_000_000_000_001
    assert store.get_event("missing") is None
    store.close()


def test_get_events_reads_rows_far_apart_and_leaves_out_ids_not_stored(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.write_events(to_arrow([event("a")]))
    # Two row groups of filler between "a" and "b": the rows are read in two runs.
    store.con.execute(
        "INSERT INTO api_calls (id, id_key, time, source, kind, cluster, content_hash) SELECT 'f' || i, "
        "md5_number_lower('f' || i), make_timestamp_ns(i), 'k8s_audit', 'api_call', 'c', 'h' FROM range(250000) t(i)"
    )
    process = Event(id="p", time=2, source="tetragon", kind="process_exec", cluster="c", binary="/bin/sh", content_hash="h")
    store.write_events(to_arrow([event("b", verb="list"), process]))
    found = store.get_events(["b", "missing", "a", "b", "p"])
    assert {i: (row["verb"], row["binary"], row["provenance_path"]) for i, row in found.items()} == {
        "a": ("get", None, None),
        "b": ("list", None, None),
        "p": (None, "/bin/sh", None),  # of another table, whose events have no verb
    }
    assert store.get_events(["a", "b"], ("verb",)) == {"a": {"id": "a", "verb": "get"}, "b": {"id": "b", "verb": "list"}}
    assert store.get_events([]) == {}
    assert set(store.get_events(["a", "b"], ("verb",), within=(0, 1_764_324_000_000_000_002))) == {"a", "b"}
    assert store.get_events(["a", "b"], ("verb",), within=(0, 1_764_324_000_000_000_001)) == {}  # [since, until)
    with pytest.raises(ValueError, match="not fields of an event: raw; DROP"):
        store.get_events(["a"], ("verb", "raw; DROP"))
    store.close()


def test_queries_from_several_threads_at_once_answer_as_from_one(tmp_path: Path) -> None:
    db = story_store(tmp_path / "s.duckdb", "exec-session", "egress", "processes", "secrets")
    store = DuckDBStore(db, read_only=True)
    window = {"since": 0, "until": 1 << 62, "cluster": None}
    steady = {**window, "min_connections": 1, "min_span": 0}
    queries = [("process_runs", {**window, "namespace": None}), ("secret_calls", {**window, "namespace": None}),
               ("runtime_alert_counts", window), ("steady_candidates", steady)] * 4  # fmt: skip
    alone = [_rows(store.query(name, **params)) for name, params in queries]
    assert all(alone), "the stories hold rows for each of these queries"
    start = threading.Barrier(4, timeout=60)

    def run(query: tuple[str, dict[str, object]]) -> list[str]:
        start.wait()  # four threads query at the same moment
        return _rows(store.query(query[0], **query[1]))

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, queries))
    assert together == alone
    opened = list(store._cursors)
    assert 1 <= len(opened) <= 4  # a connection per thread, reused by its later queries
    store.close()
    with pytest.raises(duckdb.ConnectionException):
        opened[0].execute("SELECT 1")


def _rows(rows: list[dict[str, object]]) -> list[str]:
    """Rows in a canonical order: queries leave ties (and list items) in any order, threads or not."""
    return sorted(repr(sorted((k, sorted(v) if isinstance(v, list) else v) for k, v in r.items())) for r in rows)


def test_a_store_read_while_written_keeps_one_memory_limit_for_its_readers(tmp_path: Path) -> None:
    """serve's store is read while it is written (the alert engine, the read API): the memory
    limit is the database's, so a write that lowered it made readers fail, and a reader holding
    more than the lowered limit made the write fail, every retry again (bench.alerts)."""
    store = DuckDBStore(tmp_path / "k.duckdb", write_memory_limit=None)
    reader = store.con.cursor()
    seen: set[str] = set()

    def read(done: threading.Event) -> None:
        while not done.is_set():
            seen.add(reader.execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]

    try:
        _write_while(store, [read])
    finally:
        reader.close()
    assert len(seen) == 1  # the limit it opened with, whatever DuckDB prints for 256MB
    assert store.con.execute("SELECT count(*) FROM events").fetchone() == (6000,)
    store.close()


def test_the_writer_reopens_the_database_and_readers_on_other_threads_read_through_it(tmp_path: Path) -> None:
    """DuckDB holds native memory for every checkpoint until the database is closed: the writer
    reopens it every `reopen_events` events (serve and `ingest --follow` never stop writing), while
    other threads keep reading; none sees an error or misses a stored event."""
    store = DuckDBStore(tmp_path / "k.duckdb", write_memory_limit=None, reopen_events=500)
    store.own()
    errors: list[BaseException] = []
    counts: list[list[int]] = [[], []]

    def read(seen: list[int], done: threading.Event) -> None:
        while not done.is_set():
            try:
                seen.append(len(store.get_events([f"e{n}-0" for n in range(30)], fields=("verb",))))
                store.query("newest_event")
            except Exception as exc:  # any failure of a read is the finding
                errors.append(exc)
                return

    _write_while(store, [partial(read, seen) for seen in counts])
    assert errors == []
    assert store.reopened == 10  # after every 500 events: 30 writes of 200
    for seen in counts:  # no read saw fewer events than one before it on its thread
        assert seen and seen == sorted(seen)
    with ThreadPoolExecutor(1) as pool:  # a reader's thread sees every event once the writes are done
        assert pool.submit(lambda: len(store.get_events([f"e{n}-0" for n in range(30)]))).result() == 30
    assert store.query("newest_event")[0]["newest"] is not None
    assert store.con.execute("SELECT count(*) FROM events").fetchone() == (6000,)
    store.close()


def _write_while(store: DuckDBStore, reads: list[Callable[[threading.Event], None]]) -> None:
    """30 batches of 200 events written while each of `reads` runs on a thread of its own, until
    the event it is given is set."""
    done = threading.Event()
    threads = [threading.Thread(target=read, args=(done,)) for read in reads]
    for thread in threads:
        thread.start()
    try:
        for n in range(30):
            store.write_events(to_arrow([event(f"e{n}-{k}") for k in range(200)]))
    finally:
        done.set()
        for thread in threads:
            thread.join()


def test_a_live_store_has_the_live_settings_and_keeps_them_across_a_reopen(tmp_path: Path) -> None:
    """serve and `ingest --follow` write small groups for days: they open the store with the live
    settings (LIVE_CHECKPOINT_THRESHOLD, LIVE_REOPEN_EVENTS, one memory limit for writes and reads)."""
    store = DuckDBStore.live(tmp_path / "k.duckdb")
    assert (store.reopen_events, store.write_memory_limit) == (LIVE_REOPEN_EVENTS, None)
    store.reopen()
    setting = "SELECT current_setting('checkpoint_threshold'), current_setting('memory_limit')"
    with duckdb.connect(config={"checkpoint_threshold": LIVE_CHECKPOINT_THRESHOLD, "memory_limit": MEMORY_LIMIT}) as con:
        assert store.con.execute(setting).fetchone() == con.execute(setting).fetchone()
    batch = DuckDBStore(tmp_path / "b.duckdb")  # a batch store checkpoints far sooner
    assert batch.con.execute(setting).fetchone() != store.con.execute(setting).fetchone()
    batch.close()
    store.close()


def test_the_store_tells_the_memory_its_engine_holds_from_any_thread(tmp_path: Path) -> None:
    """serve's /metrics reads it on a thread of its own: what the rows written and not yet
    checkpointed hold (a live store checkpoints at 64 MB) is there, and goes at the checkpoint."""
    store = DuckDBStore.live(tmp_path / "m.duckdb")
    store.write_events(to_arrow([event(f"e{i}") for i in range(20_000)]))
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(store.memory).result()
    assert held == store.memory()
    assert held["IN_MEMORY_TABLE"] > 0
    store.con.execute("CHECKPOINT")
    assert "IN_MEMORY_TABLE" not in store.memory()
    store.close()


def test_a_reopen_waits_for_a_read_under_way(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "k.duckdb")
    store.write_events(to_arrow([event("e1")]))
    reading, release, reopened = threading.Event(), threading.Event(), threading.Event()

    def read() -> None:
        with store._reading() as con:
            reading.set()
            release.wait(timeout=30)
            assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)

    def reopen() -> None:
        store.reopen()
        reopened.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert reading.wait(timeout=30)
    writer = threading.Thread(target=reopen)
    writer.start()
    assert not reopened.wait(timeout=0.5)  # the cursor in use is not closed under its reader
    release.set()
    reader.join()
    writer.join()
    assert reopened.is_set() and store.reopened == 1
    assert store.get_event("e1") is not None
    store.close()


def test_the_timeline_reads_every_table_that_has_a_column_it_asks_about() -> None:
    # timeline.sql is written out per table (one branch per way of touching the entity and table).
    sql = (Path(__file__).parents[2] / "src" / "kubetrail" / "store" / "sql" / "queries" / "timeline.sql").read_text()
    branches = re.findall(r"FROM (\w+)\n\s+WHERE \$\w+ IS NOT NULL AND (\w+) = ", sql)
    for column in ("pod_name", "src_pod_name", "dst_pod_name", "token_pod_name", "actor", "impersonated_by"):
        assert sorted(t for t, c in branches if c == column) == sorted(c.table for c in CLASSES if column in c.fields), column
