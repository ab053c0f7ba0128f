"""`kubetrail status`: coverage, audit levels and sensor drop counters, so "no data" is never
mistaken for "no match"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from kubetrail.answers.status import status
from kubetrail.ingest.pipeline import Options, ingest
from tests.conftest import FIXTURES, ROOT, open_test_store

SCHEMA = json.loads((ROOT / "contract" / "status.schema.json").read_text())


def store_status(tmp_path: Path, *paths: Path, **kw: Any) -> dict[str, Any]:
    store = open_test_store(tmp_path / "k.duckdb")
    ingest(store, [str(p) for p in paths], Options())
    doc = status(store, **kw)
    store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_coverage_per_source_and_node_with_time_ranges(tmp_path: Path) -> None:
    story = FIXTURES / "stories" / "exec-session"
    doc = store_status(tmp_path, story / "audit.log", story / "tetragon.jsonl", story / "falco.json")
    cover = {(r["source"], r["node"]): (r["events"], r["first"], r["last"]) for r in doc["coverage"]}
    assert cover == {
        ("falco", "falco-8x7kd"): (1, "2026-11-28T09:59:59.200000000Z", "2026-11-28T09:59:59.200000000Z"),
        ("k8s_audit", None): (2, "2026-11-28T10:00:00.000000000Z", "2026-11-28T10:00:00.000000000Z"),
        ("tetragon", "ip-10-0-1-23.eu-west-1.compute.internal"): (
            7,
            "2026-11-28T08:00:05.100000000Z",
            "2026-11-28T10:01:31.000000000Z",
        ),
    }
    assert (doc["events"], doc["files"], doc["quarantined"]) == (10, 3, 0)
    assert doc["audit_levels"] == [{"cluster": "default", "level": "Metadata", "events": 2}]
    assert doc["gaps"] == ["cluster default: no events from hubble, otel"]


def test_sensor_drop_counters_are_reported(corpora: Path, tmp_path: Path) -> None:
    doc = store_status(
        tmp_path,
        corpora / "tetragon" / "docs-extracted" / "concepts_cgroup-rate.jsonl",
        corpora / "falco" / "falco-website" / "docs_concepts_metrics__index.jsonl",
    )
    drops = {(r["source"], r["node"]): (r["drops"], r["reports"]) for r in doc["sensor_drops"]}
    assert drops == {("tetragon", "ubuntu-22"): (1, 2), ("falco", "test"): (0, 5)}  # one throttle start; Falco lost nothing
    assert {r["drop_percent"] for r in doc["sensor_drops"] if r["source"] == "falco"} == {0.0}


def test_cluster_filter_and_quarantine_count(tmp_path: Path) -> None:
    doc = store_status(
        tmp_path, FIXTURES / "pipeline" / "audit-bad.log", FIXTURES / "pipeline" / "hubble-auth.json", cluster="prod-eu"
    )
    # The audit lines carry no cluster; Hubble names prod-eu, the one name of the ingest: both are prod-eu.
    assert {r["source"] for r in doc["coverage"]} == {"hubble", "k8s_audit"}
    assert doc["quarantined"] == 4
