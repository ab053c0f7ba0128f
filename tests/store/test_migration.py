"""A store written by an earlier release opens, is migrated, and answers as it did: the same
events under the same ids, the same `show` documents, the same incidents and answers.

The store (tests/fixtures/store-v14) was written by the release before the leaner store (commit
91057af, schema version 14); expected.json is what that release answered from it (make.sh)."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from kubetrail.store.duckdb import SCHEMA_VERSION, DuckDBStore, StoreError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-v14"


def _snapshot_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("store_v14_snapshot", FIXTURE / "snapshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "old.duckdb"
    with gzip.open(FIXTURE / "store.duckdb.gz", "rb") as src, open(path, "wb") as out:
        shutil.copyfileobj(src, out)
    return path


def _expected() -> dict[str, Any]:
    expected: dict[str, Any] = orjson.loads((FIXTURE / "expected.json").read_bytes())
    return expected


def test_the_fixture_was_written_by_the_release_before_the_leaner_store(old_store: Path) -> None:
    import duckdb

    con = duckdb.connect(str(old_store), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("14",)]
    finally:
        con.close()


def test_an_older_store_is_migrated_and_answers_as_it_did(old_store: Path) -> None:
    store = DuckDBStore(old_store)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        got = _snapshot_module().snapshot(store)
    finally:
        store.close()
    expected = _expected()
    assert got["events"] == expected["events"]
    assert got["ids"] == expected["ids"], "event ids changed"
    assert got["incident_ids"] == expected["incident_ids"], "incident ids changed"
    assert got["show"] == expected["show"], "a `show` document changed"
    changed = sorted(name for name, d in expected["answers"].items() if got["answers"].get(name) != d)
    assert not changed, f"answers changed: {changed}"


def test_a_read_only_open_of_an_older_store_migrates_it_first(old_store: Path) -> None:
    store = DuckDBStore(old_store, read_only=True)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        ids = "\n".join(r[0] for r in store.con.execute("SELECT id FROM events ORDER BY id").fetchall())
        assert hashlib.sha256(ids.encode()).hexdigest() == _expected()["ids"]
    finally:
        store.close()


def test_a_migration_that_fails_leaves_the_store_as_it_was(old_store: Path) -> None:
    # An inventory object with a process's binary: its table has no column for it, so the
    # migration stops, and the store is left as it was.
    import duckdb

    with duckdb.connect(str(old_store)) as con:
        con.execute("UPDATE events SET \"binary\" = '/bin/sh' WHERE id = (SELECT min(id) FROM events WHERE kind = 'inventory')")
        before = con.execute("SELECT count(*), bit_xor(hash(id)) FROM events").fetchall()
    with pytest.raises(StoreError, match=r"schema version 15: .*1 events of table objects have a field it has no column for.*"
                       r"left as it was \(schema version 14\)"):  # fmt: skip
        DuckDBStore(old_store)
    with duckdb.connect(str(old_store), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("14",)]
        assert con.execute("SELECT count(*), bit_xor(hash(id)) FROM events").fetchall() == before
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'api_calls'").fetchall() == [(0,)]
    assert sorted(p.name for p in old_store.parent.iterdir()) == ["old.duckdb"]  # no half-made store left beside it


def test_a_migration_killed_midway_leaves_the_store_as_it_was_and_the_next_open_migrates_it(old_store: Path) -> None:
    import subprocess
    import sys
    import time

    import duckdb

    code = "import sys; from kubetrail.store.duckdb import DuckDBStore; DuckDBStore(sys.argv[1]).close()"
    fresh = Path(f"{old_store}.migrating")
    with subprocess.Popen([sys.executable, "-c", code, str(old_store)], stderr=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 60
        while not fresh.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert fresh.exists(), "the migration ended before it could be killed"
        proc.kill()
    with duckdb.connect(str(old_store), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("14",)]
    store = DuckDBStore(old_store)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        ids = "\n".join(r[0] for r in store.con.execute("SELECT id FROM events ORDER BY id").fetchall())
        assert hashlib.sha256(ids.encode()).hexdigest() == _expected()["ids"]
    finally:
        store.close()
    assert not fresh.exists()
