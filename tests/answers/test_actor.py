"""`kubetrail ask actor` on a story: a service account with two days of ordinary history, then
an hour of enumeration, a denied secrets list, an RBAC write, its token used from another pod's
address, an exec, and a person impersonating it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.answers.actor import Query, actor, service_account_user
from kubetrail.answers.window import Window
from kubetrail.timeutil import NS, parse_rfc3339
from tests.answers.conftest import story_store
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store, run_cli

STORY = FIXTURES / "stories" / "actor"
SCHEMA = json.loads((ROOT / "contract" / "ask-actor.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T10:00:00Z"), parse_rfc3339("2026-11-28T11:00:00Z"))
CART = "system:serviceaccount:shop:cart"
KUBECTL = "user agent 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46' not seen for this account in its baseline"


def never(action: str) -> str:
    return f"{action} never done by this account in its baseline"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("actor") / "k.duckdb", "actor")


def ask(db: Path, **kw: Any) -> dict[str, Any]:
    store = open_test_store(db, read_only=True)
    try:
        doc = actor(store, Query(kw.pop("window", WINDOW), kw.pop("actor", CART), **kw))
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_every_call_in_time_order_with_its_reasons(db: Path) -> None:
    rows = ask(db)["rows"]
    got = [(r["time"][11:19], r["verb"], r["resource"], r["suspicious"], r["reasons"]) for r in rows]
    assert got == [
        ("10:05:00", "get", "configmaps", False, []),
        ("10:10:00", "create", "selfsubjectrulesreviews", True,
         ["permission enumeration", KUBECTL, never("create selfsubjectrulesreviews")]),
        ("10:11:00", "list", "secrets", True,
         ["denied (403)", "listed or watched secrets", "secrets outside its own namespace", KUBECTL,
          never("list secrets")]),
        ("10:12:00", "create", "clusterrolebindings", True,
         ["RBAC write (create clusterrolebindings)", KUBECTL, never("create clusterrolebindings")]),
        ("10:20:00", "get", "configmaps", True,
         ["bound token of shop/cart-6d4f9b7c8d-7hq4z used from 10.244.3.9, held by shop/search-7f9c8d6b5a-fghij at the time"]),
        ("10:25:00", "create", "pods", True, ["exec into a pod", KUBECTL, never("create pods/exec")]),
        ("10:30:00", "get", "configmaps", True, [KUBECTL]),
    ]  # fmt: skip


def test_calls_are_tied_to_the_pod_of_the_bound_token_and_impersonation_is_named(db: Path) -> None:
    rows = ask(db)["rows"]
    assert {(r["pod"], r["attribution"]) for r in rows[:6]} == {("shop/cart-6d4f9b7c8d-7hq4z", "bound-token")}
    last = rows[-1]
    assert (last["impersonated_by"], last["pod"], last["attribution"], last["source_ips"]) == (
        "alice@example.com",
        None,
        "none",
        ["203.0.113.7"],
    )
    assert rows[0]["subresource"] is None and rows[5]["subresource"] == "exec"


def test_the_impersonator_sees_the_impersonated_call_too(db: Path) -> None:
    rows = ask(db, actor="alice@example.com")["rows"]
    assert [(r["verb"], r["impersonated_by"]) for r in rows] == [("get", "alice@example.com")]


def test_without_enough_history_only_rules_decide_and_a_gap_says_so(db: Path) -> None:
    doc = ask(db, baseline_ns=3600 * NS)
    assert "too short to judge" in doc["gaps"][0]
    assert doc["rows"][0]["reasons"] == [] and doc["rows"][-1]["suspicious"] is False


@on_duckdb_only
def test_service_account_names_and_cli_usage(db: Path) -> None:
    assert service_account_user("shop/cart") == CART
    with pytest.raises(ValueError, match="NAMESPACE/NAME"):
        service_account_user("cart")

    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return run_cli("ask", "actor", *args, "-o", "json", db=db)

    out = cli("--sa", "shop/cart", "--at", "2026-11-28T11:00:00Z")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["rows"]) == 7
    for bad in ([], ["alice@example.com", "--sa", "shop/cart"], ["--sa", "cart"], ["--sa", "shop/cart", "--baseline", "forever"]):
        err = cli(*bad)
        assert err.returncode == 2 and json.loads(err.stdout)["error"]["code"] == "usage", bad


def test_pages_cut_in_the_store_follow_the_cursor(db: Path) -> None:
    full = ask(db)["rows"]
    first = ask(db, limit=3)
    second = ask(db, limit=3, cursor=first["next"])
    third = ask(db, limit=3, cursor=second["next"])
    assert (first["truncated"], second["truncated"], third["truncated"], third["next"]) == (True, True, False, None)
    assert first["rows"] + second["rows"] + third["rows"] == full
    assert [r["time"] for r in ask(db, limit=3, pod="shop/cart-6d4f9b7c8d-7hq4z")["rows"]] == [r["time"] for r in full[:3]]
