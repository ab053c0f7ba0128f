"""Shared test fixtures: the real corpora beside the project, and record loading."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubetrail.ingest.reader import Record, open_input, records
from kubetrail.sources import registry
from kubetrail.store import Store, open_store

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
FIXTURES = ROOT / "tests" / "fixtures"


# The store engine the store-backed tests run on: DuckDB, or chDB (`make test-chdb`, which sets
# KUBETRAIL_TEST_BACKEND=chdb). chDB opens one folder per process: each test process has one, and
# each test store is a database in it.
BACKEND = os.environ.get("KUBETRAIL_TEST_BACKEND", "duckdb")
_CHDB_DIR: Path | None = None
on_duckdb_only = pytest.mark.skipif(
    BACKEND != "duckdb",
    reason="a CLI subprocess cannot open the chDB folder this test process holds (chDB: one process per folder); "
    "the CLI on chDB is tested in tests/store/test_clickhouse.py",
)


_CHDB_DATABASES: set[str] = set()  # made by the tests of the module under way


def chdb_url(name: str) -> str:
    """A store named `name` (a database) in this process's one chDB folder, made on first use."""
    global _CHDB_DIR  # noqa: PLW0603 - one folder per process
    if _CHDB_DIR is None:
        _CHDB_DIR = Path(tempfile.mkdtemp(prefix="kubetrail-chdb-"))
        atexit.register(shutil.rmtree, _CHDB_DIR, ignore_errors=True)
    _CHDB_DATABASES.add(name)
    return f"chdb://{_CHDB_DIR}/store?database={name}"


@pytest.fixture(autouse=True, scope="module")
def _drop_chdb_databases() -> Iterator[None]:
    """The chDB databases a test module made, dropped after it: the engine keeps every table's
    background work (merges, cleanups) going, and with the tables of hundreds of test stores the
    answers tests ran 5x slower than alone."""
    yield
    if _CHDB_DIR is None or not _CHDB_DATABASES:
        return
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{_CHDB_DIR}/store")
    for name in sorted(_CHDB_DATABASES):
        client.command(f"DROP DATABASE IF EXISTS {name} SYNC")
    client.close()
    _CHDB_DATABASES.clear()


def chdb_as_of(m: pytest.MonkeyPatch, version: int) -> None:
    """Under `m`, a ClickHouse store migrates and writes as kubetrail did at schema `version`: the
    migrations and side statements up to it, and none of the writes into what later ones made (the
    rule candidates, RULE_CANDIDATES; event_keys by the ids' hashes, 0007, which is made again from
    the class tables, so an older store's keys need not be written)."""
    from kubetrail.store import clickhouse as ch

    every, sides = ch.migrations(), ch.side_statements()
    m.setattr(ch, "migrations", lambda: [(v, sql) for v, sql in every if v <= version])
    m.setattr(ch, "side_statements", lambda: [(v, sql) for v, sql in sides if v <= version])
    if version < ch.RULE_CANDIDATES:
        m.setattr(ch.ClickHouseStore, "_write_candidates", lambda *_: None)
    if version < 7:
        m.setattr(ch.ClickHouseStore, "_write_keys", lambda *_: None)
        m.setattr(ch.ClickHouseStore, "_stored_keys", lambda *_: set())


def store_at(path: Path | str) -> str:
    """Where a test's store at `path` lives: that DuckDB file, or on chDB a database of this
    process's chDB folder named after the path."""
    if BACKEND == "duckdb" or str(path).startswith("chdb://"):
        return str(path)
    return chdb_url("t_" + hashlib.blake2b(str(path).encode(), digest_size=8).hexdigest())


def open_test_store(path: Path | str, *, read_only: bool = False) -> Store:
    """The store of the backend under test at `path` (see store_at)."""
    return open_store(store_at(path), read_only=read_only)


def sql_rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a plain SQL query (the same text on both engines) on a test's store."""
    from kubetrail.store.clickhouse import ClickHouseStore
    from kubetrail.store.duckdb import DuckDBStore

    if isinstance(store, ClickHouseStore):
        return [tuple(r) for r in store.client.query(sql).result_rows]
    assert isinstance(store, DuckDBStore)
    return store.con.execute(sql).fetchall()


@pytest.fixture
def corpora() -> Path:
    """../shared/corpora; tests that need it skip where a clone has no shared/ beside it."""
    if not CORPORA.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA} (clone kubetrail beside shared/ to run this)")
    return CORPORA


def load_values(path: Path) -> list[Any]:
    """The parsed records of a file, as the ingest reader frames them."""
    decoders = tuple(d for s in registry().values() if (d := s.decode_bytes) is not None)
    stream, _ = open_input(str(path))
    with stream:
        out = []
        for rec in records(stream, decoders):
            if isinstance(rec, Record):
                assert rec.error is None, f"{path}:{rec.line}: {rec.error}"
                out.append(rec.value)
        return out


def run_cli(*args: str, db: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real `kubetrail` command, in a subprocess, against the store `db`."""
    cmd = [sys.executable, "-m", "kubetrail", *args, *(["--db", str(db)] if db is not None else [])]
    return subprocess.run(cmd, input=stdin, capture_output=True, check=False)
