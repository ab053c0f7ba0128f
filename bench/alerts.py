"""Incidents told as they happen: `kubetrail serve` under the sustained load of bench/serve.py,
with a webhook alert output pointing at a receiver in this process.

    python -m bench.alerts [--rate 5000] [--seconds 600] [--record] [--keep DIR]

The simulated cluster is replayed in event time (bench.serve.in_event_time), its planted attack
stories merged in, so that every source's records arrive as they happened, sped up to the rate.

Measured, beside everything bench.serve measures (rate, latency, RSS, exactly once): for each
incident, the time from the arrival of the event that made it one to its first notice. After the
run every acknowledged record is ingested from files into a reference store (as bench.serve
does), whose line numbers lead back to the request that carried it; an event's arrival is that
request's acknowledgement (2xx). The event that made an incident one is found by bisection in
event time: the first event such that the engine's window ending just after it (its latest
`window_seconds` of events, else the longest window it holds open back to an active incident)
finds an incident holding one of the notice's steps (or with its pods and destinations: a steady
channel's one step differs between windows) at the output's minimum severity (an escalation: at
the severity it escalated to). This holds for incidents made by one signal and for those made by
a count (a steady channel out is one at its sixth connection). Over the run's two halves: no
growth of notice latency.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import hmac
import json
import math
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from bench import report
from bench.measure import percentile
from bench.serve import RATE, SECONDS, Config, Run, header, ms, run, sustained_lines
from kubetrail.alerts import AlertSettings
from kubetrail.alerts.engine import HOLD_WINDOWS, MAX_ROWS
from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.correlate.incidents import SEVERITIES
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS

TARGET_P99: Final = 5.0  # seconds from the signal to the first notice
LEAST: Final = "medium"  # the output's minimum severity
WINDOW_NS: Final = AlertSettings().window_seconds * NS
KEY: Final = secrets.token_urlsafe(32).encode()  # the secret_file holds text


@dataclass(frozen=True)
class Told:
    at: float  # time.monotonic() when it arrived
    kind: str
    incident: str
    severity: str
    steps: tuple[str, ...]
    title: str
    entities: tuple[tuple[str, ...], tuple[str, ...]]  # its pods and destinations


@dataclass
class Receiver:
    """A webhook endpoint that checks each notice's signature and keeps it with its arrival time."""

    told: list[Told] = field(default_factory=list)
    bad: int = 0
    url: str = ""

    def start(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.monotonic()
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                signed = hmac.new(KEY, self.headers["x-kubetrail-timestamp"].encode() + b"." + body, hashlib.sha256)
                if not hmac.compare_digest("sha256=" + signed.hexdigest(), self.headers["x-kubetrail-signature"]):
                    receiver.bad += 1
                doc = json.loads(body)
                incident = doc["incident"]
                steps = tuple(s["id"] for s in incident["steps"])
                entities = (tuple(incident["pods"]), tuple(incident["destinations"]))
                receiver.told.append(Told(at, doc["kind"], incident["id"], doc["severity"], steps, incident["title"], entities))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def serve_yaml(url: str, key_file: Path) -> str:
    return (
        f"alerts:\n  outputs:\n    - {{type: webhook, name: bench, url: {url}, secret_file: {key_file}, min_severity: {LEAST}}}\n"
    )


@dataclass
class Reference:
    """The acknowledged events (the reference store of bench.serve's check), in event time, each
    with its arrival: the acknowledgement of the request that carried its record (seconds after
    the start)."""

    store: DuckDBStore
    ids: list[str]
    times: list[int]  # ns, ascending
    arrived: list[float]
    seen_by: list[tuple[float, int]]  # (arrival, the newest event time arrived by then), ascending

    @classmethod
    def of(cls, r: Run, folder: Path) -> Reference:
        starts = _request_starts(r)
        store = DuckDBStore(folder / "reference.duckdb", read_only=True)
        rows = store.con.execute(
            "SELECT e.id, epoch_ns(e.time), f.path, e.line FROM events e JOIN files f USING (file_id) ORDER BY 2, 1"
        ).fetchall()
        arrived = []
        for _, _, path, line in rows:
            firsts, acked = starts[Path(path).name]
            arrived.append(acked[bisect.bisect_right(firsts, line) - 1])
        newest, seen_by = 0, []
        for at, t in sorted(zip(arrived, (row[1] for row in rows), strict=True)):
            newest = max(newest, t)
            seen_by.append((at, newest))
        return cls(store, [row[0] for row in rows], [row[1] for row in rows], arrived, seen_by)

    def newest_at(self, at: float) -> int:
        """The newest event time the server had acknowledged `at` seconds after the start."""
        i = bisect.bisect_right(self.seen_by, (at, math.inf)) - 1
        return self.seen_by[i][1] if i >= 0 else 0

    def shows(self, i: int, told: Told, least: str, span: int = WINDOW_NS) -> bool:
        """Whether the engine's look, its window of `span` ns ending just after event i, finds
        the told incident at severity `least` or above: one holding any of its steps, or with its
        pods and destinations (a steady channel's one step is its first connection in the window,
        which differs between the engine's window, held open, and this one)."""
        until = self.times[i] + 1
        rows = incidents(self.store, Query(Window(until - span, until), limit=MAX_ROWS))["rows"]
        rank = SEVERITIES.index(least)
        steps = set(told.steps)

        def same(row: dict[str, Any]) -> bool:
            return (
                bool(steps & {s["id"] for s in row["steps"]}) or (tuple(row["pods"]), tuple(row["destinations"])) == told.entities
            )

        return any(SEVERITIES.index(row["severity"]) >= rank and same(row) for row in rows)

    def made_by(self, told: Told, start: float, least: str) -> tuple[int, int] | None:
        """The event that made the told incident one at `least` severity: the first in event time
        whose arrival lets the engine's window find it, with that window's span. The plain
        window first, then the longest the engine holds open (back to an active incident's first
        signal, HOLD_WINDOWS windows at most: alerts/engine.py), where a steady channel's early
        connections may say something else than in the plain window. None when the store as
        acknowledged by the notice's arrival shows it in neither."""
        firsts = [self.times[j] for j, event_id in enumerate(self.ids) if event_id in told.steps]
        if not firsts:
            return None
        first = bisect.bisect_left(self.times, min(firsts))
        newest = bisect.bisect_right(self.times, self.newest_at(told.at - start)) - 1
        for span in (WINDOW_NS, HOLD_WINDOWS * WINDOW_NS):
            lo, hi = first, newest
            if hi < lo or not self.shows(hi, told, least, span):
                continue
            while lo < hi:
                mid = (lo + hi) // 2
                if self.shows(mid, told, least, span):
                    hi = mid
                else:
                    lo = mid + 1
            return lo, span
        return None


def _request_starts(r: Run) -> dict[str, tuple[list[int], list[float]]]:
    """Per acknowledged file (acknowledged/<source>.jsonl: the acknowledged requests' lines, in
    line order, bench.serve.acknowledged_files): each request's first line (1-based) and its
    acknowledgement."""
    starts: dict[str, tuple[list[int], list[float]]] = {}
    for index, wire in enumerate(r.wires):
        done = sorted((s for s in r.gen.requests if s.ok and s.wire == index), key=lambda s: s.first)
        firsts, acked, line = [], [], 1
        for s in done:
            firsts.append(line)
            acked.append(s.acked)
            line += s.lines
        starts[f"{wire.source}.jsonl"] = (firsts, acked)
    return starts


@dataclass
class Latency:
    kind: str
    at: float  # the notice's arrival, after the start
    seconds: float  # from the arrival of the event that made it
    held: bool = False  # found in the engine's longest held window, not in the plain one


def latencies(told: list[Told], ref: Reference, start: float, least: str) -> tuple[list[Latency], list[Told]]:
    """First notices and escalations, each from the arrival of the event that made it; and the
    notices the reference store does not show as the engine saw them."""
    out: list[Latency] = []
    lost: list[Told] = []
    seen = set()
    for t in sorted(told, key=lambda t: t.at):
        if t.kind not in ("firing", "escalated") or (t.kind == "firing" and t.incident in seen):
            continue
        seen.add(t.incident)
        made = ref.made_by(t, start, least if t.kind == "firing" else t.severity)
        if made is None:
            lost.append(t)
            continue
        i, span = made
        at = t.at - start
        out.append(Latency(t.kind, at, at - ref.arrived[i], held=span > WINDOW_NS))
    return out, lost


def alert_lines(r: Run, told: list[Told], found: list[Latency], lost: list[Told], bad: int) -> list[str]:
    firsts = [x for x in found if x.kind == "firing"]
    ups = [x for x in found if x.kind == "escalated"]
    firing = [t for t in told if t.kind == "firing"]
    per_incident = {t.incident for t in firing}
    half = r.config.seconds / 2

    def p(values: list[float], q: int) -> float:
        return percentile(values, q) if values else math.nan

    first_s = [x.seconds for x in firsts]
    early = [x.seconds for x in firsts if x.at < half]
    late = [x.seconds for x in firsts if x.at >= half]
    rows = [
        ["incidents told (webhook notices: firing, escalated, resolved)",
         f"{len(per_incident):,} incidents; notices {len(firing):,} firing, {len(ups):,} escalated, "
         f"{sum(t.kind == 'resolved' for t in told):,} resolved; {bad} with a bad signature", "", "",
         f"one first notice per incident {report.met(len(firing) == len(per_incident))}"],
        ["first notice, from the arrival of the event that made the incident one",
         f"p50 {ms(p(first_s, 50))}, p99 {ms(p(first_s, 99))}, max {ms(max(first_s, default=math.nan))}", "", "",
         f"p99 ≤ {TARGET_P99:g} s {report.met(bool(first_s) and p(first_s, 99) <= TARGET_P99)}"],
        ["… in the first and second half of the run", f"p99 {ms(p(early, 99))}; p99 {ms(p(late, 99))}", "", "",
         "no growth " + ("-" if not early or not late else report.met(p(late, 99) <= max(2 * p(early, 99), 1.0)))],
        ["escalation notice, from the arrival of the event that escalated it",
         f"{len(ups):,}: p50 {ms(p([x.seconds for x in ups], 50))}, p99 {ms(p([x.seconds for x in ups], 99))}", "", "", ""],
        ["… of which found only in the longest window the engine holds open",
         f"{sum(x.held for x in found):,}: " + (", ".join(ms(x.seconds) for x in found if x.held) or "-"), "", "", ""],
        ["notices not found again in the reference store's windows",
         f"{len(lost):,} of {len(lost) + len(found):,}" + "".join(f"; {t.kind} {t.severity}: {t.title}" for t in lost[:5]),
         "", "", "none " + report.met(not lost)],
    ]  # fmt: skip
    cols = ["measure", "kubetrail serve", "baseline, same run", "ratio", "target"]
    return [*report.table(cols, rows, "lrrrl"), ""]


def main(argv: Sequence[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=RATE)
    ap.add_argument("--seconds", type=float, default=SECONDS)
    ap.add_argument("--events", type=int, default=0)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--keep", type=Path, help="move the run's stores, log and replayed files into this folder, to inspect")
    args = ap.parse_args(argv)
    receiver = Receiver()
    server = receiver.start()
    cfg = Config(rate=args.rate, seconds=args.seconds, events=args.events, timed=True)
    found: list[Latency] = []
    lost: list[Told] = []
    with_key = Path(cfg.data) / "alerts-bench.key"
    cfg.data.mkdir(parents=True, exist_ok=True)
    with_key.write_bytes(KEY)

    def inspect(r: Run, folder: Path) -> None:
        measured, missed = latencies(receiver.told, Reference.of(r, folder), r.gen.start, LEAST)
        found.extend(measured)
        lost.extend(missed)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("serve.duckdb", "serve.log", "reference.duckdb", "replay"):
                if (folder / name).exists():
                    shutil.move(folder / name, args.keep / name)

    try:
        r = run(cfg, serve_yaml(receiver.url, with_key), inspect)
    finally:
        server.shutdown()
        with_key.unlink(missing_ok=True)
    argv = list(sys.argv[1:] if argv is None else argv)
    title = f"kubetrail serve with alerts, {cfg.rate:,.0f} events/s for {cfg.seconds:g} s, a webhook output"
    lines = alert_lines(r, receiver.told, found, lost, receiver.bad)
    section = [*header(title, argv, "bench.alerts"), *lines, *sustained_lines(r)]
    print("\n".join(section), flush=True)
    if args.record:
        report.record(section)
    return section


if __name__ == "__main__":
    main()
