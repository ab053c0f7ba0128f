"""`incidents --since 24h` with the built-in rules, then with 100 generated user rules beside them:
before the store covers them (their class tables read in the window) and after
`kubetrail rules rebuild` (their candidates read). Warm p95 of each, in the same run, and what the
rebuild cost. Targets (issue 18): the built-in rules keep incidents' 24 h p95 at most 1 s; the 100
user rules cost at most 2x that.

The store is any store of simulated events (e.g. the suite's 10M store); an older one is migrated
first, in place. The user rules are drawn (seeded) from the store's own vocabulary, as a team's
rules are: API calls of rare (resource, verb, namespace) combinations and tools' user agents,
programs and arguments of tools the store's workloads run rarely or never, connections to rare
ports and to blocklisted ranges. Most match a few events of the day or none, as detections do.

    python -m bench.rules --db bench/data/rules-10m.duckdb [--runs 20] [--seed 7] [--record]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import yaml

from bench import report
from bench.measure import percentile
from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.rules import RuleSet, builtin, load
from kubetrail.store.duckdb import DuckDBStore
from kubetrail.timeutil import NS

DAY: Final = 24 * 3600 * NS
TARGET_BUILTIN: Final = 1.0  # s, p95
TARGET_RATIO: Final = 2.0
TOOLS: Final = ("nc", "ncat", "socat", "nmap", "masscan", "tcpdump", "strace", "gdb", "kubectl", "docker", "crictl",
                "python3", "perl", "base64", "xxd", "dd", "chattr", "setcap", "insmod", "mount")  # fmt: skip
AGENTS: Final = ("sqlmap", "nikto", "python-requests", "Go-http-client/1.1", "curl/", "kube-hunter", "peirates", "kubiscan")


def user_rules(store: DuckDBStore, day: Window, seed: int, count: int = 100) -> list[dict[str, Any]]:
    """`count` rules: half of API calls, 30% of process starts, 20% of connections."""
    rng = random.Random(seed)
    rare = store.con.execute(
        """SELECT resource, verb, namespace FROM api_calls
           WHERE "time" >= make_timestamp_ns(?) AND "time" < make_timestamp_ns(?) AND resource IS NOT NULL
           GROUP BY ALL HAVING count(*) <= 20 ORDER BY ALL""",
        [day.since, day.until],
    ).fetchall()
    ports = [p for (p,) in store.con.execute(
        """SELECT dst_port FROM flows
           WHERE "time" >= make_timestamp_ns(?) AND "time" < make_timestamp_ns(?) AND dst_port IS NOT NULL
           GROUP BY ALL HAVING count(*) <= 50 ORDER BY ALL""",
        [day.since, day.until],
    ).fetchall()]  # fmt: skip
    busy = {b for (b,) in store.con.execute(
        """SELECT regexp_extract("binary", '[^/]*$') FROM processes
           WHERE "time" >= make_timestamp_ns(?) AND "time" < make_timestamp_ns(?) AND kind = 'process_exec'
           GROUP BY ALL HAVING count(*) > 20""",
        [day.since, day.until],
    ).fetchall()}  # fmt: skip
    tools = [t for t in TOOLS if t not in busy]  # a team's tool rule does not fire thousands of times a day
    rules: list[dict[str, Any]] = []
    for i in range(count // 2):
        if i % 2 == 0 and rare:
            resource, verb, namespace = rng.choice(rare)
            condition: dict[str, Any] = {"resource": resource, "verb": verb, "not": {"macro": "control-plane"}}
            if namespace is not None:
                condition["namespace"] = namespace
        else:
            agents = rng.sample(AGENTS, 2)
            condition = {"user_agent": {"regex": "(?i)(" + "|".join(a.replace(".", r"\.") for a in agents) + ")"},
                         "verb": rng.choice([["create", "patch"], ["list", "watch"], ["get"]])}  # fmt: skip
        rules.append(_rule(len(rules), "api_calls", condition, "medium"))
    for i in range(count * 3 // 10):
        tool = tools[i % len(tools)]
        condition = {"binary_name": tool, "pod_name": {"exists": True}}
        if i % 3 == 0:
            condition["args"] = {"regex": rng.choice([r"-e\s*/bin/(ba)?sh", r"\b(10|172|192)\.\d+\.\d+\.\d+\b", r"--privileged"])}
        rules.append(_rule(len(rules), "processes", condition, "high", kinds=["process_exec"]))
    while len(rules) < count:
        if len(rules) % 2 and ports:
            condition = {"dst_port": rng.sample(ports, min(3, len(ports))), "not": {"is_reply": True}}
        else:  # a range of TEST-NET-3 / benchmarking addresses: a blocklist entry that matches nothing here
            condition = {"dst_ip": {"cidr": f"198.{18 + rng.randrange(2)}.{rng.randrange(256)}.0/24"}, "not": {"is_reply": True}}
        rules.append(_rule(len(rules), "flows", condition, "low", kinds=["network_flow"]))
    return rules


def _rule(n: int, table: str, condition: dict[str, Any], severity: str, kinds: list[str] | None = None) -> dict[str, Any]:
    rule = {"id": f"bench-{n:03d}", "title": f"generated rule {n}", "severity": severity, "class": table,
            "condition": condition, "reason": f"generated rule {n}"}  # fmt: skip
    return rule | ({"kinds": kinds} if kinds else {})


def timed(store: DuckDBStore, day: Window, rules: RuleSet, runs: int) -> tuple[list[float], int]:
    incidents(store, Query(day, rules=rules))  # warm
    seconds, found = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        found = len(incidents(store, Query(day, rules=rules, limit=1_000_000))["rows"])
        seconds.append(time.perf_counter() - started)
    return seconds, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a store of simulated events (migrated in place if older)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    args = ap.parse_args()
    started = time.perf_counter()
    store = DuckDBStore(args.db)
    opened = time.perf_counter() - started
    try:
        ((events, last),) = store.con.execute('SELECT count(*), epoch_ns(max("time")) FROM events').fetchall()
        until = (last // NS + 1) * NS
        day = Window(until - DAY, until)
        store.cover_rules(builtin().rules)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "generated.yaml").write_text(yaml.safe_dump({"rules": user_rules(store, day, args.seed)}))
            with_users = load([tmp])
        users = "+ 100 user rules"
        rows = [("built-in rules", *timed(store, day, builtin(), args.runs), len(builtin().rules))]
        rows.append(
            (f"{users}, not covered (class tables read)", *timed(store, day, with_users, args.runs), len(with_users.rules))
        )
        started = time.perf_counter()
        store.cover_rules(with_users.rules)
        rebuild = time.perf_counter() - started
        candidates = store.candidate_counts()
        rows.append((f"{users}, covered (after rules rebuild)", *timed(store, day, with_users, args.runs), len(with_users.rules)))
        store.cover_rules(builtin().rules)  # as it was found
    finally:
        store.close()
    base = percentile(rows[0][1], 95)
    table = report.table(
        ["rule set", "rules", "incidents", "p50", "p95", "p95 / built-in", "target"],
        [[name, str(n), str(found), report.duration(percentile(s, 50)), report.duration(percentile(s, 95)),
          f"{percentile(s, 95) / base:.2f}", f"≤ {TARGET_BUILTIN:.0f} s" if i == 0 else f"≤ {TARGET_RATIO:.0f}x"]
         for i, (name, s, found, n) in enumerate(rows)],
        "lrrrrrl",
    )  # fmt: skip
    out = [
        f"### {time.strftime('%Y-%m-%d')}: incidents --since 24h with user rules, {events:,} simulated events",
        "",
        report.machine(),
        "",
        f"`python -m bench.rules --db {args.db} --runs {args.runs} --seed {args.seed}`; warm, {args.runs} runs each, "
        f"in one process. Opening the store (migrating it when older) took {report.duration(opened)}; "
        f"`rules rebuild` of the 119 rules took {report.duration(rebuild)} and keeps "
        + ", ".join(f"{n:,} {t}" for t, n in candidates.items() if n)
        + " candidates.",
        "",
        *table,
        "",
    ]
    print("\n".join(out))
    if args.record:
        report.record(out)


if __name__ == "__main__":
    main()
