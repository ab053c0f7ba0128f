"""What a rule's condition matches, as the store runs it (store/duckdb_rules.py): null fields,
negation, list fields, wildcards, CIDR ranges, field comparisons, `extra` paths and derived
fields; and the same matches whether the store covers the rule (its candidates kept at ingest)
or not (its class table read)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubetrail.model import Event
from kubetrail.rules import Rule, load
from kubetrail.store.batch import to_arrow
from kubetrail.store.duckdb import DuckDBStore

T0 = 1_764_324_000_000_000_000
_ids = itertools.count()


def call(**kw: Any) -> Event:
    n = next(_ids)
    fields = {"verb": "get", "resource": "pods"} | kw
    return Event(id=f"c{n}", time=T0 + n, source="k8s_audit", kind="api_call", cluster="c", content_hash=f"h{n}", **fields)


def proc(binary: str, **kw: Any) -> Event:
    n = next(_ids)
    return Event(id=f"p{n}", time=T0 + n, source="tetragon", kind="process_exec", cluster="c", content_hash=f"h{n}",
                 binary=binary, **kw)  # fmt: skip


def rules_of(tmp_path: Path, table: str, *conditions: str, kinds: str = "") -> list[Rule]:
    text = "rules:\n" + "".join(
        f"  - {{id: r{i}, title: t, severity: low, class: {table}, reason: r, condition: {c}{kinds}}}\n"
        for i, c in enumerate(conditions)
    )
    (tmp_path / "r.yaml").write_text(text)
    return [r for r in load([tmp_path]).rules if not r.builtin]


_STORES: dict[tuple[str, ...], DuckDBStore] = {}  # by the ids of the events each holds


@pytest.fixture(autouse=True, scope="module")
def _stores_closed() -> Iterator[None]:
    yield
    for store in _STORES.values():
        store.close()
    _STORES.clear()


def matched(tmp_path: Path, events: list[Event], table: str, condition: str, kinds: str = "") -> list[str]:
    """The ids of the events a rule of this condition matches (the events stored once a test)."""
    store = _STORES.get(key := tuple(e.id for e in events))
    if store is None:
        store = _STORES[key] = DuckDBStore(":memory:")
        store.write_events(to_arrow(events))
    (rule,) = rules_of(tmp_path, table, condition, kinds=kinds)
    return [e["id"] for e in store.rule_matches([rule], T0, T0 + 10**9)]


def test_a_null_field_matches_nothing_but_not_of_it_holds(tmp_path: Path) -> None:
    a, b, c = call(namespace="shop"), call(namespace=None), call(namespace="ci")
    assert matched(tmp_path, [a, b, c], "api_calls", "{namespace: shop}") == [a.id]
    assert matched(tmp_path, [a, b, c], "api_calls", "{not: {namespace: shop}}") == [b.id, c.id]
    assert matched(tmp_path, [a, b, c], "api_calls", "{namespace: null}") == [b.id]
    assert matched(tmp_path, [a, b, c], "api_calls", "{namespace: {exists: true}}") == [a.id, c.id]


def test_any_all_and_lists_of_values(tmp_path: Path) -> None:
    a, b, c = call(verb="list", code=403), call(verb="watch", code=200), call(verb="get", code=401)
    events = [a, b, c]
    assert matched(tmp_path, events, "api_calls", "{verb: [list, watch]}") == [a.id, b.id]
    assert matched(tmp_path, events, "api_calls", "{any: [{code: 401}, {verb: watch}]}") == [b.id, c.id]
    assert matched(tmp_path, events, "api_calls", "{all: [{code: {gte: 400}}, {code: {lt: 403}}]}") == [c.id]


def test_a_matcher_on_a_list_field_holds_for_any_element(tmp_path: Path) -> None:
    a = call(source_ips=["192.168.1.9", "10.1.2.3"], actor_groups=["system:authenticated", "dev"])
    b = call(source_ips=["203.0.113.7", "2001:db8::8a2e:370:7334"], actor_groups=["system:masters"])
    c = call(source_ips=None, actor_groups=[])
    d = call(source_ips=["fd00::1", "not an address", "::ffff:10.1.2.3"])
    events = [a, b, c, d]
    assert matched(tmp_path, events, "api_calls", "{source_ips: {cidr: 10.0.0.0/8}}") == [a.id]
    assert matched(tmp_path, events, "api_calls", "{source_ips: {cidr: 'fc00::/7'}}") == [d.id]
    assert matched(tmp_path, events, "api_calls", "{source_ips: {cidr: ['2001:db8::/32', 192.168.0.0/16]}}") == [a.id, b.id]
    assert matched(tmp_path, events, "api_calls", "{source_ips: {cidr: [203.0.113.0/24, 192.168.0.0/16]}}") == [a.id, b.id]
    assert matched(tmp_path, events, "api_calls", "{actor_groups: system:masters}") == [b.id]
    assert matched(tmp_path, events, "api_calls", "{actor_groups: {wildcard: 'system:*'}}") == [a.id, b.id]
    assert matched(tmp_path, events, "api_calls", "{actor_groups: {exists: false}}") == [c.id, d.id]


def test_wildcards_take_sql_like_characters_literally(tmp_path: Path) -> None:
    a, b, c = call(object_name="db_creds"), call(object_name="dbXcreds"), call(object_name="db%creds")
    events = [a, b, c]
    assert matched(tmp_path, events, "api_calls", "{object_name: {wildcard: 'db_*'}}") == [a.id]
    assert matched(tmp_path, events, "api_calls", "{object_name: {wildcard: 'db?creds'}}") == [a.id, b.id, c.id]
    assert matched(tmp_path, events, "api_calls", "{object_name: {wildcard: 'db%creds'}}") == [c.id]


def test_a_field_is_compared_with_another_and_with_derived_ones(tmp_path: Path) -> None:
    own = call(resource="secrets", namespace="shop", service_account="shop/cart")
    other = call(resource="secrets", namespace="kube-system", service_account="shop/cart")
    person = call(resource="secrets", namespace="shop", service_account=None)
    cond = "{service_account: {exists: true}, not: {namespace: {field: service_account_namespace}}}"
    assert matched(tmp_path, [own, other, person], "api_calls", cond) == [other.id]


def test_extra_paths_compare_as_text(tmp_path: Path) -> None:
    pod = call(verb="create", extra='{"pod": {"privileged": ["app"], "hostNetwork": true, "uid": "u1"}}')
    plain = call(verb="create", extra='{"pod": {"uid": "u2"}}')
    events = [pod, plain]
    assert matched(tmp_path, events, "api_calls", "{extra.pod.privileged: {exists: true}}") == [pod.id]
    assert matched(tmp_path, events, "api_calls", "{extra.pod.hostNetwork: true}") == [pod.id]
    assert matched(tmp_path, events, "api_calls", "{extra.pod.uid: u2}") == [plain.id]


def test_binary_name_and_dir_are_derived_as_posix_paths_are(tmp_path: Path) -> None:
    events = [proc("/tmp/x/miner"), proc("/usr/bin/sh"), proc("/xmrig"), proc("sh")]
    assert matched(tmp_path, events, "processes", "{binary_name: sh}") == [events[1].id, events[3].id]
    assert matched(tmp_path, events, "processes", "{binary_dir: /tmp/x}") == [events[0].id]
    assert matched(tmp_path, events, "processes", "{binary_dir: /}") == [events[2].id]
    rendered = [Rule.render(None, "{binary_dir}|{binary_name}", {"binary": e.binary}) for e in events]  # type: ignore[arg-type]
    assert rendered == ["/tmp/x|miner", "/usr/bin|sh", "/|xmrig", "|sh"]


def test_kinds_restrict_a_rule_to_some_events_of_its_class(tmp_path: Path) -> None:
    started, ended = proc("/tmp/a"), proc("/tmp/a")
    ended = Event(**{**{f: getattr(ended, f) for f in ended.__struct_fields__}, "kind": "process_exit"})
    assert matched(tmp_path, [started, ended], "processes", "{binary: /tmp/a}") == [started.id, ended.id]
    assert matched(tmp_path, [started, ended], "processes", "{binary: /tmp/a}", ", kinds: [process_exec]") == [started.id]


@pytest.mark.parametrize("covered_first", [True, False])
def test_a_covered_rule_reads_its_candidates_and_answers_as_a_full_scan_does(tmp_path: Path, covered_first: bool) -> None:
    store = DuckDBStore(tmp_path / "k.duckdb")
    try:
        rules = rules_of(tmp_path, "api_calls", "{verb: delete}", "{code: {gte: 500}}")
        if covered_first:
            store.cover_rules(rules)  # then the batch keeps its candidates as it is written
        store.write_events(to_arrow([call(verb="delete"), call(code=503), call(verb="delete", code=500), call()]))
        scanned = store.rule_matches(rules, T0, T0 + 10**9)
        assert store.candidate_counts()["api_calls"] == (3 if covered_first else 0)
        store.cover_rules(rules)  # rebuilt from the stored events
        assert store.covered_rules() == {r.id: r.digest for r in rules}
        assert store.candidate_counts()["api_calls"] == 3
        kept = store.rule_matches(rules, T0, T0 + 10**9)
    finally:
        store.close()
    assert [(e["id"], e["rules"]) for e in kept] == [(e["id"], e["rules"]) for e in scanned]
    assert [e["rules"] for e in kept] == [["r0"], ["r1"], ["r0", "r1"]]


def test_a_rule_whose_condition_changed_is_not_covered_until_rebuilt(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "k.duckdb")
    try:
        (before,) = rules_of(tmp_path, "api_calls", "{verb: delete}")
        store.cover_rules([before])
        store.write_events(to_arrow([call(verb="delete"), call(verb="patch")]))
        (after,) = rules_of(tmp_path, "api_calls", "{verb: patch}")
        assert before.id == after.id and before.digest != after.digest
        # Not covered: its class table is read, so the answer holds before any rebuild.
        assert [e["verb"] for e in store.rule_matches([after], T0, T0 + 10**9)] == ["patch"]
        assert store.covered_rules() == {before.id: before.digest}
    finally:
        store.close()


def threshold_rule(tmp_path: Path, count: int, within: str) -> Rule:
    text = (
        "rules:\n  - {id: burst, title: t, severity: medium, class: api_calls, reason: '{count} deletes by {actor}',"
        f" condition: {{verb: delete}}, threshold: {{count: {count}, by: [actor], within: {within}}}}}\n"
    )
    (tmp_path / "r.yaml").write_text(text)
    (rule,) = [r for r in load([tmp_path]).rules if not r.builtin]
    return rule


def burst(actor: str, n: int, every_s: int, start: int = 0) -> list[Event]:
    return [Event(id=f"{actor}{i}", time=T0 + (start + i * every_s) * 10**9, source="k8s_audit", kind="api_call",
                  cluster="c", content_hash=f"{actor}{i}", verb="delete", actor=actor) for i in range(n)]  # fmt: skip


@pytest.mark.parametrize("covered", [True, False])
def test_a_threshold_rule_fires_once_per_group_on_the_event_that_reached_its_count(tmp_path: Path, covered: bool) -> None:
    rule = threshold_rule(tmp_path, 3, "5m")
    # alice: 5 deletes a minute apart; bob: 2 only; carol: 4, but 10 minutes apart.
    events = [*burst("alice", 5, 60), *burst("bob", 2, 1), *burst("carol", 4, 600)]
    events.append(call(verb="get", actor="alice"))
    store = DuckDBStore(":memory:")
    try:
        store.write_events(to_arrow(events))
        if covered:
            store.cover_rules([rule])
        found = store.rule_matches([rule], T0, T0 + 10**13)
        assert store.rule_matches([rule], T0, T0 + 10**13, ids=["alice2"]) == found
        assert store.rule_matches([rule], T0, T0 + 10**13, ids=["alice3"]) == []
    finally:
        store.close()
    assert [(e["id"], e["count"], e["rules"]) for e in found] == [("alice2", 5, ["burst"])]
    assert rule.render(rule.reason, found[0]) == "5 deletes by alice"


def test_a_threshold_counts_only_the_window_it_is_asked_of(tmp_path: Path) -> None:
    rule = threshold_rule(tmp_path, 3, "1h")
    store = DuckDBStore(":memory:")
    try:
        store.write_events(to_arrow(burst("alice", 4, 60)))
        late = T0 + 120 * 10**9  # after the first two deletes
        assert [e["id"] for e in store.rule_matches([rule], T0, T0 + 10**13)] == ["alice2"]
        assert store.rule_matches([rule], late, T0 + 10**13) == []
    finally:
        store.close()


SEQUENCE = """rules:
  - id: exec-fetch-connect
    title: A person's exec, then a download, then a connection out, in one pod
    severity: critical
    reason: 'connected to {dst_ip}:{dst_port} after an exec and a download'
    sequence:
      within: 10m
      steps:
        - {class: api_calls, condition: {resource: pods, subresource: exec}, key: [namespace, object_name]}
        - {class: processes, kinds: [process_exec], condition: {binary_name: [curl, wget]}, key: [namespace, pod_name]}
        - {class: flows, kinds: [network_flow], condition: {dst_port: 4444}, key: [namespace, pod_name]}
"""


def at(minute: float) -> int:
    return T0 + int(minute * 60 * 10**9)


def story(pod: str, *steps: tuple[str, float]) -> list[Event]:
    """Events in pod shop/POD: ("exec" | "curl" | "flow", minute)."""
    out = []
    for what, minute in steps:
        common = {"id": f"{pod}-{what}-{minute}", "time": at(minute), "cluster": "c", "namespace": "shop",
                  "content_hash": f"{pod}{what}{minute}"}  # fmt: skip
        if what == "exec":
            out.append(Event(**common, source="k8s_audit", kind="api_call", verb="create", resource="pods",
                             subresource="exec", object_name=pod))  # fmt: skip
        elif what == "curl":
            out.append(Event(**common, source="tetragon", kind="process_exec", pod_name=pod, binary="/usr/bin/curl"))
        else:
            out.append(Event(**common, source="hubble", kind="network_flow", pod_name=pod, dst_ip="198.51.100.9", dst_port=4444))
    return out


@pytest.mark.parametrize("covered", [True, False])
def test_a_sequence_fires_on_its_last_step_when_the_others_came_before_it_in_one_pod(tmp_path: Path, covered: bool) -> None:
    (tmp_path / "r.yaml").write_text(SEQUENCE)
    (rule,) = [r for r in load([tmp_path]).rules if not r.builtin]
    events = [
        *story("a", ("exec", 0), ("curl", 1), ("flow", 2), ("flow", 3)),  # the sequence: fires once, on the first flow
        *story("b", ("curl", 1), ("flow", 2)),  # no exec
        *story("c", ("exec", 0), ("flow", 1), ("curl", 2)),  # out of order
        *story("d", ("exec", 0), ("curl", 1), ("flow", 12)),  # beyond 10 minutes from the exec
    ]
    store = DuckDBStore(":memory:")
    try:
        store.write_events(to_arrow(events))
        if covered:
            store.cover_rules([rule])
            assert set(store.covered_rules()) == {"exec-fetch-connect#0", "exec-fetch-connect#1", "exec-fetch-connect"}
        found = store.rule_matches([rule], T0, at(60))
        # Asked from minute 1 on, the exec before the window still counts: its span reaches back.
        assert [e["id"] for e in store.rule_matches([rule], at(1), at(60))] == ["a-flow-2"]
    finally:
        store.close()
    assert [(e["id"], e["first_step"], e["rules"]) for e in found] == [("a-flow-2", "a-exec-0", ["exec-fetch-connect"])]
    assert rule.render(rule.reason, found[0]) == "connected to 198.51.100.9:4444 after an exec and a download"
