"""`kubetrail simulate`: seeded, deterministic, and everything it writes ingests; what it writes
twice (the audit webhook's copy, Hubble's repeats) ingests as duplicates, never as conflicts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.run import AUDIT_WEBHOOK, FILES, simulate
from kubetrail.store.duckdb import DuckDBStore


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_same_seed_writes_the_same_files_and_every_output_is_there(tmp_path: Path) -> None:
    one = simulate(tmp_path / "a", seed=3, hours=1, events=2000)
    simulate(tmp_path / "b", seed=3, hours=1, events=2000)
    simulate(tmp_path / "c", seed=4, hours=1, events=2000)
    assert set(one) == set(FILES) and sum(one.values()) - one[AUDIT_WEBHOOK] >= 1900
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def repeated_flows(path: Path) -> int:
    """Hubble lines whose flow uuid came before."""
    uuids = [json.loads(line)["flow"]["uuid"] for line in path.read_text().splitlines()]
    return len(uuids) - len(set(uuids))


def test_everything_simulated_ingests_without_quarantine_and_repeats_as_duplicates(tmp_path: Path) -> None:
    written = simulate(tmp_path / "sim", seed=5, hours=1, events=3000)
    store = DuckDBStore(tmp_path / "k.duckdb")
    summary = ingest(store, list(expand_paths([str(tmp_path / "sim")])), Options())
    store.close()
    assert summary.quarantined == 0 and summary.conflicts == 0
    # every event of the webhook file is one of the log's; some Hubble flows come twice
    flows_twice = repeated_flows(tmp_path / "sim" / "hubble-flows.json")
    assert written[AUDIT_WEBHOOK] > written["audit.log"] and flows_twice > 0
    assert summary.duplicates == written[AUDIT_WEBHOOK] + flows_twice
    assert sum(summary.ingested.values()) == sum(written.values()) - summary.duplicates
    assert summary.ingested["k8s_audit"] == written["audit.log"]
    assert abs(sum(summary.ingested.values()) - 3000) < 100  # --events counts distinct events


def test_cli(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "kubetrail", "simulate", "--out", str(tmp_path / "s"), "--events", "500", "-o", "json"]
    out = subprocess.run(cmd, capture_output=True, check=False)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    files = doc["files"]
    assert doc["cluster"] == "sim" and set(FILES) < set(files) and files["audit.log"] == 175
    assert ".ground-truth.json" in files  # the stories are played unless --no-stories
    bad = subprocess.run(
        [sys.executable, "-m", "kubetrail", "simulate", "--out", str(tmp_path / "s"), "--hours", "0"],
        capture_output=True,
        check=False,
    )
    assert bad.returncode == 2
