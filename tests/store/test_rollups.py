"""The hourly rollups (0010) answer any window exactly as the events themselves do: whole hours from
the rollup tables, the partial hours at both ends from the events. Oracles here aggregate the
events directly, over a simulated cluster ingested file by file (so rollup rows of one hour come
from several batches and are merged when read)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.run import DEFAULT_START_NS, simulate
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS

HOUR = 3600 * NS
HOURS = 5


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp = tmp_path_factory.mktemp("rollups")
    simulate(tmp / "sim", seed=5, hours=HOURS, events=8000, stories=True)
    s = DuckDBStore(tmp / "k.duckdb")
    for path in sorted(expand_paths([str(tmp / "sim")])):
        ingest(s, [path], Options())
    yield s
    s.close()


def _processes(s: DuckDBStore, since: int, until: int) -> list[tuple[Any, ...]]:
    rolled = s.query("process_runs", since=since, until=until, cluster=None, namespace=None)
    raw = s.con.execute(
        """SELECT cluster, namespace, pod_name, coalesce(container_name, container_id), "binary",
               count(*) FILTER (kind = 'process_exec'), count(*), epoch_ns(min("time")), epoch_ns(max("time")),
               list(id ORDER BY (kind = 'runtime_alert') DESC, "time" DESC, id)[1:20]
           FROM events
           WHERE kind IN ('process_exec', 'runtime_alert') AND "binary" IS NOT NULL AND pod_name IS NOT NULL
               AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
           GROUP BY ALL""",
        {"since": since, "until": until},
    ).fetchall()
    got = [(r["cluster"], r["namespace"], r["pod_name"], r["container"], r["binary"], r["execs"], r["events"],
            r["first"], r["last"], r["ids"]) for r in rolled]  # fmt: skip
    assert sorted(got) == sorted(raw)
    return raw


def _egress(s: DuckDBStore, since: int, until: int) -> list[tuple[Any, ...]]:
    rolled = s.query("egress_flows", since=since, until=until, cluster=None, namespace=None)
    raw = s.con.execute(
        """SELECT cluster, namespace, pod_name, dst_ip, dst_port, protocol, count(*), epoch_ns(min("time")),
               epoch_ns(max("time")), list(id ORDER BY "time" DESC, id)[1:20],
               list_sort(list_distinct(flatten(list(dst_names) FILTER (dst_names IS NOT NULL))))
           FROM opened_connections
           WHERE "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
           GROUP BY cluster, namespace, pod_name, dst_ip, dst_port, protocol""",
        {"since": since, "until": until},
    ).fetchall()
    got = [(r["cluster"], r["namespace"], r["pod_name"], r["dst_ip"], r["port"], r["protocol"], r["flows"], r["first"],
            r["last"], r["ids"], r["names"]) for r in rolled]  # fmt: skip
    assert sorted(got) == sorted(raw)
    return raw


def _alerts(s: DuckDBStore, since: int, until: int) -> list[tuple[Any, ...]]:
    rolled = s.query("runtime_alert_counts", since=since, until=until, cluster=None)
    raw = s.con.execute(
        """SELECT cluster, namespace, pod_name, coalesce(rule, ''), priority, count(*) FROM events
           WHERE kind = 'runtime_alert' AND pod_name IS NOT NULL
               AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
           GROUP BY ALL""",
        {"since": since, "until": until},
    ).fetchall()
    got = [(r["cluster"], r["namespace"], r["pod_name"], r["rule"], r["priority"], r["alerts"]) for r in rolled]
    assert sorted(got) == sorted(raw)
    return raw


def _actor(s: DuckDBStore, since: int, until: int) -> tuple[Any, ...]:
    busiest = "SELECT actor FROM events WHERE source = 'k8s_audit' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    (actor,) = s.con.execute(busiest).fetchall()[0]
    (b,) = s.query("actor_baseline", actor=actor, since=since, until=until, cluster=None)
    raw = s.con.execute(
        """SELECT count(*), epoch_ns(min("time")), epoch_ns(max("time")), list_sort(list_distinct(list(user_agent))),
               list_sort(list_distinct(list(verb || ' ' || resource || coalesce('/' || subresource, ''))))
           FROM events WHERE source = 'k8s_audit' AND actor = $actor
               AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)""",
        {"actor": actor, "since": since, "until": until},
    ).fetchall()[0]
    got = (b["events"], b["first"], b["last"], sorted(b["user_agents"] or []) or None, sorted(b["actions"] or []) or None)
    assert got == raw
    return raw


def _tokens(s: DuckDBStore, since: int, until: int) -> list[tuple[Any, ...]]:
    rolled = s.query("token_sources", since=since, until=until, cluster=None)
    raw = s.con.execute(
        """SELECT cluster, service_account, token_pod_name, token_pod_uid, source_ips[1], epoch_ns(min("time")),
               arg_min(id, "time"), count(*)
           FROM events
           WHERE source = 'k8s_audit' AND token_pod_name IS NOT NULL AND service_account IS NOT NULL
               AND source_ips[1] IS NOT NULL AND "time" >= make_timestamp_ns($since) AND "time" < make_timestamp_ns($until)
           GROUP BY cluster, service_account, token_pod_name, token_pod_uid, source_ips[1]""",
        {"since": since, "until": until},
    ).fetchall()
    got = [(r["cluster"], r["service_account"], r["token_pod_name"], r["token_pod_uid"], r["source_ip"], r["time"], r["id"],
            r["calls"]) for r in rolled]  # fmt: skip
    assert sorted(got) == sorted(raw)
    return raw


CHECKS = (_processes, _egress, _alerts, _actor, _tokens)


@pytest.mark.parametrize("check", CHECKS)
def test_a_window_of_whole_hours_and_parts_of_two_reads_the_same_as_the_events(store: DuckDBStore, check: Any) -> None:
    since, until = DEFAULT_START_NS + HOUR // 3 + 7, DEFAULT_START_NS + 3 * HOUR + HOUR // 2
    found = check(store, since, until)
    assert found  # the window holds such events, so the comparison says something


# Windows: within one hour, across an hour's edge, on exact hours, before and after the data.
_edges = st.integers(-HOUR, (HOURS + 1) * HOUR).map(lambda t: DEFAULT_START_NS + t)
_exact = st.integers(-1, HOURS + 1).map(lambda h: DEFAULT_START_NS + h * HOUR)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.one_of(_edges, _exact), b=st.one_of(_edges, _exact))
def test_any_window_reads_the_same_from_the_rollups_as_from_the_events(store: DuckDBStore, a: int, b: int) -> None:
    since, until = min(a, b), max(a, b)
    for check in CHECKS:
        check(store, since, until)
