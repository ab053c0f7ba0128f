"""Precision of `kubetrail incidents` on simulated clusters: how many high or critical incidents
match no planted attack story, over seeds of a day of a busy cluster (every source, with the
background's periodic look-alikes of a beacon and the stories' look-alikes), ingested as
`kubetrail ingest FOLDER` would without `--cluster`, and asked for the incidents of the whole day.
Target: none. Each seed also says whether every story was found as one incident of at least its
severity with its initiator (recall), and how many medium incidents match no story.

    python -m bench.precision [--seeds 1-10] [--events 200000] [--hours 24] [--record]

Odd seeds have Hubble name the cluster (`cluster/node` node names), even ones not. Nothing is
cached: each seed is simulated and ingested in a temporary folder. `--record` puts the table at
the top of bench/RESULTS.md. Three seeds of it run in the tests (tests/simulate/test_stories.py).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench import report
from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.correlate.incidents import SEVERITIES
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.simulate.run import DEFAULT_START_NS, simulate
from kubetrail.simulate.stories import GROUND_TRUTH
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS, parse_rfc3339

EVENTS: Final = 200_000
HOURS: Final = 24.0
SEEDS: Final = tuple(range(1, 11))
Row = dict[str, Any]


@dataclass
class Seed:
    """One simulated cluster's incidents beside its ground truth."""

    seed: int
    hubble_names_cluster: bool
    truth: dict[str, Any]
    rows: list[Row]
    clusters: list[str]  # the names the store gave the events
    seconds: dict[str, float] = field(default_factory=dict)

    def matches(self, story: dict[str, Any]) -> list[Row]:
        """The incidents of a story: with its pod, and its initiator where it has one."""
        who = story["expected"]["initiator_user"]
        return [r for r in self.rows if story["pod"] in r["pods"] and (who is None or who in r["actors"])]

    @property
    def matched(self) -> set[str]:
        return {r["id"] for story in self.truth["stories"] for r in self.matches(story)}

    def found(self, story: dict[str, Any]) -> bool:
        """Found as one incident of at least its severity, with one of its techniques, a step in its time."""
        matches, expected = self.matches(story), story["expected"]
        if len(matches) != 1:
            return False
        (row,) = matches
        start, end = parse_rfc3339(story["start"]) - NS, parse_rfc3339(story["end"]) + NS
        return (
            at_least(row["severity"], expected["incident_min_severity"])
            and bool(set(row["techniques"]) & set(expected["techniques_any_of"]))
            and any(start <= parse_rfc3339(s["time"]) <= end for s in row["steps"])
        )

    def unmatched(self, floor: str) -> list[Row]:
        """Incidents of at least `floor` severity that match no story."""
        return [r for r in self.rows if r["id"] not in self.matched and at_least(r["severity"], floor)]

    def high(self) -> list[Row]:
        return [r for r in self.rows if at_least(r["severity"], "high")]


def at_least(severity: str, floor: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(floor)


def run(folder: Path, seed: int, events: int = EVENTS, hours: float = HOURS, hubble_names_cluster: bool | None = None) -> Seed:
    """Simulate (with the stories), ingest without --cluster, and ask for the incidents of the whole period."""
    named = seed % 2 == 1 if hubble_names_cluster is None else hubble_names_cluster
    out, seconds = folder / f"sim-{seed}", {}
    t = time.perf_counter()
    simulate(out, seed=seed, hours=hours, events=events, stories=True, hubble_names_cluster=named)
    seconds["simulate"] = time.perf_counter() - t
    truth = json.loads((out / GROUND_TRUTH).read_text())
    store = DuckDBStore(folder / f"k-{seed}.duckdb")
    try:
        t = time.perf_counter()
        summary = ingest(store, expand_paths([str(out)]), Options())
        seconds["ingest"] = time.perf_counter() - t
        if summary.quarantined:
            raise RuntimeError(f"seed {seed}: {summary.quarantined} records quarantined")
        t = time.perf_counter()
        doc = incidents(store, Query(Window(DEFAULT_START_NS, DEFAULT_START_NS + int(hours * 3600 * NS)), limit=10_000))
        seconds["incidents"] = time.perf_counter() - t
        clusters = store.cluster_names()
    finally:
        store.close()
    return Seed(seed, named, truth, doc["rows"], sorted(clusters), seconds)


def lines(results: list[Seed], events: int, hours: float) -> list[str]:
    rows, false_high, high = [], 0, 0
    for r in results:
        stories = r.truth["stories"]
        found = [s["name"] for s in stories if r.found(s)]
        missed = sorted({s["name"] for s in stories} - set(found))
        false_high += len(r.unmatched("high"))
        high += len(r.high())
        titles = "; ".join(f"[{x['severity']}] {x['title'][:90]}" for x in r.unmatched("medium")) or "-"
        rows.append([
            str(r.seed), "yes" if r.hubble_names_cluster else "no", ", ".join(r.clusters), f"{len(found)}/{len(stories)}"
            + (f" (missed: {', '.join(missed)})" if missed else ""), str(len(r.high())), str(len(r.unmatched("high"))),
            str(len(r.unmatched("medium")) - len(r.unmatched("high"))), titles, report.duration(sum(r.seconds.values())),
        ])  # fmt: skip
    share = (high - false_high) / high if high else 1.0
    found_all = sum(len([s for s in r.truth["stories"] if r.found(s)]) for r in results)
    stories_all = sum(len(r.truth["stories"]) for r in results)
    header = ["seed", "Hubble names the cluster", "cluster", "stories found", "high/critical", "matching no story",
              "medium matching no story", "incidents matching no story", "simulate + ingest + ask"]  # fmt: skip
    return [
        *report.table(header, rows, "rrlrrrrlr"),
        "",
        f"{len(results)} seeds × {events:,} events over {hours:g} h: {false_high} high or critical incidents matching no story "
        f"(target 0) of {high}; precision {share:.3f}; stories found {found_all} of {stories_all}.",
    ]


def seeds(text: str) -> list[int]:
    """'1-10' or '3,7,11'."""
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            return list(range(lo, hi + 1))
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give seeds as 1-10 or 3,7,11") from None


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.precision", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=seeds, default=list(SEEDS), help="e.g. 1-10 or 3,7,11")
    ap.add_argument("--events", type=int, default=EVENTS)
    ap.add_argument("--hours", type=float, default=HOURS)
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="kubetrail-precision-") as tmp:
        for seed in args.seeds:
            results.append(run(Path(tmp), seed, args.events, args.hours))
            r = results[-1]
            print(f"seed {seed}: {len(r.high())} high/critical, {len(r.unmatched('high'))} matching no story "
                  f"({', '.join(f'{k} {v:.1f} s' for k, v in r.seconds.items())})", file=sys.stderr, flush=True)  # fmt: skip
    section = [
        f"### {time.strftime('%Y-%m-%d')}: precision of `kubetrail incidents`, {len(args.seeds)} seeds × {args.events:,} events",
        "",
        f"Machine: {report.machine()}.",
        "",
        f"Command: `{shlex.join(['python', '-m', 'bench.precision', *sys.argv[1:]])}`.",
        "",
        *lines(results, args.events, args.hours),
        "",
    ]
    print("\n".join(section))
    if args.record:
        report.record(section)


if __name__ == "__main__":
    main()
