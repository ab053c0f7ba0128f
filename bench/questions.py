"""The questions the suite times, asked in the library with parameters taken from the stored data
itself (an account that made calls, a pod that was busy, processes that ran, addresses pods
held), each with the issue's target for its warm p95."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import cycle
from typing import Any, Final

from kubetrail.answers.actor import Query as ActorQuery
from kubetrail.answers.actor import actor
from kubetrail.answers.egress import Query as EgressQuery
from kubetrail.answers.egress import egress
from kubetrail.answers.incidents import Query as IncidentsQuery
from kubetrail.answers.incidents import incidents
from kubetrail.answers.processes import Query as ProcessesQuery
from kubetrail.answers.processes import processes
from kubetrail.answers.secrets import Query as SecretsQuery
from kubetrail.answers.secrets import secrets
from kubetrail.answers.timeline import Query as TimelineQuery
from kubetrail.answers.timeline import timeline
from kubetrail.answers.trace import trace
from kubetrail.answers.who import who
from kubetrail.answers.window import Window
from kubetrail.store import Store
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS

HOUR: Final = 3600 * NS
FAST: Final = 0.150  # warm p95 targets, seconds: the lookups ...
SLOW: Final = 1.0  # ... and the questions that join across sources
ALL_ROWS: Final = 1_000_000


@dataclass(frozen=True)
class Params:
    """What the questions are asked about: found in the window `hour` of the store."""

    hour: Window  # the last hour of the data, whole seconds
    account: str  # the busiest service account with a bound token
    pod: str  # the busiest pod, "namespace/name"
    process_events: tuple[str, ...]  # ids of Tetragon process executions in pods
    addresses: tuple[tuple[str, int], ...]  # (IP, time) of addresses pods held then

    @property
    def day(self) -> Window:
        return Window(self.hour.until - 24 * HOUR, self.hour.until)


@dataclass(frozen=True)
class Question:
    name: str  # as the CLI asks it
    target_p95: float
    ask: Callable[[], Any]


def params(store: DuckDBStore, hour: Window, samples: int) -> Params:
    def one(sql: str) -> Any:
        rows = store.con.execute(sql, [hour.since, hour.until]).fetchall()
        if not rows:
            raise SystemExit(f"the store has nothing to ask about in the last hour: {sql}")
        return rows[0][0]

    def some(sql: str) -> list[Any]:
        return store.con.execute(sql + f" ORDER BY id LIMIT {samples}", [hour.since, hour.until]).fetchall()

    within = '"time" >= make_timestamp_ns(?) AND "time" < make_timestamp_ns(?)'
    return Params(
        hour,
        one(f"SELECT actor FROM events WHERE {within} AND token_pod_name IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, 1"),
        one(f"SELECT namespace || '/' || pod_name FROM events WHERE {within} AND pod_name IS NOT NULL "
            "GROUP BY ALL ORDER BY count(*) DESC, 1"),
        tuple(r[0] for r in some(f"SELECT id FROM events WHERE {within} AND source = 'tetragon' AND kind = 'process_exec' "
                                 "AND pod_name IS NOT NULL")),
        tuple((r[1], r[2]) for r in some(f'SELECT id, src_ip, epoch_ns("time") FROM events WHERE {within} '
                                         "AND source = 'hubble' AND src_pod_name IS NOT NULL AND src_ip IS NOT NULL")),
    )  # fmt: skip


def questions(store: Store, p: Params) -> list[Question]:
    """The CLI's questions with its default windows (1 h; 24 h for timeline and incidents)."""
    traced, held = cycle(p.process_events), cycle(p.addresses)
    return [
        Question("ask secrets --since 1h", FAST, lambda: secrets(store, SecretsQuery(p.hour))),
        Question(f"ask actor {_as_flag(p.account)} --since 1h", FAST, lambda: actor(store, ActorQuery(p.hour, p.account))),
        Question("ask egress --external --since 1h", SLOW, lambda: egress(store, EgressQuery(p.hour, external=True))),
        Question("ask processes --since 1h", SLOW, lambda: processes(store, ProcessesQuery(p.hour))),
        Question(f"ask trace ID ({len(p.process_events)} process events in turn)", FAST, lambda: trace(store, next(traced))),
        Question(f"timeline --pod {p.pod} --since 24h", FAST, lambda: timeline(store, TimelineQuery(p.day, pod=p.pod))),
        Question(f"who IP --at T ({len(p.addresses)} pod addresses in turn)", FAST, lambda: who(store, *next(held))),
        Question("incidents --since 24h", SLOW, lambda: incidents(store, IncidentsQuery(p.day))),
    ]


def secret_actors(store: DuckDBStore, win: Window) -> set[str]:
    """kubetrail's answer to the Secrets question, as the baselines give it: the actors."""
    return {r["actor"] for r in secrets(store, SecretsQuery(win, limit=ALL_ROWS))["rows"]}


def external_connections(store: DuckDBStore, win: Window) -> set[str]:
    """kubetrail's answer to the egress question, as the baselines give it: "pod address" pairs."""
    rows = egress(store, EgressQuery(win, external=True, limit=ALL_ROWS))["rows"]
    return {f"{r['pod']} {r['destination_ip']}" for r in rows}


def _as_flag(actor: str) -> str:
    """How the CLI names the account: --sa NS/NAME for a service account."""
    namespace, _, name = actor.removeprefix("system:serviceaccount:").partition(":")
    return f"--sa {namespace}/{name}" if actor.startswith("system:serviceaccount:") and name else actor
