"""The `kubetrail` command as users and scripts call it (a real subprocess)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema

from tests.conftest import FIXTURES, ROOT, run_cli

PIPE = FIXTURES / "pipeline"
INGEST_SCHEMA = json.loads((ROOT / "contract" / "ingest.schema.json").read_text())
SHOW_SCHEMA = json.loads((ROOT / "contract" / "show.schema.json").read_text())


def kubetrail(*args: str, stdin: bytes | None = None, db: Path) -> subprocess.CompletedProcess[bytes]:
    return run_cli(*args, db=db, stdin=stdin)


def test_ingest_prints_the_contract_summary(tmp_path: Path) -> None:
    out = kubetrail("ingest", str(PIPE / "audit-secrets.log"), "-o", "json", db=tmp_path / "k.duckdb")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, INGEST_SCHEMA)
    assert doc["ingested"] == {"k8s_audit": 6}
    assert doc["files"] == [{"path": str(PIPE / "audit-secrets.log"), "source": "k8s_audit", "ingested": 6, "quarantined": 0}]


def test_stdin_is_read_with_dash(tmp_path: Path) -> None:
    out = kubetrail("ingest", "-", "-o", "json", stdin=(PIPE / "audit-secrets.log").read_bytes(), db=tmp_path / "k.duckdb")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["files"][0]["path"] == "-"


def test_strict_exits_1_when_records_were_quarantined(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    assert kubetrail("ingest", str(PIPE / "audit-bad.log"), "-o", "json", db=db).returncode == 0
    strict = kubetrail("ingest", str(PIPE / "audit-bad.log"), "--strict", "-o", "json", db=db)
    assert strict.returncode == 1
    jsonschema.validate(json.loads(strict.stdout), INGEST_SCHEMA)
    assert json.loads(strict.stdout)["quarantined"] == 4


def test_usage_errors_exit_2_with_the_json_error_shape(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    unknown = kubetrail("ingest", str(PIPE / "audit-bad.log"), "--source", "syslog", "-o", "json", db=db)
    assert unknown.returncode == 2
    err = json.loads(unknown.stdout)["error"]
    assert err["code"] == "usage" and "syslog" in err["message"]
    missing = kubetrail("ingest", str(tmp_path / "nope.log"), "-o", "json", db=db)
    assert missing.returncode == 2 and "nope.log" in json.loads(missing.stdout)["error"]["message"]
    plain = kubetrail("ingest", "--bogus", db=db)
    assert plain.returncode == 2 and len(plain.stderr.decode().strip().splitlines()) == 1


def test_show_prints_fields_provenance_and_redacted_original(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    kubetrail("ingest", str(PIPE / "audit-secrets.log"), "-o", "json", db=db)
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        (event_id,) = con.execute("SELECT id FROM events WHERE verb = 'create' AND resource = 'secrets'").fetchall()[0]
    out = kubetrail("show", event_id, "-o", "json", db=db)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, SHOW_SCHEMA)
    assert doc["event"]["id"] == event_id and doc["event"]["time"] == "2026-11-28T10:00:00.000000000Z"
    assert doc["provenance"]["file"] == str(PIPE / "audit-secrets.log") and doc["provenance"]["line"] == 1
    assert len(doc["provenance"]["sha256"]) == 64
    assert doc["original"]["responseObject"]["data"] == {"password": "<redacted>"}
    missing = kubetrail("show", "nope", "-o", "json", db=db)
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_show_validates_for_every_kind_of_corpus_event(corpora: Path, tmp_path: Path) -> None:
    """One event of each (source, kind) in the real corpora, through `show`, matches the schema."""
    import duckdb

    db = tmp_path / "k.duckdb"
    assert kubetrail("ingest", str(corpora), "-o", "json", db=db).returncode == 0
    with duckdb.connect(str(db), read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT any_value(id) FROM events GROUP BY source, kind").fetchall()]
    assert len(ids) >= 12
    for event_id in ids:
        out = kubetrail("show", event_id, "-o", "json", db=db)
        assert out.returncode == 0, out.stderr
        jsonschema.validate(json.loads(out.stdout), SHOW_SCHEMA)


def test_demo_tells_the_stories_and_answers_the_five_questions(tmp_path: Path) -> None:
    out = run_cli(
        "demo", "--out", str(tmp_path / "sim"), "--db", str(tmp_path / "demo.duckdb"), "--events", "6000", "--hours", "2"
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "quarantined 0" in text and " 0 conflicts" in text
    assert int(text.split(" records delivered twice")[0].rsplit(" ", 1)[1]) > 0  # the simulator's repeats, kept once
    # The six attack stories, each a high or critical incident with its initiator where it has one.
    titles = [line for line in text.splitlines() if line.startswith(("[CRITICAL]", "[HIGH]"))]
    assert len(titles) == 6, titles
    for who in ("alice@example.com:", "customer-", "system:serviceaccount:ci:deployer create pods", "a steady channel out"):
        assert any(who in t for t in titles), who
    for question in ("read secrets", "run a process it should not", "what was suspicious", "talked to the outside", "caused"):
        assert question in text, question
    # The worst incident's last runtime step, traced to the person's exec or the customer's request.
    assert re.search(r"initiated by (alice@example\.com via kubectl-exec \(ancestry\)|customer-\d+ via http-request)", text)


def _modules_imported(*args: str) -> set[str]:
    """Top-level packages a `python -m kubetrail ARGS` process imported (from -X importtime)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "kubetrail", *args]
    out = subprocess.run(cmd, capture_output=True, check=False)
    lines = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.decode().splitlines() if line.startswith("import time:")]
    return {name for name in lines if name and not name.startswith("package")}


def test_a_question_loads_neither_arrow_nor_the_ingest_pipeline(tmp_path: Path) -> None:
    # What a cold question costs before it reads the store: each command imports what it calls.
    db = tmp_path / "k.duckdb"
    kubetrail("ingest", str(PIPE / "audit-secrets.log"), "-o", "json", db=db)
    loaded = _modules_imported("ask", "secrets", "--at", "latest", "-o", "json", "--db", str(db))
    assert {"duckdb", "kubetrail.answers.secrets"} <= loaded
    assert not {m for m in loaded if m.split(".")[0] == "pyarrow" or m.startswith(("kubetrail.ingest", "kubetrail.simulate"))}
    # An ingest worker of the `kubetrail` script imports the CLI module again: it loads no engine.
    bare = _modules_imported("--help")
    assert not {m for m in bare if m.split(".")[0] in ("duckdb", "pyarrow", "rich") or m.startswith("kubetrail.answers.s")}
