"""`kubetrail ask secrets`: who read or changed Secrets, tied to the pod whenever the evidence
allows. One row per (cluster, actor, pod), most recent first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kubetrail.answers.window import DEFAULT_LIMIT, MAX_EVIDENCE, Window, envelope
from kubetrail.correlate.token import BOUND_TOKEN, NONE, SOURCE_IP, Call, TokenUse, attribute
from kubetrail.identity.ips import DEFAULT_SKEW_NS, IpResolver
from kubetrail.store import Store
from kubetrail.timeutil import format_ns

_STRENGTH: Final = {BOUND_TOKEN: 2, SOURCE_IP: 1, NONE: 0}
_DENIED: Final = frozenset({401, 403})


@dataclass(frozen=True)
class Query:
    window: Window
    cluster: str | None = None
    namespace: str | None = None  # the Secrets' namespace
    pod: str | None = None  # "namespace/name" of the attributed pod
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def secrets(store: Store, q: Query, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    calls = store.query("secret_calls", since=q.window.since, until=q.window.until, cluster=q.cluster, namespace=q.namespace)
    resolver = IpResolver(store, skew_ns)
    resolver.prefetch((c["cluster"], c["source_ip"]) for c in calls if c["source_ip"])
    groups: dict[tuple[str, str, str | None, str | None], _Group] = {}
    unresolved: dict[str, set[str]] = {}  # ip -> actors
    elsewhere: dict[str, str] = {}  # ip -> a holder in another cluster, if any (IpResolver.elsewhere)
    for call in calls:
        use = attribute(_call(call), resolver.at)
        if q.pod is not None and use.pod != q.pod:
            continue
        if use.attribution == NONE and call["service_account"] and call["source_ip"]:
            ip = call["source_ip"]
            unresolved.setdefault(ip, set()).add(call["actor"])
            if ip not in elsewhere:
                elsewhere[ip] = resolver.elsewhere(call["cluster"], ip, call["time"])
        key = (call["cluster"], call["actor"], use.pod, use.pod_uid)
        groups.setdefault(key, _Group(call["cluster"], call["actor"], call["service_account"], use)).add(call, use)
    rows = [g.row() for g in sorted(groups.values(), key=lambda g: (-g.last, g.actor, g.use.pod or ""))]
    return envelope(q.window, rows, _gaps(store, q, calls, unresolved, elsewhere), q.limit, q.cursor)


def _call(row: Mapping[str, Any]) -> Call:
    return Call(
        row["cluster"], row["time"], row["service_account"], row["token_pod_name"], row["token_pod_uid"], row["source_ip"]
    )


@dataclass
class _Group:
    cluster: str
    actor: str
    service_account: str | None
    use: TokenUse
    verbs: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    denied: list[str] = field(default_factory=list)  # evidence ids, in time order
    allowed: list[str] = field(default_factory=list)
    first: int = 0
    last: int = 0

    def add(self, call: Mapping[str, Any], use: TokenUse) -> None:
        if _STRENGTH[use.attribution] > _STRENGTH[self.use.attribution]:
            self.use = use
        self.verbs.add(call["verb"])
        self.secrets.add(_secret(call))
        (self.denied if call["code"] in _DENIED else self.allowed).append(call["id"])
        self.first = min(self.first or call["time"], call["time"])
        self.last = max(self.last, call["time"])

    def row(self) -> dict[str, Any]:
        # Most relevant first: denied attempts, then the most recent calls.
        evidence = self.denied[::-1] + self.allowed[::-1]
        return {
            "cluster": self.cluster,
            "pod": self.use.pod,
            "pod_uid": self.use.pod_uid,
            "actor": self.actor,
            "service_account": self.service_account,
            "attribution": self.use.attribution,
            "verbs": sorted(self.verbs),
            "secrets": sorted(self.secrets),
            "denied": len(self.denied),
            "count": len(evidence),
            "first_seen": format_ns(self.first),
            "last_seen": format_ns(self.last),
            "evidence": evidence[:MAX_EVIDENCE],
            "evidence_total": len(evidence),
        }


def _secret(call: Mapping[str, Any]) -> str:
    """'ns/name' for one Secret; 'ns/*' or '*/*' for a list or watch of many."""
    namespace, name = call["namespace"], call["object_name"]
    if name:
        return f"{namespace or '*'}/{name}"
    return f"{namespace}/*" if namespace else "*/*"


def _gaps(
    store: Store, q: Query, calls: list[dict[str, Any]], unresolved: dict[str, set[str]], elsewhere: dict[str, str]
) -> list[str]:
    gaps = []
    if not calls:
        (cov,) = store.query("source_coverage", source="k8s_audit", since=q.window.since, until=q.window.until, cluster=q.cluster)
        if not cov["in_window"]:
            newest = f"the newest is at {format_ns(cov['newest'])}" if cov["newest"] else "the store holds none"
            gaps.append(f"no k8s_audit events in the window ({newest}): Secret access cannot be seen without the audit log")
    for ip, actors in sorted(unresolved.items()):
        who = ", ".join(sorted(actors))
        gaps.append(
            f"calls by {who} from {ip} could not be tied to a pod: no bound token and no known holder of {ip} then{elsewhere[ip]}"
        )
    return gaps
