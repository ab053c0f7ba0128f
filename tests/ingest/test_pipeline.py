"""Ingest end to end into a real DuckDB store: dedupe, conflicts, quarantine, redaction."""

from __future__ import annotations

import base64
import gzip
import shutil
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from kubetrail.ingest.pipeline import Job, Options, Summary, _ChunkState, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.model import KINDS, SOURCES, Event
from kubetrail.store import WriteCounts
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

PIPE = FIXTURES / "pipeline"
SECRET = "hunter2-s3cr3t-value"


def run(db: Path, *paths: Path | str, **opts: object) -> Summary:
    store = DuckDBStore(db)
    try:
        return ingest(store, [str(p) for p in paths], Options(**opts))  # type: ignore[arg-type]
    finally:
        store.close()


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_corpus_file_ingests_without_quarantine(corpora: Path, tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    summary = run(db, *expand_paths([str(corpora)]))
    assert summary.quarantined == 0, query(db, "SELECT reason FROM quarantine LIMIT 5")
    assert set(summary.ingested) == set(SOURCES) - {"inventory"}
    # Some published samples repeat records of others (same alert, same flows): duplicates, not losses.
    assert query(db, "SELECT path FROM files WHERE records = 0 OR ingested + duplicates = 0") == []
    assert len(summary.files) == len(list(corpora.rglob("*.json*")) + list(corpora.rglob("*.log")))
    bad = query(db, f"SELECT count(*) FROM events WHERE time IS NULL OR kind NOT IN {tuple(KINDS)} OR cluster IS NULL")
    assert bad == [(0,)]


def test_reingesting_the_corpora_stores_nothing_new(corpora: Path, tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    first = run(db, *expand_paths([str(corpora)]))
    counts = query(db, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM files)")
    again = run(db, *expand_paths([str(corpora)]))
    assert sum(again.ingested.values()) == 0
    assert again.duplicates == sum(first.ingested.values()) + first.duplicates
    assert query(db, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM files)") == counts


def test_same_event_from_log_file_and_webhook_batch_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    run(db, PIPE / "audit-secrets.log")
    summary = run(db, PIPE / "webhook-eventlist.json")
    assert summary.duplicates == 1  # the `get` of db-creds, already in the log file
    assert summary.ingested == {"k8s_audit": 1}  # the `list`
    assert query(db, "SELECT count(*) FROM events WHERE audit_id = '5b1c0d9e-0002-4a6e-9d0f-7c1e2b3a4d5e'") == [(1,)]


def test_different_records_sharing_an_identity_key_are_both_kept_as_a_conflict(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    run(db, PIPE / "audit-secrets.log")
    summary = run(db, PIPE / "audit-conflict.log")
    assert summary.conflicts == 1
    rows = query(db, "SELECT id, verb FROM events WHERE audit_id = '5b1c0d9e-0002-4a6e-9d0f-7c1e2b3a4d5e' ORDER BY verb")
    assert [r[1] for r in rows] == ["get", "watch"]
    assert rows[1][0].startswith(rows[0][0] + "~")
    again = run(db, PIPE / "audit-conflict.log")
    assert (again.conflicts, again.duplicates, sum(again.ingested.values())) == (0, 1, 0)


def test_bad_records_are_quarantined_with_location_and_the_rest_goes_in(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    summary = run(db, PIPE / "audit-bad.log")
    assert summary.ingested == {"k8s_audit": 2}
    assert summary.quarantined == 4
    assert summary.skipped_lines == 2  # the blank line and the // comment
    reasons = [r[0] for r in query(db, "SELECT reason FROM quarantine ORDER BY line")]
    path = str(PIPE / "audit-bad.log")
    assert [r.split(": ", 1)[0] for r in reasons] == [f"{path}:4", f"{path}:5", f"{path}:6", f"{path}:7"]
    assert "invalid JSON" in reasons[0]
    assert "k8s_audit" in reasons[1]
    assert "not a record of any known source" in reasons[3]


def test_a_record_with_a_field_its_table_has_no_column_for_is_quarantined_whole() -> None:
    # A normalizer's bug the store would otherwise drop silently: an API call with a binary.
    state = _ChunkState(Job("x.log", 7, None, "c", None))

    def event(id_: str, line: int, **kw: object) -> Event:
        return Event(
            id=id_,
            time=1,
            source="k8s_audit",
            kind="api_call",
            cluster="c",
            line=line,
            byte_offset=100 * line,
            raw=f"r{line}",
            **kw,
        )  # type: ignore[arg-type]

    state.events = [event("a", 1), event("b", 2, binary="/bin/sh"), event("c", 2), event("d", 3, verb="get")]
    assert state.table()["id"].to_pylist() == ["a", "d"]
    [q] = state.quarantine
    assert (q.file_id, q.line, q.byte_offset, q.source, q.raw) == (7, 2, 200, "k8s_audit", "r2")
    assert q.reason == (
        "x.log:2: k8s_audit: api_call event with field binary, for which table api_calls has no column"
        " (a kubetrail bug: please report it)"
    )


def test_reingesting_bad_records_does_not_duplicate_the_quarantine(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    run(db, PIPE / "audit-bad.log")
    again = run(db, PIPE / "audit-bad.log")
    assert again.quarantined == 4  # counted for this run ...
    assert query(db, "SELECT count(*) FROM quarantine") == [(4,)]  # ... but stored once


def test_secret_values_are_stored_nowhere(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    encoded = base64.b64encode(SECRET.encode()).decode()
    store = DuckDBStore(db)
    ingest(
        store,
        [str(PIPE / n) for n in ("audit-secrets.log", "webhook-eventlist.json", "audit-bad.log", "hubble-auth.json")],
        Options(),
    )
    wal = Path(f"{db}.wal")
    if wal.exists():  # before the checkpoint on close, new rows are in the WAL uncompressed
        data = wal.read_bytes()
        assert SECRET.encode() not in data and encoded.encode() not in data
    store.close()
    text_columns = query(
        db,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]') AND table_name IN ('events', 'quarantine', 'files')",
    )
    assert len(text_columns) > 50
    for table, column in text_columns:
        hits = query(
            db,
            f"""SELECT count(*) FROM {table} WHERE CAST("{column}" AS VARCHAR) LIKE '%{SECRET}%'
                             OR CAST("{column}" AS VARCHAR) LIKE '%{encoded}%'""",
        )
        assert hits == [(0,)], f"{table}.{column} holds the secret"
    assert query(db, "SELECT count(*) FROM events WHERE raw LIKE '%<redacted>%'")[0][0] >= 6


def test_gzip_files_and_globs_and_directories_are_read(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    with open(PIPE / "audit-secrets.log", "rb") as f, gzip.open(src / "audit.log.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    shutil.copy(PIPE / "webhook-eventlist.json", src / "batch.json")
    (src / "README.md").write_text("# not data\n")
    files = list(expand_paths([str(src)]))
    assert [Path(p).name for p in files] == ["audit.log.gz", "batch.json"]
    assert list(expand_paths([str(src / "*.gz")])) == [str(src / "audit.log.gz")]
    summary = run(tmp_path / "k.duckdb", *files)
    assert summary.ingested == {"k8s_audit": 7}
    assert summary.duplicates == 1


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.log"):
        list(expand_paths([str(tmp_path / "nope.log")]))


def test_cluster_option_names_records_without_their_own(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    run(db, PIPE / "audit-secrets.log", cluster="prod-eu")
    assert query(db, "SELECT DISTINCT cluster FROM events") == [("prod-eu",)]


def test_provenance_points_at_file_line_and_hash(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    run(db, PIPE / "audit-bad.log")
    rows = query(db, "SELECT e.line, e.byte_offset, f.path, f.sha256 FROM events e JOIN files f USING (file_id) ORDER BY line")
    import hashlib

    sha = hashlib.sha256((PIPE / "audit-bad.log").read_bytes()).hexdigest()
    first_line_len = len((PIPE / "audit-bad.log").read_bytes().split(b"\n")[0]) + 1
    assert [r[0] for r in rows] == [1, 8]
    assert rows[0][1] == 0 and rows[1][1] > first_line_len
    assert {r[3] for r in rows} == {sha}


def test_worker_processes_store_exactly_what_one_process_stores(tmp_path: Path) -> None:
    from kubetrail.simulate.audit import write_audit_log
    from kubetrail.simulate.cluster import build_cluster

    log = tmp_path / "audit.log"
    write_audit_log(log, cluster=build_cluster(3, 1_764_324_000 * 10**9, 1.0), events=3000, seed=3)
    with open(log, "ab") as f:
        f.write((PIPE / "audit-bad.log").read_bytes())  # bad records in a late chunk
    serial = run(tmp_path / "one.duckdb", log, workers=1, parallel_min_bytes=1 << 40)
    parallel = run(tmp_path / "two.duckdb", log, workers=2, parallel_min_bytes=0, chunk_bytes=64 << 10)
    assert serial.as_json()["ingested"] == parallel.as_json()["ingested"] == {"k8s_audit": 3002}
    assert (serial.quarantined, serial.skipped_lines) == (parallel.quarantined, parallel.skipped_lines) == (4, 2)
    sql = "SELECT id, content_hash, line, byte_offset FROM events ORDER BY id"
    assert query(tmp_path / "one.duckdb", sql) == query(tmp_path / "two.duckdb", sql)
    qsql = "SELECT line, reason FROM quarantine ORDER BY line"
    assert query(tmp_path / "one.duckdb", qsql) == query(tmp_path / "two.duckdb", qsql)


class _CountingStore(DuckDBStore):
    writes = 0

    def write_events(self, batch: pa.Table) -> WriteCounts:
        self.writes += 1
        return super().write_events(batch)


def test_small_inputs_are_written_together_and_each_keeps_its_own_counts(tmp_path: Path) -> None:
    # The fixture stories: a directory of small files, two of them the same events again.
    paths = sorted(expand_paths([str(FIXTURES / "stories"), str(FIXTURES / "stories" / "actor")]))
    together = _CountingStore(tmp_path / "together.duckdb")
    summary = ingest(together, paths, Options())
    files = "SELECT path, ingested, duplicates, conflicts, records FROM files ORDER BY file_id"
    rows = together.con.execute(files).fetchall()
    stored = together.con.execute("SELECT count(*) FROM events").fetchall()
    together.close()
    assert together.writes == 1 < len(paths)
    # File by file, each into the store as it stands, one write each: the same counts per file.
    alone = DuckDBStore(tmp_path / "alone.duckdb")
    per_file = [ingest(alone, [p], Options()) for p in paths]
    assert (
        rows == alone.con.execute("SELECT path, ingested, duplicates, conflicts, records FROM files ORDER BY file_id").fetchall()
    )
    assert stored == alone.con.execute("SELECT count(*) FROM events").fetchall()
    alone.close()
    assert [f.as_json() for f in summary.files] == [f.as_json() for s in per_file for f in s.files]
    assert summary.duplicates == sum(s.duplicates for s in per_file) > 0


class _RecordingStore(DuckDBStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sizes: list[int] = []

    def write_events(self, batch: pa.Table) -> WriteCounts:
        self.sizes.append(batch.num_rows)
        return super().write_events(batch)


def test_batches_are_cut_at_exactly_batch_events_and_each_input_keeps_its_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubetrail.ingest import pipeline
    from kubetrail.simulate.audit import write_audit_log
    from kubetrail.simulate.cluster import build_cluster

    monkeypatch.setattr(pipeline, "BATCH_EVENTS", 1000)
    first, again = tmp_path / "audit.log", tmp_path / "again.log"
    write_audit_log(first, cluster=build_cluster(5, 1_764_324_000 * 10**9, 1.0), events=1500, seed=5)
    shutil.copy(first, again)
    store = _RecordingStore(tmp_path / "k.duckdb")
    try:
        summary = ingest(store, [str(first), str(again)], Options(chunk_bytes=32 << 10))
        files = store.con.execute("SELECT path, records, ingested, duplicates FROM files ORDER BY file_id").fetchall()
    finally:
        store.close()
    # 3,000 events: three whole batches, the second one half from each input.
    assert store.sizes == [1000, 1000, 1000]
    assert files == [(str(first), 1500, 1500, 0), (str(again), 1500, 0, 1500)]
    assert [f.as_json()["ingested"] for f in summary.files] == [1500, 0]


def test_wide_events_are_written_in_smaller_batches_than_a_row_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubetrail.ingest import pipeline
    from kubetrail.simulate.audit import write_audit_log
    from kubetrail.simulate.cluster import build_cluster

    log = tmp_path / "audit.log"
    write_audit_log(log, cluster=build_cluster(5, 1_764_324_000 * 10**9, 1.0), events=1500, seed=5)
    monkeypatch.setattr(pipeline, "BATCH_EVENTS", 1000)
    monkeypatch.setattr(pipeline, "BATCH_BYTES", 256 << 10)  # ~250 of these events
    store = _RecordingStore(tmp_path / "k.duckdb")
    try:
        summary = ingest(store, [str(log)], Options(chunk_bytes=32 << 10))
        stored = store.con.execute("SELECT count(*) FROM events").fetchall()
    finally:
        store.close()
    assert len(store.sizes) > 2 and max(store.sizes) < 1000
    assert sum(store.sizes) == 1500 == summary.ingested["k8s_audit"] == stored[0][0]


def test_a_store_that_takes_smaller_batches_is_given_none_larger(tmp_path: Path) -> None:
    from kubetrail.simulate.audit import write_audit_log
    from kubetrail.simulate.cluster import build_cluster

    log = tmp_path / "audit.log"
    write_audit_log(log, cluster=build_cluster(5, 1_764_324_000 * 10**9, 1.0), events=1500, seed=5)
    store = _RecordingStore(tmp_path / "k.duckdb")
    store.max_batch = (400, 1 << 30)  # as ClickHouseStore's, smaller than a row group
    try:
        summary = ingest(store, [str(log)], Options(chunk_bytes=32 << 10))
    finally:
        store.close()
    assert store.sizes == [400, 400, 400, 300]
    assert summary.ingested["k8s_audit"] == 1500


def test_inputs_shared_with_a_worker_store_exactly_what_one_process_stores(tmp_path: Path) -> None:
    # Several small inputs, two of them the same events again, and bad records: the worker takes
    # inputs from the end of the list while this process reads from the front.
    stories = sorted(expand_paths([str(FIXTURES / "stories")]))
    paths = [*stories, str(PIPE / "audit-bad.log"), str(PIPE / "webhook-eventlist.json")]
    serial = run(tmp_path / "one.duckdb", *paths, share_min_bytes=1 << 60)
    first = paths[0]

    def slow_first_input(path: str, _read: int) -> None:
        if path == first:
            time.sleep(0.2)  # time for the worker to come up while this process is on the first input

    store = DuckDBStore(tmp_path / "shared.duckdb")
    try:
        shared = ingest(store, paths, Options(share_min_bytes=0, chunk_bytes=4 << 10), slow_first_input)
    finally:
        store.close()
    assert shared.as_json() == serial.as_json()
    for sql in (
        "SELECT f.path, e.id, e.content_hash, e.line, e.byte_offset FROM events e JOIN files f USING (file_id) ORDER BY ALL",
        "SELECT path, sha256, size, records, ingested, duplicates, conflicts, quarantined, skipped_lines FROM files ORDER BY ALL",
        "SELECT f.path, q.line, q.reason FROM quarantine q JOIN files f USING (file_id) ORDER BY ALL",
    ):
        assert query(tmp_path / "shared.duckdb", sql) == query(tmp_path / "one.duckdb", sql)
    # The worker took at least one input: its files row was opened before those it came after.
    opened = [p for (p,) in query(tmp_path / "shared.duckdb", "SELECT path FROM files ORDER BY file_id")]
    assert opened != paths and sorted(opened) == sorted(paths)


def test_a_worker_is_given_no_compressed_or_unreadable_input_whole(tmp_path: Path) -> None:
    from kubetrail.ingest.pipeline import _whole_in_a_worker

    plain, hidden_gzip = tmp_path / "audit.log", tmp_path / "audit.log.1"
    plain.write_bytes((PIPE / "audit-bad.log").read_bytes())
    hidden_gzip.write_bytes(gzip.compress(plain.read_bytes()))  # gzip without the .gz name
    assert _whole_in_a_worker(str(plain))
    assert not _whole_in_a_worker(str(hidden_gzip))
    assert not _whole_in_a_worker(str(tmp_path / "gone.log"))


def test_a_worker_whose_parent_is_already_gone_when_it_starts_ends_on_its_own() -> None:
    # A parent killed while its worker was still starting: the worker, already left to init,
    # must compare with the pid of the process that started the pool, not with its ppid now.
    import subprocess
    import sys

    from kubetrail.ingest.pipeline import PARENT_POLL_SECONDS

    gone = 2**22 + 1  # above Linux's default pid_max: no process has it
    code = f"import time; from kubetrail.ingest.pipeline import _worker_init; _worker_init({gone}); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        assert child.wait(timeout=10 * PARENT_POLL_SECONDS + 10) == 0
    finally:
        child.kill()
