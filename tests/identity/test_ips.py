"""IP intervals from runs of observations (pure logic), and reading them from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubetrail.identity.ips import IpResolver, build_history, holder_at, ip_histories, ip_history
from kubetrail.store.duckdb import DuckDBStore
from tests.answers.conftest import story_store

S = 10**9


def run(pod: str, first: int, last: int, **kw: Any) -> dict[str, Any]:
    return {"cluster": "c", "scope": "pod", "namespace": "ns", "pod_name": pod, "pod_uid": None, "node": None, "service": None,
            "first_seen": first, "last_seen": last, "born": None, "died": None, "observations": 1} | kw  # fmt: skip


def test_a_reused_ip_resolves_to_the_holder_of_that_time() -> None:
    history = build_history([run("a", 100 * S, 200 * S), run("b", 400 * S, 500 * S)], [])
    assert holder_at(history, 150 * S).pod == "ns/a"  # type: ignore[union-attr]
    assert holder_at(history, 450 * S).pod == "ns/b"  # type: ignore[union-attr]


def test_between_holders_and_before_the_first_the_holder_is_unknown() -> None:
    history = build_history([run("a", 100 * S, 200 * S), run("b", 400 * S, 500 * S)], [])
    assert holder_at(history, 300 * S) is None
    assert holder_at(history, 10 * S) is None


def test_the_last_holder_is_open_ended_and_earlier_ones_end_at_their_last_sighting() -> None:
    history = build_history([run("a", 100 * S, 200 * S), run("b", 400 * S, 500 * S)], [])
    assert [h.end for h in history] == [200 * S, None]
    assert holder_at(history, 9_000 * S).pod == "ns/b"  # type: ignore[union-attr]


def test_creation_and_deletion_bound_the_interval() -> None:
    lifecycle = [
        {"cluster": "c", "namespace": "ns", "pod_name": "a", "verb": "create", "at": 50 * S},
        {"cluster": "c", "namespace": "ns", "pod_name": "a", "verb": "delete", "at": 250 * S},
        {"cluster": "c", "namespace": "ns", "pod_name": "b", "verb": "create", "at": 300 * S},
    ]
    history = build_history([run("a", 100 * S, 200 * S), run("b", 400 * S, 500 * S)], lifecycle)
    assert [(h.start, h.end) for h in history] == [(50 * S, 250 * S), (300 * S, None)]
    assert holder_at(history, 260 * S) is None
    assert holder_at(history, 350 * S).pod == "ns/b"  # type: ignore[union-attr]


def test_a_deletion_just_before_the_last_sighting_by_a_clock_ahead_still_ends_the_run() -> None:
    # The API server deletes the pod at 250 s; a node whose clock runs 0.08 s ahead stamps the pod's
    # last flow 250.08 s. Without the skew the run stayed open: hours later a DaemonSet pod given
    # the same address had its own token's calls from it flagged as a stolen token's.
    ms = S // 1000
    lifecycle = [
        {"cluster": "c", "namespace": "ns", "pod_name": "a", "verb": "create", "at": 101 * S},
        {"cluster": "c", "namespace": "ns", "pod_name": "a", "verb": "delete", "at": 250 * S},
    ]
    (holder,) = build_history([run("a", 100 * S + 500 * ms, 250 * S + 80 * ms)], lifecycle)
    assert (holder.start, holder.end) == (100 * S + 500 * ms, 250 * S)
    assert holder_at([holder], 4 * 3600 * S) is None
    (far,) = build_history([run("a", 100 * S, 260 * S)], lifecycle, skew_ns=2 * S)  # seen 10 s after: another story
    assert far.end is None


def test_a_recreated_name_takes_the_creation_just_before_its_run() -> None:
    lifecycle = [{"cluster": "c", "namespace": "ns", "pod_name": "db-0", "verb": "create", "at": t * S} for t in (10, 300)]
    history = build_history([run("db-0", 400 * S, 500 * S)], lifecycle)
    assert history[0].start == 300 * S


def test_clock_skew_is_tolerated_at_the_edges_only() -> None:
    history = build_history([run("a", 100 * S, 200 * S), run("b", 400 * S, 500 * S)], [])
    assert holder_at(history, 201 * S, skew_ns=2 * S).pod == "ns/a"  # type: ignore[union-attr]
    assert holder_at(history, 203 * S, skew_ns=2 * S) is None


def test_clusters_do_not_end_each_others_intervals() -> None:
    history = build_history([run("a", 100 * S, 200 * S), run("x", 400 * S, 500 * S, cluster="other")], [])
    assert [h.end for h in history] == [None, None]


def test_a_nodes_address_seen_on_host_network_pods_stays_the_nodes() -> None:
    runs = [
        run("node-exporter-abcde", 100 * S, 200 * S),
        run("", 150 * S, 300 * S, scope="node", pod_name=None, node="ip-10-0-1-5"),
        run("kube-proxy-fghij", 250 * S, 400 * S),
    ]
    (holder,) = build_history(runs, [])
    assert (holder.scope, holder.pod, holder.node) == ("node", None, "ip-10-0-1-5")
    assert (holder.start, holder.end, holder.observations) == (100 * S, None, 3)


def test_many_addresses_read_at_once_have_the_histories_each_has_alone(tmp_path: Path) -> None:
    # The ip-reuse story (pods replaced, their addresses handed on) and the secrets story, every
    # address they hold: one read for all of them gives what one read per address gives.
    store = DuckDBStore(story_store(tmp_path / "k.duckdb", "ip-reuse", "secrets"))
    try:
        ips = [ip for (ip,) in store.con.execute("SELECT DISTINCT ip FROM ip_runs ORDER BY ip").fetchall()]
        assert len(ips) >= 3
        together = ip_histories(store, ips)
        assert together == {ip: ip_history(store, ip) for ip in ips}
        assert any(len(history) >= 2 for history in together.values())  # a reused address among them
        assert ip_histories(store, ["127.0.0.1", "::1", "0.0.0.0"]) == {}  # every pod's own, no one's
        resolver = IpResolver(store)
        resolver.prefetch(("shop-prod", ip) for ip in ips)
        assert resolver._histories == {("shop-prod", ip): ip_history(store, ip, "shop-prod") for ip in ips}
        assert any(resolver._histories.values())
    finally:
        store.close()
