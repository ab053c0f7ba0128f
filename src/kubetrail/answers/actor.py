"""`kubetrail ask actor NAME | --sa NS/NAME`: every API call of a user or service account in the
window, in time order, with the pod it came from and why a call is suspicious."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kubetrail.answers.baseline import DEFAULT_BASELINE_NS
from kubetrail.answers.window import DEFAULT_LIMIT, MAX_EVIDENCE, Window, envelope, offset
from kubetrail.correlate.detectors import Baseline, CallFacts, reasons
from kubetrail.correlate.token import Call, TokenUse, attribute, foreign_ip
from kubetrail.identity.ips import DEFAULT_SKEW_NS, IpResolver
from kubetrail.rules import RuleSet, builtin
from kubetrail.store import Store
from kubetrail.timeutil import NS, format_ns

ALL_ROWS: Final = 1 << 62


@dataclass(frozen=True)
class Query:
    window: Window
    actor: str  # the username exactly as the API server saw it
    cluster: str | None = None
    namespace: str | None = None
    pod: str | None = None
    baseline_ns: int = DEFAULT_BASELINE_NS
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    rules: RuleSet = field(default_factory=builtin)


def service_account_user(sa: str) -> str:
    """'ns/name' -> 'system:serviceaccount:ns:name'. Raises ValueError for anything else."""
    namespace, sep, name = sa.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise ValueError(f"--sa {sa!r}: give NAMESPACE/NAME")
    return f"system:serviceaccount:{namespace}:{name}"


def actor(store: Store, q: Query, skew_ns: int = DEFAULT_SKEW_NS) -> dict[str, Any]:
    baseline, gaps = _baseline(store, q)
    # Without a pod filter every call is a row: the store returns only what this page needs.
    max_rows = offset(q.cursor) + q.limit + 1 if q.pod is None else ALL_ROWS
    calls = store.query(
        "actor_calls", actor=q.actor, since=q.window.since, until=q.window.until, cluster=q.cluster, namespace=q.namespace,
        max_rows=max_rows,
    )  # fmt: skip
    if not calls:
        gaps.append(f"no API calls by {q.actor} in the window")
    # Rows are judged lazily: a page costs what is on it, however busy the account.
    return envelope(q.window, _rows(store, calls, q, baseline, IpResolver(store, skew_ns)), gaps, q.limit, q.cursor)


def _rows(
    store: Store, calls: list[dict[str, Any]], q: Query, baseline: Baseline, resolver: IpResolver
) -> Iterator[dict[str, Any]]:
    flagged = _rule_reasons(store, q, calls)
    for call in calls:
        source_ip = call["source_ips"][0] if call["source_ips"] else None
        use = attribute(_call(call, source_ip), resolver.at)
        if q.pod is not None and use.pod != q.pod:
            continue
        facts = _facts(call, use, foreign_ip(resolver.at, call["cluster"], call["time"], use, source_ip), baseline)
        yield _row(call, use, flagged.get(call["ids"][0], []) + reasons(facts))


def _rule_reasons(store: Store, q: Query, calls: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The reasons of the rules each call's latest stage trips, by that stage's id, in the order
    of the rule set."""
    rules = q.rules.of("api_calls")
    latest = [c["ids"][0] for c in calls]
    if not rules or not latest:
        return {}
    found = store.rule_matches(rules, q.window.since, q.window.until, q.cluster, ids=latest)
    return {e["id"]: [r.render(r.reason, e) for r in q.rules.matched(e["rules"])] for e in found}


def _baseline(store: Store, q: Query) -> tuple[Baseline, list[str]]:
    since = q.window.since - q.baseline_ns
    (b,) = store.query("actor_baseline", actor=q.actor, since=since, until=q.window.since, cluster=q.cluster)
    span = (b["last"] - b["first"]) if b["events"] else 0
    if not q.rules.detectors.baselines.enough(b["first"] or 0, b["last"] or 0, b["events"]):
        why = f"{b['events']} calls over {span / 3600 / NS:.1f} h before the window"
        return Baseline(False), [f"baseline of {q.actor} too short to judge ({why}): only rules decide"]
    return Baseline(True, frozenset(b["user_agents"] or ()), frozenset(b["actions"] or ())), []


def _call(row: Mapping[str, Any], source_ip: str | None) -> Call:
    return Call(row["cluster"], row["time"], row["service_account"], row["token_pod_name"], row["token_pod_uid"], source_ip)


def _facts(row: Mapping[str, Any], use: TokenUse, foreign: str | None, baseline: Baseline) -> CallFacts:
    return CallFacts(
        verb=row["verb"], resource=row["resource"], subresource=row["subresource"], user_agent=row["user_agent"],
        foreign_token_ip=foreign, baseline=baseline,
    )  # fmt: skip


def _row(call: Mapping[str, Any], use: TokenUse, why: list[str]) -> dict[str, Any]:
    return {
        "cluster": call["cluster"],
        "time": format_ns(call["time"]),
        "verb": call["verb"],
        "resource": call["resource"],
        "subresource": call["subresource"],
        "namespace": call["namespace"],
        "name": call["name"],
        "code": call["code"],
        "pod": use.pod,
        "pod_uid": use.pod_uid,
        "attribution": use.attribution,
        "source_ips": call["source_ips"] or [],
        "user_agent": call["user_agent"],
        "impersonated_by": call["impersonated_by"],
        "suspicious": bool(why),
        "reasons": why,
        "evidence": call["ids"][:MAX_EVIDENCE],
        "evidence_total": len(call["ids"]),
    }
