"""One cluster whatever each source calls it (CONTRACT.md, "cluster"): --cluster is authoritative;
without it the one name an ingest's inputs carry names every event of it; several names are warned
about; a split store is listed, flagged and merged in place."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pytest

from kubetrail.answers.clusters import clusters
from kubetrail.answers.status import status
from kubetrail.ingest.clusters import name_clusters
from kubetrail.ingest.pipeline import Options, Summary, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.store import PENDING_CLUSTER
from kubetrail.store.duckdb import EVENT_TABLES, DuckDBStore
from tests.conftest import FIXTURES, ROOT, run_cli

STORIES = FIXTURES / "stories"
IP_REUSE = STORIES / "ip-reuse"  # an audit log and an inventory snapshot (no cluster named), Hubble naming shop-prod
CONTRACT = ROOT / "contract"


def schema(name: str) -> dict[str, Any]:
    return json.loads((CONTRACT / f"{name}.schema.json").read_text())  # type: ignore[no-any-return]


def run(db: Path, *paths: Path, cluster: str | None = None) -> Summary:
    store = DuckDBStore(db)
    try:
        return ingest(store, list(expand_paths([str(p) for p in paths])), Options(cluster=cluster))
    finally:
        store.close()


def tables(db: Path) -> dict[str, list[Any]]:
    """Every table with a cluster column (the events by id, cluster and content), as its readers
    see it: the runs of who held an address merged across batches, as every question reads them
    (a batch's runs hold the observations of one cluster name: the names an ingest gives at the end
    split them as several batches would)."""
    store = DuckDBStore(db, read_only=True)
    try:
        con = store.con
        names = [r[0] for r in con.execute(TABLES).fetchall() if r[0] not in EVENT_TABLES]  # the events: as below
        out: dict[str, list[Any]] = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in names}
        out["events"] = con.execute("SELECT id, cluster, sensor_cluster, content_hash FROM events ORDER BY ALL").fetchall()
        ips = [ip for (ip,) in con.execute("SELECT DISTINCT ip FROM ip_runs").fetchall()]
        out["ip_runs"] = store.query("ip_runs", ips=ips, cluster=None)
        return out
    finally:
        store.close()


TABLES = """SELECT DISTINCT table_name FROM duckdb_tables() JOIN duckdb_columns() USING (table_name)
            WHERE column_name = 'cluster' AND table_name NOT IN ('events', 'ip_runs')"""


def clusters_of(db: Path) -> Counter[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT cluster, source, count(*) FROM events GROUP BY ALL").fetchall()
        return Counter({(c, s): n for c, s, n in rows})


# -- the rule ------------------------------------------------------------------------------------


def test_the_one_name_of_the_inputs_names_every_event() -> None:
    naming = name_clusters(None, {("prod", "hubble"): 10, ("prod", "tetragon"): 2}, [])
    assert (naming.name, naming.origin, naming.warnings) == ("prod", "inputs", ())


def test_the_store_of_one_cluster_names_inputs_that_name_none() -> None:
    assert (name_clusters(None, {}, ["prod"]).name, name_clusters(None, {}, ["prod"]).origin) == ("prod", "store")
    assert name_clusters(None, {("prod", "hubble"): 1}, ["prod"]).origin == "inputs"
    assert (name_clusters(None, {}, []).name, name_clusters(None, {}, []).origin) == ("default", "default")


def test_cluster_option_is_authoritative_and_other_names_are_reported() -> None:
    naming = name_clusters("prod", {("prod-euw1", "hubble"): 1200, ("prod-euw1", "tetragon"): 4, ("prod", "otel"): 3}, ["x"])
    assert (naming.name, naming.origin) == ("prod", "--cluster")
    assert naming.warnings == ("1,204 events (hubble 1,200, tetragon 4) name cluster 'prod-euw1'; stored under --cluster 'prod'",)


def test_several_names_keep_their_own_and_the_rest_default_with_a_warning() -> None:
    naming = name_clusters(None, {("a", "hubble"): 5, ("b", "tetragon"): 1}, [])
    assert (naming.name, naming.origin) == ("default", "several")
    (warning,) = naming.warnings
    assert "5 events (hubble 5) name 'a'" in warning and "1 events (tetragon 1) name 'b'" in warning
    assert "kubetrail clusters merge b a" in warning
    # The store's one cluster counts as a name: a store of 'default' and inputs naming 'prod' are two.
    naming = name_clusters(None, {("prod", "hubble"): 5}, ["default"])
    assert (naming.name, naming.origin) == ("default", "several")
    assert "the store holds 'default'" in naming.warnings[0] and "kubetrail clusters merge default prod" in naming.warnings[0]
    # A store of several clusters and inputs that name none: 'default', and a word about it.
    assert name_clusters(None, {}, ["a", "b"]).warnings == (
        "the store holds several clusters ('a', 'b') and the inputs name none: stored under 'default'; give --cluster",
    )


# -- ingest --------------------------------------------------------------------------------------


def test_without_cluster_option_the_audit_log_joins_the_cluster_hubble_names(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    summary = run(db, IP_REUSE).as_json()
    jsonschema.validate(summary, schema("ingest"))
    assert summary["cluster"] == {"name": "shop-prod", "from": "inputs"}
    assert summary["sensor_clusters"] == {"shop-prod": {"hubble": 5}} and summary["warnings"] == []
    assert set(clusters_of(db)) == {("shop-prod", "k8s_audit"), ("shop-prod", "hubble"), ("shop-prod", "inventory")}
    # The join across sources holds: the audit call's address resolves to the pod Hubble saw holding it.
    who = json.loads(run_cli("who", "10.244.2.17", "--at", "2026-11-28T09:10:00Z", "-o", "json", db=db).stdout)
    assert who["holder"]["cluster"] == "shop-prod" and who["holder"]["pod"] is not None


def test_cluster_option_names_every_event_and_keeps_what_the_sensor_said(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    summary = run(db, IP_REUSE, cluster="shop-eu").as_json()
    assert summary["cluster"] == {"name": "shop-eu", "from": "--cluster"}
    assert summary["warnings"] == ["5 events (hubble 5) name cluster 'shop-prod'; stored under --cluster 'shop-eu'"]
    assert {c for c, _ in clusters_of(db)} == {"shop-eu"}
    with duckdb.connect(str(db), read_only=True) as con:
        said = con.execute("SELECT source, sensor_cluster, count(*) FROM events GROUP BY ALL ORDER BY ALL").fetchall()
    assert said == [("hubble", "shop-prod", 5), ("inventory", None, 2), ("k8s_audit", None, 3)]


def test_one_call_with_or_without_the_cluster_option_stores_the_same_tables(tmp_path: Path) -> None:
    stories = [STORIES / s for s in ("ip-reuse", "beacon", "egress", "exec-session", "actor")]
    run(tmp_path / "named.duckdb", *stories, cluster="shop-prod")
    run(tmp_path / "found.duckdb", *stories)
    assert tables(tmp_path / "found.duckdb") == tables(tmp_path / "named.duckdb")


def test_several_calls_give_the_same_store_once_the_store_holds_one_cluster(tmp_path: Path) -> None:
    run(tmp_path / "one.duckdb", IP_REUSE / "hubble.json", IP_REUSE / "audit.log", IP_REUSE / "inventory-0900.json")
    several = tmp_path / "several.duckdb"
    run(several, IP_REUSE / "hubble.json")  # names shop-prod
    assert run(several, IP_REUSE / "audit.log").as_json()["cluster"] == {"name": "shop-prod", "from": "store"}
    run(several, IP_REUSE / "inventory-0900.json")
    assert tables(several) == tables(tmp_path / "one.duckdb")


def test_a_split_store_is_flagged_and_merged_in_place(tmp_path: Path) -> None:
    db = tmp_path / "split.duckdb"
    run(db, IP_REUSE / "audit.log", IP_REUSE / "inventory-0900.json")  # names nothing: 'default'
    second = run(db, IP_REUSE / "hubble.json").as_json()
    assert second["cluster"]["from"] == "several" and "kubetrail clusters merge default shop-prod" in second["warnings"][0]
    assert {c for c, _ in clusters_of(db)} == {"default", "shop-prod"}

    store = DuckDBStore(db, read_only=True)
    try:
        listed, doc = clusters(store), status(store)
    finally:
        store.close()
    jsonschema.validate(listed, schema("clusters"))
    jsonschema.validate(doc, schema("status"))
    (split,) = listed["likely_splits"]
    assert split["clusters"] == ["default", "shop-prod"] and split["fix"] == "kubetrail clusters merge default shop-prod"
    assert split["sources"] == {"default": ["inventory", "k8s_audit"], "shop-prod": ["hubble"]}
    assert doc["likely_splits"] == [split]
    assert doc["gaps"][0].startswith("clusters default and shop-prod look like one cluster split under two names")
    assert {c["cluster"]: c["sources"] for c in listed["clusters"]} == {
        "default": {"inventory": 2, "k8s_audit": 3},
        "shop-prod": {"hubble": 5},
    }

    merged = run_cli("clusters", "merge", "default", "shop-prod", "-o", "json", db=db)
    assert merged.returncode == 0, merged.stderr
    doc = json.loads(merged.stdout)
    jsonschema.validate(doc, schema("clusters-merge"))
    assert doc == {"merged": "default", "into": "shop-prod", "events": 5}
    run(tmp_path / "one.duckdb", IP_REUSE)
    assert tables(db) == tables(tmp_path / "one.duckdb")
    # Ids and dedupe keys do not depend on the name: the same files again store nothing new.
    again = run(db, IP_REUSE, cluster="shop-prod").as_json()
    assert (again["ingested"], again["duplicates"], again["conflicts"]) == ({}, 10, 0)
    assert json.loads(run_cli("clusters", "-o", "json", db=db).stdout)["likely_splits"] == []


def test_merging_a_cluster_the_store_does_not_hold_is_a_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    run(db, IP_REUSE)
    out = run_cli("clusters", "merge", "prod", "shop-prod", "-o", "json", db=db)
    assert out.returncode == 2
    assert json.loads(out.stdout)["error"]["message"].startswith("the store holds no cluster 'prod' (it holds: shop-prod)")


class _Interrupted(DuckDBStore):
    """A store whose ingest stops after its last write, before naming the events that name none."""

    def rename_cluster(self, old: str, new: str) -> int:
        if old.startswith(PENDING_CLUSTER) and new != old:
            raise KeyboardInterrupt
        return super().rename_cluster(old, new)


def test_events_an_interrupted_ingest_left_unnamed_are_named_by_the_next(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    store = _Interrupted(db)
    with pytest.raises(KeyboardInterrupt):
        ingest(store, [str(IP_REUSE / "audit.log"), str(IP_REUSE / "hubble.json")], Options())
    store.close()
    listed = json.loads(run_cli("clusters", "-o", "json", db=db).stdout)
    assert sorted((c["pending"], c["events"]) for c in listed["clusters"]) == [(False, 5), (True, 3)]
    run(db, IP_REUSE / "inventory-0900.json")  # the next ingest, whatever it reads
    assert set(clusters_of(db)) == {("shop-prod", "k8s_audit"), ("shop-prod", "hubble"), ("shop-prod", "inventory")}


# -- a simulated cluster ---------------------------------------------------------------------------


def _answers(tmp_path: Path, hubble_names_cluster: bool, cluster: str | None) -> dict[str, Any]:
    """A simulated cluster's files (its stories included) ingested in one call, then asked."""
    from kubetrail.answers.egress import Query as EgressQuery
    from kubetrail.answers.egress import egress
    from kubetrail.answers.incidents import Query as IncidentsQuery
    from kubetrail.answers.incidents import incidents
    from kubetrail.answers.secrets import Query as SecretsQuery
    from kubetrail.answers.secrets import secrets
    from kubetrail.answers.window import Window
    from kubetrail.simulate.run import DEFAULT_START_NS, simulate

    out = tmp_path / f"sim-{hubble_names_cluster}"
    if not out.exists():
        simulate(out, seed=17, hours=3, events=6000, stories=True, cluster_name="sim", hubble_names_cluster=hubble_names_cluster)
    db = tmp_path / f"{hubble_names_cluster}-{cluster}.duckdb"
    summary = run(db, out, cluster=cluster)
    window = Window(DEFAULT_START_NS, DEFAULT_START_NS + 3 * 3600 * 10**9)
    store = DuckDBStore(db, read_only=True)
    try:
        doc = {
            "incidents": incidents(store, IncidentsQuery(window))["rows"],
            "secrets": secrets(store, SecretsQuery(window))["rows"],
            "egress": egress(store, EgressQuery(window, external=True))["rows"],
            "clusters": store.cluster_names(),
        }
    finally:
        store.close()
    # One name for the whole cluster, whichever it is: the answers are compared without it.
    (name,) = doc.pop("clusters")
    assert summary.naming is not None and summary.naming.name == name
    return json.loads(json.dumps(doc).replace(json.dumps(name), '"CLUSTER"'))  # type: ignore[no-any-return]


def test_a_simulated_cluster_gives_the_same_answers_however_its_cluster_is_named(tmp_path: Path) -> None:
    """With and without --cluster, with and without Hubble naming the cluster (node names
    'sim/node' and endpoint labels, or plain node names and Cilium's 'default'), in one call."""
    expected = _answers(tmp_path, True, "sim")
    assert expected["incidents"] and expected["secrets"] and expected["egress"]
    for hubble_names_cluster, cluster in ((True, None), (False, "sim"), (False, None)):
        assert _answers(tmp_path, hubble_names_cluster, cluster) == expected, (hubble_names_cluster, cluster)
