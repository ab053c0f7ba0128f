"""The hourly rollups of the ClickHouse store (migration 0004, side/0004_*.sql): kept with each
batch, exact when the same events are rolled up twice (two writers racing on them), filled for the
events stored before them, and read by the questions as DuckDB reads its own (0010): every
rollup-reading query answers as the DuckDB store does over the same events, on any window."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kubetrail.store.clickhouse as ch
from kubetrail.model import Event
from kubetrail.store import open_store
from kubetrail.store.batch import to_arrow
from kubetrail.store.clickhouse import ClickHouseStore
from tests.conftest import chdb_as_of, chdb_url

HOUR = 3_600_000_000_000
T0 = 1_764_324_000_000_000_000 // HOUR * HOUR  # an hour's start
QUERIES = (
    "actor_baseline", "token_sources", "process_runs", "process_baseline", "steady_images", "egress_flows",
    "egress_baseline", "steady_candidates", "steady_reach", "runtime_alert_counts", "runtime_alert_rules",
)  # fmt: skip
PODS = [("shop", "cart-1"), ("shop", "cart-2"), ("kube-system", "proxy-1"), (None, "bare")]
IPS = ["10.0.0.7", "192.168.1.2", "52.1.2.3", "34.9.9.9", "fd00::1"]
ACTORS = ["alice", "system:serviceaccount:shop:cart"]
_names = iter(range(1_000_000))


def _pod(i: int, cluster: str) -> dict[str, Any]:
    """A pod's fields, all determined by the pod (so that `any` value is the same on both engines)."""
    ns, name = PODS[i]
    return {
        "cluster": cluster, "namespace": ns, "pod_name": name, "pod_uid": f"uid-{name}", "node": f"node-{i % 2}",
        "image": f"img/{name}:1", "workload_name": name.split("-")[0], "container_name": "main" if i != 3 else None,
        "container_id": f"ctr-{name}",
    }  # fmt: skip


def make_event(n: int, kind: int, t: int, a: int, b: int, cluster: str) -> Event:
    """Event number `n` of one of five shapes, at `t`, varied by `a` and `b`."""
    i = a % len(PODS)
    common = {"id": f"e{n}", "time": t, "content_hash": f"h{n}"}
    if kind == 0:  # a process started in a pod
        return Event(source="tetragon", kind="process_exec", binary=["/bin/sh", "/usr/bin/curl"][b % 2], args=f"-c {n}",
                     **common, **_pod(i, cluster))  # fmt: skip
    if kind == 1:  # a runtime alert about a process (or without a rule)
        return Event(source="falco", kind="runtime_alert", binary="/bin/sh", rule=[None, "Shell", "Curl"][b % 3],
                     priority=["Notice", None][b % 2], **common, **_pod(i, cluster))  # fmt: skip
    if kind == 2:  # a connection a pod opened (Hubble)
        p = _pod(i, cluster)
        return Event(source="hubble", kind="network_flow", cluster=cluster, src_namespace=p["namespace"],
                     src_pod_name=p["pod_name"], src_workload=p["workload_name"], src_ip=f"10.1.0.{i}",
                     dst_ip=IPS[b % len(IPS)], dst_port=[443, 53, None][b % 3], protocol=["TCP", None][b % 2],
                     verdict=["FORWARDED", "DROPPED", None][(a + b) % 3], direction="EGRESS",
                     dst_names=[["api.example.com"], None, ["x.example.org", "y.example.org"]][b % 3],
                     dst_labels=["reserved:kube-apiserver"] if b % 5 == 4 else None, **common)  # fmt: skip
    if kind == 3:  # a connection a pod opened (Tetragon)
        return Event(source="tetragon", kind="network_flow", dst_ip=IPS[b % len(IPS)], dst_port=443, protocol="TCP",
                     direction="EGRESS", src_ip=f"10.1.0.{i}", **common, **_pod(i, cluster))  # fmt: skip
    return Event(source="k8s_audit", kind="api_call", cluster=cluster, actor=ACTORS[a % 2],
                 user_agent=["kubectl/1.30", None, "curl"][b % 3], verb=["get", "list", "create"][(a + b) % 3],
                 resource=["pods", "secrets", None][b % 3], subresource=["exec", None][a % 2],
                 service_account="shop/cart" if a % 2 else None, token_pod_name=f"cart-{b % 2}" if a % 2 else None,
                 token_pod_uid=[None, "u1"][b % 2], source_ips=[f"10.2.0.{b % 3}"] if b % 4 else None,
                 summary=[f"call {n}", None][b % 2], **common)  # fmt: skip


def corpus(draws: list[tuple[int, int, int, int, int]]) -> list[Event]:
    """Events of distinct times (ties would leave DuckDB's arg_min free to pick either)."""
    seen: set[int] = set()
    events = []
    for n, (kind, offset, a, b, c) in enumerate(draws):
        t = T0 + offset
        while t in seen:
            t += 1
        seen.add(t)
        events.append(make_event(n, kind, t, a, b, ["c", "d"][c]))
    return events


def windows(events: list[Event], extra: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Windows that start and end on and off hours, inside and around the events."""
    out = [(T0 - HOUR, T0 + 8 * HOUR), (T0 + HOUR, T0 + 3 * HOUR), (T0 + HOUR // 2, T0 + 5 * HOUR + 7)]
    out += [(T0 + 7 * HOUR // 3, T0 + 8 * HOUR // 3), (T0 + 3 * HOUR - 5, T0 + 3 * HOUR + 5)]
    times = sorted(e.time for e in events)
    if times:
        out += [(times[0], times[-1]), (times[len(times) // 2], times[-1] + 1)]
    return out + [(T0 + min(a, b), T0 + max(a, b) + 1) for a, b in extra]


def params(since: int, until: int, k: int) -> dict[str, Any]:
    """Every query's parameters (each takes those it names)."""
    return {
        "since": since, "until": until, "cluster": [None, "c", "d"][k % 3], "namespace": [None, "shop"][k % 2],
        "actor": ACTORS[k % 2], "pods": [f"c|shop|cart-{k % 2}", "d|kube-system|proxy-1", "c|bare"],
        "ips": IPS[k % 3 : k % 3 + 2], "names": ["api.example.com"] if k % 2 else ["y.example.org"],
        "min_connections": [1, 3][k % 2], "min_span": [0, HOUR // 4][k % 2],
    }  # fmt: skip


def normal(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows in one order, their lists sorted where the order means nothing (`ids` is ranked)."""

    def value(k: str, v: Any) -> Any:
        if isinstance(v, list):
            return tuple(v) if k == "ids" else tuple(sorted(v))
        return v

    return sorted((tuple(sorted((k, value(k, v)) for k, v in r.items())) for r in rows), key=repr)


def answers(store: Any, wins: list[tuple[int, int]]) -> dict[tuple[str, int], list[tuple[Any, ...]]]:
    wanted = {n: ch._named_query(n) for n in QUERIES}  # every query exists on ClickHouse
    assert len(wanted) == len(QUERIES)
    out = {}
    for k, (since, until) in enumerate(wins):
        p = params(since, until, k)
        for name in QUERIES:
            out[name, k] = normal(store.query(name, **{n: v for n, v in p.items() if _takes(name, n)}))
    return out


def _takes(name: str, param: str) -> bool:
    text = ch._named_query(name)
    return f"{{{param}:" in text


def rollups(store: ClickHouseStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup table finalized per key and hour: what the queries merge."""
    finals = {
        "process_hours": "uniqExactMerge(events), uniqExactMerge(execs), min(first), max(last), argMaxMerge(args), "
        "argMaxMerge(latest_exec), arraySort(groupUniqArrayArray(rules))",
        "egress_hours": "uniqExactMerge(flows), min(first), max(last), arraySort(groupUniqArrayArray(names))",
        "alert_hours": "uniqExactMerge(alerts)",
        "api_hours": "uniqExactMerge(stages), min(first), max(last)",
        "token_hours": "uniqExactMerge(calls), min(first), argMinMerge(id), argMinMerge(summary)",
    }
    keys = {
        "process_hours": "cluster, namespace, pod_name, container, `binary`, hour",
        "egress_hours": "cluster, namespace, pod_name, dst_ip, port, protocol, hour",
        "alert_hours": "cluster, namespace, pod_name, rule, priority, hour",
        "api_hours": "cluster, actor, user_agent, action, hour",
        "token_hours": "cluster, service_account, token_pod_name, token_pod_uid, source_ip, hour",
    }
    return {
        t: [tuple(r) for r in store.client.query(f"SELECT {keys[t]}, {f} FROM {t} GROUP BY {keys[t]} ORDER BY ALL").result_rows]
        for t, f in finals.items()
    }


draw = st.tuples(st.integers(0, 4), st.integers(-HOUR // 2, 7 * HOUR), st.integers(0, 7), st.integers(0, 11), st.integers(0, 1))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    st.lists(draw, min_size=1, max_size=60),
    st.lists(st.integers(1, 59), max_size=4),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=4),
    st.lists(st.tuples(st.integers(-HOUR, 8 * HOUR), st.integers(-HOUR, 8 * HOUR)), max_size=3),
)
def test_rollups_read_twice_written_answer_as_duckdb(
    tmp_path: Path, draws: list[Any], cuts: list[int], repeats: list[tuple[int, int]], extra: list[tuple[int, int]]
) -> None:
    """Events written in batches, and the rollup rows of some of them written again (as by a writer
    racing on the same events): every rollup-reading query answers as DuckDB over the events."""
    events = corpus(draws)
    bounds = sorted({0, len(events), *(c for c in cuts if c < len(events))})
    name = f"rollups_{next(_names)}_{os.getpid()}"
    store = ClickHouseStore(chdb_url(name))
    duck = open_store(str(tmp_path / f"{name}.duckdb"))
    try:
        for lo, hi in pairwise(bounds):
            store.write_events(to_arrow(events[lo:hi]))
        once = rollups(store)
        for a, b in repeats:  # the same events rolled up again, in other batches
            if events[min(a, b) : max(a, b) + 1]:
                ClickHouseStore._load_new(store.client, to_arrow(events[min(a, b) : max(a, b) + 1]))
                ClickHouseStore._write_side_tables(store.client)
        ClickHouseStore._load_new(store.client, to_arrow(events))
        ClickHouseStore._write_side_tables(store.client)
        assert rollups(store) == once
        duck.write_events(to_arrow(events))  # one batch: DuckDB's rollup rows are whole hours, as ClickHouse's
        wins = windows(events, extra)
        assert answers(store, wins) == answers(duck, wins)
    finally:
        store.close()
        duck.close()


def test_a_store_from_before_the_rollups_is_filled_with_the_events_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store at schema version 2 (no lookups, no rollups) with events, opened by this kubetrail:
    the migration fills the rollups, and every query answers as on a store written with them."""
    draws = [(k % 5, (k * 7919 * 10**9) % (7 * HOUR), k % 8, (k * 7) % 12, k % 2) for k in range(300)]
    events = corpus(draws)
    old, new = chdb_url(f"before_{os.getpid()}"), chdb_url(f"after_{os.getpid()}")
    with monkeypatch.context() as m:
        chdb_as_of(m, 2)
        store = ClickHouseStore(old)
        assert store.schema_version() == 2
        store.write_events(to_arrow(events[:120]))
        store.write_events(to_arrow(events[120:]))
        store.close()
    store = ClickHouseStore(old)
    fresh = ClickHouseStore(new)
    try:
        assert store.schema_version() == fresh.schema_version() == ch.SCHEMA_VERSION
        for lo in range(0, len(events), 50):
            fresh.write_events(to_arrow(events[lo : lo + 50]))
        assert rollups(store) == rollups(fresh)
        wins = windows(events, [(0, 3 * HOUR), (HOUR // 3, 6 * HOUR + HOUR // 3)])
        assert answers(store, wins) == answers(fresh, wins)
        duck = open_store(str(tmp_path / "d.duckdb"))
        duck.write_events(to_arrow(events))
        try:
            assert answers(store, wins) == answers(duck, wins)
        finally:
            duck.close()
    finally:
        store.close()
        fresh.close()
