"""`kubetrail ask processes`: the exec-session story on top of three days of another replica of
the same workload running its server and a health check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.answers.processes import Query, processes
from kubetrail.answers.window import Window
from kubetrail.timeutil import NS, parse_rfc3339
from tests.answers.conftest import story_store
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store

STORIES = [FIXTURES / "stories" / "processes", FIXTURES / "stories" / "exec-session"]
SCHEMA = json.loads((ROOT / "contract" / "ask-processes.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T09:00:00Z"), parse_rfc3339("2026-11-28T11:00:00Z"))
NOT_IN_BASELINE = "not run by payments/api in its baseline"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("processes") / "k.duckdb", "processes", "exec-session")


def ask(db: Path, **kw: Any) -> dict[str, Any]:
    store = open_test_store(db, read_only=True)
    try:
        doc = processes(store, Query(kw.pop("window", WINDOW), **kw))
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_what_the_workload_never_ran_is_unexpected_and_what_it_always_runs_is_not(db: Path) -> None:
    rows = ask(db)["rows"]
    assert [(r["binary"], r["expected"]) for r in rows] == [
        ("/tmp/xmrig", False), ("/usr/bin/nohup", False), ("/usr/bin/curl", False), ("/bin/sh", False), ("/usr/bin/wget", True),
    ]  # fmt: skip
    assert {r["baseline"] for r in rows} == {"learned"}
    assert rows[-1]["reasons"] == [] and rows[-1]["initiator"] is None


def test_a_runtime_rule_and_the_initiator_are_named(db: Path) -> None:
    shell = next(r for r in ask(db)["rows"] if r["binary"] == "/bin/sh")
    assert shell["reasons"] == ["runtime rule fired: Terminal shell in container (Notice)", NOT_IN_BASELINE]
    assert shell["count"] == 2 and shell["evidence_total"] == 2  # the Tetragon exec and the Falco alert
    assert (shell["initiator"]["user"], shell["initiator"]["strength"]) == ("alice@example.com", "ancestry")
    assert (shell["container"], shell["image"], shell["node"]) == (
        "api",
        "registry.example.com/payments/api:3.2.0",
        "ip-10-0-1-23.eu-west-1.compute.internal",
    )


def test_filters(db: Path) -> None:
    assert [r["binary"] for r in ask(db, unexpected=True)["rows"]][-1] == "/bin/sh"
    assert [r["binary"] for r in ask(db, binary="curl")["rows"]] == ["/usr/bin/curl"]
    assert ask(db, image="docker.io/")["rows"] == []
    assert len(ask(db, pod="payments/api-7d9c6b5f8-q4r5s")["rows"]) == 0  # the other replica ran nothing in the window


def test_without_history_only_rules_decide(db: Path) -> None:
    doc = ask(db, baseline_ns=3600 * NS)
    # Only rules: Falco's on the shell, and kubetrail's own on a program run from /tmp.
    assert [r["binary"] for r in doc["rows"] if not r["expected"]] == ["/tmp/xmrig", "/bin/sh"]
    assert {r["baseline"] for r in doc["rows"]} == {"insufficient"} and "only rules decide" in doc["gaps"][0]


@on_duckdb_only
def test_cli(db: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kubetrail", "ask", "processes", "--unexpected", "--at", "2026-11-28T11:00:00Z", "--since", "2h",
         "--db", str(db), "-o", "json"], capture_output=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["rows"]) == 4
