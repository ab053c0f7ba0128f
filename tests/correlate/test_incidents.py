"""Grouping signals into incidents (pure)."""

from __future__ import annotations

from kubetrail.correlate.incidents import Signal, group, significant

S = 10**9


def sig(id_: str, t: int, severity: str = "medium", source: str = "falco", **kw: str) -> Signal:
    return Signal(id_, t * S, "c", source, "runtime_alert", id_, severity, **kw)  # type: ignore[arg-type]


def test_signals_sharing_a_pod_or_actor_within_the_window_are_one_incident() -> None:
    signals = [
        sig("a", 0, pod="ns/p"),
        sig("b", 60, actor="alice", pod="ns/p"),
        sig("c", 120, actor="alice"),
        sig("d", 130, pod="ns/q"),
    ]
    incidents = group(signals)
    assert sorted(sorted(s.id for s in i.signals) for i in incidents) == [["a", "b", "c"], ["d"]]


def test_an_api_call_that_created_a_pod_links_with_what_ran_in_that_pod() -> None:
    created = sig("create", 0, source="k8s_audit", actor="system:serviceaccount:ci:deployer", pod="ci/runner-1", target="ci/x")
    escape = sig("nsenter", 30, source="tetragon", pod="ci/x")
    unrelated = sig("other", 40, source="tetragon", pod="ci/y")
    incidents = sorted(group([created, escape, unrelated]), key=lambda i: len(i.signals))
    assert [sorted(s.id for s in i.signals) for i in incidents] == [["other"], ["create", "nsenter"]]


def test_signals_far_apart_are_separate_incidents() -> None:
    assert len(group([sig("a", 0, pod="ns/p"), sig("b", 2 * 3600, pod="ns/p")])) == 2


def test_severity_is_the_highest_raised_when_a_person_is_tied_across_sources() -> None:
    alone = group([sig("a", 0, pod="ns/p"), sig("b", 1, pod="ns/p", severity="low")])[0]
    assert alone.severity == "medium"
    attributed = group([sig("a", 0, pod="ns/p", initiator="alice"), sig("b", 1, pod="ns/p", source="tetragon")])[0]
    assert attributed.severity == "high"
    capped = group([sig("a", 0, pod="ns/p", initiator="alice", severity="critical"), sig("b", 1, pod="ns/p", source="tetragon")])[
        0
    ]
    assert capped.severity == "critical"


def test_the_id_comes_from_the_earliest_signal_so_it_survives_growth() -> None:
    first = group([sig("a", 0, pod="ns/p")])[0].id
    grown = group([sig("b", 30, pod="ns/p"), sig("a", 0, pod="ns/p"), sig("c", 60, pod="ns/p")])[0].id
    assert first == grown


def test_low_signals_are_an_incident_only_with_a_person_tied_across_sources() -> None:
    assert significant(group([sig("a", 0, pod="ns/p", severity="low")])) == []
    repeated = group([sig(str(i), i, pod="ns/p", severity="low") for i in range(5)])
    assert significant(repeated) == []
    two_sources = [sig("a", 0, pod="ns/p", severity="low"), sig("b", 1, pod="ns/p", severity="low", source="tetragon")]
    assert significant(group(two_sources)) == []  # an operator's routine, seen by two sensors
    person = [
        sig("a", 0, pod="ns/p", severity="low", initiator="sam"),
        sig("b", 1, pod="ns/p", severity="low", source="tetragon"),
    ]
    assert [i.severity for i in significant(group(person))] == ["medium"]


def test_the_replicas_of_one_channel_are_one_incident_however_far_apart() -> None:
    a = sig("a", 0, pod="shop/cart-a", channel="shop/cart|c2.example.com|443")
    b = sig("b", 5 * 3600, pod="shop/cart-b", channel="shop/cart|c2.example.com|443")
    other = sig("c", 5 * 3600, pod="shop/cart-c", channel="shop/cart|bucket.example.com|443")
    assert sorted(sorted(s.id for s in i.signals) for i in group([a, b, other])) == [["a", "b"], ["c"]]
