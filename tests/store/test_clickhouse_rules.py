"""Rules on ClickHouse (chDB, store/clickhouse_rules.py) match what they match on DuckDB: the
built-in rules' inline test records, and the rows of rule_matches over the same events (the
fixture stories, the real corpora, the edge cases of tests/rules/test_match.py) for the built-in
rules and user rules using every matcher, a threshold and sequences."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import tests.conftest
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.model import Event
from kubetrail.rules import Rule, builtin, check, load
from kubetrail.store import Store, open_store
from kubetrail.store.batch import to_arrow
from tests.conftest import CORPORA, FIXTURES
from tests.rules.test_match import SEQUENCE, T0, burst, call, proc, story

ALL_TIME = (0, 1 << 62)

USER_RULES = r"""
macros:
  system-actor:
    actor: {wildcard: 'system:*'}

rules:
  - {id: u-regex, title: t, severity: low, class: processes, reason: r,
     condition: {args: {regex: '(?i)\b(curl|wget|http)\b'}}}
  - {id: u-regex-anchored, title: t, severity: low, class: processes, reason: r,
     condition: {binary: {regex: '^/usr/(s)?bin/[a-z]+$'}}}
  - {id: u-wildcard, title: t, severity: low, class: processes, reason: r,
     condition: {binary: {wildcard: ['/tmp/*', '*/7?', '/tmp/go_build*']}}}
  - {id: u-wildcard-list, title: t, severity: low, class: api_calls, reason: r,
     condition: {actor_groups: {wildcard: 'system:serviceaccounts:*'}}}
  - {id: u-wildcard-literal, title: t, severity: low, class: api_calls, reason: r,
     condition: {object_name: {wildcard: ['db_*', 'db%creds']}}}
  - {id: u-cidr-list, title: t, severity: low, class: api_calls, reason: r,
     condition: {source_ips: {cidr: [10.244.0.0/16, 192.168.0.0/16, 'fc00::/7']}}}
  - {id: u-cidr-v4, title: t, severity: low, class: flows, reason: r,
     condition: {dst_ip: {cidr: 10.156.0.0/16}, not: {src_ip: {cidr: 10.156.2.0/24}}}}
  - {id: u-cidr-v6, title: t, severity: low, class: flows, reason: r,
     condition: {any: [{dst_ip: {cidr: 'ff00::/8'}}, {src_ip: {cidr: ['fe80::/10', '2001:db8::/32']}}]}}
  - {id: u-cidr-all-v6, title: t, severity: low, class: api_calls, reason: r,
     condition: {source_ips: {cidr: '::/0'}}}
  - {id: u-cidr-dns, title: t, severity: low, class: flows, reason: r,
     condition: {dns_ips: {cidr: [52.94.0.0/16, 198.51.100.0/24]}}}
  - {id: u-numbers, title: t, severity: low, class: flows, reason: r, condition: {is_reply: false,
     any: [{dst_port: {lt: 1024}}, {all: [{dst_port: {gte: 8000}}, {dst_port: {lte: 9000}}]}]}}
  - {id: u-code, title: t, severity: low, class: api_calls, reason: r, condition: {code: {gt: 399}}}
  - {id: u-code-list, title: t, severity: low, class: api_calls, reason: r, condition: {not: {code: [200, 201]}}}
  - {id: u-field, title: t, severity: low, class: api_calls, reason: r,
     condition: {service_account: {exists: true}, not: {namespace: {field: service_account_namespace}}}}
  - {id: u-field-flows, title: t, severity: low, class: flows, reason: r,
     condition: {src_namespace: {field: dst_namespace}}}
  - {id: u-null, title: t, severity: low, class: api_calls, reason: r,
     condition: {namespace: null, impersonated_by: {exists: false}}}
  - {id: u-not-over-null, title: t, severity: low, class: api_calls, reason: r,
     condition: {not: {namespace: shop}, verb: [get, list, watch]}}
  - {id: u-empty-list, title: t, severity: low, class: flows, kinds: [dns, network_flow], reason: r,
     condition: {dst_names: {exists: false}, dns_ips: {exists: true}}}
  - {id: u-no-groups, title: t, severity: low, class: api_calls, reason: r, condition: {actor_groups: null}}
  - {id: u-bool, title: t, severity: low, class: processes, reason: r, condition: {not: {tty: true}, binary: {exists: true}}}
  - {id: u-derived, title: t, severity: low, class: processes, kinds: [process_exec], reason: r,
     condition: {any: [{binary_name: [sh, bash, nc]}, {binary_dir: [/tmp, /]}]}}
  - {id: u-authenticated, title: t, severity: low, class: api_calls, reason: r,
     condition: {authenticated_user: {wildcard: '*@example.com'}}}
  - {id: u-extra, title: t, severity: low, class: api_calls, reason: r,
     condition: {any: [{extra.pod.hostPath: {exists: true}}, {extra.user_extra: {regex: 'pod-name'}},
                       {extra.pod.hostNetwork: true}, {extra.pod.uid: u2}]}}
  - {id: u-extra-flows, title: t, severity: low, class: flows, reason: r,
     condition: {extra.l7_type: [REQUEST, RESPONSE], not: {extra.tcp_flags: '["SYN"]'}}}
  - {id: u-macro, title: t, severity: low, class: api_calls, reason: r,
     condition: {macro: system-actor, not: {verb: get}}}
  - {id: u-threshold, title: t, severity: low, class: flows, reason: '{count}',
     condition: {verdict: FORWARDED}, threshold: {count: 3, by: [src_ip, dst_port], within: 1m}}
  - {id: u-threshold-derived, title: t, severity: low, class: processes, reason: '{count}',
     condition: {binary: {exists: true}}, threshold: {count: 2, by: [binary_name], within: 10m}}
  - {id: u-threshold-api, title: t, severity: low, class: api_calls, reason: '{count}',
     condition: {verb: delete}, threshold: {count: 3, by: [actor], within: 5m}}
  - id: u-sequence
    title: t
    severity: low
    reason: r
    sequence:
      within: 10m
      steps:
        - {class: processes, kinds: [process_exec], condition: {binary_name: [curl, wget, sh, bash]}, key: [namespace, pod_name]}
        - {class: flows, condition: {not: {is_reply: true}}, key: [namespace, pod_name]}
"""


def chdb_url(name: str) -> str:
    """A database `name` in this process's one chDB folder (tests/conftest.py's helper)."""
    helper = getattr(tests.conftest, "chdb_url", None)
    if helper is None:
        pytest.skip("tests/conftest.py has no chdb_url yet")
    url: str = helper(name)
    return url


def chdb_store() -> Store:
    """A new, empty store on chDB."""
    return open_store(chdb_url(f"rules_{uuid.uuid4().hex[:12]}"))


def user_rules(tmp_path: Path, text: str = USER_RULES) -> list[Rule]:
    (tmp_path / "user.yaml").write_text(text)
    return [r for r in load([tmp_path]).rules if not r.builtin]


def judged(rules: Sequence[Rule], monkeypatch: pytest.MonkeyPatch) -> tuple[check.Report, check.Report]:
    """`rules test` (rules/check.py) run as it is on DuckDB, then on chDB stores."""
    on_duckdb = check.check(rules)
    monkeypatch.setattr(check, "DuckDBStore", lambda _path: chdb_store())
    return on_duckdb, check.check(rules)


def test_the_builtin_rules_inline_records_match_on_chdb_as_on_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    on_duckdb, on_chdb = judged(builtin().rules, monkeypatch)
    assert [str(f) for f in on_chdb.failures] == [str(f) for f in on_duckdb.failures] == []
    assert (on_chdb.rules, on_chdb.records) == (on_duckdb.rules, on_duckdb.records) != (0, 0)


def burst_records(n: int) -> str:
    """n reads of a ConfigMap by one account, a minute apart, as inline records."""
    first = json.loads((FIXTURES / "stories" / "actor" / "audit.log").read_text().splitlines()[0])
    copies = [first | {"auditID": f"burst-{n}-{i}", "requestReceivedTimestamp": f"2026-11-28T10:0{i}:00.000000Z",
                       "stageTimestamp": f"2026-11-28T10:0{i}:00.100000Z"} for i in range(n)]  # fmt: skip
    return "[" + ", ".join(f"{{source: k8s_audit, record: {json.dumps(c)}}}" for c in copies) + "]"


@pytest.mark.parametrize(("fire", "quiet"), [(3, 2), (2, 3)])
def test_a_threshold_rules_records_are_judged_together_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fire: int, quiet: int
) -> None:
    """None of the built-in rules has a threshold: one of the user's, its records right (3 reads
    fire it, 2 do not) and wrong (the other way round)."""
    rule = (
        "rules:\n  - {id: burst, title: t, severity: low, class: api_calls, reason: r, condition: {resource: configmaps},\n"
        "     threshold: {count: 3, by: [actor], within: 5m},\n"
        f"     tests: {{match: {burst_records(fire)}, no_match: {burst_records(quiet)}}}}}\n"
    )
    on_duckdb, on_chdb = judged(user_rules(tmp_path, rule), monkeypatch)
    assert [str(f) for f in on_chdb.failures] == [str(f) for f in on_duckdb.failures]
    assert len(on_chdb.failures) == (0 if fire > quiet else 2)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    """The fixture stories and the real corpora (when beside the project) on DuckDB and chDB."""
    paths = [str(FIXTURES / "stories"), *([str(CORPORA)] if CORPORA.is_dir() else [])]
    duck = open_store(str(tmp_path_factory.mktemp("duck") / "x.duckdb"))
    chdb = chdb_store()
    for store in (duck, chdb):
        ingest(store, list(expand_paths(paths)), Options())
    yield duck, chdb
    duck.close()
    chdb.close()


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A row but for what differs by design: the file id (each engine numbers its files its own
    way) and an empty list (a ClickHouse Array cannot be NULL, so both read as NULL there)."""
    return {k: None if v == [] or k == "file_id" else v for k, v in row.items()}


def same_rows(duck: Store, chdb: Store, rules: Sequence[Rule], *window: Any, **narrowing: Any) -> list[dict[str, Any]]:
    """rule_matches on both stores, asserted equal; the rows."""
    expected = [comparable(r) for r in duck.rule_matches(rules, *window, **narrowing)]
    got = [comparable(r) for r in chdb.rule_matches(rules, *window, **narrowing)]
    assert [r["id"] for r in got] == [r["id"] for r in expected], [r.id for r in rules]
    differing = [
        (e["id"], {k: (e[k], g.get(k, "<none>")) for k in e if e[k] != g.get(k, "<none>")})
        for e, g in zip(expected, got, strict=True)
        if e != g
    ]
    assert not differing, ([r.id for r in rules], differing[:3])
    return expected


def test_the_stores_match_real_events_alike(stores: tuple[Store, Store], tmp_path: Path) -> None:
    duck, chdb = stores
    rules = [*builtin().rules, *user_rules(tmp_path)]
    for rule in rules:
        same_rows(duck, chdb, [rule], *ALL_TIME)
    everything = same_rows(duck, chdb, rules, *ALL_TIME)
    fired = {r for row in everything for r in row["rules"]}
    # Each user rule has something to match: the comparison is not of empty answers.
    assert {r.id for r in rules if not r.builtin} - fired <= {"u-wildcard-literal", "u-cidr-all-v6", "u-extra"}
    assert any(len(row["rules"]) > 1 for row in everything)
    # A window, a cluster and a few ids narrow alike.
    middle = everything[len(everything) // 2]["time"]
    same_rows(duck, chdb, rules, middle, ALL_TIME[1])
    cluster = everything[-1]["cluster"]
    same_rows(duck, chdb, rules, *ALL_TIME, cluster=cluster)
    same_rows(duck, chdb, rules, *ALL_TIME, ids=[row["id"] for row in everything[::7]])
    same_rows(duck, chdb, rules, *ALL_TIME, ids=[])


def edge_events() -> list[Event]:
    """tests/rules/test_match.py's edge cases: nulls, lists, text that is no address, SQL LIKE's
    characters, extra paths, derived paths, bursts and a sequence's stories."""
    return [
        call(namespace="shop", verb="list"), call(namespace=None), call(namespace="ci", code=403),
        call(source_ips=["192.168.1.9", "10.1.2.3"], actor_groups=["system:authenticated", "dev"]),
        call(source_ips=["203.0.113.7", "2001:db8::8a2e:370:7334"], actor_groups=["system:masters"]),
        call(source_ips=None, actor_groups=[]),
        call(source_ips=["fd00::1", "not an address", "::ffff:10.1.2.3", "1.2.3", ":::", "fe80::1%eth0"]),
        call(object_name="mapped", source_ips=["::ffff:10.1.2.3"]), call(object_name="zone", source_ips=["fe80::1%eth0"]),
        call(object_name="no-address", source_ips=["not an address", "1.2.3", ":::"]),
        call(object_name="v6", source_ips=["FD00:0:0::1"]),
        call(object_name="db_creds"), call(object_name="dbXcreds"), call(object_name="db%creds"),
        call(resource="secrets", namespace="shop", service_account="shop/cart"),
        call(resource="secrets", namespace="kube-system", service_account="shop/cart"),
        call(resource="secrets", namespace="shop", service_account=None),
        call(verb="create", extra='{"pod": {"privileged": ["app"], "hostNetwork": true, "uid": "u1"}}'),
        call(verb="create", extra='{"pod": {"uid": "u2", "hostPath": null}}'),
        call(impersonated_by="alice@example.com", actor="system:serviceaccount:shop:cart"),
        proc("/tmp/x/miner"), proc("/usr/bin/sh", args="-c 'curl http://x | sh'"), proc("/xmrig"), proc("sh"),
        proc("/tmp/go-build1/exe", tty=True), proc("/usr/lib/p7zip/7z", tty=False),
        *burst("alice", 5, 60), *burst("bob", 2, 1), *burst("carol", 4, 600),
        *story("a", ("exec", 0), ("curl", 1), ("flow", 2), ("flow", 3)),
        *story("b", ("curl", 1), ("flow", 2)),
        *story("c", ("exec", 0), ("flow", 1), ("curl", 2)),
        *story("d", ("exec", 0), ("curl", 1), ("flow", 12)),
    ]  # fmt: skip


def test_the_stores_match_edge_cases_alike(tmp_path: Path) -> None:
    (tmp_path / "seq.yaml").write_text(SEQUENCE)
    rules = [*builtin().rules, *user_rules(tmp_path)]
    assert any(r.id == "exec-fetch-connect" for r in rules)
    events = edge_events()
    duck, chdb = open_store(str(tmp_path / "x.duckdb")), chdb_store()
    try:
        for store in (duck, chdb):
            store.write_events(to_arrow(events))
        for rule in rules:
            same_rows(duck, chdb, [rule], *ALL_TIME)
        everything = same_rows(duck, chdb, rules, *ALL_TIME)
        by_rule = {r.id: [row.get("object_name") or row["id"] for row in everything if r.id in row["rules"]] for r in rules}
        assert by_rule["exec-fetch-connect"] == ["a-flow-2"]
        assert [row["first_step"] for row in everything if "exec-fetch-connect" in row["rules"]] == ["a-exec-0"]
        assert [row["count"] for row in everything if "u-threshold-api" in row["rules"]] == [5]
        assert len(by_rule["u-wildcard-literal"]) == 2  # db_creds and db%creds, not dbXcreds
        assert {"mapped", "no-address", "zone"}.isdisjoint(by_rule["u-cidr-list"] + by_rule["u-cidr-all-v6"])
        assert "v6" in by_rule["u-cidr-list"] and "v6" in by_rule["u-cidr-all-v6"]
        # From minute 1 on, the exec before the window still counts (a sequence's span reaches back).
        same_rows(duck, chdb, rules, T0 + 60 * 10**9, ALL_TIME[1])
        for step in range(3):
            same_rows(duck, chdb, rules, *ALL_TIME, ids=[e.id for e in events[step::3]])
    finally:
        duck.close()
        chdb.close()


def test_covered_rules_read_candidates_kept_with_each_batch_and_rebuilt_as_on_duckdb(tmp_path: Path) -> None:
    """Every rule covered (user rules with every matcher, a threshold and sequences among them):
    candidates kept with each batch, then rebuilt from the stored events, are those DuckDB keeps,
    and the rules match on them what they match on the class tables."""
    (tmp_path / "seq.yaml").write_text(SEQUENCE)
    rules = [*builtin().rules, *user_rules(tmp_path)]
    events = edge_events()
    duck, chdb = open_store(str(tmp_path / "x.duckdb")), chdb_store()
    try:
        for store in (duck, chdb):
            store.cover_rules(rules)
            for part in (events[::2], events[1::2]):
                store.write_events(to_arrow(part))
        kept = chdb.candidate_counts()
        assert kept == duck.candidate_counts()
        assert all(kept[t] for t in ("api_calls", "processes", "flows"))
        covered = same_rows(duck, chdb, rules, *ALL_TIME)
        chdb.cover_rules([])  # nothing covered: every rule reads its class table
        assert chdb.candidate_counts() == dict.fromkeys(kept, 0)
        assert [comparable(r) for r in chdb.rule_matches(rules, *ALL_TIME)] == covered
        chdb.cover_rules(rules)  # rebuilt from the stored events
        assert chdb.candidate_counts() == kept
        same_rows(duck, chdb, rules, *ALL_TIME)
    finally:
        duck.close()
        chdb.close()
