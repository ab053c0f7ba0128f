"""kubetrail's benchmark suite: at each size, a simulated cluster's telemetry from every source is
ingested (events/s per source beside its parsing limit, peak RSS, store size), correlated (the
incidents over the whole period; a batch of 10,000 new events ingested and correlated), and
questioned (every question warm, `ask secrets` cold), beside jq and DuckDB answering the secrets
and egress questions from the raw files in the same run. See bench/suite.py.

    python -m bench [--events 1000000,10000000] [--seed 7] [--repeat 20] [--fresh] [--record]

Simulated files and stores are cached under bench/data/. `--record` puts the run at the top of
bench/RESULTS.md with the machine, versions and command.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from bench import baselines, measure, report, tables
from bench.suite import Config, run


def sizes(text: str) -> list[int]:
    try:
        out = [int(s.replace("_", "")) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give event counts separated by commas, e.g. 1000000,10000000") from None
    if any(n < 1000 for n in out):
        raise argparse.ArgumentTypeError("give at least 1000 events per size")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=sizes, default=[1_000_000, 10_000_000], help="sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=20, help="warm calls per question")
    ap.add_argument("--cold", type=int, default=5, help="cold CLI runs")
    ap.add_argument("--raw-repeat", type=int, default=0, help="runs of each raw baseline (default 3; 1 from 5M events)")
    ap.add_argument("--fresh", action="store_true", help="ingest again (and re-measure) even when the store is cached")
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args()
    measure.byte_compiled()

    section = [f"### {time.strftime('%Y-%m-%d')}: benchmark suite at {', '.join(f'{n:,}' for n in args.events)} simulated events",
               "", f"Machine: {report.machine(baselines.jq_version())}.", "",
               f"Command: `{shlex.join(['python', '-m', 'bench', *sys.argv[1:]])}`.", ""]  # fmt: skip
    print("\n".join(section), flush=True)
    for events in args.events:
        cfg = Config(events, args.seed, args.repeat, args.cold, args.raw_repeat, fresh=args.fresh)
        lines = [f"#### {events:,} events", "", *tables.lines(run(cfg)), ""]
        print("\n".join(lines), flush=True)
        section += lines
    if args.record:
        report.record(section)


if __name__ == "__main__":
    main()
