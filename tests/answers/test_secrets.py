"""`kubetrail ask secrets` on a story with a known answer: bound and legacy tokens, a person
denied, a two-stage watch, a read before the window and a call no pod can be tied to."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.answers.secrets import Query, secrets
from kubetrail.answers.window import Window
from kubetrail.timeutil import parse_rfc3339
from tests.answers.conftest import story_store
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store, run_cli

STORY = FIXTURES / "stories" / "secrets"
SCHEMA = json.loads((ROOT / "contract" / "ask-secrets.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T10:00:00Z"), parse_rfc3339("2026-11-28T10:30:00Z"))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("secrets") / "k.duckdb", "secrets")


def ask(db: Path, **kw: Any) -> dict[str, Any]:
    store = open_test_store(db, read_only=True)
    try:
        doc = secrets(store, Query(kw.pop("window", WINDOW), **kw))
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_one_row_per_actor_and_pod_most_recent_first(db: Path) -> None:
    rows = ask(db)["rows"]
    assert [(r["actor"], r["pod"], r["attribution"]) for r in rows] == [
        ("system:serviceaccount:cert-manager:cert-manager", "cert-manager/cert-manager-6d7f8b9c4d-p9q8r", "bound-token"),
        ("alice@example.com", None, "none"),
        ("system:serviceaccount:ci:deployer", None, "none"),
        ("system:serviceaccount:ci:deployer", "ci/runner-5f6d7c8b9a-q7w8e", "source-ip"),
        ("system:serviceaccount:payments:api", "payments/api-7d9c6b5f8-x2k4j", "bound-token"),
    ]


def test_bound_token_row_lists_the_secrets_and_excludes_reads_before_the_window(db: Path) -> None:
    api = ask(db)["rows"][-1]
    assert api["secrets"] == ["payments/db-creds", "payments/stripe-key"]
    assert (api["count"], api["evidence_total"], len(api["evidence"])) == (2, 2, 2)  # the 09:00 read is outside
    assert (api["first_seen"], api["last_seen"]) == ("2026-11-28T10:05:00.000000000Z", "2026-11-28T10:06:00.000000000Z")
    assert api["pod_uid"] == "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f" and api["service_account"] == "payments/api"


def test_wildcards_denials_and_the_two_stages_of_a_watch(db: Path) -> None:
    rows = {(r["actor"], r["pod"]): r for r in ask(db)["rows"]}
    watch = rows[("system:serviceaccount:cert-manager:cert-manager", "cert-manager/cert-manager-6d7f8b9c4d-p9q8r")]
    assert (watch["secrets"], watch["verbs"], watch["count"]) == (["*/*"], ["watch"], 1)
    alice = rows[("alice@example.com", None)]
    assert (alice["secrets"], alice["denied"], alice["service_account"]) == (["kube-system/*"], 1, None)
    assert rows[("system:serviceaccount:ci:deployer", "ci/runner-5f6d7c8b9a-q7w8e")]["secrets"] == ["ci/*"]


def test_a_call_no_pod_can_be_tied_to_is_reported_as_a_gap(db: Path) -> None:
    gaps = ask(db)["gaps"]
    assert len(gaps) == 1 and "10.244.9.9" in gaps[0] and "ci:deployer" in gaps[0]


def test_filters_by_namespace_and_pod(db: Path) -> None:
    assert {r["actor"] for r in ask(db, namespace="ci")["rows"]} == {"system:serviceaccount:ci:deployer"}
    only = ask(db, pod="ci/runner-5f6d7c8b9a-q7w8e")["rows"]
    assert [r["attribution"] for r in only] == ["source-ip"]


def test_pages_follow_the_cursor_to_the_end(db: Path) -> None:
    first = ask(db, limit=2)
    assert (len(first["rows"]), first["truncated"]) == (2, True)
    second = ask(db, limit=2, cursor=first["next"])
    third = ask(db, limit=2, cursor=second["next"])
    assert (len(third["rows"]), third["truncated"], third["next"]) == (1, False, None)
    assert first["rows"] + second["rows"] + third["rows"] == ask(db)["rows"]


def test_a_window_without_audit_events_says_so(db: Path) -> None:
    empty = Window(parse_rfc3339("2026-11-27T00:00:00Z"), parse_rfc3339("2026-11-27T01:00:00Z"))
    doc = ask(db, window=empty)
    assert doc["rows"] == [] and "no k8s_audit events in the window" in doc["gaps"][0]
    assert "2026-11-28T10:21:00" in doc["gaps"][0]  # names the newest audit event


@on_duckdb_only
def test_cli_answers_with_the_envelope_and_rejects_bad_flags(db: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return run_cli("ask", "secrets", *args, "-o", "json", db=db)

    out = cli("--at", "2026-11-28T10:30:00Z", "--since", "30m")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["window"] == {"since": "2026-11-28T10:00:00.000000000Z", "until": "2026-11-28T10:30:00.000000000Z"}
    assert len(doc["rows"]) == 5
    quiet = cli("--at", "2026-11-27T10:30:00Z")
    assert quiet.returncode == 0 and "no events at all" in quiet.stderr.decode()
    for bad in (["--since", "yesterday"], ["--cursor", "bogus"], ["--pod", "no-namespace"], ["--since", "1h", "--until", "2h"]):
        err = cli(*bad)
        assert err.returncode == 2, (bad, err.stdout)
        assert json.loads(err.stdout)["error"]["code"] == "usage"


@on_duckdb_only
def test_an_address_held_under_another_cluster_name_is_explained_with_the_fix(tmp_path: Path) -> None:
    # The audit log ingested alone ('default'), the pod snapshot under --cluster shop-prod: one
    # cluster under two names. The call from the CI runner's address cannot be tied to its pod in
    # 'default', and the gap says where the address was held and how to join the names.
    db = tmp_path / "split.duckdb"
    assert run_cli("ingest", str(STORY / "audit.log"), "-o", "json", db=db).returncode == 0
    assert run_cli("ingest", str(STORY / "pods.json"), "--cluster", "shop-prod", "-o", "json", db=db).returncode == 0
    gaps = ask(db)["gaps"]
    assert (
        "calls by system:serviceaccount:ci:deployer from 10.244.2.50 could not be tied to a pod: no bound token and no known "
        "holder of 10.244.2.50 then; ci/runner-5f6d7c8b9a-q7w8e held it in cluster shop-prod then: if default and shop-prod "
        "are one cluster, run `kubetrail clusters merge default shop-prod`"
    ) in gaps
    assert run_cli("clusters", "merge", "default", "shop-prod", db=db).returncode == 0
    pods = {r["pod"] for r in ask(db)["rows"] if r["actor"] == "system:serviceaccount:ci:deployer"}
    assert "ci/runner-5f6d7c8b9a-q7w8e" in pods
