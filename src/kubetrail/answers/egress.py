"""`kubetrail ask egress`: which workloads talked to what, whether the destination lies outside
the cluster, and whether it is new for the workload. One row per (cluster, pod, destination,
port, protocol); new first, then most recent."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrail.answers.baseline import DEFAULT_BASELINE_NS
from kubetrail.answers.window import DEFAULT_LIMIT, MAX_EVIDENCE, Window, envelope
from kubetrail.identity.dns import DnsNames
from kubetrail.identity.ips import DEFAULT_SKEW_NS, IpResolver
from kubetrail.identity.scope import DEFAULT_INTERNAL, Network, place
from kubetrail.identity.workloads import workload_key
from kubetrail.rules import RuleSet, builtin
from kubetrail.rules.detectors import Baselines
from kubetrail.store import Store
from kubetrail.timeutil import format_ns


@dataclass(frozen=True)
class Query:
    window: Window
    cluster: str | None = None
    namespace: str | None = None
    pod: str | None = None
    external: bool = False  # only external destinations
    new: bool = False  # only destinations outside the workload's baseline
    destination: str | None = None  # IP, CIDR or domain (suffix match)
    internal: tuple[Network, ...] = DEFAULT_INTERNAL
    baseline_ns: int = DEFAULT_BASELINE_NS
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    rules: RuleSet = field(default_factory=builtin)  # its detectors' baseline policy


def egress(store: Store, q: Query, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    resolver = IpResolver(store, skew_ns)
    names = DnsNames(store, q.cluster, q.window.until)
    baselines = _baselines(store, q, names)
    gaps: list[str] = []
    keyed = []
    flows = store.query("egress_flows", since=q.window.since, until=q.window.until, cluster=q.cluster, namespace=q.namespace)
    if q.external:  # an address no holder could make external is never one (no resolving needed)
        flows = [f for f in flows if place(f["dst_ip"], None, [], q.internal).external]
    resolver.prefetch((f["cluster"], ip) for f in flows for ip in (f["dst_ip"], f["src_ip"]) if ip)
    for flow in flows:
        row = _row(flow, resolver, names, baselines, q, gaps)
        if row is not None and _wanted(row, q):
            keyed.append(((not row["new"], -flow["last"], row["pod"], row["destination_ip"], row["port"] or 0), row))
    rows = [row for _, row in sorted(keyed, key=lambda kr: kr[0])]
    return envelope(q.window, rows, sorted(set(gaps)), q.limit, q.cursor)


@dataclass
class _Baseline:
    first: int
    last: int
    flows: int = 0
    destinations: set[tuple[str, int | None]] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def learned(self, policy: Baselines) -> bool:
        return policy.enough(self.first, self.last, self.flows)


def _baselines(store: Store, q: Query, names: DnsNames) -> dict[tuple[str, str], _Baseline]:
    since = q.window.since - q.baseline_ns
    out: dict[tuple[str, str], _Baseline] = {}
    for flow in store.query("egress_baseline", since=since, until=q.window.since, cluster=q.cluster, namespace=q.namespace):
        key = (flow["cluster"], workload_key(flow["namespace"], flow["pod_name"], flow["workload"]))
        b = out.setdefault(key, _Baseline(flow["first"], flow["last"]))
        b.first, b.last, b.flows = min(b.first, flow["first"]), max(b.last, flow["last"]), b.flows + flow["flows"]
        b.destinations.add((flow["dst_ip"], flow["port"]))
        b.names.update(names.of(flow["cluster"], flow["dst_ip"], q.window.since, flow["names"]))
    return out


def _row(
    flow: Mapping[str, Any], resolver: IpResolver, names: DnsNames,
    baselines: Mapping[tuple[str, str], _Baseline], q: Query, gaps: list[str],
) -> dict[str, Any] | None:  # fmt: skip
    pod = f"{flow['namespace']}/{flow['pod_name']}"
    if q.pod is not None and pod != q.pod:
        return None
    holder = resolver.at(flow["cluster"], flow["dst_ip"], flow["last"])
    where = place(flow["dst_ip"], holder, ["reserved:kube-apiserver"] if flow["apiserver"] else [], q.internal)
    if holder is None and where.scope in ("private", "unknown"):
        elsewhere = resolver.elsewhere(flow["cluster"], flow["dst_ip"], flow["last"])
        gaps.append(f"{flow['dst_ip']} had no known holder when {pod} connected to it{elsewhere}")
    workload = workload_key(flow["namespace"], flow["pod_name"], flow["workload"])
    dest_names = names.of(flow["cluster"], flow["dst_ip"], flow["last"], flow["names"])
    baseline = baselines.get((flow["cluster"], workload))
    learned = baseline is not None and baseline.learned(q.rules.detectors.baselines)
    new = learned and baseline is not None and _is_new(flow, dest_names, baseline)
    if not learned:
        gaps.append(f"baseline of {workload} too short to judge novelty: no destination is marked new")
    source = resolver.at(flow["cluster"], flow["src_ip"], flow["last"]) if flow["src_ip"] else None
    return {
        "cluster": flow["cluster"],
        "pod": pod,
        "pod_uid": source.pod_uid if source is not None and source.pod == pod else None,
        "workload": workload,
        "destination_ip": flow["dst_ip"],
        "destination_names": dest_names,
        "destination_pod": holder.pod if holder is not None else None,
        "destination_scope": where.scope,
        "port": flow["port"],
        "protocol": flow["protocol"],
        "external": where.external,
        "verdicts": flow["verdicts"] or [],
        "flows": flow["flows"],
        "first_seen": format_ns(flow["first"]),
        "last_seen": format_ns(flow["last"]),
        "new": new,
        "evidence": flow["ids"][:MAX_EVIDENCE],
        "evidence_total": flow["flows"],
    }


def _is_new(flow: Mapping[str, Any], names: list[str], baseline: _Baseline) -> bool:
    """Whether a workload whose baseline is learned never reached the destination in it."""
    if (flow["dst_ip"], flow["port"]) in baseline.destinations:
        return False
    return not (names and set(names) & baseline.names)


def _wanted(row: Mapping[str, Any], q: Query) -> bool:
    if q.external and not row["external"]:
        return False
    if q.new and not row["new"]:
        return False
    return q.destination is None or _matches(row, q.destination)


def _matches(row: Mapping[str, Any], destination: str) -> bool:
    try:
        return ipaddress.ip_address(row["destination_ip"]) in ipaddress.ip_network(destination, strict=False)
    except ValueError:
        wanted = destination.lower().rstrip(".")
        return any(n.lower() == wanted or n.lower().endswith("." + wanted) for n in row["destination_names"])
