"""The lookup tables kept beside the events on ClickHouse (migration 0003: ip_runs, exec_stages,
pod_changes, dns_answers): the questions reading them answer as DuckDB's do, a batch's rows
written twice (two writers racing on the same events) change no answer, and a store made before
them is filled from its events as a new store is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.store import Store, open_store
from kubetrail.store import clickhouse as ch
from kubetrail.store.clickhouse import ClickHouseStore
from tests.conftest import FIXTURES, chdb_as_of, chdb_url, sql_rows

STORIES = FIXTURES / "stories"
LOOKUPS = ("ip_runs", "exec_stages", "pod_changes", "dns_answers")
# Stories with every kind of observation the tables keep: inventory, Hubble, Tetragon, audit pod
# bodies, kubelets, exec sessions, pod creations and deletions, DNS answers.
# Each story is a cluster of its own: some share addresses.
STORIES_USED = ("ip-reuse", "exec-session", "secrets", "actor", "egress", "http-exploit", "beacon")
_names = iter(range(1_000_000))


def fresh() -> str:
    return chdb_url(f"lookups_{next(_names)}_{os.getpid()}")


def fill(store: Store) -> None:
    """The stories, each ingested as the CLI does (several batches), each as its cluster."""
    for story in STORIES_USED:
        ingest(store, list(expand_paths([str(STORIES / story)])), Options(cluster=story, workers=1))


def answers(store: Store) -> dict[str, Any]:
    """Every lookup question over everything the store holds, in an order of its own."""
    ips = sorted(str(ip) for (ip,) in sql_rows(store, "SELECT DISTINCT ip FROM ip_runs"))
    names = sorted(str(n) for (n,) in sql_rows(store, "SELECT DISTINCT namespace || '/' || pod_name FROM pod_changes"))
    pods = sorted(sql_rows(store, "SELECT DISTINCT cluster, namespace, pod_name FROM exec_stages"))
    assert ips and names and pods, "the stories should give every table rows"
    out: dict[str, Any] = {
        "ip_runs": store.query("ip_runs", ips=ips, cluster=None),
        "ip_runs ip-reuse": store.query("ip_runs", ips=ips, cluster="ip-reuse"),
        "shared_addresses": store.query("shared_addresses"),
        "pod_lifecycle": store.query("pod_lifecycle", names=names),
    }
    out["dns_names"] = store.query("dns_names", cluster=None, until=2**62)
    firsts = sorted({r["first"] for r in out["dns_names"]})
    assert len(firsts) > 1, "the stories should answer DNS queries at several times"
    until = firsts[len(firsts) // 2]  # the answers before the middle one
    out[f"dns_names {until}"] = store.query("dns_names", cluster=None, until=until)
    out["dns_names egress"] = store.query("dns_names", cluster="egress", until=2**62)
    asks = [f"{cluster}/{namespace}/{pod}" for cluster, namespace, pod in pods]
    out["exec_sessions"] = store.query(
        "exec_sessions", asks=asks, clusters=[c for c, _, _ in pods], namespaces=[n for _, n, _ in pods],
        pods=[p for _, _, p in pods], froms=[0] * len(pods), untils=[2**62] * len(pods),
    )  # fmt: skip
    return {name: sorted(rows, key=lambda r: repr(sorted(r.items()))) for name, rows in out.items()}


@pytest.fixture
def news(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[pa.Table]]:
    """The new events of every batch a ClickHouse store writes its side tables from."""
    seen: list[pa.Table] = []
    load = ClickHouseStore._load_new

    def recording(client: Any, new: pa.Table) -> None:
        seen.append(new)
        load(client, new)

    monkeypatch.setattr(ClickHouseStore, "_load_new", staticmethod(recording))
    yield seen


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[pa.Table]]:
    """Every batch of events ingest gives a ClickHouse store to write."""
    seen: list[pa.Table] = []
    write = ClickHouseStore.write_events

    def recording(self: ClickHouseStore, batch: pa.Table, cursor: Any = None) -> Any:
        seen.append(batch)
        return write(self, batch, cursor)

    monkeypatch.setattr(ClickHouseStore, "write_events", recording)
    yield seen


def test_the_lookup_questions_answer_as_on_duckdb(tmp_path: Path) -> None:
    duck, click = open_store(str(tmp_path / "k.duckdb")), open_store(fresh())
    for store in (duck, click):
        fill(store)
    expected, got = answers(duck), answers(click)
    assert expected["shared_addresses"], "two clusters should share addresses"
    assert got == expected
    duck.close()
    click.close()


def test_a_renamed_cluster_is_renamed_in_the_lookups(tmp_path: Path) -> None:
    # A story ingested without --cluster is stored under a pending name until its cluster is
    # learnt (then renamed); renaming a cluster renames it in the tables beside the events too.
    duck, click = open_store(str(tmp_path / "k.duckdb")), open_store(fresh())
    for store in (duck, click):
        for story in ("secrets", "ip-reuse", "exec-session", "egress"):
            ingest(store, list(expand_paths([str(STORIES / story)])), Options(workers=1))
        store.rename_cluster("shop-prod", "shop")
    assert click.cluster_names() == duck.cluster_names() == ["default", "shop"]
    for table in LOOKUPS:
        clusters = {str(c) for (c,) in sql_rows(click, f"SELECT DISTINCT cluster FROM {table}")}
        assert clusters <= set(click.cluster_names()), table
    assert answers(click) == answers(duck)
    duck.close()
    click.close()


def test_side_rows_written_twice_change_no_answer(news: list[pa.Table]) -> None:
    store = ClickHouseStore(fresh())
    fill(store)
    before = answers(store)
    rows = {t: sql_rows(store, f"SELECT count() FROM {t}")[0][0] for t in LOOKUPS}
    # A second writer racing on the same events: its rows again, past the writer's dedupe. The
    # engine merges them in the background, some time: stopped here, so the reads see both.
    for t in LOOKUPS:
        store.client.command(f"SYSTEM STOP MERGES {t}")
    assert len(news) > 1
    for new in list(news):
        ClickHouseStore._load_new(store.client, new)
        ClickHouseStore._write_side_tables(store.client)
    assert {t: sql_rows(store, f"SELECT count() FROM {t}")[0][0] for t in LOOKUPS} == {t: 2 * n for t, n in rows.items()}
    assert answers(store) == before
    for t in LOOKUPS:
        store.client.command(f"SYSTEM START MERGES {t}")
    store.close()


def test_a_store_made_before_the_lookups_is_filled_as_a_new_one(batches: list[pa.Table]) -> None:
    # The events of the stories as one batch: what the migration computes over every stored
    # event, a new store computes over the batch (its runs of holders are the batch's).
    source = ClickHouseStore(fresh())
    fill(source)
    source.close()
    batch = pa.concat_tables(batches)

    old_url = fresh()
    with pytest.MonkeyPatch.context() as mp:
        chdb_as_of(mp, 2)
        old = ClickHouseStore(old_url)
        assert old.schema_version() == 2
        old.write_events(batch)
        tables = sql_rows(old, "SELECT name FROM system.tables WHERE database = currentDatabase()")
        assert not {t for (t,) in tables} & set(LOOKUPS)
        old.close()
    migrated = ClickHouseStore(old_url)
    assert migrated.schema_version() == ch.SCHEMA_VERSION
    new = ClickHouseStore(fresh())
    new.write_events(batch)
    assert answers(migrated) == answers(new)
    # The built-in rules' candidates too (0005): filled from the events, as a new store keeps them.
    assert migrated.candidate_counts() == new.candidate_counts()
    assert migrated.candidate_counts()["api_calls"] > 0
    migrated.close()
    new.close()
