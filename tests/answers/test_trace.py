"""`kubetrail ask trace` on a story: alice execs a shell into a pod; the shell downloads a script,
starts a miner in the background that connects out after she left; the app's own health check
runs meanwhile; Falco, its clock 0.8 s behind, sees the shell."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.answers.trace import UnknownEvent, initiators, trace
from tests.answers.conftest import story_store
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store, sql_rows

STORY = FIXTURES / "stories" / "exec-session"
SCHEMA = json.loads((ROOT / "contract" / "ask-trace.schema.json").read_text())


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("trace") / "k.duckdb", "exec-session")


def event_id(db: Path, where: str) -> str:
    store = open_test_store(db, read_only=True)
    rows = sql_rows(store, f"SELECT id FROM events WHERE {where}")
    store.close()
    assert len(rows) == 1, where
    return str(rows[0][0])


def ask(db: Path, eid: str) -> dict[str, Any]:
    store = open_test_store(db, read_only=True)
    try:
        doc = trace(store, eid)
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_the_shell_is_attributed_to_alice_by_ancestry(db: Path) -> None:
    doc = ask(db, event_id(db, "source = 'tetragon' AND \"binary\" = '/bin/sh'"))
    initiator = doc["initiator"]
    assert (initiator["type"], initiator["user"], initiator["strength"]) == ("kubectl-exec", "alice@example.com", "ancestry")
    exec_call = event_id(db, "stage = 'ResponseStarted'")
    assert initiator["evidence"] == [exec_call, doc["event"]]
    assert [s["source"] for s in doc["chain"]] == ["k8s_audit", "tetragon"]


def test_a_background_child_connecting_out_after_the_session_ended_is_still_alices(db: Path) -> None:
    doc = ask(db, event_id(db, "kind = 'network_flow' AND source = 'tetragon'"))
    assert doc["initiator"]["user"] == "alice@example.com" and doc["initiator"]["strength"] == "ancestry"
    assert [s["summary"].split()[1] for s in doc["chain"][1:4]] == ["/bin/sh", "/usr/bin/nohup", "/tmp/xmrig"]
    assert doc["chain"][-1]["kind"] == "network_flow" and doc["gaps"] == []


def test_the_apps_own_process_during_the_session_has_no_initiator(db: Path) -> None:
    doc = ask(db, event_id(db, "\"binary\" = '/usr/bin/wget'"))
    assert doc["initiator"] is None and len(doc["chain"]) == 1


def test_falco_alert_stamped_before_the_exec_is_attributed_by_time_window(db: Path) -> None:
    doc = ask(db, event_id(db, "source = 'falco'"))
    assert (doc["initiator"]["user"], doc["initiator"]["strength"]) == ("alice@example.com", "time-window")
    assert any("falco reports no process ancestry" in g for g in doc["gaps"])


def test_an_api_call_is_initiated_by_its_caller(db: Path) -> None:
    doc = ask(db, event_id(db, "stage = 'ResponseComplete'"))
    assert (doc["initiator"]["type"], doc["initiator"]["user"], doc["initiator"]["strength"]) == (
        "api-call",
        "alice@example.com",
        "token",
    )


@on_duckdb_only
def test_unknown_ids_are_reported(db: Path) -> None:
    store = open_test_store(db, read_only=True)
    with pytest.raises(UnknownEvent):
        trace(store, "nope")
    store.close()
    out = subprocess.run(
        [sys.executable, "-m", "kubetrail", "ask", "trace", "nope", "--db", str(db), "-o", "json"],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 1 and json.loads(out.stdout)["error"]["code"] == "not_found"


@pytest.fixture(scope="module")
def http_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("http") / "k.duckdb", "http-exploit")


def test_a_shell_the_app_spawned_while_serving_a_request_is_tied_to_that_request(http_db: Path) -> None:
    doc = ask(http_db, event_id(http_db, "\"binary\" = '/usr/bin/curl'"))
    initiator = doc["initiator"]
    assert (initiator["type"], initiator["end_user"], initiator["route"]) == (
        "http-request",
        "mallory@example.net",
        "/api/upload",
    )
    assert (initiator["trace_id"], initiator["span_id"], initiator["strength"]) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "time-window",
    )
    assert [s["kind"] for s in doc["chain"]] == ["span", "process_exec", "process_exec"]  # the request, the shell, curl
    assert any("no trace context" in g for g in doc["gaps"])


def test_an_http_flow_with_trace_context_names_its_request(http_db: Path) -> None:
    doc = ask(http_db, event_id(http_db, "kind = 'http'"))
    assert (doc["initiator"]["strength"], doc["initiator"]["route"]) == ("trace-context", "/api/upload")
    assert doc["initiator"]["span_id"] == "b7ad6b7169203331"  # the server span, not the flow's parent id


def test_the_apps_own_later_process_is_not_tied_to_any_request(http_db: Path) -> None:
    assert ask(http_db, event_id(http_db, "args = 'scripts/cleanup.js'"))["initiator"] is None


@pytest.fixture(scope="module")
def all_stories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stories = sorted(p.name for p in (FIXTURES / "stories").iterdir() if p.is_dir())
    return story_store(tmp_path_factory.mktemp("all") / "k.duckdb", *stories)


def test_initiators_of_many_events_at_once_are_each_events_own_trace(all_stories: Path) -> None:
    """What initiators() reads for all the events at once (ancestries, sessions, spans) is
    each one's, as a trace of that event alone finds it: nothing mixed up between events. A
    third of the sensors' events (a trace each costs some 50 ms on chDB), with every Falco alert,
    flow with trace context and event of a pod that served requests."""
    store = open_test_store(all_stories, read_only=True)
    try:
        served = "SELECT pod_name FROM events WHERE kind = 'span' AND pod_name IS NOT NULL"
        rare = f"source = 'falco' OR trace_id IS NOT NULL OR coalesce(pod_name IN ({served}), false)"
        sensed = f"SELECT id, {rare} FROM events WHERE source IN ('tetragon', 'falco', 'hubble')"
        rows = sorted(sql_rows(store, sensed))
        ids = [str(i) for n, (i, rare) in enumerate(rows) if rare or n % 3 == 0]
        found = initiators(store, ids)
        alone = {i: trace(store, i)["initiator"] for i in ids}
    finally:
        store.close()
    assert found == alone
    kinds = {(d["type"], d["strength"]) for d in found.values() if d}
    assert {("kubectl-exec", "ancestry"), ("kubectl-exec", "time-window"), ("http-request", "time-window")} <= kinds
