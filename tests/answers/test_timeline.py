"""`kubetrail timeline`: the steps touching a pod or an actor, by time."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.answers.timeline import Query, timeline
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.timeutil import parse_rfc3339
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store

SCHEMA = json.loads((ROOT / "contract" / "timeline.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T09:00:00Z"), parse_rfc3339("2026-11-28T11:00:00Z"))
POD = "payments/api-7d9c6b5f8-x2k4j"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("timeline") / "k.duckdb"
    store = open_test_store(path)
    ingest(
        store, list(expand_paths([str(FIXTURES / "stories" / "exec-session"), str(FIXTURES / "stories" / "secrets")])), Options()
    )
    store.close()
    return path


def ask(db: Path, **kw: Any) -> dict[str, Any]:
    store = open_test_store(db, read_only=True)
    try:
        doc = timeline(store, Query(kw.pop("window", WINDOW), **kw))
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_a_pods_steps_from_every_source_in_time_order(db: Path) -> None:
    steps = ask(db, pod=POD)["rows"]
    # Falco's shell alert; the exec (two stages) and four calls with the pod's bound token (the
    # secrets story uses the same pod); six Tetragon events (the app's start at 08:00 is outside).
    assert Counter(s["source"] for s in steps) == {"falco": 1, "k8s_audit": 6, "tetragon": 6}
    assert [s["time"] for s in steps] == sorted(s["time"] for s in steps)
    assert [s["kind"] for s in steps if s["source"] == "tetragon"][-1] == "network_flow"


def test_a_pod_named_by_a_bound_token_and_an_actor(db: Path) -> None:
    secrets_story_pod = ask(
        db,
        pod="payments/api-7d9c6b5f8-x2k4j",
        window=Window(parse_rfc3339("2026-11-28T10:04:00Z"), parse_rfc3339("2026-11-28T10:07:00Z")),
    )
    assert [s["kind"] for s in secrets_story_pod["rows"]] == ["api_call", "api_call"]  # its token read two Secrets
    alice = ask(db, actor="alice@example.com")["rows"]
    assert {s["source"] for s in alice} == {"k8s_audit"} and len(alice) == 3  # two stages of the exec, one denied list


@on_duckdb_only
def test_one_entity_is_required_and_an_empty_answer_says_so(db: Path) -> None:
    with pytest.raises(ValueError, match="one entity"):
        ask(db)
    assert ask(db, actor="nobody@example.com")["gaps"] == ["nothing touched nobody@example.com in the window"]
    out = subprocess.run([sys.executable, "-m", "kubetrail", "timeline", "--sa", "payments/api", "--at", "2026-11-28T11:00:00Z",
                          "--db", str(db), "-o", "json"], capture_output=True, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["rows"]) == 4  # the default 24 h holds all four calls of payments/api


def test_pages_are_cut_in_the_store_and_follow_the_cursor(db: Path) -> None:
    full = ask(db, pod=POD)["rows"]
    pages, cursor = [], None
    while True:
        doc = ask(db, pod=POD, limit=4, cursor=cursor)
        pages += doc["rows"]
        cursor = doc["next"]
        assert doc["truncated"] is (cursor is not None)
        if cursor is None:
            break
    assert pages == full and len(full) == 13


@on_duckdb_only
def test_an_incidents_timeline_is_its_steps_by_time_page_by_page(db: Path) -> None:
    from kubetrail.answers.requests import UsageError, answer

    store = open_test_store(db, read_only=True)
    try:
        window = {"since": "2h", "at": "2026-11-28T11:00:00Z"}
        (incident,) = answer("incidents", store, window)["rows"]
        whole = answer("timeline", store, {"incident": incident["id"], **window})
        first = answer("timeline", store, {"incident": incident["id"], "limit": 2, **window})
        rest = answer("timeline", store, {"incident": incident["id"], "cursor": first["next"], **window})
        with pytest.raises(UsageError, match="one entity"):
            answer("timeline", store, {"incident": incident["id"], "pod": POD, **window})
    finally:
        store.close()
    jsonschema.validate(whole, SCHEMA)
    assert whole["rows"] == incident["steps"] == first["rows"] + rest["rows"] and len(first["rows"]) == 2
    assert [s["time"] for s in whole["rows"]] == sorted(s["time"] for s in whole["rows"])
    out = subprocess.run([sys.executable, "-m", "kubetrail", "timeline", "--incident", incident["id"], "--at",
                          "2026-11-28T11:00:00Z", "--db", str(db), "-o", "json"], capture_output=True, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"] == incident["steps"]


def test_an_actor_who_impersonated_sees_the_call_made_as_someone_else(tmp_path: Path) -> None:
    # alice@example.com read a ConfigMap impersonating system:serviceaccount:shop:cart: the call
    # is on both timelines, alice's as the impersonator's (her only call in that story).
    db = tmp_path / "k.duckdb"
    store = open_test_store(db)
    ingest(store, list(expand_paths([str(FIXTURES / "stories" / "actor")])), Options())
    store.close()
    alice = ask(db, actor="alice@example.com")["rows"]
    as_cart = ask(db, actor="system:serviceaccount:shop:cart")["rows"]
    assert [s["summary"] for s in alice] == [s["summary"] for s in as_cart if s["id"] == alice[0]["id"]]
    assert len(alice) == 1 and "configmaps" in alice[0]["summary"]
