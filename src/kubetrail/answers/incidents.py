"""`kubetrail incidents`: the window's suspicious signals joined into incidents, most severe
first. Signals: runtime alerts, processes a workload never runs, API calls the rules flag (made
by people or by non-controller accounts), new external destinations, and external destinations
contacted at a steady rhythm (a beacon or a scheduled transfer, which needs no baseline; routine
when the workload's replicas keep it by design: correlate/steady.py).

Each signal says what happened as a sentence about the cluster, built from the event's fields
(pod, program and arguments, destination and its names, the API call's verb, resource and
name), never from a sensor's own summary; an incident's title is its most severe signal's,
after the person who initiated it when the sentence does not name them already."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from kubetrail.answers.baseline import DEFAULT_BASELINE_NS
from kubetrail.answers.egress import Query as EgressQuery
from kubetrail.answers.egress import egress
from kubetrail.answers.processes import NOT_IN_BASELINE, processes
from kubetrail.answers.processes import Query as ProcessesQuery
from kubetrail.answers.trace import initiators
from kubetrail.answers.window import DEFAULT_LIMIT, Window, envelope
from kubetrail.correlate import steady
from kubetrail.correlate.incidents import SEVERITIES, Incident, Signal, group, significant
from kubetrail.correlate.steady import Activity, Channel, Names, Reach, Rhythm
from kubetrail.correlate.token import Call, attribute, foreign_ip
from kubetrail.identity.dns import DnsNames
from kubetrail.identity.ips import DEFAULT_SKEW_NS, IpResolver
from kubetrail.identity.scope import DEFAULT_INTERNAL, place
from kubetrail.identity.workloads import workload_key
from kubetrail.rules import Rule, RuleSet, builtin
from kubetrail.rules.detectors import SteadyChannel
from kubetrail.store import Store
from kubetrail.timeutil import NS, format_ns, parse_rfc3339

# Falco's priorities: Notice is "normal but significant", Warning and up are suspicious.
_PRIORITY: Final = {
    "emergency": "critical", "alert": "critical", "critical": "critical", "error": "high", "warning": "high",
    "notice": "low", "informational": "low", "info": "low", "debug": "low",
}  # fmt: skip
_TECHNIQUE: Final = re.compile(r"^T\d{4}(\.\d{3})?$")
# Each kind of signal is found by its own small queries. Side by side, the store works on some
# while the Python of others runs: the latest hour at 10M events, 0.30-0.40 s -> 0.15-0.21 s. The
# threads live on, so that the store's connection for each (a cursor) is opened once.
_SIGNAL_THREADS: Final = ThreadPoolExecutor(max(2, os.cpu_count() or 1), thread_name_prefix="kubetrail-signals")
_SENSORS: Final = {"falco": "Falco", "tetragon": "Tetragon", "hubble": "Hubble"}
_SHOWN: Final = 3  # addresses a sentence names; more are counted


@dataclass(frozen=True)
class Query:
    window: Window
    cluster: str | None = None
    namespace: str | None = None  # incidents touching a pod of this namespace
    pod: str | None = None  # incidents touching this pod ("namespace/name")
    severity: str = SEVERITIES[0]  # the least severity kept
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    rules: RuleSet = field(default_factory=builtin)


def incidents(store: Store, q: Query, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    gaps: list[str] = []
    kinds: list[Callable[[], Iterator[Signal]]] = [
        partial(_runtime, store, q, skew_ns, gaps), partial(_rules, store, q, skew_ns),
        partial(_stolen_tokens, store, q, skew_ns),
        partial(_processes, store, q), partial(_egress, store, q), partial(_steady_egress, store, q, skew_ns, gaps),
    ]  # fmt: skip
    signals = [s for found in _SIGNAL_THREADS.map(lambda kind: list(kind()), kinds) for s in found]
    least = SEVERITIES.index(q.severity)
    found = [i for i in significant(group(signals)) if SEVERITIES.index(i.severity) >= least and _touches(i, q)]
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
    routine_at = q.rules.detectors.runtime_alerts.routine_in_window

    def routine(alert: Mapping[str, Any]) -> bool:
        key = _rule_key(alert)
        return _severity(alert) != "critical" and (key in usual or seen[key] >= routine_at)

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
        initiator, pod = found.get(a["id"]), f"{a['namespace']}/{a['pod_name']}"
        yield Signal(
            a["id"], a["time"], a["cluster"], a["source"], a["kind"], _alert_text(a, pod) + _during(initiator), _severity(a),
            tuple(t for t in a["tags"] or () if _TECHNIQUE.match(t)), pod=pod, initiator=initiator["user"] if initiator else None,
        )  # fmt: skip
    gaps.extend(f"{n} routine alerts left out: {rule!r} on {workload}" for (_, workload, rule), n in sorted(left_out.items()))


def _alert_text(alert: Mapping[str, Any], pod: str) -> str:
    """'Falco rule "Terminal shell in container" fired in shop/cart-… (Notice)'."""
    sensor = _SENSORS.get(alert["source"], alert["source"])
    what = f'{sensor} rule "{alert["rule"]}" fired' if alert["rule"] else f"{sensor} raised an alert"
    return f"{what} in {pod}" + (f" ({alert['priority']})" if alert["priority"] else "")


def _severity(alert: Mapping[str, Any]) -> str:
    return _PRIORITY.get((alert["priority"] or "").lower(), "medium")


def _rules(store: Store, q: Query, skew_ns: int) -> Iterator[Signal]:
    """The events the rules match (kubetrail/rules): an API call as what the call did and the
    rules' reasons; any other event as what its pod did and why that is suspicious."""
    if not q.rules.rules:
        return
    by_id = q.rules.by_id()
    calls: dict[tuple[str, str], dict[str, Any]] = {}
    others = []
    for e in store.rule_matches(q.rules.rules, q.window.since, q.window.until, q.cluster):
        if by_id[e["rules"][0]].table != "api_calls":
            others.append(e)
            continue
        call = (e["cluster"], e["audit_id"] or e["id"])  # a call's latest stage is the one judged
        if call not in calls or _later_stage(e, calls[call]):
            calls[call] = e
    for c in sorted(calls.values(), key=lambda c: (c["time"], c["id"])):
        yield _call_signal(c, q.rules.matched(c["rules"]))
    yield from _subject_signals(store, q, skew_ns, others, [q.rules.matched(e["rules"]) for e in others])


def _later_stage(e: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    """Whether `e` is a later stage of the same API call than `than` (ties: the lower id)."""
    key = (e["stage_time"] is not None, e["stage_time"] or 0)
    other = (than["stage_time"] is not None, than["stage_time"] or 0)
    return key > other or (key == other and e["id"] < than["id"])


def _call_signal(c: Mapping[str, Any], hits: list[Rule]) -> Signal:
    sa_namespace = (c["service_account"] or "").split("/")[0]
    pod = f"{sa_namespace}/{c['token_pod_name']}" if c["token_pod_name"] and sa_namespace else None
    made = c["resource"] == "pods" and c["subresource"] is None and c["verb"] == "create" and c["object_name"]
    reasons = "; ".join(r.render(r.reason, c) for r in hits)
    return Signal(
        c["id"], c["time"], c["cluster"], c["source"], c["kind"], f"{_call_text(c)}: {reasons}",
        max((r.severity for r in hits), key=SEVERITIES.index), _techniques(hits), pod=pod, actor=c["actor"],
        initiator=c["impersonated_by"], target=f"{c['namespace']}/{c['object_name']}" if made else None,
    )  # fmt: skip


def _techniques(hits: list[Rule]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for r in hits for t in r.techniques))


def _subject_signals(
    store: Store, q: Query, skew_ns: int, events: list[dict[str, Any]], hits: list[list[Rule]]
) -> Iterator[Signal]:
    found = initiators(store, (e["id"] for e in events), skew_ns)
    names = DnsNames(store, q.cluster, q.window.until) if any(e.get("dst_ip") for e in events) else None
    for e, rules in zip(events, hits, strict=True):
        initiator = found.get(e["id"])
        pod = f"{e['namespace']}/{e['pod_name']}" if e["pod_name"] else None
        why = "; ".join(dict.fromkeys(r.render(r.why, e) for r in rules))
        if e.get("dst_ip") and names is not None:
            where = _address(e["dst_ip"], e["dst_port"], names.of(e["cluster"], e["dst_ip"], e["time"]))
            by = f", with {e['binary']}" if e.get("binary") else ""
            what = f"{pod or e.get('src_ip') or '?'} connected to {where}, {why}{by}"
        elif e.get("binary"):
            what = f"{pod or e['node'] or '?'} ran {_command(e['binary'], e['args'])}: {why}"
        else:
            what = f"{pod or e['cluster']}: {e['summary'] or e['kind']}: {why}"
        yield Signal(
            e["id"], e["time"], e["cluster"], e["source"], e["kind"], what + _during(initiator),
            max((r.severity for r in rules), key=SEVERITIES.index), _techniques(rules),
            pod=pod, initiator=initiator["user"] if initiator else None,
            destinations=(e["dst_ip"],) if e.get("dst_ip") else (),
        )  # fmt: skip


def _command(binary: str | None, args: str | None) -> str:
    return f"{binary or '?'} {args}" if args else binary or "?"


def _address(ip: str, port: int | None, names: list[str]) -> str:
    """'198.51.100.23:3333 (pool.example.net)'."""
    return f"{ip}" + (f":{port}" if port is not None else "") + (f" ({', '.join(names)})" if names else "")


def _during(initiator: Mapping[str, Any] | None) -> str:
    """The request an event happened during, when that is how it was attributed (an exec session
    is a step of its own)."""
    if initiator is None or initiator["type"] != "http-request":
        return ""
    return f" (during request {initiator['route'] or '?'}, trace {initiator['trace_id']})"


def _rule_key(alert: Mapping[str, Any]) -> tuple[str, str, str]:
    return alert["cluster"], workload_key(alert["namespace"], alert["pod_name"]), alert["rule"] or ""


def _call_text(c: Mapping[str, Any]) -> str:
    """'system:serviceaccount:ci:deployer create pods ci/buildkit-vr5cx (201)'."""
    who = f"{c['impersonated_by']} as {c['actor']}" if c["impersonated_by"] else c["actor"]
    what = (c["resource"] or "?") + (f"/{c['subresource']}" if c["subresource"] else "")
    if c["object_name"]:
        what += f" {c['namespace']}/{c['object_name']}" if c["namespace"] else f" {c['object_name']}"
    elif c["namespace"]:
        what += f" in {c['namespace']}"
    return f"{who} {c['verb']} {what}" + (f" ({c['code']})" if c["code"] is not None else "")


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
        if foreign_ip(resolver.at, t["cluster"], t["time"], use, t["source_ip"]) is None:
            continue
        holder = resolver.at(t["cluster"], t["source_ip"], t["time"])
        held = f", an address {holder.pod} held at the time" if holder is not None and holder.pod else ""
        calls = f" ({t['calls']} calls)" if t["calls"] > 1 else ""
        what = f"{t['actor']} used the bound token of {use.pod} from {t['source_ip']}{held}{calls}"
        severity = q.rules.detectors.stolen_token.severity
        yield Signal(t["id"], t["time"], t["cluster"], "k8s_audit", "api_call", what, severity, ("T1528",), pod=use.pod,
                     actor=t["actor"])  # fmt: skip


def _processes(store: Store, q: Query) -> Iterator[Signal]:
    """Processes the workload never ran in its baseline (rule hits come as runtime alerts)."""
    asked = ProcessesQuery(q.window, cluster=q.cluster, unexpected=True, limit=10_000, trace_rule_hits=False, rules=q.rules)
    doc = processes(store, asked)
    detector = q.rules.detectors.unexpected_process
    for r in doc["rows"]:
        if not any(reason.startswith(NOT_IN_BASELINE) for reason in r["reasons"]) or detector.allow.binary(r["binary"]):
            continue
        initiator = r["initiator"]
        exec_by_person = initiator is not None and initiator["type"] == "kubectl-exec"
        yield Signal(
            r["evidence"][0], parse_rfc3339(r["last_seen"]), r["cluster"], "tetragon", "process_exec",
            f"{r['pod']} ran {_command(r['binary'], r['args'])}: {r['reasons'][-1]}", detector.severity,
            ("T1609",) if exec_by_person else (), pod=r["pod"], initiator=initiator["user"] if initiator else None,
        )  # fmt: skip


def _egress(store: Store, q: Query) -> Iterator[Signal]:
    doc = egress(store, EgressQuery(q.window, cluster=q.cluster, external=True, new=True, limit=10_000, rules=q.rules))
    detector = q.rules.detectors.new_destination
    for r in doc["rows"]:
        if detector.allow.destination(r["destination_ip"], r["destination_names"]):
            continue
        where = _address(r["destination_ip"], r["port"], r["destination_names"])
        yield Signal(
            r["evidence"][0], parse_rfc3339(r["first_seen"]), r["cluster"], "hubble", "network_flow",
            f"{r['pod']} connected to {where}, an external destination new for {r['workload']}", detector.severity, ("T1041",),
            pod=r["pod"], destinations=(r["destination_ip"],),
        )  # fmt: skip


def _steady_egress(store: Store, q: Query, skew_ns: int, gaps: list[str]) -> Iterator[Signal]:
    """External destinations pods reached again and again at a steady rhythm, judged per
    destination name. Only destinations some pod reached often enough over long enough (from
    the hourly rollup), and that no holder makes internal, are looked at connection by
    connection; who else reaches them, and since when, only for the channels that the
    workload's replicas share."""
    window = {"since": q.window.since, "until": q.window.until, "cluster": q.cluster}
    params = q.rules.detectors.steady_channel
    rows = store.query("steady_candidates", **window, min_connections=params.min_connections, min_span=params.min_span_ns)
    activity = [
        Activity(r["cluster"], f"{r['namespace']}/{r['pod_name']}", workload_key(r["namespace"], r["pod_name"], r["workload"]),
                 r["first"], r["last"])
        for r in rows if r["whole_pod"]
    ]  # fmt: skip
    outward = [r for r in rows if not r["whole_pod"] and place(r["dst_ip"], None, [], DEFAULT_INTERNAL).external]
    if not outward:
        return
    resolver = IpResolver(store, skew_ns)
    resolver.prefetch((r["cluster"], r["dst_ip"]) for r in outward)
    outward = [r for r in outward if place(r["dst_ip"], resolver.at(r["cluster"], r["dst_ip"], r["last"])).external]
    names = Names(store.query("dns_names", cluster=q.cluster, until=q.window.until))
    stands = _stands_for(outward, names, params)
    if not stands:
        return
    clusters, ips, destinations = (list(column) for column in zip(*stands, strict=True))
    found = store.query(
        "steady_egress", **window, clusters=clusters, ips=ips, destinations=destinations, burst=steady.BURST_NS,
        min_connections=params.min_connections, min_span=params.min_span_ns, max_cv=params.max_cv,
    )  # fmt: skip
    workloads = {(a.cluster, a.pod): a.workload for a in activity}
    rhythms = [_rhythm(r, workloads) for r in found]
    yield from _judged(store, q, steady.channels(rhythms), activity, names, gaps)


def _stands_for(outward: list[dict[str, Any]], names: Names, params: SteadyChannel) -> list[tuple[str, str, str]]:
    """(cluster, address, destination) for every address of a destination that some pod reached
    at least min_connections times over min_span or more (through any of its addresses), less
    the destinations the detector's allow-list leaves alone."""
    totals: dict[tuple[str, str, str, int | None], tuple[int, int, int]] = {}
    stands: set[tuple[str, str, str]] = set()
    for r in outward:
        for destination in names.destinations(r["cluster"], r["dst_ip"], r["names"]):
            key = (r["cluster"], f"{r['namespace']}/{r['pod_name']}", destination, r["port"])
            flows, first, last = totals.get(key, (0, r["first"], r["last"]))
            totals[key] = (flows + r["flows"], min(first, r["first"]), max(last, r["last"]))
            stands.add((r["cluster"], r["dst_ip"], destination))
    often = {(c, d) for (c, _, d, _), (flows, first, last) in totals.items() if flows >= params.min_connections
             and last - first >= params.min_span_ns}  # fmt: skip
    return sorted(s for s in stands if (s[0], s[2]) in often and not params.allow.destination(s[1], [s[2]]))


def _rhythm(r: Mapping[str, Any], workloads: Mapping[tuple[str, str], str]) -> Rhythm:
    pod = f"{r['namespace']}/{r['pod_name']}"
    workload = workloads.get((r["cluster"], pod)) or workload_key(r["namespace"], r["pod_name"])
    return Rhythm(
        r["cluster"], pod, workload, r["destination"], r["port"], tuple(r["ips"]), r["connections"], r["first"], r["last"],
        r["mean_gap"], r["first_id"], r["source"], r["kind"],
    )  # fmt: skip


def _judged(
    store: Store, q: Query, found: list[Channel], activity: list[Activity], names: Names, gaps: list[str]
) -> Iterator[Signal]:
    """The rhythms that are not their workload's design as high signals, the replicas of one
    channel one incident. A routine channel is no signal: like a routine alert, it is left out
    with a gap saying why, so that it neither raises an incident nor joins an attack's story on
    the same pod."""
    reached = _reached(store, q, found, names) if found else []
    doubtful = [c for c in found if steady.shared(c, activity, reached, q.rules.detectors.steady_channel)]
    evidence = {c.key: steady.design(c, q.window.since, reached, {}) for c in doubtful}
    if lacking := [c for c in doubtful if not evidence[c.key]]:
        images = _images(store, q, lacking, reached)
        evidence |= {c.key: steady.design(c, q.window.since, reached, images) for c in lacking}
    for c in found:
        reasons = evidence.get(c.key, [])
        if reasons:
            gaps.append(f"routine steady channel left out: {_routine_text(c, reasons, reached)}")
            continue
        for r in c.rhythms:
            yield Signal(
                r.first_id, r.first, r.cluster, r.source, r.kind, _steady_text(c, r, c.key in evidence, reached),
                q.rules.detectors.steady_channel.severity,
                ("T1029", "T1041"), pod=r.pod, destinations=r.addresses, channel=c.key,
            )  # fmt: skip


def _reached(store: Store, q: Query, channels: list[Channel], names: Names) -> list[Reach]:
    """Who connected to these channels' destinations, from the baseline period before the window
    to its end. A connection counts for a destination only when it surely was one to it: through
    an address that stands for that destination alone."""
    wanted = {(c.cluster, c.destination) for c in channels}
    ips = sorted({ip for cluster, d in wanted for ip in names.addresses(cluster, d)})
    found = store.query(
        "steady_reach", since=q.window.since - DEFAULT_BASELINE_NS, until=q.window.until, cluster=q.cluster, ips=ips,
        names=sorted({d for _, d in wanted}),
    )  # fmt: skip
    reached = []
    for r in found:
        stands = names.destinations(r["cluster"], r["dst_ip"], r["names"])
        if len(stands) == 1 and (r["cluster"], stands[0]) in wanted:
            pod = f"{r['namespace']}/{r['pod_name']}"
            workload = workload_key(r["namespace"], r["pod_name"], r["workload"])
            reached.append(Reach(r["cluster"], pod, workload, stands[0], r["first"]))
    return reached


def _images(store: Store, q: Query, lacking: list[Channel], reached: list[Reach]) -> dict[str, list[tuple[str, str]]]:
    """The (container, image) pairs the pods of these channels' workloads that reached them ran."""
    workloads = {(c.cluster, c.workload) for c in lacking}
    pods = {(c.cluster, p) for c in lacking for p in c.pods} | {(r.cluster, r.pod) for r in reached
                                                                  if (r.cluster, r.workload) in workloads}  # fmt: skip
    rows = store.query(
        "steady_images", since=q.window.since - DEFAULT_BASELINE_NS, until=q.window.until,
        pods=sorted(f"{cluster}|{pod.replace('/', '|', 1)}" for cluster, pod in pods),
    )  # fmt: skip
    images: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        images.setdefault(f"{r['namespace']}/{r['pod_name']}", []).append((r["container"], r["image"]))
    return images


def _steady_text(c: Channel, r: Rhythm, is_shared: bool, reached: list[Reach]) -> str:
    """'shop/cart-… connected to sync.example.io:443 (198.51.100.7) 7 times, every 10.0 min: a
    steady channel out that no other pod of shop/cart keeps'."""
    head = f"{r.pod} connected to {_destination(r)} {r.connections} times, every {_minutes(r.mean_gap)} min"
    alone = "nothing else reaches, now or before"
    if len(c.pods) > 1:
        return f"{head}: a steady channel out that {len(c.pods)} pods of {c.workload} keep and {alone}"
    if others := steady.siblings(c, reached):
        return f"{head}: a steady channel out that {_pods(len(others))} of {c.workload} also reach{_s(len(others))} and {alone}"
    if is_shared:
        return f"{head}: a steady channel out that {alone}"
    return f"{head}: a steady channel out that no other pod of {c.workload} keeps"


def _routine_text(c: Channel, reasons: list[str], reached: list[Reach]) -> str:
    """'payments/payments-worker to payments-receipts.s3.….amazonaws.com:443 every 15.0 min (its 2
    pods keep it; it reached it before the window)'."""
    others = len(steady.siblings(c, reached))
    kept = f"its {len(c.pods)} pods keep it" if len(c.pods) > 1 else "its only pod keeps it"
    if len(c.pods) == 1 and others:
        kept = f"one pod keeps it, {_pods(others, 'other ')} reach{_s(others)} it"
    port = f":{c.port}" if c.port is not None else ""
    return f"{c.workload} to {c.destination}{port} every {_minutes(c.mean_gap)} min ({kept}; {'; '.join(reasons)})"


def _pods(n: int, other: str = "") -> str:
    return f"{n} {other}pod{'' if n == 1 else 's'}"


def _s(n: int) -> str:
    """A verb's -es after one pod ('reaches'); none after several ('reach')."""
    return "es" if n == 1 else ""


def _minutes(ns: float) -> float:
    return round(ns / (60 * NS), 1)


def _destination(r: Rhythm) -> str:
    """'198.51.100.40:443', or 'bucket.s3.amazonaws.com:443 (52.216.1.2, 52.216.3.4)'."""
    port = f":{r.port}" if r.port is not None else ""
    if r.addresses == (r.destination,):
        return r.destination + port
    shown = ", ".join(r.addresses[:_SHOWN]) + (f" and {len(r.addresses) - _SHOWN} more" if len(r.addresses) > _SHOWN else "")
    return f"{r.destination}{port} ({shown})"


def _row(incident: Incident) -> dict[str, Any]:
    signals = sorted(incident.signals, key=lambda s: (s.time, s.id))
    top = max(signals, key=lambda s: SEVERITIES.index(s.severity))
    who = next((s.initiator for s in signals if s.initiator), None) or next((s.actor for s in signals if s.actor), None)
    return {
        "id": incident.id,
        "title": top.summary if who is None or who in top.summary else f"{who}: {top.summary}",
        "severity": incident.severity,
        "start": format_ns(signals[0].time),
        "end": format_ns(signals[-1].time),
        "clusters": sorted({s.cluster for s in signals}),
        "pods": sorted({p for s in signals for p in (s.pod, s.target) if p}),
        "actors": sorted({a for s in signals for a in (s.actor, s.initiator) if a}),
        "destinations": sorted({d for s in signals for d in s.destinations}),
        "techniques": sorted({t for s in signals for t in s.techniques}),
        "steps": [
            {"time": format_ns(s.time), "source": s.source, "kind": s.kind, "summary": s.summary, "id": s.id} for s in signals
        ],
    }
