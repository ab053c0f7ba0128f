"""`kubetrail incidents`: the window's suspicious signals joined into incidents, most severe
first. Signals: runtime alerts, processes a workload never runs, API calls the rules flag (made
by people or by non-controller accounts), new external destinations, and external destinations
contacted at a steady rhythm (a beacon or a scheduled transfer, which needs no baseline)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from kubetrail.answers.baseline import DEFAULT_BASELINE_NS
from kubetrail.answers.egress import Query as EgressQuery
from kubetrail.answers.egress import egress
from kubetrail.answers.processes import NOT_IN_BASELINE, processes
from kubetrail.answers.processes import Query as ProcessesQuery
from kubetrail.answers.trace import initiators
from kubetrail.answers.window import DEFAULT_LIMIT, Window, envelope
from kubetrail.correlate.api_rules import Baseline, CallFacts, findings, pod_spec
from kubetrail.correlate.incidents import SEVERITIES, Incident, Signal, group, significant
from kubetrail.correlate.runtime_rules import MINING_PORTS, judge
from kubetrail.correlate.token import Call, attribute, foreign_ip
from kubetrail.identity.dns import DnsNames
from kubetrail.identity.ips import DEFAULT_SKEW_NS, IpResolver
from kubetrail.identity.scope import DEFAULT_INTERNAL, place
from kubetrail.identity.workloads import workload_key
from kubetrail.store import Store
from kubetrail.timeutil import NS, format_ns, parse_rfc3339

# Falco's priorities: Notice is "normal but significant", Warning and up are suspicious.
_PRIORITY: Final = {
    "emergency": "critical", "alert": "critical", "critical": "critical", "error": "high", "warning": "high",
    "notice": "low", "informational": "low", "info": "low", "debug": "low",
}  # fmt: skip
_TECHNIQUE: Final = re.compile(r"^T\d{4}(\.\d{3})?$")
_NO_BASELINE: Final = Baseline(False)
ROUTINE_IN_WINDOW: Final = 10  # the same rule on the same workload this often in one window is its routine
# Each kind of signal is found by its own small queries. Side by side, the store works on some
# while the Python of others runs: the latest hour at 10M events, 0.30-0.40 s -> 0.15-0.21 s. The
# threads live on, so that the store's connection for each (a cursor) is opened once.
_SIGNAL_THREADS: Final = ThreadPoolExecutor(max(2, os.cpu_count() or 1), thread_name_prefix="kubetrail-signals")
# A steady channel: this many connections or more, over at least this long, their gaps varying by
# at most this share of their mean. Traffic that follows users or queues is far more irregular.
STEADY_CONNECTIONS: Final = 6
STEADY_SPAN_NS: Final = 30 * 60 * NS
STEADY_MAX_CV: Final = 0.25
BURST_NS: Final = 2 * NS  # flows this close together are one connection


@dataclass(frozen=True)
class Query:
    window: Window
    cluster: str | None = None
    namespace: str | None = None  # incidents touching a pod of this namespace
    pod: str | None = None  # incidents touching this pod ("namespace/name")
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def incidents(store: Store, q: Query, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    gaps: list[str] = []
    kinds: list[Callable[[], Iterator[Signal]]] = [
        partial(_runtime, store, q, skew_ns, gaps), partial(_runtime_rules, store, q, skew_ns), partial(_api_calls, store, q),
        partial(_stolen_tokens, store, q, skew_ns),
        partial(_processes, store, q), partial(_egress, store, q), partial(_steady_egress, store, q, skew_ns),
    ]  # fmt: skip
    signals = [s for found in _SIGNAL_THREADS.map(lambda kind: list(kind()), kinds) for s in found]
    found = [i for i in significant(group(signals)) if _touches(i, q)]
    found.sort(key=lambda i: (-SEVERITIES.index(i.severity), min(s.time for s in i.signals), i.id))
    return envelope(q.window, [_row(i) for i in found], gaps, q.limit, q.cursor)


def _touches(incident: Incident, q: Query) -> bool:
    pods = {p for s in incident.signals for p in (s.pod, s.target) if p}
    if q.pod is not None and q.pod not in pods:
        return False
    return q.namespace is None or any(p.startswith(q.namespace + "/") for p in pods)


def _runtime(store: Store, q: Query, skew_ns: int, gaps: list[str]) -> Iterator[Signal]:
    """Runtime alerts, less those routine for their workload: the same rule on the same workload in
    its baseline period, or firing again and again in the window (critical ones always count).
    Counted per pod and rule first, so that only the alerts that are not routine are read."""
    window = {"since": q.window.since, "until": q.window.until, "cluster": q.cluster}
    counts = store.query("runtime_alert_counts", **window)
    before = store.query(
        "runtime_alert_rules", since=q.window.since - DEFAULT_BASELINE_NS, until=q.window.since, cluster=q.cluster
    )
    seen = Counter[tuple[str, str, str]]()
    for c in counts:
        seen[_rule_key(c)] += c["alerts"]
    usual = {_rule_key(a) for a in before}

    def routine(alert: Mapping[str, Any]) -> bool:
        key = _rule_key(alert)
        return _severity(alert) != "critical" and (key in usual or seen[key] >= ROUTINE_IN_WINDOW)

    left_out = Counter[tuple[str, str, str]]()
    wanted: set[str] = set()
    for c in counts:
        if routine(c):
            left_out[_rule_key(c)] += c["alerts"]
        else:
            wanted.add("|".join((c["cluster"], c["namespace"], c["pod_name"], c["rule"])))
    read = store.query("runtime_alerts", **window, keys=sorted(wanted)) if wanted else []
    alerts = [a for a in read if not routine(a)]  # a pod and rule may also fire at a routine priority
    found = initiators(store, (a["id"] for a in alerts), skew_ns)
    for a in alerts:
        initiator = found.get(a["id"])
        what = (f"{a['rule']} ({a['priority']})" if a["rule"] else a["summary"] or "runtime alert") + _during(initiator)
        yield Signal(
            a["id"], a["time"], a["cluster"], a["source"], a["kind"], what, _severity(a),
            tuple(t for t in a["tags"] or () if _TECHNIQUE.match(t)),
            pod=f"{a['namespace']}/{a['pod_name']}", initiator=initiator["user"] if initiator else None,
        )  # fmt: skip
    gaps.extend(f"{n} routine alerts left out: {rule!r} on {workload}" for (_, workload, rule), n in sorted(left_out.items()))


def _severity(alert: Mapping[str, Any]) -> str:
    return _PRIORITY.get((alert["priority"] or "").lower(), "medium")


def _runtime_rules(store: Store, q: Query, skew_ns: int) -> Iterator[Signal]:
    rows = store.query(
        "runtime_rule_events", since=q.window.since, until=q.window.until, cluster=q.cluster, ports=list(MINING_PORTS)
    )
    flagged = [(e, finding) for e in rows if (finding := judge(e)) is not None]
    found = initiators(store, (e["id"] for e, _ in flagged), skew_ns)
    for e, finding in flagged:
        initiator = found.get(e["id"])
        what = f"{e['summary']}: {finding.reason}{_during(initiator)}"
        yield Signal(
            e["id"], e["time"], e["cluster"], e["source"], e["kind"], what, finding.severity,
            finding.techniques, pod=f"{e['namespace']}/{e['pod_name']}", initiator=initiator["user"] if initiator else None,
            destination=e["dst_ip"],
        )  # fmt: skip


def _during(initiator: Mapping[str, Any] | None) -> str:
    """The request an event happened during, when that is how it was attributed (an exec session
    is a step of its own)."""
    if initiator is None or initiator["type"] != "http-request":
        return ""
    return f" (during request {initiator['route'] or '?'}, trace {initiator['trace_id']})"


def _rule_key(alert: Mapping[str, Any]) -> tuple[str, str, str]:
    return alert["cluster"], workload_key(alert["namespace"], alert["pod_name"]), alert["rule"] or ""


def _api_calls(store: Store, q: Query) -> Iterator[Signal]:
    """API calls the rules flag: each distinct combination of what the rules read is judged once,
    then only the calls that tripped a rule are read."""
    window = {"since": q.window.since, "until": q.window.until, "cluster": q.cluster}
    judged = {f["facts"]: hits for f in store.query("risky_call_facts", **window) if (hits := findings(_facts(f)))}
    for c in store.query("risky_calls", **window, facts=list(judged)) if judged else ():
        hits = judged[c["facts"]]
        sa_namespace = (c["service_account"] or "").split("/")[0]
        pod = f"{sa_namespace}/{c['token_pod_name']}" if c["token_pod_name"] and sa_namespace else None
        made = c["resource"] == "pods" and c["subresource"] is None and c["verb"] == "create" and c["name"]
        yield Signal(
            c["id"], c["time"], c["cluster"], "k8s_audit", "api_call", f"{c['summary']}: {'; '.join(w for _, w in hits)}",
            max((rule.severity for rule, _ in hits), key=SEVERITIES.index),
            tuple(t for rule, _ in hits for t in rule.techniques),
            pod=pod, actor=c["actor"], initiator=c["impersonated_by"], target=f"{c['namespace']}/{c['name']}" if made else None,
        )  # fmt: skip


def _stolen_tokens(store: Store, q: Query, skew_ns: int) -> Iterator[Signal]:
    """A pod's bound token used from an address another pod held: checked once per (token, address)."""
    resolver = IpResolver(store, skew_ns)
    uses = store.query("token_sources", since=q.window.since, until=q.window.until, cluster=q.cluster)
    resolver.prefetch((t["cluster"], t["source_ip"]) for t in uses if t["source_ip"])
    for t in uses:
        use = attribute(
            Call(t["cluster"], t["time"], t["service_account"], t["token_pod_name"], t["token_pod_uid"], t["source_ip"]),
            resolver.at,
        )
        why = foreign_ip(resolver.at, t["cluster"], t["time"], use, t["source_ip"])
        if why is not None:
            yield Signal(t["id"], t["time"], t["cluster"], "k8s_audit", "api_call", f"{t['summary']}: {why}", "high", ("T1528",),
                         pod=use.pod, actor=t["actor"])  # fmt: skip


def _facts(c: Mapping[str, Any]) -> CallFacts:
    return CallFacts(
        actor=c["actor"], service_account=c["service_account"], verb=c["verb"], resource=c["resource"],
        subresource=c["subresource"], namespace=c["namespace"], code=c["code"], user_agent=c["user_agent"],
        pod_spec=pod_spec(c["resource"], c["extra"]), foreign_token_ip=None, baseline=_NO_BASELINE,
    )  # fmt: skip


def _processes(store: Store, q: Query) -> Iterator[Signal]:
    """Processes the workload never ran in its baseline (rule hits come as runtime alerts)."""
    doc = processes(store, ProcessesQuery(q.window, cluster=q.cluster, unexpected=True, limit=10_000, trace_rule_hits=False))
    for r in doc["rows"]:
        if not any(reason.startswith(NOT_IN_BASELINE) for reason in r["reasons"]):
            continue
        initiator = r["initiator"]
        exec_by_person = initiator is not None and initiator["type"] == "kubectl-exec"
        yield Signal(
            r["evidence"][0], parse_rfc3339(r["last_seen"]), r["cluster"], "tetragon", "process_exec",
            f"{r['binary']} {r['args'] or ''}".strip() + f" in {r['pod']}: {r['reasons'][-1]}", "medium",
            ("T1609",) if exec_by_person else (), pod=r["pod"], initiator=initiator["user"] if initiator else None,
        )  # fmt: skip


def _egress(store: Store, q: Query) -> Iterator[Signal]:
    doc = egress(store, EgressQuery(q.window, cluster=q.cluster, external=True, new=True, limit=10_000))
    for r in doc["rows"]:
        names = f" ({', '.join(r['destination_names'])})" if r["destination_names"] else ""
        yield Signal(
            r["evidence"][0], parse_rfc3339(r["first_seen"]), r["cluster"], "hubble", "network_flow",
            f"{r['pod']} connected to new external {r['destination_ip']}:{r['port']}{names}", "medium", ("T1041",),
            pod=r["pod"], destination=r["destination_ip"],
        )  # fmt: skip


def _steady_egress(store: Store, q: Query, skew_ns: int) -> Iterator[Signal]:
    """External destinations a pod reached again and again at a steady rhythm. Only destinations
    seen often enough, and that no holder can make internal, are looked at connection by connection."""
    window = {"since": q.window.since, "until": q.window.until, "cluster": q.cluster}
    often = store.query("steady_candidates", **window, min_connections=STEADY_CONNECTIONS, min_span=STEADY_SPAN_NS)
    ips = [c["dst_ip"] for c in often if place(c["dst_ip"], None, [], DEFAULT_INTERNAL).external]
    if not ips:
        return
    resolver, names = IpResolver(store, skew_ns), DnsNames(store, q.cluster, q.window.until)
    rows = store.query(
        "steady_egress", **window, ips=ips, burst=BURST_NS, min_connections=STEADY_CONNECTIONS, min_span=STEADY_SPAN_NS,
        max_cv=STEADY_MAX_CV,
    )  # fmt: skip
    for r in rows:
        if not place(r["dst_ip"], resolver.at(r["cluster"], r["dst_ip"], r["last"]), [], DEFAULT_INTERNAL).external:
            continue
        pod = f"{r['namespace']}/{r['pod_name']}"
        named = names.of(r["cluster"], r["dst_ip"], r["last"], r["names"])
        names_text = f" ({', '.join(named)})" if named else ""
        every = round(r["mean_gap"] / (60 * NS), 1)
        yield Signal(
            r["ids"][-1], r["last"], r["cluster"], r["source"], r["kind"],
            f"{pod} connected to external {r['dst_ip']}:{r['port']}{names_text} {r['connections']} times, every {every} min: "
            "a steady channel out", "high", ("T1029", "T1041"), pod=pod, destination=r["dst_ip"],
        )  # fmt: skip


def _row(incident: Incident) -> dict[str, Any]:
    signals = sorted(incident.signals, key=lambda s: (s.time, s.id))
    top = max(signals, key=lambda s: SEVERITIES.index(s.severity))
    who = next((s.initiator for s in signals if s.initiator), None) or next((s.actor for s in signals if s.actor), None)
    return {
        "id": incident.id,
        "title": f"{who}: {top.summary}" if who else top.summary,
        "severity": incident.severity,
        "start": format_ns(signals[0].time),
        "end": format_ns(signals[-1].time),
        "clusters": sorted({s.cluster for s in signals}),
        "pods": sorted({p for s in signals for p in (s.pod, s.target) if p}),
        "actors": sorted({a for s in signals for a in (s.actor, s.initiator) if a}),
        "destinations": sorted({s.destination for s in signals if s.destination}),
        "techniques": sorted({t for s in signals for t in s.techniques}),
        "steps": [
            {"time": format_ns(s.time), "source": s.source, "kind": s.kind, "summary": s.summary, "id": s.id} for s in signals
        ],
    }
