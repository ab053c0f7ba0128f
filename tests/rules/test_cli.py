"""`kubetrail rules list|test|rebuild`, and `--rules` changing what the answers report, through the
real command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrail.rules import builtin
from tests.answers.conftest import story_store
from tests.conftest import ROOT, run_cli

LIST_SCHEMA = json.loads((ROOT / "contract" / "rules-list.schema.json").read_text())
TEST_SCHEMA = json.loads((ROOT / "contract" / "rules-test.schema.json").read_text())
WINDOW = ("--since", "1h", "--at", "2026-11-28T11:00:00Z")
# A team's own rule: its service accounts must not read ConfigMaps (the actor story's cart does).
CONFIGMAPS = """rules:
  - id: shop-configmap-read
    title: A shop service account read a ConfigMap
    severity: high
    techniques: [T1552.007]
    class: api_calls
    condition:
      resource: configmaps
      verb: get
      actor: {wildcard: 'system:serviceaccount:shop:*'}
    reason: 'read configmaps in {namespace}'
"""
# The built-in `k8s-denied`, tuned: only 403s, and high.
DENIED = """rules:
  - id: k8s-denied
    title: Forbidden
    severity: high
    class: api_calls
    condition: {code: 403}
    reason: 'forbidden ({code})'
"""


def json_of(args: list[str], db: Path | None = None, status: int = 0) -> Any:
    done = run_cli(*args, "-o", "json", db=db)
    assert done.returncode == status, done.stderr.decode()
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_store(tmp_path_factory.mktemp("rules") / "k.duckdb", "actor")


def rules_dir(tmp_path: Path, *texts: str) -> Path:
    folder = tmp_path / "my-rules"
    folder.mkdir(exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"{i}.yaml").write_text(text)
    return folder


def test_the_builtin_rules_pass_their_own_tests() -> None:
    doc = json_of(["rules", "test"])
    jsonschema.validate(doc, TEST_SCHEMA)
    assert doc["failures"] == [] and doc["untested"] == []
    assert doc["rules"] == len(builtin().rules)
    assert doc["records"] == sum(len(r.matches) + len(r.no_matches) for r in builtin().rules)


def test_a_wrong_inline_test_fails_naming_the_record(tmp_path: Path) -> None:
    record = (ROOT / "tests" / "fixtures" / "stories" / "actor" / "audit.log").read_text().splitlines()[1]  # list pods
    text = CONFIGMAPS + f"    tests:\n      match:\n        - source: k8s_audit\n          record: {record}\n"
    folder = rules_dir(tmp_path, text)
    doc = json_of(["rules", "test", str(folder)], status=1)
    jsonschema.validate(doc, TEST_SCHEMA)
    assert json.loads(record)["objectRef"]["resource"] != "configmaps"
    assert doc["failures"] == [
        f"{folder / '0.yaml'}:14: rule shop-configmap-read: the record must match, and the rule does not match it"
    ]
    assert doc["untested"] == [
        f"{folder / '0.yaml'}:2: rule shop-configmap-read: needs a record that must match and one that must not"
    ]


def test_records_copied_from_one_another_are_each_judged(tmp_path: Path) -> None:
    # The same audit ID, once get and once list: the store keeps the second as a conflict.
    get = (ROOT / "tests" / "fixtures" / "stories" / "actor" / "audit.log").read_text().splitlines()[0]
    listed = get.replace('"verb":"get"', '"verb":"list"')
    assert json.loads(get)["auditID"] == json.loads(listed)["auditID"] and get != listed
    tests = f"    tests:\n      match: [{{source: k8s_audit, record: {get}}}]\n"
    tests += f"      no_match: [{{source: k8s_audit, record: {listed}}}]\n"
    doc = json_of(["rules", "test", str(rules_dir(tmp_path, CONFIGMAPS + tests))])
    assert (doc["rules"], doc["records"], doc["failures"]) == (1, 2, [])


def test_a_threshold_rules_records_are_judged_together(tmp_path: Path) -> None:
    first = json.loads((ROOT / "tests" / "fixtures" / "stories" / "actor" / "audit.log").read_text().splitlines()[0])

    def reads(n: int) -> str:
        copies = [first | {"auditID": f"burst-{n}-{i}", "requestReceivedTimestamp": f"2026-11-28T10:0{i}:00.000000Z",
                           "stageTimestamp": f"2026-11-28T10:0{i}:00.100000Z"} for i in range(n)]  # fmt: skip
        return "[" + ", ".join(f"{{source: k8s_audit, record: {json.dumps(c)}}}" for c in copies) + "]"

    rule = CONFIGMAPS.replace("    reason:", "    threshold: {count: 3, by: [actor], within: 5m}\n    reason:")
    passing = rule + f"    tests:\n      match: {reads(3)}\n      no_match: {reads(2)}\n"
    assert json_of(["rules", "test", str(rules_dir(tmp_path, passing))])["failures"] == []
    wrong = rule + f"    tests:\n      match: {reads(2)}\n      no_match: {reads(3)}\n"
    failures = json_of(["rules", "test", str(rules_dir(tmp_path, wrong))], status=1)["failures"]
    assert [f.split(": ", 1)[1] for f in failures] == [
        "rule shop-configmap-read: the match records together must make it fire, and they do not",
        "rule shop-configmap-read: the no_match records together must not, and they do",
    ]


def test_list_shows_where_each_rule_came_from_and_what_the_store_covers(tmp_path: Path, db: Path) -> None:
    folder = rules_dir(tmp_path, CONFIGMAPS, DENIED)
    doc = json_of(["rules", "list", "--rules", str(folder)], db=db)
    jsonschema.validate(doc, LIST_SCHEMA)
    rows = {r["id"]: r for r in doc["rules"]}
    assert len(rows) == len(builtin().rules) + 1
    assert (rows["k8s-denied"]["builtin"], rows["k8s-denied"]["overrides_builtin"], rows["k8s-denied"]["covered"]) == (
        False,
        True,
        False,
    )
    assert rows["k8s-denied"]["origin"] == f"{folder / '1.yaml'}:2"
    assert (rows["shop-configmap-read"]["overrides_builtin"], rows["shop-configmap-read"]["covered"]) == (False, False)
    assert all(r["covered"] for r in rows.values() if r["builtin"])
    without_store = json_of(["rules", "list"], db=tmp_path / "none.duckdb")
    assert without_store["db"] is None and {r["covered"] for r in without_store["rules"]} == {None}
    assert "no store at" in without_store["notes"][0]


def test_user_rules_change_what_incidents_and_ask_actor_report(tmp_path: Path, db: Path) -> None:
    folder = rules_dir(tmp_path, CONFIGMAPS, DENIED)
    before = json_of(["ask", "actor", "--sa", "shop/cart", *WINDOW], db=db)["rows"]
    after = json_of(["ask", "actor", "--sa", "shop/cart", *WINDOW, "--rules", str(folder)], db=db)["rows"]
    assert before[0]["reasons"] == [] and after[0]["reasons"] == ["read configmaps in shop"]
    assert "denied (403)" in before[2]["reasons"]
    assert after[2]["reasons"][0] == "forbidden (403)" and "denied (403)" not in after[2]["reasons"]
    told = json_of(["incidents", *WINDOW, "--rules", str(folder)], db=db)["rows"]
    steps = [s["summary"] for row in told for s in row["steps"]]
    assert "system:serviceaccount:shop:cart get configmaps shop/cart-config (200): read configmaps in shop" in steps
    assert not any("read configmaps" in s for row in json_of(["incidents", *WINDOW], db=db)["rows"] for s in row["steps"])


def test_rebuild_covers_the_active_rules_and_answers_do_not_change(tmp_path: Path) -> None:
    db = story_store(tmp_path / "k.duckdb", "actor")
    folder = rules_dir(tmp_path, CONFIGMAPS)
    asked = ["ask", "actor", "--sa", "shop/cart", *WINDOW, "--rules", str(folder)]
    scanned = json_of(asked, db=db)
    rebuilt = json_of(["rules", "rebuild", "--rules", str(folder)], db=db)
    assert rebuilt["rules"] == len(builtin().rules) + 1 and rebuilt["candidates"]["api_calls"] > 0
    rows = json_of(["rules", "list", "--rules", str(folder)], db=db)["rules"]
    assert all(r["covered"] for r in rows)
    assert json_of(asked, db=db) == scanned


def test_a_wrong_rule_file_stops_the_command_with_its_file_and_line(tmp_path: Path, db: Path) -> None:
    folder = rules_dir(tmp_path, CONFIGMAPS.replace("verb: get", "verbs: get"))
    doc = json_of(["incidents", *WINDOW, "--rules", str(folder)], db=db, status=1)
    assert doc["error"]["code"] == "rules"
    assert doc["error"]["message"].startswith(f"{folder / '0.yaml'}:9: rule shop-configmap-read: 'verbs' is not a field")
