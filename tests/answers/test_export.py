"""`kubetrail export --incident`: the incident's redacted records and a manifest that checks out."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.timeutil import parse_rfc3339
from tests.answers.conftest import story_store
from tests.conftest import on_duckdb_only, open_test_store

WINDOW = Window(parse_rfc3339("2026-11-28T00:00:00Z"), parse_rfc3339("2026-11-28T12:00:00Z"))


@on_duckdb_only
def test_export_writes_each_steps_original_record_with_provenance_and_hashes(tmp_path: Path) -> None:
    db = story_store(tmp_path / "k.duckdb", "actor")
    store = open_test_store(db, read_only=True)
    (incident,) = incidents(store, Query(WINDOW))["rows"]
    store.close()
    out = tmp_path / "bundle"
    cmd = [sys.executable, "-m", "kubetrail", "export", "--incident", incident["id"], "--out", str(out),
           "--at", "2026-11-28T12:00:00Z", "--db", str(db), "-o", "json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"incident": incident["id"], "out": str(out), "events": len(incident["steps"])}
    manifest = json.loads((out / "manifest.json").read_text())
    lines = (out / "events.jsonl").read_bytes().splitlines(keepends=True)
    assert manifest["incident"] == incident and len(lines) == len(manifest["events"]) == 5
    for line, entry in zip(lines, manifest["events"], strict=True):
        assert hashlib.sha256(line).hexdigest() == entry["record_sha256"]
        assert json.loads(line)["kind"] == "Event"  # the audit event as the API server wrote it
        assert entry["provenance"]["file"].endswith("audit.log") and entry["provenance"]["line"] > 96
        assert len(entry["provenance"]["sha256"]) == 64
    missing = subprocess.run([*cmd[:5], "nope", *cmd[6:]], capture_output=True, check=False)
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "not_found"
