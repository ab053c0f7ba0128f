"""A store written by an earlier release opens, is migrated, and answers as it did: the same
events under the same ids, the same `show` documents, the same incidents and answers.

The store (tests/fixtures/store-v14) was written by the release before the leaner store (commit
91057af, schema version 14); expected.json is what that release answered from it (make.sh)."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import orjson
import pytest

from kubetrail.answers.requests import answer
from kubetrail.ids import make_id
from kubetrail.rules import builtin
from kubetrail.store import StoreError
from kubetrail.store.duckdb import SCHEMA_VERSION, DuckDBStore

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
    snap = _snapshot_module()
    store = DuckDBStore(old_store)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        # The built-in rules' candidates, found in the stored events once (schema 16).
        assert store.covered_rules() == builtin().selections()
        assert store.candidate_counts()["api_calls"] > 0 and store.candidate_counts()["processes"] > 0
        got = snap.snapshot(store)
        rows = answer("incidents", store, snap.WINDOW)["rows"]
        # The deliberate changes since this release, undone before comparing:
        # - since 04642fc an incident that begins with a steady channel takes its id from the
        #   channel, not from its earliest signal;
        # - since rules became data, each pod-spec finding is a rule of its own with its own
        #   reason, and `ask processes` reports every runtime rule on a process start, not only
        #   the one its rollup could judge (a program run from a world-writable directory).
        expected = _expected()
        renamed = {new: old for new, old in zip(got["incident_ids"], expected["incident_ids"], strict=True) if new != old}
        for row in rows:
            if row["id"] in renamed:
                assert renamed[row["id"]] == make_id("incident", row["steps"][0]["id"]), row["title"]
                assert "a steady channel out" in row["steps"][0]["summary"], row["title"]
        as_before = {
            name: snap.digest(_as_released(answer(name, store, {"id": rows[0]["id"], **snap.WINDOW} if name == "incident"
                                                  else snap.WINDOW), renamed))
            for name in ("incidents", "incident", "ask processes")
        }  # fmt: skip
    finally:
        store.close()
    assert got["events"] == expected["events"]
    assert got["ids"] == expected["ids"], "event ids changed"
    assert got["show"] == expected["show"], "a `show` document changed"
    answers = got["answers"] | as_before
    changed = sorted(name for name, d in expected["answers"].items() if answers.get(name) != d)
    assert not changed, f"answers changed: {changed}"


# The reasons of the pod-spec rules, and the label each had in the one reason of the release.
_POD_SPEC: Final = {
    "privileged container": "privileged", "hostPath mount": "hostPath mount", "host network": "hostNetwork",
    "host PID namespace": "hostPID", "host IPC namespace": "hostIPC",
}  # fmt: skip
_POD_SPEC_REASONS: Final = re.compile(f"({'|'.join(_POD_SPEC)})(; ({'|'.join(_POD_SPEC)}))*")
# What `ask processes` says of a process start now that its rollup could not judge then.
_PROCESS_REASONS: Final = frozenset(
    r.reason for r in builtin().of("processes") if not r.reason.startswith("ran {binary} from world-writable")
)


def _as_released(doc: Any, renamed: dict[str, str]) -> Any:
    """The document as the release would have written it (the deliberate changes undone)."""
    text = orjson.dumps(doc).decode()
    for new, old in renamed.items():
        text = text.replace(new, old)
    text = _POD_SPEC_REASONS.sub(lambda m: "pod spec with " + ", ".join(_POD_SPEC[r] for r in m[0].split("; ")), text)
    doc = orjson.loads(text)
    if "rows" in doc and doc["rows"] and "expected" in doc["rows"][0]:  # ask processes
        for row in doc["rows"]:
            row["reasons"] = [r for r in row["reasons"] if r not in _PROCESS_REASONS]
            if not row["reasons"]:
                row["expected"], row["initiator"] = True, None
        doc["rows"].sort(key=lambda r: (not r["reasons"], [-ord(c) for c in r["last_seen"]]))
    return doc


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
    refused = rf"schema version {SCHEMA_VERSION}: .*1 events of table objects have a field it has no column for"
    with pytest.raises(StoreError, match=refused + r".*left as it was \(schema version 14\)"):
        DuckDBStore(old_store)
    with duckdb.connect(str(old_store), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("14",)]
        assert con.execute("SELECT count(*), bit_xor(hash(id)) FROM events").fetchall() == before
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'api_calls'").fetchall() == [(0,)]
    assert sorted(p.name for p in old_store.parent.iterdir()) == ["old.duckdb"]  # no half-made store left beside it


def test_a_migration_that_fails_after_copying_some_tables_leaves_the_store_as_it_was(old_store: Path) -> None:
    # The fresh file commits a table at a time: a copy that fails after some leaves nothing of
    # them beside the store (a side table with a column the current schema does not have).
    import duckdb

    with duckdb.connect(str(old_store)) as con:
        con.execute("ALTER TABLE token_hours ADD COLUMN stray INTEGER")
    with pytest.raises(StoreError, match=rf"(?s)schema version {SCHEMA_VERSION}: .*stray.*left as it was \(schema version 14\)"):
        DuckDBStore(old_store)
    with duckdb.connect(str(old_store), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("14",)]
    assert sorted(p.name for p in old_store.parent.iterdir()) == ["old.duckdb"]


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
