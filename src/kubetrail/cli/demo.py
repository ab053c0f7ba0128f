"""`kubetrail demo`: simulate a cluster with its attack stories, ingest it into a fresh store,
and print what kubetrail makes of it: the incidents as stories, then the five answers."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

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
from kubetrail.answers.trace import trace
from kubetrail.answers.window import Window
from kubetrail.cli.output import incident_story
from kubetrail.ingest.pipeline import Options, Summary, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.run import simulate
from kubetrail.store.duckdb import DuckDBStore

CLUSTER = "sim"


@dataclass(frozen=True)
class Tour:
    summary: Summary
    incidents: list[dict[str, Any]]
    answers: dict[str, Any]


def run(out: Path, db: Path, *, seed: int, hours: float, events: int) -> Tour:
    shutil.rmtree(out, ignore_errors=True)
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)
    simulate(out, seed=seed, hours=hours, events=events, stories=True, cluster_name=CLUSTER)
    store = DuckDBStore(db)
    try:
        # No --cluster: Hubble names the cluster in its node names, and that names every event.
        summary = ingest(store, list(expand_paths([str(out)])), Options())
        (span,) = store.con.execute("SELECT epoch_ns(min(time)), epoch_ns(max(time)) FROM events").fetchall()
        window = Window(span[0], span[1] + 1)
        found = incidents(store, IncidentsQuery(window))["rows"]
        return Tour(summary, found, _answers(store, window, found))
    finally:
        store.close()


def _answers(store: DuckDBStore, window: Window, found: list[dict[str, Any]]) -> dict[str, Any]:
    """The five questions, asked the way a responder would after reading the incidents."""
    account = next((a for r in found for a in r["actors"] if a.startswith("system:serviceaccount:")), None)
    traced = next((s["id"] for r in found for s in reversed(r["steps"]) if s["source"] == "tetragon"), None)
    pod = found[0]["pods"][0] if found and found[0]["pods"] else None
    calls = actor(store, ActorQuery(window, account))["rows"] if account else []
    return {
        "Which pods read secrets?": secrets(store, SecretsQuery(window, limit=8))["rows"],
        f"Did a container of {pod} run a process it should not?": processes(
            store, ProcessesQuery(window, pod=pod, unexpected=True, limit=8)
        )["rows"],
        f"What did {account} do, and what was suspicious?": [r for r in calls if r["suspicious"]],
        "Which workloads talked to the outside, and which destinations are new?": egress(
            store, EgressQuery(window, external=True, limit=8)
        )["rows"],
        "Which user action caused the last runtime step of the worst incident?": trace(store, traced) if traced else None,
    }


def render(tour: Tour) -> None:
    counts = ", ".join(f"{k}={v}" for k, v in sorted(tour.summary.ingested.items()))
    summary = tour.summary
    named = (
        f" into cluster {summary.naming.name} (named by {', '.join(sorted({s for _, s in summary.named}))})"
        if summary.naming
        else ""
    )
    click.echo(
        f"Ingested {counts}{named}; {summary.duplicates} records delivered twice kept once, {summary.conflicts} conflicts, "
        f"quarantined {summary.quarantined}.\n"
    )
    click.secho(f"{len(tour.incidents)} incidents", bold=True)
    for row in tour.incidents:
        click.echo("")
        incident_story(row)
    for question, answer in tour.answers.items():
        click.secho(f"\n{question}", bold=True)
        for line in _lines(answer):
            click.echo(f"  {line[:170]}")


def _lines(answer: Any) -> list[str]:
    if answer is None or answer == []:
        return ["(nothing)"]
    if isinstance(answer, dict):  # a trace
        i = answer["initiator"]
        head = f"initiated by {i['user']} via {i['type']} ({i['strength']})" if i else "no initiator found"
        return [head, *(f"{s['time'][11:23]}  {s['source']:<9} {s['summary']}" for s in answer["chain"])]
    return [_row_line(r) for r in answer]


def _row_line(r: dict[str, Any]) -> str:
    if "secrets" in r:
        return f"{r['actor']} from {r['pod'] or '-'} ({r['attribution']}): {', '.join(r['verbs'])} {', '.join(r['secrets'])}"
    if "binary" in r:
        who = f" <- {r['initiator']['user']}" if r["initiator"] else ""
        return f"{r['pod']} {r['binary']}: {'; '.join(r['reasons'])}{who}"
    if "destination_ip" in r:
        names = ",".join(r["destination_names"]) or r["destination_ip"]
        return f"{r['pod']} -> {names}:{r['port']} ({r['destination_scope']}{', new' if r['new'] else ''})"
    return f"{r['time'][11:23]} {r['verb']} {r['resource']} {r['namespace'] or ''}: {'; '.join(r['reasons'])}"
