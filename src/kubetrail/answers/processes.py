"""`kubetrail ask processes`: what ran in each container, and which of it the workload should not
run: outside what the same workload (its other replicas, its earlier history) ran in its
baseline, or flagged by a runtime rule. One row per (cluster, pod, container, binary); unexpected
first, then most recent."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kubetrail.answers.baseline import DEFAULT_BASELINE_NS
from kubetrail.answers.trace import initiators
from kubetrail.answers.window import DEFAULT_LIMIT, MAX_EVIDENCE, Window, envelope
from kubetrail.identity.ips import DEFAULT_SKEW_NS
from kubetrail.identity.workloads import workload_key
from kubetrail.rules import RuleSet, builtin
from kubetrail.rules.detectors import Baselines
from kubetrail.store import Store
from kubetrail.timeutil import format_ns

NOT_IN_BASELINE: Final = "not run by"


@dataclass(frozen=True)
class Query:
    window: Window
    cluster: str | None = None
    namespace: str | None = None
    pod: str | None = None
    unexpected: bool = False
    binary: str | None = None  # a path, or a name matching the path's last part
    image: str | None = None  # a reference prefix
    baseline_ns: int = DEFAULT_BASELINE_NS
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    # Trace the initiator of processes unexpected only because a rule fired on them. `incidents`
    # leaves them out: it traces the rule hits themselves.
    trace_rule_hits: bool = True
    rules: RuleSet = field(default_factory=builtin)


@dataclass
class _Baseline:
    first: int
    last: int
    events: int = 0
    binaries: set[str] = field(default_factory=set)

    def learned(self, policy: Baselines) -> bool:
        return policy.enough(self.first, self.last, self.events)


def processes(store: Store, q: Query, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    baselines = _baselines(store, q)
    flagged = _rule_reasons(store, q)
    gaps: set[str] = set()
    judged = []  # (run, learned, reasons, whose initiator to find: the event, or None)
    for run in store.query("process_runs", since=q.window.since, until=q.window.until, cluster=q.cluster, namespace=q.namespace):
        if not _wanted(run, q):
            continue
        workload = workload_key(run["namespace"], run["pod_name"], run["workload_name"])
        baseline = baselines.get((run["cluster"], workload))
        policy = q.rules.detectors.baselines
        learned = baseline is not None and baseline.learned(policy)
        if not learned:
            gaps.add(f"baseline of {workload} too short to judge ({policy.wanted('processes')}): only rules decide")
        reasons = _reasons(run, workload, baseline if learned else None, flagged)
        if q.unexpected and not reasons:
            continue
        novel = learned and any(r.startswith(NOT_IN_BASELINE) for r in reasons)
        # Who started it, when correlation can tell: the latest exec, else the latest alert.
        traced = (run["latest_exec"] or run["ids"][0]) if reasons and (q.trace_rule_hits or novel) else None
        judged.append((run, learned, reasons, traced))
    found = initiators(store, (traced for *_, traced in judged if traced), skew_ns)
    keyed = [
        ((not reasons, -run["last"]), _row(run, learned, reasons, found.get(traced) if traced else None))
        for run, learned, reasons, traced in judged
    ]
    rows = [row for _, row in sorted(keyed, key=lambda kr: kr[0])]
    return envelope(q.window, rows, sorted(gaps), q.limit, q.cursor)


def _baselines(store: Store, q: Query) -> dict[tuple[str, str], _Baseline]:
    out: dict[tuple[str, str], _Baseline] = {}
    since = q.window.since - q.baseline_ns
    for run in store.query("process_baseline", since=since, until=q.window.since, cluster=q.cluster, namespace=q.namespace):
        key = (run["cluster"], workload_key(run["namespace"], run["pod_name"], run["workload_name"]))
        b = out.setdefault(key, _Baseline(run["first"], run["last"]))
        b.first, b.last, b.events = min(b.first, run["first"]), max(b.last, run["last"]), b.events + run["execs"]
        b.binaries.add(run["binary"])
    return out


def _rule_reasons(store: Store, q: Query) -> dict[tuple[str, ...], list[str]]:
    """What kubetrail's rules say of the processes started in the window, by run (cluster, pod,
    container, binary), in the order of the rule set."""
    rules = q.rules.of("processes")
    if not rules:
        return {}
    out: dict[tuple[str, ...], dict[str, None]] = {}
    for e in store.rule_matches(rules, q.window.since, q.window.until, q.cluster):
        if e["kind"] != "process_exec":
            continue
        said = out.setdefault(_run_key(e, e["container_name"] or e["container_id"]), {})
        said.update((r.render(r.reason, e), None) for r in q.rules.matched(e["rules"]))
    return {key: list(said) for key, said in out.items()}


def _run_key(e: Mapping[str, Any], container: str | None) -> tuple[str, ...]:
    return (e["cluster"], e["namespace"] or "", e["pod_name"] or "", container or "", e["binary"] or "")


def _reasons(
    run: Mapping[str, Any], workload: str, baseline: _Baseline | None, flagged: Mapping[tuple[str, ...], list[str]]
) -> list[str]:
    reasons = [f"runtime rule fired: {rule}" for rule in sorted(run["rules"] or [])]
    reasons += flagged.get(_run_key(run, run["container"]), [])
    if baseline is not None and run["binary"] not in baseline.binaries:
        reasons.append(f"{NOT_IN_BASELINE} {workload} in its baseline")
    return reasons


def _wanted(run: Mapping[str, Any], q: Query) -> bool:
    if q.pod is not None and f"{run['namespace']}/{run['pod_name']}" != q.pod:
        return False
    if q.binary is not None and q.binary not in (run["binary"], posixpath.basename(run["binary"])):
        return False
    return q.image is None or (run["image"] or "").startswith(q.image)


def _row(run: Mapping[str, Any], learned: bool, reasons: list[str], initiator: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "cluster": run["cluster"],
        "pod": f"{run['namespace']}/{run['pod_name']}",
        "pod_uid": run["pod_uid"],
        "node": run["node"],
        "container": run["container"],
        "image": run["image"],
        "binary": run["binary"],
        "args": run["args"],
        "count": run["events"],
        "first_seen": format_ns(run["first"]),
        "last_seen": format_ns(run["last"]),
        "expected": not reasons,
        "baseline": "learned" if learned else "insufficient",
        "reasons": reasons,
        "initiator": initiator,
        "evidence": run["ids"][:MAX_EVIDENCE],
        "evidence_total": run["events"],
    }
