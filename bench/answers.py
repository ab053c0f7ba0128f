"""Answer benchmark: the questions over a store of simulated audit events, warm in the library
(p50/p95) and cold through the CLI (p50), beside DuckDB answering the secrets question straight
from the raw log in the same run, and how many questions it takes for ingest to pay for itself.

    python -m bench.answers [--events 1000000] [--seed 7] [--repeat 20] [--record]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from bench.ingest import DATA, audit_file, machine, record
from kubetrail.answers.actor import Query as ActorQuery
from kubetrail.answers.actor import actor
from kubetrail.answers.secrets import Query as SecretsQuery
from kubetrail.answers.secrets import secrets
from kubetrail.answers.timeline import Query as TimelineQuery
from kubetrail.answers.timeline import timeline
from kubetrail.answers.who import who
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS, format_ns

HOUR = 3600 * NS

# The secrets question asked of the raw file: who read or changed Secrets in a window.
RAW_SECRETS = """
SELECT "user".username AS actor, list(DISTINCT verb) AS verbs, count(DISTINCT auditID) AS calls
FROM read_json(?, format = 'newline_delimited', columns = {
    auditID: 'VARCHAR', verb: 'VARCHAR', requestReceivedTimestamp: 'TIMESTAMP',
    "user": 'STRUCT(username VARCHAR)', objectRef: 'STRUCT(resource VARCHAR, namespace VARCHAR, name VARCHAR)'})
WHERE objectRef.resource = 'secrets' AND requestReceivedTimestamp >= ?::TIMESTAMP AND requestReceivedTimestamp < ?::TIMESTAMP
GROUP BY ALL ORDER BY calls DESC
"""


def store_file(log: Path) -> tuple[Path, float]:
    """The ingested store of `log` (cached) and the seconds its ingest took."""
    db = DATA / f"{log.stem}.duckdb"
    took = DATA / f"{log.stem}.ingest-seconds"
    if not db.exists():
        start = time.perf_counter()
        store = DuckDBStore(db)
        ingest(store, [str(log)], Options())
        store.close()
        took.write_text(f"{time.perf_counter() - start:.1f}")
    return db, float(took.read_text())


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()

    log = audit_file(args.events, args.seed)
    db, ingest_s = store_file(log)
    store = DuckDBStore(db, read_only=True)
    (newest,) = store.query("newest_event")
    at = newest["newest"]
    win = Window(at - HOUR, at)
    sa = store.con.execute(
        "SELECT actor FROM events WHERE token_pod_name IS NOT NULL GROUP BY actor ORDER BY count(*) DESC LIMIT 1"
    ).fetchall()[0][0]
    pod_ip, pod = store.con.execute(
        "SELECT source_ips[1], split_part(service_account, '/', 1) || '/' || token_pod_name FROM events "
        "WHERE token_pod_name IS NOT NULL LIMIT 1"
    ).fetchall()[0]
    questions: dict[str, Callable[[], Any]] = {
        "ask secrets (1 h)": lambda: secrets(store, SecretsQuery(win)),
        "ask actor --sa (1 h)": lambda: actor(store, ActorQuery(win, sa)),
        "timeline --pod (24 h)": lambda: timeline(store, TimelineQuery(Window(at - 24 * HOUR, at), pod=pod)),
        "who IP": lambda: who(store, pod_ip, at),
    }
    warm = {name: timed(fn, args.repeat) for name, fn in questions.items()}
    store.close()
    cold = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "kubetrail", "ask", "secrets", "--db", str(db), "--at", "latest", "-o", "json"],
            check=True, capture_output=True,
        ),
        5,
    )  # fmt: skip

    raw = timed(
        lambda: duckdb.connect().execute(RAW_SECRETS, [str(log), format_ns(at - HOUR)[:26], format_ns(at)[:26]]).fetchall(), 3
    )
    stored = statistics.median(warm["ask secrets (1 h)"])
    saved = statistics.median(raw) - stored
    payback = ingest_s / saved if saved > 0 else float("inf")
    lines = [
        f"### {time.strftime('%Y-%m-%d')}: answers over {args.events:,} simulated audit events",
        "",
        f"Machine: {machine()}. Store {db.stat().st_size / 2**20:,.0f} MiB, ingested in {ingest_s:.0f} s. "
        f"Command: `python -m bench.answers --events {args.events} --seed {args.seed} --repeat {args.repeat}`.",
        "",
        "| question | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *(f"| {name} warm, in library | {p(v, 50) * 1e3:,.0f} | {p(v, 95) * 1e3:,.0f} |" for name, v in warm.items()),
        f"| ask secrets cold, CLI process | {statistics.median(cold) * 1e3:,.0f} | |",
        f"| baseline: DuckDB read_json over the raw log, secrets question | {statistics.median(raw) * 1e3:,.0f} | |",
        "",
        f"Ingest pays for itself after {payback:,.0f} secrets questions (ingest time / time saved per question).",
        "",
    ]
    print("\n".join(lines))
    if args.record:
        record(lines)


if __name__ == "__main__":
    main()
