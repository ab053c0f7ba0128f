"""`kubetrail who` on a multi-source story: a pod's IP reused by its replacement."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from kubetrail.answers.who import who
from kubetrail.timeutil import parse_rfc3339
from tests.answers.conftest import story_store
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store, run_cli

STORY = FIXTURES / "stories" / "ip-reuse"
SCHEMA = json.loads((ROOT / "contract" / "who.schema.json").read_text())
OLD, NEW = "shop/cart-6d4f9b7c8d-k2x9p", "shop/cart-6d4f9b7c8d-7hq4z"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("who") / "k.duckdb", "ip-reuse", cluster="shop-prod")


def ask(db: Path, ip: str, at: str) -> dict[str, object]:
    store = open_test_store(db, read_only=True)
    try:
        doc = who(store, ip, parse_rfc3339(at))
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def holder_pod(doc: dict[str, object]) -> object:
    holder = doc["holder"]
    return holder["pod"] if isinstance(holder, dict) else None


def test_the_ip_resolves_to_the_pod_that_held_it_then(db: Path) -> None:
    assert holder_pod(ask(db, "10.244.2.17", "2026-11-28T09:10:00Z")) == OLD
    assert holder_pod(ask(db, "10.244.2.17", "2026-11-28T09:35:00Z")) == NEW


def test_the_interval_runs_from_creation_to_deletion(db: Path) -> None:
    doc = ask(db, "10.244.2.17", "2026-11-28T09:10:00Z")
    assert doc["holder"] == doc["history"][0]  # type: ignore[index]
    holder = doc["holder"]
    assert isinstance(holder, dict)
    assert (holder["from"], holder["to"]) == ("2026-11-28T08:00:00.000000000Z", "2026-11-28T09:30:00.000000000Z")
    assert holder["pod_uid"] == "0f6d2c9a-3b1e-4f7a-9c8d-5e4b3a2f1c0d"
    assert [h["pod"] for h in doc["history"]] == [OLD, NEW]  # type: ignore[attr-defined]


def test_between_deletion_and_the_next_creation_nobody_held_it(db: Path) -> None:
    assert ask(db, "10.244.2.17", "2026-11-28T09:30:30Z")["holder"] is None


def test_an_old_event_is_not_given_the_current_holder(db: Path) -> None:
    assert ask(db, "10.244.2.17", "2026-11-28T07:00:00Z")["holder"] is None


def test_an_ip_seen_only_in_flows_is_unknown_in_the_gap_between_pods(db: Path) -> None:
    assert holder_pod(ask(db, "10.244.3.9", "2026-11-28T09:02:00Z")) == "shop/search-7f9c8d6b5a-abcde"
    assert ask(db, "10.244.3.9", "2026-11-28T09:10:00Z")["holder"] is None
    assert holder_pod(ask(db, "10.244.3.9", "2026-11-28T09:25:00Z")) == "shop/search-7f9c8d6b5a-fghij"


def test_a_service_ip_resolves_to_the_service(db: Path) -> None:
    holder = ask(db, "10.96.40.12", "2026-11-28T09:00:00Z")["holder"]
    assert isinstance(holder, dict)
    assert (holder["scope"], holder["service"], holder["pod"]) == ("service", "shop/cart", None)


@on_duckdb_only
def test_cli_prints_the_contract_document_and_rejects_bad_input(db: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return run_cli("who", *args, "-o", "json", db=db)

    latest = cli("10.244.3.9", "--at", "latest")
    assert latest.returncode == 0, latest.stderr
    doc = json.loads(latest.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["at"] == "2026-11-28T09:45:00.250000000Z"  # the newest stored event
    for bad in (("not-an-ip",), ("10.0.0.1", "--at", "yesterday")):
        out = cli(*bad)
        assert out.returncode == 2 and json.loads(out.stdout)["error"]["code"] == "usage"
