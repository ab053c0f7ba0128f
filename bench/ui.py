"""The web UI's pages beside the answers they show, on the benchmark suite's store (simulated and
ingested as `python -m bench` does, cached under bench/data/, and used as found even when older
code built it: both sides read the same store). Each page is asked of a running
`kubetrail ui` over loopback HTTP (server time measured from the request's send to its last byte:
the network is loopback, so this bounds the server's time from above); its answer is asked in the
library with the same parameters, in the same run, interleaved. Target (issue 15): a page's p95 at
most its answer's p95 + 100 ms.

    python -m bench.ui [--events 10000000] [--seed 7] [--repeat 20] [--record]
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from itertools import cycle, islice
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

import httpx

from bench import measure, report
from bench.inputs import cluster
from bench.questions import Params
from bench.suite import span_and_params, stored
from kubetrail.answers.requests import QUESTIONS, answer
from kubetrail.api.read import value_of
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import format_ns
from kubetrail.ui.web import PAGE_ROWS

SLACK: Final = 0.100  # a page may take its answer's p95 and this much more
SAMPLES: Final = 20  # events and addresses asked about in turn
_URL: Final = re.compile(r"kubetrail ui: open (\S+)")


@dataclass(frozen=True)
class Case:
    """A page, and the question whose answer it shows, asked with the same parameters."""

    name: str  # as the table shows it
    question: str  # a key of QUESTIONS
    path: str  # the page under /ui, "{...}" filled from `query`
    queries: tuple[dict[str, str], ...]  # asked in turn; the page's query string and the answer's parameters

    def page_url(self, query: dict[str, str]) -> str:
        names = set(re.findall(r"{(\w+)}", self.path))
        path = self.path.format(**{n: quote(query[n], safe="") for n in names})
        rest = {k: v for k, v in query.items() if k not in names}
        return path + ("?" + urlencode(rest) if rest else "")

    def given(self, query: dict[str, str]) -> dict[str, Any]:
        """The answer's parameters, as the page asks it (PAGE_ROWS rows unless told)."""
        params = {p.name: p for p in QUESTIONS[self.question].params}
        given = {name: value_of(params[name], [text]) for name, text in query.items()}
        return {"limit": PAGE_ROWS, **given} if "limit" in params else given


@dataclass(frozen=True)
class Timing:
    case: Case
    page: list[float]
    answer: list[float]
    page_bytes: int

    @property
    def excess(self) -> float:
        return measure.percentile(self.page, 95) - measure.percentile(self.answer, 95)


def cases(store: DuckDBStore, p: Params) -> list[Case]:
    """The pages a responder opens, with the suite's parameters: the last hour (a day for the
    incidents and timelines), its busiest pod and account, its process events and addresses."""
    at = format_ns(p.hour.until)
    hour, day = {"since": "1h", "at": at}, {"since": "24h", "at": at}
    incident = answer("incidents", store, {"since": "24h", "at": at, "limit": 1})["rows"]
    namespace, _, name = p.account.removeprefix("system:serviceaccount:").partition(":")
    out = [
        Case("incidents --since 24h", "incidents", "/incidents", (day,)),
        Case("ask secrets --since 1h", "ask secrets", "/ask/secrets", (hour,)),
        Case(f"ask actor --sa {namespace}/{name} --since 1h", "ask actor", "/ask/actor",
             ({"sa": f"{namespace}/{name}", **hour},)),
        Case("ask egress --external --since 1h", "ask egress", "/ask/egress", ({"external": "true", **hour},)),
        Case("ask processes --since 1h", "ask processes", "/ask/processes", (hour,)),
        Case(f"ask trace ID ({len(p.process_events)} process events in turn)", "ask trace", "/ask/trace",
             tuple({"event_id": e} for e in p.process_events)),
        Case(f"timeline --pod {p.pod} --since 24h", "timeline", "/timeline", ({"pod": p.pod, **day},)),
        Case(f"who IP --at T ({len(p.addresses)} pod addresses in turn)", "who", "/who",
             tuple({"ip": ip, "at": format_ns(t)} for ip, t in p.addresses)),
        Case(f"show ID ({len(p.process_events)} process events in turn)", "show", "/events/{id}",
             tuple({"id": e} for e in p.process_events)),
        Case("status", "status", "/status", ({},)),
    ]  # fmt: skip
    if incident:
        out.insert(1, Case("incident ID --since 24h (the most severe)", "incident", "/incidents/{id}",
                           ({"id": incident[0]["id"], **day},)))  # fmt: skip
    return out


def run(db: Path, p: Params, repeat: int) -> list[Timing]:
    store = DuckDBStore(db, read_only=True)
    try:
        with _ui(db) as client:
            return [_time(case, store, client, repeat) for case in cases(store, p)]
    finally:
        store.close()


def _time(case: Case, store: DuckDBStore, client: httpx.Client, repeat: int) -> Timing:
    """Each untimed once (caches, lazy imports), then `repeat` of each in turn, page then answer."""
    sizes = [len(_page(client, case, q)) for q in case.queries]
    for q in case.queries:
        answer(case.question, store, case.given(q))
    page: list[float] = []
    asked: list[float] = []
    for q in islice(cycle(case.queries), repeat):
        page += measure.timed(partial(_page, client, case, q), 1)
        asked += measure.timed(partial(answer, case.question, store, case.given(q)), 1)
    return Timing(case, page, asked, max(sizes))


def _page(client: httpx.Client, case: Case, query: dict[str, str]) -> bytes:
    response = client.get("/ui" + case.page_url(query))
    if response.status_code != 200:
        raise SystemExit(f"bench.ui: {response.request.url} answered {response.status_code}: {response.text[:300]}")
    return response.content


class _ui:
    """`kubetrail ui` on the store, on a free loopback port, logged in."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __enter__(self) -> httpx.Client:
        cmd = [sys.executable, "-m", "kubetrail", "ui", "--db", str(self.db), "--listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = _URL.search(line)
        if found is None:
            self.proc.kill()
            raise SystemExit(f"bench.ui: kubetrail ui did not start: {line!r}")
        login = httpx.URL(found.group(1))
        self.client = httpx.Client(base_url=f"{login.scheme}://{login.host}:{login.port}", timeout=60)
        if self.client.get(str(login), follow_redirects=True).status_code != 200:
            raise SystemExit("bench.ui: the login URL did not log in")
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


def lines(events: int, timings: list[Timing], repeat: int) -> Iterator[str]:
    yield f"#### {events:,} events"
    yield ""
    rows = []
    for t in timings:
        page, asked = (measure.percentile(t.page, 95), measure.percentile(t.answer, 95))
        rows.append([
            t.case.name,
            f"p50 {report.duration(measure.percentile(t.page, 50))}, p95 {report.duration(page)}; {t.page_bytes / 1024:,.0f} KiB",
            f"p50 {report.duration(measure.percentile(t.answer, 50))}, p95 {report.duration(asked)}",
            f"{t.excess * 1e3:+,.0f} ms",
            f"≤ answer p95 + {SLACK * 1e3:g} ms {report.met(t.excess <= SLACK)}",
        ])  # fmt: skip
    header = ("page (the CLI command whose answer it shows)", "page, over loopback HTTP", "answer in library, same run",
              "page p95 − answer p95", "target")  # fmt: skip
    yield from report.table(header, rows, "lrrrl")
    yield ""
    yield (
        f"Each page and its answer asked {repeat} times in turn after one untimed call, with the answer's parameters "
        "(the window ending at the last whole second of the data). Page: `kubetrail ui` in its own process, the client "
        "(httpx) logged in with its token, from send to last byte; the size is the largest page's HTML. Answer: "
        "`answers.requests.answer` on the same store, read-only, in the benchmark's process."
    )


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.ui", description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000, help="the simulated cluster's size (default 10M)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=20, help="timed calls of each page and answer")
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args()
    measure.byte_compiled()
    inputs = cluster(args.events, args.seed)
    db = inputs.folder.with_name(inputs.folder.name + ".duckdb")
    if not (db.exists() and db.with_suffix(".ingest.json").exists()):  # else as built, by whichever code
        db, _ = stored(inputs, fresh=False)
    _, p = span_and_params(db, SAMPLES)
    section = [f"### {time.strftime('%Y-%m-%d')}: web UI pages beside their answers, {args.events:,} simulated events",
               "", f"Machine: {report.machine(f'httpx {httpx.__version__}')}.", "",
               f"Command: `{shlex.join(['python', '-m', 'bench.ui', *sys.argv[1:]])}`.", ""]  # fmt: skip
    print("\n".join(section), flush=True)
    out = list(lines(args.events, run(db, p, args.repeat), args.repeat))
    print("\n".join(out), flush=True)
    if args.record:
        report.record([*section, *out, ""])


if __name__ == "__main__":
    main()
