"""`kubetrail incidents` on the stories: attacks become incidents, background does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import parse_rfc3339
from tests.conftest import FIXTURES, ROOT, run_cli

SCHEMA = json.loads((ROOT / "contract" / "incidents.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T00:00:00Z"), parse_rfc3339("2026-11-28T12:00:00Z"))
STORIES = FIXTURES / "stories"


def ask(db: Path, *paths: Path) -> dict[str, Any]:
    store = DuckDBStore(db)
    ingest(store, list(expand_paths([str(p) for p in paths])), Options())
    doc = incidents(store, Query(WINDOW))
    store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_a_persons_exec_shell_and_miner_are_one_high_incident(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "processes", STORIES / "exec-session")["rows"]
    # A program run from /tmp and a mining-pool connection are high; alice is tied to them across
    # three sources, which raises the incident to critical.
    assert row["severity"] == "critical"
    assert row["actors"] == ["alice@example.com"] and row["pods"] == ["payments/api-7d9c6b5f8-x2k4j"]
    assert {"T1609", "T1059", "T1496", "T1204"} <= set(row["techniques"])
    assert [s["source"] for s in row["steps"]][:2] == ["falco", "k8s_audit"]
    tetragon = " ".join(s["summary"] for s in row["steps"] if s["source"] == "tetragon")
    assert all(b in tetragon for b in ("/bin/sh", "/usr/bin/curl", "/usr/bin/nohup", "/tmp/xmrig", "mining-pool port"))


def test_a_compromised_account_is_one_high_incident(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "actor")["rows"]
    assert row["severity"] == "high"
    assert {"T1528", "T1613", "T1098.006"} <= set(row["techniques"])
    assert len(row["steps"]) == 5


def test_new_external_destinations_are_an_incident(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "egress")["rows"]
    # New external destinations (T1041), one of them on a mining-pool port (T1496): high.
    assert (row["severity"], row["techniques"], row["destinations"]) == (
        "high",
        ["T1041", "T1496"],
        ["198.51.100.23", "203.0.113.99"],
    )


def test_background_does_not_become_an_incident(tmp_path: Path) -> None:
    # An operator watching Secrets cluster-wide, a person denied once, pods replaced and their IPs reused.
    assert ask(tmp_path / "k.duckdb", STORIES / "secrets", STORIES / "ip-reuse")["rows"] == []


def test_an_incidents_id_stays_the_same_as_it_grows(tmp_path: Path) -> None:
    story = STORIES / "exec-session"
    (early,) = ask(tmp_path / "k.duckdb", STORIES / "processes", story / "falco.json", story / "audit.log")["rows"]
    (grown,) = ask(tmp_path / "k.duckdb", story / "tetragon.jsonl")["rows"]
    assert early["id"] == grown["id"] and len(grown["steps"]) > len(early["steps"])


def test_incidents_can_be_narrowed_to_a_pod_or_namespace(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    ask(db, STORIES / "actor", STORIES / "processes", STORIES / "exec-session")
    store = DuckDBStore(db, read_only=True)
    try:
        by_pod = incidents(store, Query(WINDOW, pod="shop/cart-6d4f9b7c8d-7hq4z"))["rows"]
        by_namespace = incidents(store, Query(WINDOW, namespace="payments"))["rows"]
        everything = incidents(store, Query(WINDOW))["rows"]
    finally:
        store.close()
    assert [r["pods"] for r in by_pod] == [["shop/cart-6d4f9b7c8d-7hq4z"]]
    assert [r["pods"] for r in by_namespace] == [["payments/api-7d9c6b5f8-x2k4j"]]
    assert len(everything) == 2


def test_a_simulated_clusters_background_is_not_an_incident(tmp_path: Path) -> None:
    """Hours of ordinary traffic from every source: controllers and operators reading Secrets,
    kubelets requesting tokens, benign Falco rules firing all day, an SRE's diagnostic exec."""
    from kubetrail.simulate.run import simulate
    from kubetrail.timeutil import NS

    simulate(tmp_path / "sim", seed=11, hours=3, events=12_000)
    store = DuckDBStore(tmp_path / "k.duckdb")
    summary = ingest(store, list(expand_paths([str(tmp_path / "sim")])), Options())
    (newest,) = store.query("newest_event")
    doc = incidents(store, Query(Window(newest["newest"] - 24 * 3600 * NS, newest["newest"] + 1)))
    store.close()
    assert summary.quarantined == 0 and len(summary.ingested) == 5
    assert doc["rows"] == [], [r["title"] for r in doc["rows"]]
    assert any("routine alerts left out" in g for g in doc["gaps"])


def test_a_steady_channel_to_the_outside_is_a_high_incident(tmp_path: Path) -> None:
    # The beacon story: one pod reaches 198.51.100.40 every ~10 min (each connection seen as two
    # flows), 203.0.113.80 at irregular times, and redis every 5 min. No baseline exists, so only
    # the rhythm speaks: the steady external channel is an incident; the irregular external
    # traffic and the steady internal probe are not.
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "beacon")["rows"]
    assert (row["severity"], row["techniques"], row["destinations"]) == ("high", ["T1029", "T1041"], ["198.51.100.40"])
    assert row["pods"] == ["payments/payments-worker-5f7b9c4d6-q8r2t"]
    assert "7 times, every 10.0 min" in row["steps"][0]["summary"]


def test_a_shell_an_http_request_spawned_names_the_request_and_its_end_user(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "http-exploit")["rows"]
    # `sh -c "curl … | sh"` is a piped download (high), tied to the request's end user through the
    # span covering it; every signal is Tetragon's, so nothing raises it further.
    assert (row["severity"], row["actors"]) == ("high", ["mallory@example.net"])
    assert {"T1105", "T1059.004"} <= set(row["techniques"])
    shell = next(s for s in row["steps"] if "piped a download into a shell" in s["summary"])
    assert "during request /api/upload, trace 0af7651916cd43dd8448eb211c80319c" in shell["summary"]


def test_on_a_terminal_an_incident_reads_as_a_story(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    ask(db, STORIES / "processes", STORIES / "exec-session")
    out = run_cli("incidents", "--at", "2026-11-28T12:00:00Z", "--since", "12h", "-o", "table", db=db)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert lines[0].startswith("[CRITICAL] alice@example.com: ")
    assert "  who: alice@example.com" in lines and "  pods: payments/api-7d9c6b5f8-x2k4j" in lines
    attack = next(line for line in lines if line.startswith("  ATT&CK: "))
    assert "T1609 Container Administration Command" in attack and "T1496 Resource Hijacking" in attack
    assert lines[1].startswith("  2026-11-28 09:59:59 .. 10:01:31 UTC  id ")
    steps = [line for line in lines[2:] if line[2:3].isdigit()]
    assert steps and [s[:14] for s in steps] == sorted(s[:14] for s in steps)  # time order
    assert any("tetragon" in s and "/tmp/xmrig" in s for s in steps)
