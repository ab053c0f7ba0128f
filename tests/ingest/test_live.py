"""Live input (ingest/live.py): bodies normalized as files are, written with their cursor in one
transaction, placed at their offset in their origin, named by the sender's cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetrail.ingest.live import Body, LiveWriter
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.store import Cursor
from kubetrail.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

IP_REUSE = FIXTURES / "stories" / "ip-reuse"  # an audit log and an inventory snapshot, Hubble naming shop-prod


def bodies_of(folder: Path) -> list[Body]:
    return [Body(Path(p).read_bytes(), f"test {Path(p).name}") for p in expand_paths([str(folder)])]


def test_the_corpora_as_bodies_store_what_ingest_stores_and_again_nothing(tmp_path: Path, corpora: Path) -> None:
    files = DuckDBStore(tmp_path / "files.duckdb")
    summary = ingest(files, list(expand_paths([str(corpora)])), Options(workers=1))
    files.close()
    store = DuckDBStore(tmp_path / "live.duckdb")
    writer = LiveWriter(store)
    first = writer.write(bodies_of(corpora), Cursor("spool", 10))
    again = writer.write(bodies_of(corpora), Cursor("spool", 20))
    assert dict(first.stored) == dict(summary.ingested)
    assert (first.duplicates, first.conflicts, first.quarantined) == (summary.duplicates, summary.conflicts, summary.quarantined)
    assert not again.stored
    assert again.duplicates == sum(summary.ingested.values()) - summary.conflicts + summary.duplicates + summary.conflicts
    assert store.cursor("spool") == Cursor("spool", 20)
    store.close()


def test_the_cursor_is_saved_with_the_events_and_not_without_them(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    writer = LiveWriter(store)
    writer.write(bodies_of(IP_REUSE), Cursor("spool", 5))
    boom = RuntimeError("disk full")

    def failing(*args: object, **kwargs: object) -> None:
        raise boom

    store._append = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        writer.write([Body(b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","stage":"ResponseComplete",'
                           b'"requestReceivedTimestamp":"2026-11-28T10:00:00Z","verb":"get","user":{"username":"u"}}\n',
                           "test")], Cursor("spool", 9))  # fmt: skip
    assert store.cursor("spool") == Cursor("spool", 5)
    store.close()


def test_a_body_that_stores_nothing_still_moves_the_cursor(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    result = LiveWriter(store).write([Body(b"not json\n", "test")], Cursor("spool", 77))
    assert result.quarantined == 1
    assert store.cursor("spool") == Cursor("spool", 77)
    store.close()


def test_events_that_came_before_the_cluster_was_named_join_it_once_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(path)
    audit = [b for b in bodies_of(IP_REUSE) if b.origin.endswith("audit.log")]
    hubble = [b for b in bodies_of(IP_REUSE) if b.origin.endswith("hubble.json")]
    before = LiveWriter(store).write(audit)  # a fresh store, and nothing names the cluster yet
    assert store.cluster_names() == ["default"]
    assert store.fallback_cluster() == "default"
    store.close()
    store = DuckDBStore(path)  # serve restarted: the mark is in the store, not in the writer
    result = LiveWriter(store).write(hubble)  # Hubble names shop-prod
    assert store.cluster_names() == ["shop-prod"]
    assert store.fallback_cluster() is None
    moved = sum(before.stored.values())
    told = f"{moved} events stored under 'default' before any record named the cluster are now under 'shop-prod'"
    assert result.warnings == (told,)
    assert LiveWriter(store).write(audit).duplicates == moved  # the same events, whatever their cluster
    store.close()


def test_a_default_cluster_the_store_held_before_stays_its_own(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    ingest(store, [str(IP_REUSE / "audit.log")], Options())  # an ingest whose inputs name no cluster: 'default'
    LiveWriter(store).write([b for b in bodies_of(IP_REUSE) if b.origin.endswith("hubble.json")])
    assert store.cluster_names() == ["default", "shop-prod"]
    assert store.fallback_cluster() is None
    store.close()


def test_records_are_placed_at_their_line_and_offset_in_their_origin(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    lines = (IP_REUSE / "hubble.json").read_bytes().splitlines(keepends=True)
    LiveWriter(store).write([Body(b"".join(lines[2:4]), "followed.log", line=3, offset=len(b"".join(lines[:2])))])
    rows = store.con.execute("SELECT line, byte_offset FROM events ORDER BY line").fetchall()
    assert [r[0] for r in rows] == [3, 4]
    assert rows[0][1] == len(b"".join(lines[:2]))
    assert rows[1][1] == len(b"".join(lines[:3]))
    store.close()


def test_the_senders_cluster_is_authoritative_and_without_one_the_group_names_it(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    LiveWriter(store).write(bodies_of(IP_REUSE))  # Hubble names shop-prod; the audit log names none
    assert store.cluster_names() == ["shop-prod"]
    given = DuckDBStore(tmp_path / "given.duckdb")
    LiveWriter(given, cluster="shop-eu").write(bodies_of(IP_REUSE))
    assert given.cluster_names() == ["shop-eu"]
    store.close()
    given.close()
