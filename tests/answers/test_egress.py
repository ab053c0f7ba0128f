"""`kubetrail ask egress` on a story: a pod with two days of ordinary traffic (Redis, DynamoDB by
name), then an hour with a new mining pool, a known service at a new address, a VPC database, the
metadata endpoint, the API server, kube-dns and a dropped connection; a reply from the pool."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.answers.egress import Query, egress
from kubetrail.answers.window import Window
from kubetrail.identity.workloads import workload_key
from kubetrail.timeutil import NS, parse_rfc3339
from tests.answers.conftest import story_store
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store, run_cli

STORY = FIXTURES / "stories" / "egress"
SCHEMA = json.loads((ROOT / "contract" / "ask-egress.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T10:00:00Z"), parse_rfc3339("2026-11-28T11:00:00Z"))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("egress") / "k.duckdb", "egress", cluster="shop-prod")


def ask(db: Path, **kw: Any) -> dict[str, Any]:
    store = open_test_store(db, read_only=True)
    try:
        doc = egress(store, Query(kw.pop("window", WINDOW), **kw))
    finally:
        store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def by_ip(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["destination_ip"]: r for r in doc["rows"]}


def test_destinations_are_classified_as_of_the_flow(db: Path) -> None:
    rows = by_ip(ask(db))
    got = {ip: (r["destination_scope"], r["external"]) for ip, r in rows.items()}
    assert got == {
        "10.244.1.30": ("pod", False),
        "52.94.2.20": ("public", True),
        "198.51.100.23": ("public", True),
        "10.96.0.10": ("service", False),
        "169.254.169.254": ("link-local", False),
        "10.0.7.7": ("private", False),
        "10.96.0.1": ("apiserver", False),
        "203.0.113.99": ("public", True),
    }
    assert rows["10.244.1.30"]["destination_pod"] == "shop/redis-0"


def test_novelty_is_judged_against_the_workloads_baseline_by_address_and_name(db: Path) -> None:
    rows = by_ip(ask(db))
    assert rows["10.244.1.30"]["new"] is False  # Redis, every half hour for two days
    assert rows["52.94.2.20"]["new"] is False  # a new address, but of a name the workload always used
    assert rows["52.94.2.20"]["destination_names"] == ["dynamodb.eu-west-1.amazonaws.com"]
    pool = rows["198.51.100.23"]
    assert (pool["new"], pool["destination_names"], pool["flows"], pool["port"]) == (True, ["pool.example.net"], 2, 3333)


def test_replies_are_not_connections_and_order_is_new_first_then_most_recent(db: Path) -> None:
    doc = ask(db)
    assert all(r["pod"] == "shop/cart-6d4f9b7c8d-7hq4z" for r in doc["rows"])  # the pool's reply opened nothing
    flags = [r["new"] for r in doc["rows"]]
    assert flags == sorted(flags, reverse=True)
    new = [r["last_seen"] for r in doc["rows"] if r["new"]]
    assert new == sorted(new, reverse=True) and doc["rows"][0]["destination_ip"] == "203.0.113.99"
    assert doc["rows"][0]["verdicts"] == ["DROPPED"]


def test_filters_external_new_and_destination(db: Path) -> None:
    assert set(by_ip(ask(db, external=True, new=True))) == {"198.51.100.23", "203.0.113.99"}
    assert set(by_ip(ask(db, destination="example.net"))) == {"198.51.100.23"}
    assert set(by_ip(ask(db, destination="10.96.0.0/16"))) == {"10.96.0.10", "10.96.0.1"}


def test_an_address_without_a_holder_and_a_short_baseline_are_gaps(db: Path) -> None:
    assert ask(db)["gaps"] == ["10.0.7.7 had no known holder when shop/cart-6d4f9b7c8d-7hq4z connected to it"]
    short = ask(db, baseline_ns=3600 * NS)
    assert not any(r["new"] for r in short["rows"])
    assert any("too short to judge novelty" in g for g in short["gaps"])


def test_workloads_are_named_from_pod_names_when_the_sensor_does_not_say() -> None:
    assert workload_key("shop", "cart-6d4f9b7c8d-7hq4z", None) == "shop/cart"
    assert workload_key("kube-system", "cilium-7xk2p", None) == "kube-system/cilium"
    assert workload_key("shop", "redis-0", None) == "shop/redis"
    assert workload_key("shop", "debug", None) == "shop/debug"
    assert workload_key("shop", "x", "Deployment/cart") == workload_key("shop", "x", "cart") == "shop/cart"


@on_duckdb_only
def test_cli(db: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return run_cli("ask", "egress", *args, "-o", "json", db=db)

    out = cli("--at", "2026-11-28T11:00:00Z", "--external", "--new")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert {r["destination_ip"] for r in doc["rows"]} == {"198.51.100.23", "203.0.113.99"}
    bad = cli("--internal-cidr", "10.0.0.0/99")
    assert bad.returncode == 2 and "not a CIDR" in json.loads(bad.stdout)["error"]["message"]
