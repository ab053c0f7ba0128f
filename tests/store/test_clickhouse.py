"""The ClickHouse store on chDB: schema = catalog, URLs, the engine's dedupe under concurrent
writers, conflicts, the chDB folder lock, and every stored event read back as DuckDB reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.model import CLASSES, Event
from kubetrail.rules import builtin
from kubetrail.store import FileResult, QuarantineRow, open_store
from kubetrail.store.batch import to_arrow
from kubetrail.store.clickhouse import (
    PASSWORD_ENV,
    SCHEMA_VERSION,
    ClickHouseStore,
    StoreError,
    migrations,
    parse_url,
    statements,
)
from kubetrail.store.clickhouse_ddl import candidate_table, class_table, cluster_schema, events_view
from tests.conftest import FIXTURES, ROOT, chdb_as_of, chdb_url, run_cli

STORIES = FIXTURES / "stories"
GOLDEN = ROOT / "deploy" / "clickhouse" / "kubetrail-on-cluster.sql"
_names = iter(range(1_000_000))


def fresh() -> str:
    """A new, empty store (a database of this process's chDB folder)."""
    return chdb_url(f"store_{next(_names)}_{os.getpid()}")


def event(id_: str, content: str = "get", t: int = 1_764_324_000_000_000_001, **kw: Any) -> Event:
    fields = {"cluster": "c", **kw}
    return Event(id=id_, time=t, source="k8s_audit", kind="api_call", verb=content, content_hash=f"h-{content}", **fields)


def stored(store: ClickHouseStore) -> list[tuple[str, str]]:
    """(id, content_hash) of every stored event, as the questions read them (deduplicated)."""
    rows = store.client.query("SELECT id, content_hash FROM events ORDER BY id, content_hash").result_rows
    return [(str(i), str(h)) for i, h in rows]


def test_the_first_migration_creates_the_tables_the_catalog_generates() -> None:
    version, sql = migrations()[0]
    assert version == 1
    for c in CLASSES:
        assert class_table(c) in sql
    assert events_view() in sql


def test_the_rule_candidates_migration_creates_a_table_per_class_the_catalog_generates() -> None:
    version, sql = migrations()[4]
    assert version == 5
    for c in CLASSES:
        assert candidate_table(c) in sql


def test_event_tables_write_their_parts_compact_up_to_256_mib_and_merge_wide_ones_a_column_at_a_time() -> None:
    # A wide part opens ~160 streams of ~3 MiB each to write (0006): ClickHouse's defaults made
    # every part over 10 MiB of data wide. These 2,000 events hold ~20 MiB of records.
    store = ClickHouseStore(fresh())
    try:
        store.write_events(to_arrow([event(f"e{i}", raw="x" * 10_000) for i in range(2_000)]))
        parts = store.client.query(
            "SELECT part_type, sum(data_uncompressed_bytes) FROM system.parts "
            "WHERE database = currentDatabase() AND table = 'api_calls' AND active GROUP BY part_type"
        ).result_rows
        assert [t for t, _ in parts] == ["Compact"] and parts[0][1] > 10 << 20
        for c in CLASSES:
            ddl = store._scalar(
                "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = {t:String}", t=c.table
            )
            assert "min_bytes_for_wide_part = 268435456" in ddl and "vertical_merge_algorithm_min_rows_to_activate = 8192" in ddl
    finally:
        store.close()


def test_a_new_store_is_at_the_latest_schema_and_reopening_does_not_migrate_again() -> None:
    # Each migration applied writes the version again (a new row that FINAL would hide): the
    # version's rows and their times tell whether reopening migrated.
    versions = "SELECT value, updated_at FROM meta WHERE key = 'schema_version' ORDER BY updated_at"
    url = fresh()
    store = ClickHouseStore(url)
    assert store.schema_version() == SCHEMA_VERSION
    written = store.client.query(versions).result_rows
    store.close()
    again = ClickHouseStore(url)
    assert again.client.query(versions).result_rows == written
    again.close()


def test_store_urls_name_a_folder_or_a_server_and_never_carry_a_password() -> None:
    chdb = parse_url("chdb:///var/lib/kubetrail?database=prod")
    assert (chdb.path, chdb.database) == ("/var/lib/kubetrail", "prod")
    assert parse_url("chdb://./data/ch").path == "./data/ch"
    server = parse_url("clickhouses://kt@ch.example:9440/audit")
    assert (server.host, server.port, server.user, server.secure, server.database) == ("ch.example", 9440, "kt", True, "audit")
    assert parse_url("clickhouse://ch.example").port == 8123
    with pytest.raises(StoreError, match=PASSWORD_ENV):
        parse_url("clickhouse://kt:hunter2@ch.example/audit")
    with pytest.raises(StoreError, match="not a database name"):
        parse_url("chdb:///tmp/x?database=a;DROP")
    with pytest.raises(StoreError, match="a chDB store is a folder"):
        parse_url("chdb://host/path")


def test_a_batch_written_twice_is_stored_once_and_counted_as_duplicates() -> None:
    store = ClickHouseStore(fresh())
    batch = to_arrow([event("a"), event("b"), event("a")])
    first = store.write_events(batch)
    assert (first.stored, first.duplicates, first.conflicts) == ({"k8s_audit": 2}, 1, 0)
    again = store.write_events(batch)
    assert (again.stored, again.duplicates) == ({}, 3)
    assert stored(store) == [("a", "h-get"), ("b", "h-get")]
    store.close()


def test_a_store_from_before_the_hashed_keys_finds_its_events_by_them_once_migrated(monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh()
    with monkeypatch.context() as m:
        chdb_as_of(m, 6)
        old = ClickHouseStore(url)
        assert old.schema_version() == 6
        old.write_events(to_arrow([event("a"), event("b"), event("c", t=1_764_324_000_000_000_009)]))
        old.close()
    store = ClickHouseStore(url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        keys = store.client.query("SELECT id, id_hash = cityHash64(id), `table` FROM event_keys ORDER BY id").result_rows
        assert keys == [("a", True, "api_calls"), ("b", True, "api_calls"), ("c", True, "api_calls")]
        again = store.write_events(to_arrow([event("a"), event("c", "patch"), event("d")]))
        assert (again.stored, again.duplicates, again.conflicts) == ({"k8s_audit": 2}, 1, 1)
        assert store.get_event("c~h-patch") is not None and store.get_event("b") is not None
    finally:
        store.close()


def test_a_conflict_is_kept_under_id_and_hash_in_the_batch_and_against_the_store() -> None:
    store = ClickHouseStore(fresh())
    counts = store.write_events(to_arrow([event("a"), event("a", "delete")]))
    assert (counts.stored, counts.conflicts) == ({"k8s_audit": 2}, 1)
    counts = store.write_events(to_arrow([event("a", "patch"), event("a", "delete")]))
    assert (counts.stored, counts.duplicates, counts.conflicts) == ({"k8s_audit": 1}, 1, 1)
    assert stored(store) == [("a", "h-get"), ("a~h-delete", "h-delete"), ("a~h-patch", "h-patch")]
    store.close()


def test_writers_racing_on_the_same_events_store_each_once() -> None:
    # Each writer checks the store before it inserts, so racing writers both insert what neither
    # has seen: the engine's merge of equal sorting keys is what keeps each event once.
    url = fresh()
    ClickHouseStore(url).close()
    events = [event(f"e{i}", t=1_764_324_000_000_000_000 + i) for i in range(500)]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        store = ClickHouseStore(url)
        try:
            start.wait()
            for k in range(0, 500, 50):
                store.write_events(to_arrow(events[(k + offset) % 500 : (k + offset) % 500 + 50]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(o,)) for o in (0, 0, 150, 300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    store = ClickHouseStore(url, read_only=True)
    assert stored(store) == sorted((f"e{i}", "h-get") for i in range(500))
    store.close()


_examples = iter(range(1_000_000))
_shared: list[ClickHouseStore] = []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["get", "list"])), max_size=12), min_size=1, max_size=4))
def test_whatever_is_written_again_each_event_is_read_once(batches: list[list[tuple[int, str]]]) -> None:
    # One store for every example (a new one costs its migrations), each example's ids its own.
    if not _shared:
        _shared.append(ClickHouseStore(fresh()))
    store, n = _shared[0], next(_examples)
    for batch in batches:
        store.write_events(to_arrow([event(f"x{n}-{i}", verb, t=1_764_324_000_000_000_000 + i) for i, verb in batch]))
    rows = [r for r in stored(store) if r[0].startswith(f"x{n}-")]
    assert len(rows) == len(set(rows))
    # Every (id, content) written is there, once: a conflict under id~hash.
    assert {(i.split("~")[0], h) for i, h in rows} == {(f"x{n}-{i}", f"h-{v}") for b in batches for i, v in b}


def test_every_stored_event_reads_back_as_duckdb_reads_it(tmp_path: Path, corpora: Path) -> None:
    inputs = list(expand_paths([str(corpora), str(STORIES)]))
    duck = open_store(str(tmp_path / "k.duckdb"))
    ch = open_store(fresh())
    summaries = [ingest(s, inputs, Options()) for s in (duck, ch)]
    assert summaries[0].ingested == summaries[1].ingested and summaries[0].duplicates == summaries[1].duplicates
    duck_ids = [str(i) for (i,) in duck.con.execute("SELECT id FROM events").fetchall()]  # type: ignore[attr-defined]
    assert isinstance(ch, ClickHouseStore)
    assert sorted(duck_ids) == sorted(i for i, _ in stored(ch))
    a, b = duck.get_events(duck_ids), ch.get_events(duck_ids)
    for event_id, expected in a.items():
        got = b[event_id]
        # File ids and ingest times are the engine's own; the rest is the event.
        for key in ("file_id", "provenance_ingested_at"):
            expected.pop(key), got.pop(key)
        assert got == expected, event_id
    assert ch.cluster_names() == duck.cluster_names()
    duck.close()
    ch.close()


def test_a_cluster_is_renamed_in_every_table_and_its_fallback_mark_goes_with_it() -> None:
    store = ClickHouseStore(fresh())
    store.write_events(to_arrow([event("a"), event("b", cluster="other")]))
    store.mark_fallback_cluster("c")
    assert store.rename_cluster("c", "prod") == 1
    assert store.cluster_names() == ["other", "prod"]
    assert store.fallback_cluster() is None
    store.close()


def test_cursors_quarantine_and_files_keep_what_ingest_needs() -> None:
    from kubetrail.store import Cursor

    store = ClickHouseStore(fresh())
    store.write_events(to_arrow([event("a")]), Cursor("spool", 10))
    store.write_events(to_arrow([]), Cursor("spool", 20, "inode 7"))
    assert store.cursor("spool") == Cursor("spool", 20, "inode 7")
    rows = [QuarantineRow(1, 3, 40, "falco", "not JSON", "{"), QuarantineRow(1, 3, 40, "falco", "not JSON", "{")]
    assert store.write_quarantine(rows) == 1
    assert store.write_quarantine(rows[:1]) == 0
    file_id = store.begin_file("audit.log")
    store.finish_file(file_id, FileResult("abc", 10, "k8s_audit", 1, 1, 0, 0, 0, 0))
    again = store.begin_file("audit.log")
    store.finish_file(again, FileResult("abc", 10, "k8s_audit", 1, 0, 1, 0, 0, 0))  # read again: nothing new
    files = store.client.query("SELECT file_id, ingested FROM files FINAL").result_rows
    assert files == [(file_id, 1)]
    store.close()


def test_a_chdb_folder_held_by_another_process_is_refused_naming_it() -> None:
    url = fresh()
    ClickHouseStore(url).close()  # this process holds the folder from now on
    code = f"from kubetrail.store import open_store\nopen_store({url!r})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode != 0
    assert f"is in use by another process (PID {os.getpid()}" in out.stderr


def test_a_second_chdb_folder_in_one_process_is_refused_with_the_reason(tmp_path: Path) -> None:
    ClickHouseStore(fresh()).close()
    with pytest.raises(StoreError, match="chDB opens one folder per process"):
        ClickHouseStore(f"chdb://{tmp_path}/other")


def test_the_cluster_schema_is_the_golden_file_and_chdb_parses_every_statement() -> None:
    # deploy/clickhouse/kubetrail-on-cluster.sql is what `kubetrail store init --on-cluster
    # kubetrail` prints; regenerate it with that command when a migration is added.
    text = cluster_schema("kubetrail")
    assert text == GOLDEN.read_text()
    url = fresh()
    store = ClickHouseStore(url)
    parsed = []
    for statement in statements(text):
        formatted = store.client.query("SELECT formatQuery({q:String})", parameters={"q": statement}).result_rows[0][0]
        parsed.append(formatted)
    # The cluster's store covers the built-in rules as a new store does.
    store.client.command("TRUNCATE TABLE rule_coverage")
    store.client.command(next(s for s in statements(text) if s.startswith("INSERT INTO rule_coverage")))
    store.close()
    again = ClickHouseStore(url)
    assert again.covered_rules() == builtin().selections() != {}
    again.close()
    tables = sum(sql.count("CREATE TABLE IF NOT EXISTS") for _, sql in migrations())
    locals_ = [s for s in parsed if "_local ON CLUSTER kubetrail" in s and "ENGINE = Replicated" in s]
    distributed = [s for s in parsed if "ENGINE = Distributed(kubetrail, currentDatabase()" in s]
    assert len(locals_) == len(distributed) == tables
    assert any("sipHash64(time, id, content_hash)" in s for s in distributed)  # a row's copies meet on one shard
    assert parsed[-1].startswith("INSERT INTO meta")


def test_a_cluster_name_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="not a cluster name"):
        cluster_schema("prod; DROP TABLE x")


def test_store_init_creates_the_schema_and_says_so_in_its_contract(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "contract" / "store-init.schema.json").read_text())
    for db, engine in ((str(tmp_path / "k.duckdb"), "duckdb"), (f"chdb://{tmp_path}/ch", "clickhouse")):
        out = run_cli("store", "init", "-o", "json", "--db", db)
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        jsonschema.validate(doc, schema)
        assert (doc["db"], doc["engine"]) == (db, engine)
    out = run_cli("store", "init", "--retention", "90d", "-o", "json", "--db", f"chdb://{tmp_path}/ch")
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, schema)
    assert doc["retention_days"] == 90


def test_the_cli_answers_from_a_chdb_store_as_from_duckdb(tmp_path: Path) -> None:
    # The CLI runs in its own process, so it opens its own chDB folder.
    answers = []
    for db in (str(tmp_path / "k.duckdb"), f"chdb://{tmp_path}/ch"):
        assert run_cli("ingest", str(STORIES / "secrets"), "-o", "json", "--db", db).returncode == 0
        out = run_cli("ask", "secrets", "--since", "30m", "--at", "2026-11-28T10:30:00Z", "-o", "json", "--db", db)
        assert out.returncode == 0, out.stderr
        answers.append(json.loads(out.stdout))
    assert answers[0] == answers[1] and answers[0]["rows"]


def test_retention_drops_what_grows_older_from_every_table_and_forever_keeps_it() -> None:
    store = ClickHouseStore(fresh())
    old, recent = 1_600_000_000_000_000_000, time.time_ns() - 3600 * 10**9  # 2020, an hour ago
    store.write_events(to_arrow([event("old", t=old, actor="alice"), event("recent", t=recent, actor="alice")]))
    tables = store.retain(30)
    assert {c.table for c in CLASSES} | {"event_keys", "api_hours"} <= set(tables)
    for table in tables:
        store.client.command(f"OPTIMIZE TABLE {table} FINAL")  # a merge applies the TTL now
    assert [i for i, _ in stored(store)] == ["recent"]
    hours = store.client.query("SELECT count() FROM api_hours WHERE hour < now() - INTERVAL 30 DAY").result_rows
    assert hours == [(0,)]
    store.retain(None)
    ddl = store.client.query("SELECT create_table_query FROM system.tables WHERE database = currentDatabase()").result_rows
    assert not any(" TTL " in str(q) for (q,) in ddl)
    store.close()


def test_retention_is_refused_on_duckdb_and_must_be_days(tmp_path: Path) -> None:
    out = run_cli("store", "init", "--retention", "90d", "-o", "json", "--db", str(tmp_path / "k.duckdb"))
    assert out.returncode == 2 and "DuckDB store keeps everything" in out.stdout.decode()
    out = run_cli("store", "init", "--retention", "3 months", "-o", "json", "--db", f"chdb://{tmp_path}/ch")
    assert out.returncode == 2 and "give whole days" in out.stdout.decode()
